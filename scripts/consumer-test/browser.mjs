// What a browser app imports; bundled by scripts/consumer-test.mjs with esbuild (--platform=browser), never run here.
import { ScoregateClient } from "@scoregate/client";

const client = new ScoregateClient({ baseUrl: window.location.origin, token: "read-token" });
const t = await client.getThreshold({ index: "docs", embedding: "e5", reranker: "bge" }, { fallback: 0.4 });
document.body.dataset.threshold = String(t.threshold);
