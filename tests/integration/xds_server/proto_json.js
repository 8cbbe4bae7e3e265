'use strict';
// Proto3 JSON -> protobuf binary, over protobufjs reflection of Envoy's
// official .proto files. Used by server.js to turn the resources a test PUTs
// (JSON with "@type") into the bytes of a google.protobuf.Any.
//
// Why not protobufjs's own fromObject(): it is not the proto3 JSON mapping. It
// silently drops unknown or misspelled fields, accepts only the names the
// protos were loaded with (snake_case or camelCase, not both), has no string
// form for Duration/Timestamp, wants {"value": 5} for wrappers, and turns an
// Any whose "@type" it cannot find into an empty Any. In a test each of those
// is a resource that quietly differs from what the test author wrote, so this
// file does the mapping itself and throws an Error naming the JSON path on
// anything it cannot map. It then hands protobufjs an object that fromObject()
// takes verbatim, and protobufjs does the wire encoding.

const fs = require('fs');
const path = require('path');
const protobuf = require('protobufjs');

const kDeps = path.join(__dirname, 'node_modules/@grpc/grpc-js-xds/deps');
const kIncludeDirs = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(kDeps, d));
// Every message a test may put in a resource or a nested typed_config.
const kProtoFiles = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
];

const kDurationPattern = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;
const kInt32Range = { int32: [-2147483648, 2147483647], sint32: [-2147483648, 2147483647],
  sfixed32: [-2147483648, 2147483647], uint32: [0, 4294967295], fixed32: [0, 4294967295] };
