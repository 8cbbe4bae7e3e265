'use strict';
// gRPC's own xDS client (@grpc/grpc-js-xds) calling the Echo service of
// tests/integration/grpc/echo.proto through an xds:/// target, so a test can
// show a control plane (remora-cp) serving proxyless gRPC: every call's
// answering server (its "x-server-port" initial metadata) is printed as one
// JSON line, flushed, so the test watches the calls move as endpoints change.
//
// Command: node grpc_xds_client.js --xds HOST:PORT --target xds:///NAME
//          --proto PATH/echo.proto [--node-id ID] [--interval-ms 20] [--duration-ms 20000]
// Output lines: {"ok":true,"port":"41234"} or {"ok":false,"code":14,"error":"..."}.
// Exits 0 when the duration is over (or on SIGTERM).

const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

function flag(name, fallback) {
  const i = process.argv.indexOf('--' + name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const xds = flag('xds');
const target = flag('target');
const protoPath = flag('proto');
if (!xds || !target || !protoPath) {
  process.stderr.write('usage: node grpc_xds_client.js --xds HOST:PORT --target xds:///NAME --proto echo.proto\n');
  process.exit(2);
}
const intervalMs = Number(flag('interval-ms', '20'));
const durationMs = Number(flag('duration-ms', '20000'));

// The bootstrap gRPC reads: one plaintext xDS server speaking v3.
process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
  xds_servers: [{ server_uri: xds, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
  node: { id: flag('node-id', 'grpc-xds-client'), locality: { zone: 'local' } },
});
require('@grpc/grpc-js-xds').register();

const definition = protoLoader.loadSync(protoPath, { keepCase: true, defaults: true });
const Echo = grpc.loadPackageDefinition(definition).remora.test.Echo;
const client = new Echo(target, grpc.credentials.createInsecure());

let index = 0;
function callOnce() {
  let port = null;
  const call = client.Unary({ message: 'hi', index: index++ }, { deadline: Date.now() + 2000 }, (err) => {
    const line = err ? { ok: false, code: err.code, error: err.details || String(err) } : { ok: true, port };
    process.stdout.write(JSON.stringify(line) + '\n');
  });
  call.on('metadata', (metadata) => {
    const value = metadata.get('x-server-port');
    if (value.length > 0) port = String(value[0]);
  });
}

const timer = setInterval(callOnce, intervalMs);
function stop() {
  clearInterval(timer);
  client.close();
  setTimeout(() => process.exit(0), 50);
}
setTimeout(stop, durationMs);
process.on('SIGTERM', stop);
