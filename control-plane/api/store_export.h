// The whole store as one JSON document, out and back in: what `remoractl
// store export` saves (a backup, or the first half of a migration from
// SQLite to etcd) and `remoractl store import` loads into an empty store
// (docs/api.md, "Store export and import").
//
//   {"apiVersion":"remora.dev/v1","kind":"StoreExport","revision":"42",
//    "exportedAt":"2024-05-01T12:00:00.123Z","objects":[
//      {"kind":"Service","namespace":"default","name":"reviews","uid":"...",
//       "createdAt":"...","updatedAt":"...","resourceVersion":"7",
//       "labels":{"app":"reviews"},"spec":{"ports":[...]}},
//      {"kind":"JoinToken","namespace":"","name":"0123456789abcdef",...,"spec":{...}}]}
//
// Every object travels, the CA's internal kinds (JoinToken,
// IssuedCertificate) too, so sidecars' join tokens keep working after a
// migration. For mesh kinds `spec` (and `labels`) are the object's own; for
// the internal kinds `spec` is the record the CA stores. uid, createdAt and
// updatedAt are kept by the import; resourceVersion is informational (the
// target store numbers objects with its own counter).
//
// Called by ApiRoutes on the API server's pool threads; no state of its own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "control-plane/api/api_errors.h"
#include "control-plane/store/store.h"
#include "xds/base/status.h"

namespace remora::cp::api {

// The export document of `objects` (in the given order) as of `revision`.
// kInvalidArgument naming the object when a stored JSON does not read back
// (a damaged store: the export refuses rather than drop an object).
base::Result<std::string> exportDocument(const std::vector<store::StoredObject>& objects, uint64_t revision,
                                         int64_t exported_unix_ms);

// Reads and validates an export document: every object's kind is a mesh or
// an internal kind, its key is valid, a mesh object passes the API's own
// field validation (mesh::parseObject) and is stored in the form the API
// would store it. References between objects are not checked: an export is
// a snapshot of a store, which may hold an Endpoint whose Service was
// deleted. kInvalidArgument naming the entry: "objects[3].spec.port: ...".
base::Result<std::vector<store::StoredObject>> parseExportDocument(std::string_view json);

// GET /api/v1/store/export: 200 with the document.
ApiResponse exportStore(store::Store& store, int64_t now_unix_ms);

// POST /api/v1/store/import: 200 {"imported":N,"revision":"R"}; 400 for a
// bad document (nothing written), 409 when the store is not empty.
ApiResponse importStore(store::Store& store, std::string_view body);

}  // namespace remora::cp::api
