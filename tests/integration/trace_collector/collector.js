// A span collector for Remora's tracing tests, independent of Remora's own
// code: OTLP/HTTP requests (POST /v1/traces, protobuf) are decoded with the
// OpenTelemetry project's generated definitions shipped in
// @opentelemetry/otlp-transformer, and Zipkin v2 JSON (POST /api/v2/spans) is
// checked against the Zipkin v2 span schema with ajv. Every span lands in one
// flat list, ids in lower-case hex, which the test reads with GET /spans.
//
//   node collector.js [--port-file F] [--fail-first N] [--count-only]
// --count-only (benchmarks): spans are decoded and counted, not kept.
// Listens on 127.0.0.1, port 0; writes {"port": n} to F (atomically) or
// prints "port <n>".
//
// GET /spans  -> {"spans":[...], "errors":[...], "requests":{"otlp":n,"zipkin":n,"refused":n}}
// POST /reset -> clears spans, errors and counts.
'use strict';

const http = require('http');
const fs = require('fs');
const path = require('path');
const Ajv = require('ajv');
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root');

const ExportTraceServiceRequest = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const ExportTraceServiceResponse = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
const validateZipkin = new Ajv({ allErrors: true }).compile(
  JSON.parse(fs.readFileSync(path.join(__dirname, 'zipkin_v2_span.schema.json'), 'utf8')));

let failFirst = 0;
let portFile = '';
let countOnly = false;
let host = '127.0.0.1';
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === '--fail-first') failFirst = Number(process.argv[++i]);
  else if (process.argv[i] === '--port-file') portFile = process.argv[++i];
  else if (process.argv[i] === '--count-only') countOnly = true;
  else if (process.argv[i] === '--host') host = process.argv[++i];
}

const state = { spans: [], errors: [], requests: { otlp: 0, zipkin: 0, refused: 0 }, counted: 0 };
const SPAN_KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];

const hex = (bytes) => Buffer.from(bytes || []).toString('hex');
const nanos = (v) => (v === undefined || v === null ? '0' : v.toString());

function anyValue(v) {
  if (!v) return null;
  if (v.stringValue !== undefined && v.stringValue !== null && v.stringValue !== '') return v.stringValue;
  if (v.intValue !== undefined && v.intValue !== null) return Number(v.intValue.toString());
  if (v.boolValue !== undefined && v.boolValue !== null) return v.boolValue;
  if (v.doubleValue !== undefined && v.doubleValue !== null) return v.doubleValue;
  return v.stringValue !== undefined ? v.stringValue : null;
}

function attributes(list) {
  const out = {};
  for (const kv of list || []) out[kv.key] = anyValue(kv.value);
  return out;
}

function onOtlp(body) {
  const request = ExportTraceServiceRequest.decode(body);
  for (const rs of request.resourceSpans) {
    const resource = attributes(rs.resource && rs.resource.attributes);
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        state.counted++;
        if (countOnly) continue;
        state.spans.push({
          format: 'otlp',
          service: resource['service.name'] || '',
          scope: ss.scope ? ss.scope.name : '',
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: s.name,
          kind: SPAN_KINDS[s.kind] || String(s.kind),
          startTimeUnixNano: nanos(s.startTimeUnixNano),
          endTimeUnixNano: nanos(s.endTimeUnixNano),
          status: s.status ? { code: s.status.code || 0, message: s.status.message || '' } : { code: 0, message: '' },
          attributes: attributes(s.attributes),
        });
      }
    }
  }
  return Buffer.from(ExportTraceServiceResponse.encode({}).finish());
}

function onZipkin(body) {
  const spans = JSON.parse(body.toString('utf8'));
  if (!validateZipkin(spans)) {
    state.errors.push({ format: 'zipkin', errors: validateZipkin.errors });
    return false;
  }
  for (const s of spans) {
    state.spans.push({
      format: 'zipkin',
      service: s.localEndpoint ? s.localEndpoint.serviceName || '' : '',
      traceId: s.traceId,
      spanId: s.id,
      parentSpanId: s.parentId || '',
      name: s.name || '',
      kind: s.kind || '',
      timestamp: s.timestamp,
      duration: s.duration,
      remoteEndpoint: s.remoteEndpoint || null,
      attributes: s.tags || {},
    });
  }
  return true;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const reply = (status, type, payload) => {
      res.writeHead(status, { 'content-type': type });
      res.end(payload);
    };
    try {
      if (req.method === 'GET' && req.url === '/spans') return reply(200, 'application/json', JSON.stringify(state));
      if (req.method === 'POST' && req.url === '/reset') {
        state.spans = [];
        state.errors = [];
        state.requests = { otlp: 0, zipkin: 0, refused: 0 };
        return reply(200, 'text/plain', 'ok\n');
      }
      if (req.method === 'POST' && (req.url === '/v1/traces' || req.url === '/api/v2/spans')) {
        if (failFirst > 0) {
          failFirst--;
          state.requests.refused++;
          return reply(503, 'text/plain', 'failing on purpose\n');
        }
        if (req.url === '/v1/traces') {
          if (!String(req.headers['content-type'] || '').startsWith('application/x-protobuf')) {
            state.errors.push({ format: 'otlp', errors: 'content-type ' + req.headers['content-type'] });
            return reply(415, 'text/plain', 'want application/x-protobuf\n');
          }
          state.requests.otlp++;
          return reply(200, 'application/x-protobuf', onOtlp(body));
        }
        state.requests.zipkin++;
        return onZipkin(body) ? reply(202, 'text/plain', '') : reply(400, 'text/plain', 'schema\n');
      }
      reply(404, 'text/plain', 'not found\n');
    } catch (e) {
      state.errors.push({ format: req.url, errors: String(e && e.message) });
      reply(400, 'text/plain', String(e && e.message) + '\n');
    }
  });
});

server.listen(0, host, () => {
  const port = server.address().port;
  if (portFile) {
    fs.writeFileSync(portFile + '.tmp', JSON.stringify({ port }));
    fs.renameSync(portFile + '.tmp', portFile);
  } else {
    process.stdout.write('port ' + port + '\n');
  }
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
