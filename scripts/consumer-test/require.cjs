// CommonJS: require() of the ESM-only packages (Node 20.19+ and 22.12+ load ES modules synchronously). This is why
// the packages ship no CommonJS build.
const assert = require("node:assert/strict");
const { ScoregateClient } = require("@scoregate/client");
const { saveSnapshot } = require("@scoregate/client/node");
const { shadow, shadowsFor } = require("@scoregate/client/shadow");
const { gateStep } = require("@scoregate/client/adapter");
const { restore, snapshot } = require("@scoregate/client/snapshot");
const { ScoregateCompressor } = require("@scoregate/langchain");
const { ScoregatePostprocessor } = require("@scoregate/llamaindex");
const { ScoregateProvider } = require("@scoregate/openfeature");

const client = new ScoregateClient({ baseUrl: "http://127.0.0.1:1", token: "t" });
for (const f of [saveSnapshot, shadow, shadowsFor, gateStep, restore, snapshot, ScoregateCompressor, ScoregatePostprocessor, ScoregateProvider])
  assert.equal(typeof f, "function");
// the shadow entry reads the core client's cache: nothing cached yet, so no shadow takes the key
assert.deepEqual(shadowsFor(client, { embedding: "e5", reranker: "bge" }, "user-1"), []);
assert.match(client.userAgent, /^scoregate-client\/\d+\.\d+\.\d+/u);
// the snapshot entry reads the core client's cache: nothing answered yet, so nothing to save
assert.deepEqual(snapshot(client).entries, []);
console.log(JSON.stringify({ node: process.version, required: 9 }));
