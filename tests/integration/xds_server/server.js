'use strict';
// An xDS management server for Remora's integration tests, built on Envoy's
// official .proto files (shipped inside npm's @grpc/grpc-js-xds) and the
// reference gRPC implementation for Node. It proves that remora-proxy's ADS
// client talks to a server whose protos are not our own subset.
//
// It serves envoy.service.discovery.v3.AggregatedDiscoveryService, both
// state of the world (StreamAggregatedResources) and incremental
// (DeltaAggregatedResources), for listeners, routes, clusters, endpoints and
// secrets. A test drives it through a small JSON control API on loopback:
//   PUT  /resources/<kind>  {"resources":[{"@type":...}], "version":"opt"}  replace a type's set, push
//   PUT  /raw/<kind>        {"resources":[{"type_url","value_base64","name"} | {"@type":...}]}
//   GET  /requests          every ADS request received, in order
//   GET  /streams           open streams: node, metadata, per-type subscription state
//   GET  /state             per kind: version and resource names/versions
//   POST /reset-requests    forget the recorded requests
//   POST /close-streams     end every open ADS stream with UNAVAILABLE (clients reconnect)
// Flags: --xds-port N (0: kernel picks; exact otherwise, so a restarted server
// can take its old port back), --control-port N, --port-file F (written as
// {"xds_port":N,"control_port":M} once both listen). Logs go to stderr.
//
// Protocol behaviour (https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol):
// per stream and type URL the server tracks the subscribed names (wildcard for
// LDS/CDS when the first request names nothing, or names "*"), the nonce and
// version last sent. A SotW request whose nonce is not the last one sent is
// stale and ignored. An ACK or NACK is recorded; nothing is re-sent unless
// the version or the subscribed set changed, so a NACKed version is never
// sent again. Delta streams get only changed resources (per-resource version
// = hash of its bytes) and removed_resources, and initial_resource_versions
// from a reconnecting client count as already sent.

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');

let grpc;
let protoLoader;
try {
  grpc = require('@grpc/grpc-js');
  protoLoader = require('@grpc/proto-loader');  // also registers descriptor.proto with protobufjs
  require('protobufjs');
} catch (e) {
  process.stderr.write(`xds_server: ${e.message}\nxds_server: node modules missing: run scripts/deps.sh\n`);
  process.exit(3);
}
const { ProtoJson, loadProtoRoot, kIncludeDirs } = require('./proto_json');

