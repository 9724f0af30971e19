// Every request names its sender: `scoregate-client/<version>`, after the products of the integrations using the client.
import { describe, expect, it } from "vitest";
import clientPackage from "../package.json";
import { ScoregateClient } from "../src";
import { addUserAgentProduct } from "../src/adapter";
import { fakeServer } from "./fake-server";

const gate = { embedding: "e5", reranker: "bge" };

describe("User-Agent", () => {
  it("threshold reads and observation batches send scoregate-client/<the package's version>", async () => {
    const server = fakeServer();
    const client = new ScoregateClient({ baseUrl: "http://scoregate.test", token: "t", fetch: server.fetch, observations: { timer: false } });
    expect(client.userAgent).toBe(`scoregate-client/${clientPackage.version}`);
    await client.getThreshold(gate, { fallback: 0.1 });
    client.report({ calibrationId: "cal_0000000001", candidates: 10, dropped: 3 });
    server.set(() => new Response(JSON.stringify({ accepted: true }), { status: 202, headers: { "content-type": "application/json" } }));
    await client.flush();
    expect(server.requests.map((r) => [r.method, r.headers.get("user-agent")])).toEqual([
      ["GET", `scoregate-client/${clientPackage.version}`],
      ["POST", `scoregate-client/${clientPackage.version}`],
    ]);
  });

  it("an integration's product goes in front, once; anything but an HTTP product is refused", async () => {
    const server = fakeServer();
    const client = new ScoregateClient({ baseUrl: "http://scoregate.test", token: "t", fetch: server.fetch });
    addUserAgentProduct(client, "scoregate-langchain/0.1.0");
    addUserAgentProduct(client, "my-rag/2.3");
    addUserAgentProduct(client, "scoregate-langchain/0.1.0");
    await client.getThreshold(gate, { fallback: 0.1 });
    expect(server.requests[0]!.headers.get("user-agent")).toBe(`my-rag/2.3 scoregate-langchain/0.1.0 scoregate-client/${clientPackage.version}`);
    for (const bad of ["", "two words/1", "name/1/2", "crlf\r\nx-injected: 1", "é/1"])
      expect(() => addUserAgentProduct(client, bad)).toThrow(TypeError);
    expect(client.userAgent).toBe(`my-rag/2.3 scoregate-langchain/0.1.0 scoregate-client/${clientPackage.version}`);
  });
});
