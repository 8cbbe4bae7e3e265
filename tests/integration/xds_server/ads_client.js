'use strict';
// A minimal ADS client on @grpc/grpc-js, used to prove server.js without
// remora-proxy: as a module by self_test.js, and as a command by the C++
// harness test (tests/integration/xds_server/xds_server_process_test.cc).
//
// Command: node ads_client.js --xds HOST:PORT --kind listeners [--names a,b]
//          [--delta] [--node-id ID] [--responses N] [--nack-first] [--timeout-ms T]
// Subscribes to one kind, prints every response as one JSON line
// ({"version", "nonce", "names", "removed"}) on stdout, ACKs it (or NACKs the
// first with --nack-first), and exits 0 after N responses, 1 on timeout.

const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const { loadProtoRoot, kIncludeDirs } = require('./proto_json');
const { kKinds } = require('./server');

let cachedService = null;
let cachedRoot = null;

function adsService() {
  if (!cachedService) {
    const definition = protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', {
      keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: kIncludeDirs,
    });
    cachedService = grpc.loadPackageDefinition(definition).envoy.service.discovery.v3.AggregatedDiscoveryService;
  }
  return cachedService;
}

// Decodes a google.protobuf.Any from a response with the official protos.
function decodeAny(any) {
  if (!cachedRoot) cachedRoot = loadProtoRoot();
  const type = cachedRoot.lookupType('.' + any.type_url.substring(any.type_url.lastIndexOf('/') + 1));
  return type.toObject(type.decode(any.value), { longs: String, enums: String, defaults: false });
}

class AdsClient {
  constructor(address, { delta = false, nodeId = 'test-node', metadata = {} } = {}) {
    this.delta = delta;
    this.node = { id: nodeId, cluster: 'test', metadata: jsonToStruct(metadata) };
    this.client = new (adsService())(address, grpc.credentials.createInsecure());
    this.call = delta ? this.client.DeltaAggregatedResources() : this.client.StreamAggregatedResources();
    this.queue = [];
    this.waiters = [];
    this.error = null;
    this.call.on('data', (response) => this.deliver(response));
    this.call.on('error', (e) => {
      this.error = e;
      this.deliver(null);
    });
    this.sentNode = false;
  }

  deliver(response) {
    if (response) this.queue.push(response);
    while (this.waiters.length && (this.queue.length || this.error)) {
      const waiter = this.waiters.shift();
      clearTimeout(waiter.timer);
      if (this.queue.length) waiter.resolve(this.queue.shift());
      else waiter.reject(this.error);
    }
  }

  // The node goes in the first request only, as xDS clients do.
  send(request) {
    const full = Object.assign({}, request);
    if (!this.sentNode) full.node = this.node;
    this.sentNode = true;
    this.call.write(full);
  }

  // The next response, or a rejection after `ms` (or when the stream fails).
  next(ms = 5000) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject, timer: null };
      waiter.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no response within ${ms} ms`));
      }, ms);
      this.waiters.push(waiter);
    });
  }

  // Resolves true when no response arrives for `ms` (it stays queued if one does).
  async quiet(ms = 300) {
    await new Promise((r) => setTimeout(r, ms));
    return this.queue.length === 0;
  }

  close() {
    this.call.end();
    this.client.close();
  }
}

// proto-loader takes google.protobuf.Value with protobufjs's camelCase names.
function jsonToStruct(obj) {
  const toValue = (v) => {
    if (v === null) return { nullValue: 'NULL_VALUE' };
    if (typeof v === 'number') return { numberValue: v };
    if (typeof v === 'string') return { stringValue: v };
    if (typeof v === 'boolean') return { boolValue: v };
    if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
    return { structValue: jsonToStruct(v) };
  };
  const fields = {};
  for (const [k, v] of Object.entries(obj)) fields[k] = toValue(v);
  return { fields };
}

function resourceName(any) {
  const message = decodeAny(any);
  return message.name !== undefined ? message.name : message.cluster_name;
}

async function command(argv) {
  const args = { kind: 'listeners', names: [], delta: false, nodeId: 'ads-client', responses: 1, nackFirst: false,
    timeoutMs: 10000, xds: '' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--delta') args.delta = true;
    else if (flag === '--nack-first') args.nackFirst = true;
    else if (flag === '--xds') args.xds = argv[++i];
    else if (flag === '--kind') args.kind = argv[++i];
    else if (flag === '--names') args.names = argv[++i].split(',').filter((n) => n);
    else if (flag === '--node-id') args.nodeId = argv[++i];
    else if (flag === '--responses') args.responses = Number(argv[++i]);
    else if (flag === '--timeout-ms') args.timeoutMs = Number(argv[++i]);
    else throw new Error(`unknown flag ${flag}`);
  }
  const typeUrl = kKinds[args.kind].url;
  const client = new AdsClient(args.xds, { delta: args.delta, nodeId: args.nodeId, metadata: { role: 'ads-client' } });
  if (args.delta) client.send({ type_url: typeUrl, resource_names_subscribe: args.names });
  else client.send({ type_url: typeUrl, resource_names: args.names });
  let acked = '';
  for (let n = 0; n < args.responses; n++) {
    const r = await client.next(args.timeoutMs);
    const names = r.resources.map((x) => (args.delta ? x.name : resourceName(x)));
    const version = args.delta ? r.system_version_info : r.version_info;
    process.stdout.write(JSON.stringify({ version, nonce: r.nonce, names, removed: r.removed_resources || [] }) + '\n');
    const nack = args.nackFirst && n === 0;
    const reply = { type_url: typeUrl, response_nonce: r.nonce };
    if (nack) reply.error_detail = { code: 3, message: `ads_client rejects version ${version}` };
    if (!args.delta) Object.assign(reply, { version_info: nack ? acked : version, resource_names: args.names });
    if (!nack) acked = version;
    client.send(reply);
  }
  // Give the last ACK time to leave before the stream closes.
  await new Promise((r) => setTimeout(r, 100));
  client.close();
}

if (require.main === module) {
  command(process.argv.slice(2)).then(() => process.exit(0), (e) => {
    process.stderr.write(`ads_client: ${e.message}\n`);
    process.exit(1);
  });
}

module.exports = { AdsClient, decodeAny, resourceName };