const kKinds = {
  listeners: { url: 'type.googleapis.com/envoy.config.listener.v3.Listener', nameField: 'name', wildcard: true },
  routes: { url: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration', nameField: 'name', wildcard: false },
  clusters: { url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster', nameField: 'name', wildcard: true },
  endpoints: { url: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment', nameField: 'cluster_name', wildcard: false },
  secrets: { url: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', nameField: 'name', wildcard: false },
};
const kKindByUrl = new Map(Object.entries(kKinds).map(([kind, k]) => [k.url, kind]));

function log(message) {
  process.stderr.write(`${new Date().toISOString()} xds_server: ${message}\n`);
}

function parseFlags(argv) {
  const flags = { xdsPort: 0, controlPort: 0, portFile: '' };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if (argv[i] === '--xds-port') flags.xdsPort = Number(value);
    else if (argv[i] === '--control-port') flags.controlPort = Number(value);
    else if (argv[i] === '--port-file') flags.portFile = value;
    else throw new Error(`unknown flag ${argv[i]}`);
    i++;
    if (value === undefined) throw new Error(`${argv[i - 1]} needs a value`);
  }
  for (const port of [flags.xdsPort, flags.controlPort]) {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad port ${port}`);
  }
  return flags;
}

// ---- Resource store: the full set per kind, replaced by each PUT ----------

class Store {
  constructor(protoJson) {
    this.protoJson = protoJson;
    this.kinds = {};
    for (const kind of Object.keys(kKinds)) this.kinds[kind] = { version: null, counter: 0, resources: [] };
  }

  // `entries`: JSON resources with "@type" or (raw) {type_url, value_base64, name}.
  // Throws an Error whose message the controller gets with a 400.
  replace(kind, entries, version, allowRaw) {
    if (!Array.isArray(entries)) throw new Error('"resources" must be an array');
    const spec = kKinds[kind];
    const seen = new Set();
    const resources = entries.map((entry, i) => {
      const where = `resources[${i}]`;
      let any;
      let name;
      if (allowRaw && entry && entry.value_base64 !== undefined) {
        const value = Buffer.from(String(entry.value_base64), 'base64');
        any = { type_url: String(entry.type_url || spec.url), value };
        name = entry.name === undefined ? `raw-${i}` : String(entry.name);
      } else {
        if (!allowRaw && entry && entry['@type'] !== spec.url) {
          throw new Error(`${where}: "@type" is ${JSON.stringify(entry['@type'])}, ${kind} need ${spec.url}` +
            ` (use PUT /raw/${kind} for a deliberate mismatch)`);
        }
        const camel = spec.nameField.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
        name = entry ? entry[spec.nameField] ?? entry[camel] : undefined;
        if (typeof name !== 'string' || name === '') throw new Error(`${where}: needs a non-empty "${spec.nameField}"`);
        any = this.protoJson.encodeAny(entry, where);
      }
      if (seen.has(name)) throw new Error(`${where}: duplicate resource name "${name}"`);
      seen.add(name);
      const digest = crypto.createHash('sha256').update(any.type_url).update(any.value).digest('hex');
      return { name, any, version: digest.slice(0, 16) };
    });
    const state = this.kinds[kind];
    state.counter += 1;
    state.version = version === undefined || version === null ? String(state.counter) : String(version);
    state.resources = resources;
    return state.version;
  }

  summary() {
    const out = {};
    for (const [kind, s] of Object.entries(this.kinds)) {
      out[kind] = { type_url: kKinds[kind].url, version: s.version,
        resources: s.resources.map((r) => ({ name: r.name, version: r.version })) };
    }
    return out;
  }
}

// ---- ADS streams ----------------------------------------------------------

let nextStreamId = 1;
let nextNonce = 1;
const streams = new Map();
let requests = [];

function structToJson(s) {
  const out = {};
  for (const [k, v] of Object.entries((s && s.fields) || {})) out[k] = valueToJson(v);
  return out;
}

// Struct values as decoded by proto-loader with oneofs: `kind` names the set
// field, in whichever spelling protobufjs gave google.protobuf.Value.
function valueToJson(v) {
  const kind = v && v.kind ? lowerSnake(v.kind) : '';
  const get = (snake) => (v[snake] !== undefined ? v[snake] : v[kind === snake ? v.kind : snake]);
  switch (kind) {
    case 'number_value': return get('number_value');
    case 'string_value': return get('string_value');
    case 'bool_value': return get('bool_value');
    case 'struct_value': return structToJson(get('struct_value'));
    case 'list_value': return ((get('list_value') || {}).values || []).map(valueToJson);
    default: return null;
  }
}

function lowerSnake(name) {
  return name.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
}

class AdsStream {
  constructor(call, delta, store) {
    this.id = nextStreamId++;
    this.call = call;
    this.delta = delta;
    this.store = store;
    this.node = null;
    this.peer = call.getPeer();
    this.subs = new Map();  // type_url -> subscription state
  }

  describe() {
    const types = {};
    for (const [url, sub] of this.subs) {
      types[url] = { wildcard: sub.wildcard, names: [...sub.names].sort(), nonce: sub.nonce,
        sent_version: sub.sentVersion, acked_version: sub.ackedVersion, last_nack: sub.lastNack };
    }
    return { stream: this.id, delta: this.delta, peer: this.peer, node_id: this.node ? this.node.id : '',
      node_cluster: this.node ? this.node.cluster : '', node_metadata: this.node ? structToJson(this.node.metadata) : {},
      types };
  }

  onRequest(req) {
    if (!this.node && req.node) this.node = req.node;
    const kind = kKindByUrl.get(req.type_url);
    let sub = this.subs.get(req.type_url);
    const first = !sub;
    const stale = !this.delta && !first && sub.nonce !== null && req.response_nonce !== sub.nonce;
    this.record(req, stale);
    if (!kind) {
      log(`stream ${this.id}: no resources of type ${req.type_url}; request ignored`);
      return;
    }
    if (stale) return;
    if (first) {
      sub = {
        wildcard: false, legacyWildcard: false, names: new Set(),
        nonce: null, sentVersion: null, ackedVersion: null, lastNack: null,
        sentKey: null,  // SotW: version and names of the last response
        sent: new Map(), nonceVersions: new Map(), answered: false,  // delta: name -> version the client has
      };
      this.subs.set(req.type_url, sub);
    }
    if (this.delta) this.updateDeltaSubscription(sub, req, kind, first);
    else this.updateSotwSubscription(sub, req, kind, first);
    if (req.response_nonce && req.error_detail) {
      const rejected = this.delta ? (sub.nonceVersions.get(req.response_nonce) ?? null) : sub.sentVersion;
      sub.lastNack = { nonce: req.response_nonce, version: rejected, code: req.error_detail.code,
        message: req.error_detail.message };
      log(`stream ${this.id}: NACK ${kind} nonce ${req.response_nonce}: ${req.error_detail.message}`);
    } else if (req.response_nonce) {
      // A delta ACK carries no version: take the one sent with that nonce.
      sub.ackedVersion = this.delta ? (sub.nonceVersions.get(req.response_nonce) ?? sub.ackedVersion)
        : req.version_info;
    }
    this.push(kind);
  }

  record(req, stale) {
    requests.push({
      index: requests.length,
      time_ms: Date.now(),
      stream: this.id,
      delta: this.delta,
      type_url: req.type_url,
      version_info: this.delta ? '' : req.version_info,
      response_nonce: req.response_nonce,
      resource_names: this.delta ? req.resource_names_subscribe : req.resource_names,
      resource_names_unsubscribe: this.delta ? req.resource_names_unsubscribe : [],
      initial_resource_versions: this.delta ? (req.initial_resource_versions || {}) : {},
      error_detail: req.error_detail ? { code: req.error_detail.code, message: req.error_detail.message } : null,
      node_id: this.node ? this.node.id : '',
      stale,
    });
  }

  updateSotwSubscription(sub, req, kind, first) {
    const names = req.resource_names;
    // Legacy wildcard: LDS/CDS with an empty list on the first request, kept
    // while the client goes on sending empty lists; any named request ends it.
    if (first) sub.legacyWildcard = names.length === 0 && kKinds[kind].wildcard;
    if (names.length > 0) sub.legacyWildcard = false;
    sub.wildcard = sub.legacyWildcard || names.includes('*');
    sub.names = new Set(names.filter((n) => n !== '*'));
  }

  updateDeltaSubscription(sub, req, kind, first) {
    if (first) {
      for (const [name, version] of Object.entries(req.initial_resource_versions || {})) sub.sent.set(name, version);
      if (req.resource_names_subscribe.length === 0 && kKinds[kind].wildcard) sub.wildcard = true;
    }
    for (const name of req.resource_names_subscribe) {
      if (name === '*') sub.wildcard = true;
      else sub.names.add(name);
    }
    for (const name of req.resource_names_unsubscribe) {
      if (name === '*') {
        sub.wildcard = false;
      } else {
        sub.names.delete(name);
        sub.sent.delete(name);  // the client forgets it; no removal notice needed
      }
    }
  }

  // Sends what this stream is missing of `kind`, if anything.
  push(kind) {
    const sub = this.subs.get(kKinds[kind].url);
    const state = this.store.kinds[kind];
    if (!sub || state.version === null) return;  // never PUT: nothing to say yet
    const inScope = state.resources.filter((r) => sub.wildcard || sub.names.has(r.name));
    if (this.delta) this.pushDelta(kind, sub, state, inScope);
    else this.pushSotw(kind, sub, state, inScope);
  }

  pushSotw(kind, sub, state, inScope) {
    // Same version and same names: the client has (or NACKed) exactly this.
    const key = state.version + '\n' + inScope.map((r) => r.name).join('\n') + (sub.wildcard ? '\n*' : '');
    if (key === sub.sentKey) return;
    sub.nonce = String(nextNonce++);
    sub.sentKey = key;
    sub.sentVersion = state.version;
    log(`stream ${this.id}: ${kind} version ${state.version} (${inScope.length} resources) nonce ${sub.nonce}`);
    this.call.write({ version_info: state.version, resources: inScope.map((r) => r.any), type_url: kKinds[kind].url,
      nonce: sub.nonce, control_plane: { identifier: 'remora-xds-test-server' } });
  }

  pushDelta(kind, sub, state, inScope) {
    const current = new Map(state.resources.map((r) => [r.name, r]));
    const added = inScope.filter((r) => sub.sent.get(r.name) !== r.version);
    const removed = [...sub.sent.keys()].filter((name) => !current.has(name));
    for (const name of sub.sent.keys()) {
      const r = current.get(name);
      if (r && !(sub.wildcard || sub.names.has(name))) sub.sent.delete(name);
    }
    // The first answer goes out even when empty, so a client that reconnected
    // with everything up to date learns that it is in sync.
    if (added.length === 0 && removed.length === 0 && sub.answered) return;
    sub.answered = true;
    sub.nonce = String(nextNonce++);
    sub.sentVersion = state.version;
    sub.nonceVersions.set(sub.nonce, state.version);
    if (sub.nonceVersions.size > 64) sub.nonceVersions.delete(sub.nonceVersions.keys().next().value);
    for (const r of added) sub.sent.set(r.name, r.version);
    for (const name of removed) sub.sent.delete(name);
    log(`stream ${this.id}: delta ${kind} +${added.length} -${removed.length} nonce ${sub.nonce}`);
    this.call.write({ system_version_info: state.version, type_url: kKinds[kind].url, nonce: sub.nonce,
      resources: added.map((r) => ({ name: r.name, version: r.version, resource: r.any })),
      removed_resources: removed, control_plane: { identifier: 'remora-xds-test-server' } });
  }
}

function serveStream(call, delta, store) {
  const stream = new AdsStream(call, delta, store);
  streams.set(stream.id, stream);
  log(`stream ${stream.id} opened (${delta ? 'delta' : 'sotw'}) from ${stream.peer}`);
  const close = (why) => {
    if (!streams.delete(stream.id)) return;
    log(`stream ${stream.id} closed: ${why}`);
  };
  call.on('data', (req) => {
    try {
      stream.onRequest(req);
    } catch (e) {
      log(`stream ${stream.id}: ${e.stack}`);
    }
  });
  call.on('end', () => {
    close('client half-closed');
    call.end();
  });
  call.on('cancelled', () => close('cancelled'));
  call.on('error', (e) => close(`error ${e.message}`));
  call.on('close', () => close('closed'));
}

// ---- Control API ------------------------------------------------------------

function controlHandler(store) {
  return (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      const reply = (status, value) => {
        const text = JSON.stringify(value) + '\n';
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      try {
        const [, section, kind] = req.url.split('?')[0].split('/');
        if (req.method === 'PUT' && (section === 'resources' || section === 'raw')) {
          if (!kKinds[kind]) return reply(404, { error: `unknown kind "${kind}" (${Object.keys(kKinds).join(', ')})` });
          let parsed;
          try {
            parsed = JSON.parse(body);
          } catch (e) {
            return reply(400, { error: `body is not JSON: ${e.message}` });
          }
          let version;
          try {
            version = store.replace(kind, parsed && parsed.resources, parsed && parsed.version, section === 'raw');
          } catch (e) {
            return reply(400, { error: e.message });
          }
          log(`${kind} set to version ${version} (${store.kinds[kind].resources.length} resources)`);
          for (const stream of streams.values()) stream.push(kind);
          return reply(200, { version });
        }
        if (req.method === 'GET' && section === 'requests') return reply(200, requests);
        if (req.method === 'GET' && section === 'streams') return reply(200, [...streams.values()].map((s) => s.describe()));
        if (req.method === 'GET' && section === 'state') return reply(200, store.summary());
        if (req.method === 'POST' && section === 'reset-requests') {
          requests = [];
          return reply(200, {});
        }
        if (req.method === 'POST' && section === 'close-streams') {
          const count = streams.size;
          for (const s of [...streams.values()]) {
            // grpc-js ends a server stream with the status of an emitted error.
            s.call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'closed by the test' });
            streams.delete(s.id);
          }
          return reply(200, { closed: count });
        }
        return reply(404, { error: `no route for ${req.method} ${req.url}` });
      } catch (e) {
        log(`control: ${e.stack}`);
        return reply(500, { error: e.message });
      }
    });
  };
}

// ---- Start-up -------------------------------------------------------------

function writePortFile(file, ports) {
  if (!file) return;
  const tmp = `${file}.tmp${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(ports) + '\n');
  fs.renameSync(tmp, file);  // readers never see a half-written file
}

function main() {
  let flags;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`xds_server: ${e.message}\nusage: node server.js [--xds-port N] [--control-port N] [--port-file F]\n`);
    process.exit(2);
  }
  const started = Date.now();
  const store = new Store(new ProtoJson(loadProtoRoot()));
  const definition = protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', {
    keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: kIncludeDirs,
  });
  const ads = grpc.loadPackageDefinition(definition).envoy.service.discovery.v3.AggregatedDiscoveryService;
  log(`protos loaded in ${Date.now() - started} ms`);

  const server = new grpc.Server({ 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': 64 << 20 });
  server.addService(ads.service, {
    StreamAggregatedResources: (call) => serveStream(call, false, store),
    DeltaAggregatedResources: (call) => serveStream(call, true, store),
  });
  const control = http.createServer(controlHandler(store));
  const ports = {};
  server.bindAsync(`127.0.0.1:${flags.xdsPort}`, grpc.ServerCredentials.createInsecure(), (err, xdsPort) => {
    if (err) {
      log(`cannot listen on 127.0.0.1:${flags.xdsPort}: ${err.message}`);
      process.exit(1);
    }
    ports.xds_port = xdsPort;
    control.on('error', (e) => {
      log(`control API cannot listen: ${e.message}`);
      process.exit(1);
    });
    control.listen(flags.controlPort, '127.0.0.1', () => {
      ports.control_port = control.address().port;
      writePortFile(flags.portFile, ports);
      log(`serving ADS on 127.0.0.1:${ports.xds_port}, control API on 127.0.0.1:${ports.control_port}`);
    });
  });

  const shutdown = (signal) => {
    log(`${signal}: shutting down`);
    server.forceShutdown();
    control.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

if (require.main === module) main();

module.exports = { kKinds };
