#!/usr/bin/env node
// validate.mjs FILE...: checks every Kubernetes object in the YAML (or JSON)
// files against the object schemas of the `kubernetes-models` package
// (generated from Kubernetes' OpenAPI, validated with ajv), so the output
// of `remoractl inject` is checked without a cluster: kubectl's client-side
// validation downloads its schemas from an API server.
//
// Each object is looked up by apiVersion and kind (apps/v1 Deployment ->
// kubernetes-models/apps/v1/Deployment); a kind List is checked item by
// item; an object the package has no class for is an error, so a typo in a
// kind cannot pass silently. Prints "ok FILE#N Kind/name" per object; on the
// first failure prints "FILE#N Kind/name: <ajv error>" and exits 1.
//
// Known limit: Kubernetes' OpenAPI does not forbid unknown fields, so neither
// do these schemas; types, enums, required fields and formats are checked.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

async function classFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string" || !/^[A-Za-z0-9.\/-]+$/.test(apiVersion) ||
      !/^[A-Za-z0-9]+$/.test(kind)) {
    return null;
  }
  try {
    const module = await import(`kubernetes-models/${apiVersion}/${kind}`);
    return module[kind] ?? null;
  } catch {
    return null;
  }
}

async function check(object, where) {
  if (object === null || typeof object !== "object" || Array.isArray(object)) {
    throw new Error(`${where}: not a Kubernetes object`);
  }
  if (object.kind === "List" && Array.isArray(object.items)) {
    for (const [i, item] of object.items.entries()) await check(item, `${where}.items[${i}]`);
    return;
  }
  const label = `${where} ${object.kind}/${object.metadata?.name ?? ""}`;
  const Model = await classFor(object.apiVersion, object.kind);
  if (Model === null) throw new Error(`${label}: no schema for apiVersion ${object.apiVersion} kind ${object.kind}`);
  try {
    new Model(object).validate();
  } catch (error) {
    throw new Error(`${label}: ${error.message}`);
  }
  console.log(`ok ${label}`);
}

async function main(files) {
  if (files.length === 0) {
    console.error("usage: validate.mjs FILE...");
    return 2;
  }
  for (const file of files) {
    const documents = parseAllDocuments(readFileSync(file, "utf8"));
    let index = 0;
    for (const document of documents) {
      index += 1;
      if (document.errors.length > 0) throw new Error(`${file}#${index}: ${document.errors[0].message}`);
      const object = document.toJS();
      if (object === null || object === undefined) continue;  // an empty document
      await check(object, `${file}#${index}`);
    }
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error.message);
    process.exit(1);
  });
