'use strict';
// server.js proving itself with a real gRPC client (ads_client.js on
// @grpc/grpc-js), without remora-proxy: state of the world and delta, ACK,
// push after PUT, NACK recorded and not re-answered, stale nonces ignored,
// the control API's JSON shapes. Run by ctest (label integration) as
// `node --test self_test.js`, or by hand the same way.

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { test, before, after } = require('node:test');
const { AdsClient, decodeAny, resourceName } = require('./ads_client');

const LDS = 'type.googleapis.com/envoy.config.listener.v3.Listener';
const RDS = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';

function listener(name, port, routeName = 'local') {
  return {
    '@type': LDS, name,
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    perConnectionBufferLimitBytes: 32768,  // a wrapper, spelled in lowerCamelCase
    filter_chains: [{ filters: [{
      name: 'envoy.filters.network.http_connection_manager',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
        stat_prefix: name,
        stream_idle_timeout: '2.5s',
        rds: { route_config_name: routeName, config_source: { ads: {}, resource_api_version: 'V3' } },
        http_filters: [{ name: 'envoy.filters.http.router',
          typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
      },
    }] }],
  };
}

function route(name, cluster) {
  return { '@type': RDS, name, virtual_hosts: [{ name: 'all', domains: ['*'],
    routes: [{ match: { prefix: '/' }, route: { cluster } }] }] };
}

let server;
let scratch;
let controlPort;
let xdsAddress;

function control(method, urlPath, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? '' : JSON.stringify(body);
    const req = http.request({ host: '127.0.0.1', port: controlPort, method, path: urlPath,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

async function put(kind, resources, extra = {}) {
  const r = await control('PUT', `/resources/${kind}`, Object.assign({ resources }, extra));
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.version;
}

before(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'xds-self-test-'));
  const portFile = path.join(scratch, 'ports.json');
  server = spawn(process.execPath, [path.join(__dirname, 'server.js'), '--port-file', portFile],
    { stdio: ['ignore', 'inherit', 'inherit'] });
  for (let i = 0; i < 200 && !fs.existsSync(portFile); i++) await new Promise((r) => setTimeout(r, 50));
  const ports = JSON.parse(fs.readFileSync(portFile, 'utf8'));
  controlPort = ports.control_port;
  xdsAddress = `127.0.0.1:${ports.xds_port}`;
});

after(() => {
  server.kill('SIGTERM');
  fs.rmSync(scratch, { recursive: true, force: true });
});

test('resources that do not fit the official protos are refused with the JSON path named', async () => {
  const typo = await control('PUT', '/resources/listeners', { resources: [{ '@type': LDS, name: 'x', adress: {} }] });
  assert.equal(typo.status, 400);
  assert.match(typo.json.error, /resources\[0\]\.adress: unknown field/);
  const badNested = listener('x', 1);
  badNested.filter_chains[0].filters[0].typed_config.stream_idle_timeout = 'soon';
  const nested = await control('PUT', '/resources/listeners', { resources: [badNested] });
  assert.equal(nested.status, 400);
  assert.match(nested.json.error, /typed_config\.stream_idle_timeout: expected a duration/);
  const wrongKind = await control('PUT', '/resources/clusters', { resources: [listener('x', 1)] });
  assert.equal(wrongKind.status, 400);
  assert.equal((await control('PUT', '/resources/nothing', { resources: [] })).status, 404);
});

test('a state-of-the-world client gets every listener, ACKs, gets pushes, and a NACKed version is not re-sent', async () => {
  await control('POST', '/reset-requests');
  assert.equal(await put('listeners', [listener('a', 10001), listener('b', 10002)]), '1');
  const client = new AdsClient(xdsAddress, { nodeId: 'node-sotw', metadata: { app: 'shop', ports: [8080] } });
  client.send({ type_url: LDS, resource_names: [] });  // legacy wildcard
  const first = await client.next();
  assert.equal(first.version_info, '1');
  assert.equal(first.type_url, LDS);
  assert.deepEqual(first.resources.map(resourceName), ['a', 'b']);
  const a = decodeAny(first.resources[0]);
  assert.equal(a.per_connection_buffer_limit_bytes.value, 32768);
  const hcm = decodeAny(a.filter_chains[0].filters[0].typed_config);
  assert.equal(hcm.rds.route_config_name, 'local');
  assert.equal(hcm.stream_idle_timeout.seconds, '2');
  assert.equal(hcm.stream_idle_timeout.nanos, 500000000);
  assert.equal(hcm.http_filters[0].typed_config.type_url, 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router');

  client.send({ type_url: LDS, version_info: '1', response_nonce: first.nonce });
  assert.ok(await client.quiet(), 'an ACK of the current version is not answered');

  assert.equal(await put('listeners', [listener('a', 10001)], { version: 'v2' }), 'v2');
  const pushed = await client.next();
  assert.equal(pushed.version_info, 'v2');
  assert.deepEqual(pushed.resources.map(resourceName), ['a']);
  client.send({ type_url: LDS, version_info: '1', response_nonce: pushed.nonce,
    error_detail: { code: 3, message: 'listener a: bad port' } });
  assert.ok(await client.quiet(), 'a NACK is not answered with the same version');

  client.send({ type_url: LDS, version_info: '1', response_nonce: 'stale-nonce' });
  assert.ok(await client.quiet(), 'a stale nonce is ignored');

  await put('listeners', [listener('a', 10003)]);
  const fixed = await client.next();
  assert.equal(fixed.version_info, '3');
  client.send({ type_url: LDS, version_info: '3', response_nonce: fixed.nonce });
  await new Promise((r) => setTimeout(r, 100));  // let the ACK arrive

  const streams = (await control('GET', '/streams')).json;
  const mine = streams.find((s) => s.node_id === 'node-sotw');
  assert.deepEqual(mine.node_metadata, { app: 'shop', ports: [8080] });
  assert.equal(mine.types[LDS].wildcard, true);
  assert.equal(mine.types[LDS].acked_version, '3');
  assert.equal(mine.types[LDS].last_nack.version, 'v2');
  assert.equal(mine.types[LDS].last_nack.message, 'listener a: bad port');
  const requests = (await control('GET', '/requests')).json.filter((r) => r.node_id === 'node-sotw');
  assert.equal(requests.length, 5);  // wildcard, ACK, NACK, stale, ACK
  const nack = requests[2];
  assert.deepEqual(nack.error_detail, { code: 3, message: 'listener a: bad port' });
  assert.equal(nack.response_nonce, pushed.nonce);
  assert.equal(nack.version_info, '1');
  assert.equal(nack.delta, false);
  assert.equal(requests[3].stale, true);
  assert.equal(requests[4].version_info, '3');
  assert.equal(requests[0].version_info, '');
  assert.deepEqual(requests[0].resource_names, []);
  client.close();
});

test('RDS answers only the subscribed names and follows subscription changes', async () => {
  await put('routes', [route('r1', 'c1'), route('r2', 'c2'), route('r3', 'c3')]);
  const client = new AdsClient(xdsAddress, { nodeId: 'node-rds' });
  client.send({ type_url: RDS, resource_names: ['r1', 'missing'] });
  const first = await client.next();
  assert.deepEqual(first.resources.map(resourceName), ['r1']);
  client.send({ type_url: RDS, version_info: first.version_info, response_nonce: first.nonce,
    resource_names: ['r1', 'r3'] });
  const second = await client.next();
  assert.equal(second.version_info, first.version_info);
  assert.deepEqual(second.resources.map(resourceName), ['r1', 'r3']);
  client.close();
});

test('raw bytes that are not a valid message reach the client under the collection type URL', async () => {
  const client = new AdsClient(xdsAddress, { nodeId: 'node-raw' });
  client.send({ type_url: CDS, resource_names: ['*'] });
  const r = await control('PUT', '/raw/clusters', { resources: [
    { type_url: CDS, value_base64: Buffer.from([0xff, 0xff, 0xff]).toString('base64'), name: 'garbage' },
    { '@type': CDS, name: 'good', connect_timeout: '1s' }] });
  assert.equal(r.status, 200);
  const response = await client.next();
  assert.equal(response.resources.length, 2);
  assert.deepEqual([...response.resources[0].value], [0xff, 0xff, 0xff]);
  assert.equal(resourceName(response.resources[1]), 'good');
  client.close();
});

test('a delta client gets only changes and removals, and initial_resource_versions are honoured on reconnect', async () => {
  await put('listeners', [listener('d1', 1), listener('d2', 2), listener('d3', 3)]);
  const client = new AdsClient(xdsAddress, { delta: true, nodeId: 'node-delta' });
  client.send({ type_url: LDS, resource_names_subscribe: [] });
  const first = await client.next();
  assert.deepEqual(first.resources.map((r) => r.name).sort(), ['d1', 'd2', 'd3']);
  assert.deepEqual(first.resources.map((r) => resourceName(r.resource)).sort(), ['d1', 'd2', 'd3']);
  const versions = Object.fromEntries(first.resources.map((r) => [r.name, r.version]));
  client.send({ type_url: LDS, response_nonce: first.nonce });
  assert.ok(await client.quiet(), 'an ACK is not answered');

  // d1 unchanged, d2 changed, d3 removed.
  await put('listeners', [listener('d1', 1), listener('d2', 22)]);
  const change = await client.next();
  assert.deepEqual(change.resources.map((r) => r.name), ['d2']);
  assert.notEqual(change.resources[0].version, versions.d2);
  assert.deepEqual(change.removed_resources, ['d3']);
  client.send({ type_url: LDS, response_nonce: change.nonce, error_detail: { code: 3, message: 'no d2' } });
  assert.ok(await client.quiet(), 'a NACK is not re-answered');
  client.close();

  const again = new AdsClient(xdsAddress, { delta: true, nodeId: 'node-delta-2' });
  again.send({ type_url: LDS, resource_names_subscribe: ['*'],
    initial_resource_versions: { d1: versions.d1, d2: versions.d2, d3: versions.d3 } });
  const resync = await again.next();
  assert.deepEqual(resync.resources.map((r) => r.name), ['d2']);
  assert.deepEqual(resync.removed_resources, ['d3']);
  again.close();

  const requests = (await control('GET', '/requests')).json;
  const nack = requests.find((r) => r.node_id === 'node-delta' && r.error_detail);
  assert.equal(nack.delta, true);
  assert.equal(nack.error_detail.message, 'no d2');
  const hello = requests.find((r) => r.node_id === 'node-delta-2');
  assert.deepEqual(hello.resource_names, ['*']);
  assert.equal(hello.initial_resource_versions.d1, versions.d1);
});

test('close-streams ends every stream with UNAVAILABLE', async () => {
  const client = new AdsClient(xdsAddress, { nodeId: 'node-close' });
  client.send({ type_url: LDS, resource_names: [] });
  await client.next();
  const closed = await control('POST', '/close-streams');
  assert.ok(closed.json.closed >= 1);
  await assert.rejects(client.next(2000), (e) => e.code === 14);
});

test('GET /state reports each kind with its version and resource versions', async () => {
  const state = (await control('GET', '/state')).json;
  assert.deepEqual(Object.keys(state).sort(), ['clusters', 'endpoints', 'listeners', 'routes', 'secrets']);
  assert.equal(state.endpoints.version, null);
  assert.deepEqual(state.listeners.resources.map((r) => r.name), ['d1', 'd2']);
  assert.match(state.listeners.resources[0].version, /^[0-9a-f]{16}$/);
});
