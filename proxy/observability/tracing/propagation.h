// Trace-context propagation over HTTP headers: read the caller's context
// from a request (W3C traceparent/tracestate, B3 single `b3`, B3 multi
// X-B3-*) and write ours onto the request we send upstream.
//
// Called by the Tracer (extract, at request headers) and the router (inject,
// per upstream try). Pure functions; worker-local data.
#pragma once

#include <cstdint>

#include "proxy/http/header_map.h"
#include "proxy/observability/request_record.h"

namespace remora::tracing {

// Reads W3C first, then B3 single, then B3 multi; the first readable one
// gives the context. Fills record.trace (trace_id, sampled, sampling_decided,
// tracestate), record.parent_span_id (the caller's span), record.incoming_formats
// (every family that was present and readable) and record.malformed_trace (a
// family present but unreadable: it is ignored, and without another readable
// one the request starts a new trace). record.trace.span_id is left for the
// Tracer.
//
// A B3 header that carries only a decision (`b3: 0`, `b3: d`, or
// X-B3-Sampled / X-B3-Flags without ids) is not a context: trace_id stays
// invalid, but sampling_decided/sampled are set so the new trace honours it.
void extractTraceContext(const http::HeaderMap& headers, observability::RequestRecord& record);

// Removes every traceparent/tracestate/b3/x-b3-* field of `upstream_request`
// and writes record's context with `span_id` as the span the next hop's
// spans hang under (the try's CLIENT span), in record.incoming_formats, or
// W3C + B3 single when the request came with none. Does nothing unless
// record.trace.trace_id is valid.
void injectTraceContext(http::HeaderMap& upstream_request, const observability::RequestRecord& record,
                        uint64_t span_id);

}  // namespace remora::tracing
