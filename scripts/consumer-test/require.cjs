// CommonJS: require() of the ESM-only packages (Node 20.19+ and 22.12+ load ES modules synchronously). This is why
// the packages ship no CommonJS build.
const assert = require("node:assert/strict");
const { ScoregateClient } = require("@scoregate/client");
const { saveSnapshot } = require("@scoregate/client/node");
const { ScoregateCompressor } = require("@scoregate/langchain");
const { ScoregatePostprocessor } = require("@scoregate/llamaindex");
const { ScoregateProvider } = require("@scoregate/openfeature");

const client = new ScoregateClient({ baseUrl: "http://127.0.0.1:1", token: "t" });
for (const f of [saveSnapshot, ScoregateCompressor, ScoregatePostprocessor, ScoregateProvider]) assert.equal(typeof f, "function");
assert.match(client.userAgent, /^scoregate-client\/\d+\.\d+\.\d+/u);
console.log(JSON.stringify({ node: process.version, required: 5 }));