const kInt64Types = new Set(['int64', 'sint64', 'sfixed64', 'uint64', 'fixed64']);
const kWrappers = new Set(['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value',
  'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map((n) => '.google.protobuf.' + n));

class ProtoJson {
  // `root`: a protobufjs Root with resolveAll() done, loaded with keepCase so
  // field names are the .proto's snake_case names.
  constructor(root) {
    this.root = root;
    // protobufjs builds google.protobuf.Value from its own bundled JSON
    // descriptor with camelCase names ("stringValue") even under keepCase.
    this.valueField = valueFieldNames(root);
  }

  // The protobufjs Type for an Any type URL ("type.googleapis.com/pkg.Msg").
  typeForUrl(typeUrl, where) {
    if (typeof typeUrl !== 'string' || typeUrl.length === 0) fail(where, '"@type" must be a non-empty string');
    const name = typeUrl.substring(typeUrl.lastIndexOf('/') + 1);
    try {
      return this.root.lookupType('.' + name);
    } catch (e) {
      fail(where, `unknown message type "${name}" (not in the loaded protos: add its file to kProtoFiles in proto_json.js)`);
    }
  }

  // A JSON object with "@type" -> {type_url, value: Buffer}: a google.protobuf.Any.
  encodeAny(json, where = '') {
    if (!isPlainObject(json)) fail(where, 'expected an object with "@type"');
    const typeUrl = json['@type'];
    const type = this.typeForUrl(typeUrl, where + '["@type"]');
    let body;
    if (hasSpecialJson(type)) {
      // A well-known type inside an Any keeps its own JSON form under "value".
      for (const key of Object.keys(json)) {
        if (key !== '@type' && key !== 'value') fail(where, `unexpected field "${key}" next to a well-known type`);
      }
      body = this.message(type, json.value, where + '.value');
    } else {
      const rest = Object.assign({}, json);
      delete rest['@type'];
      body = this.message(type, rest, where);
    }
    const value = Buffer.from(type.encode(type.fromObject(body)).finish());
    return { type_url: typeUrl, value };
  }

  // JSON for message `type` -> an object protobufjs's fromObject() takes as is.
  message(type, json, where) {
    switch (type.fullName) {
      case '.google.protobuf.Any': return this.encodeAny(json, where);
      case '.google.protobuf.Duration': return duration(json, where);
      case '.google.protobuf.Timestamp': return timestamp(json, where);
      case '.google.protobuf.Struct': return this.struct(json, where);
      case '.google.protobuf.Value': return this.value(json, where);
      case '.google.protobuf.ListValue': return this.listValue(json, where);
      case '.google.protobuf.FieldMask': return fieldMask(json, where);
      case '.google.protobuf.Empty':
        if (!isPlainObject(json) || Object.keys(json).length) fail(where, 'google.protobuf.Empty must be {}');
        return {};
      default: break;
    }
    if (kWrappers.has(type.fullName)) return { value: this.scalar(type.fields.value, json, where) };
    if (!isPlainObject(json)) fail(where, `expected an object for ${type.fullName.slice(1)}`);
    const out = {};
    const oneofsSet = new Map();
    for (const [key, raw] of Object.entries(json)) {
      const field = findField(type, key);
      const at = `${where}.${key}`;
      if (!field) fail(at, `unknown field "${key}" in ${type.fullName.slice(1)}`);
      if (field.name in out) fail(at, `field "${field.name}" given twice (as snake_case and camelCase)`);
      // Proto3 JSON: null means "not set", except for google.protobuf.Value.
      if (raw === null && !(field.resolvedType && field.resolvedType.fullName === '.google.protobuf.Value')) continue;
      if (field.partOf) {
        const other = oneofsSet.get(field.partOf.name);
        if (other) fail(at, `oneof "${field.partOf.name}" already set by "${other}"`);
        oneofsSet.set(field.partOf.name, key);
      }
      out[field.name] = this.fieldValue(field, raw, at);
    }
    return out;
  }

  fieldValue(field, raw, where) {
    if (field.map) {
      if (!isPlainObject(raw)) fail(where, 'expected an object (map)');
      const out = {};
      for (const [k, v] of Object.entries(raw)) {
        if (field.keyType !== 'string') this.scalarType(field.keyType, k, `${where}[${k}]`, true);
        out[k] = this.single(field, v, `${where}[${JSON.stringify(k)}]`);
      }
      return out;
    }
    if (field.repeated) {
      if (!Array.isArray(raw)) fail(where, 'expected an array');
      return raw.map((v, i) => this.single(field, v, `${where}[${i}]`));
    }
    return this.single(field, raw, where);
  }

  single(field, raw, where) {
    const resolved = field.resolvedType;
    if (resolved && resolved.fields !== undefined) return this.message(resolved, raw, where);
    if (resolved && resolved.values !== undefined) return enumValue(resolved, raw, where);
    return this.scalar(field, raw, where);
  }

  scalar(field, raw, where) {
    return this.scalarType(field.type, raw, where, false);
  }

  // `asKey`: a map key, which JSON always spells as a string.
  scalarType(kind, raw, where, asKey) {
    if (kind === 'string') {
      if (typeof raw !== 'string') fail(where, 'expected a string');
      return raw;
    }
    if (kind === 'bool') {
      if (asKey && (raw === 'true' || raw === 'false')) return raw === 'true';
      if (typeof raw !== 'boolean') fail(where, 'expected true or false');
      return raw;
    }
    if (kind === 'bytes') {
      if (typeof raw !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(raw)) fail(where, 'expected base64 bytes');
      return Buffer.from(raw.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    }
    if (kind === 'double' || kind === 'float') {
      if (typeof raw === 'number') return raw;
      if (raw === 'NaN' || raw === 'Infinity' || raw === '-Infinity') return Number(raw);
      if (typeof raw === 'string' && raw.trim() !== '' && !Number.isNaN(Number(raw))) return Number(raw);
      fail(where, 'expected a number');
    }
    const text = typeof raw === 'number' ? String(raw) : raw;
    if (typeof text !== 'string' || !/^-?\d+$/.test(text)) fail(where, `expected an integer (${kind})`);
    if (kInt64Types.has(kind)) {
      if (kind.startsWith('u') || kind === 'fixed64') {
        if (text.startsWith('-') || BigInt(text) > 18446744073709551615n) fail(where, `${text} out of range for ${kind}`);
      } else if (BigInt(text) < -9223372036854775808n || BigInt(text) > 9223372036854775807n) {
        fail(where, `${text} out of range for ${kind}`);
      }
      return text;  // protobufjs turns a decimal string into a Long without losing precision
    }
    const range = kInt32Range[kind];
    if (!range) fail(where, `unsupported scalar type ${kind}`);
    const n = Number(text);
    if (n < range[0] || n > range[1]) fail(where, `${text} out of range for ${kind}`);
    return n;
  }

  struct(json, where) {
    if (!isPlainObject(json)) fail(where, 'expected an object (google.protobuf.Struct)');
    const fields = {};
    for (const [k, v] of Object.entries(json)) fields[k] = this.value(v, `${where}.${k}`);
    return { fields };
  }

  value(json, where) {
    const f = this.valueField;
    if (json === null) return { [f.null_value]: 'NULL_VALUE' };
    if (typeof json === 'number') return { [f.number_value]: json };
    if (typeof json === 'string') return { [f.string_value]: json };
    if (typeof json === 'boolean') return { [f.bool_value]: json };
    if (Array.isArray(json)) return { [f.list_value]: this.listValue(json, where) };
    if (isPlainObject(json)) return { [f.struct_value]: this.struct(json, where) };
    return fail(where, 'not a JSON value');
  }

  listValue(json, where) {
    if (!Array.isArray(json)) fail(where, 'expected an array (google.protobuf.ListValue)');
    return { values: json.map((v, i) => this.value(v, `${where}[${i}]`)) };
  }
}

// google.protobuf.Value's field names as loaded: snake_case name -> actual name.
function valueFieldNames(root) {
  const type = root.lookupType('.google.protobuf.Value');
  const names = {};
  for (const snake of ['null_value', 'number_value', 'string_value', 'bool_value', 'struct_value', 'list_value']) {
    names[snake] = type.fields[snake] ? snake : lowerCamel(snake);
  }
  return names;
}

function fail(where, message) {
  throw new Error(`${where || '<resource>'}: ${message}`);
}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function lowerCamel(name) {
  return name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
}

// Proto3 JSON accepts the field's name and its lowerCamelCase JSON name.
function findField(type, key) {
  if (Object.prototype.hasOwnProperty.call(type.fields, key)) return type.fields[key];
  for (const field of type.fieldsArray) {
    const jsonName = (field.options && field.options.json_name) || lowerCamel(field.name);
    if (jsonName === key) return field;
  }
  return null;
}

function hasSpecialJson(type) {
  return kWrappers.has(type.fullName) || ['.google.protobuf.Duration', '.google.protobuf.Timestamp',
    '.google.protobuf.Struct', '.google.protobuf.Value', '.google.protobuf.ListValue',
    '.google.protobuf.FieldMask', '.google.protobuf.Empty', '.google.protobuf.Any'].includes(type.fullName);
}

function enumValue(enumType, raw, where) {
  if (typeof raw === 'string') {
    if (!Object.prototype.hasOwnProperty.call(enumType.values, raw)) {
      fail(where, `"${raw}" is not a value of ${enumType.fullName.slice(1)} (${Object.keys(enumType.values).join(', ')})`);
    }
    return raw;
  }
  if (Number.isInteger(raw)) return raw;  // proto3 enums are open: unknown numbers are kept
  return fail(where, `expected an enum name or number for ${enumType.fullName.slice(1)}`);
}

function duration(json, where) {
  const m = typeof json === 'string' ? kDurationPattern.exec(json) : null;
  if (!m) fail(where, `expected a duration string such as "1.5s", got ${JSON.stringify(json)}`);
  const sign = m[1] ? -1 : 1;
  const nanos = m[3] ? Number(m[3].padEnd(9, '0')) : 0;
  return { seconds: (m[1] || '') + m[2], nanos: sign * nanos };
}

function timestamp(json, where) {
  const m = typeof json === 'string'
    ? /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(json) : null;
  const ms = m ? Date.parse(m[1] + (m[3] === 'Z' ? 'Z' : m[3])) : NaN;
  if (Number.isNaN(ms)) fail(where, `expected an RFC 3339 timestamp, got ${JSON.stringify(json)}`);
  return { seconds: String(Math.floor(ms / 1000)), nanos: m[2] ? Number(m[2].padEnd(9, '0')) : 0 };
}

function fieldMask(json, where) {
  if (typeof json !== 'string') fail(where, 'expected a comma-separated field mask string');
  const paths = json === '' ? [] : json.split(',').map((p) => p.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()));
  return { paths };
}

// The official protos of kProtoFiles in one protobufjs Root, field names as
// in the .proto files. Load @grpc/proto-loader first: it registers
// descriptor.proto, which Envoy's annotations import, with protobufjs.
function loadProtoRoot() {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    if (path.isAbsolute(target)) return target;
    for (const dir of kIncludeDirs) {
      const candidate = path.join(dir, target);
      if (fs.existsSync(candidate)) return candidate;
    }
    return target;  // google/protobuf/*.proto: protobufjs has them built in
  };
  root.loadSync(kProtoFiles, { keepCase: true });
  root.resolveAll();
  return root;
}

module.exports = { ProtoJson, valueFieldNames, loadProtoRoot, kIncludeDirs, kProtoFiles };
