/**
 * The benchmark's extra door: GET /bench/hub?gate=ID[&after=SEQ] with the read token upgrades to a WebSocket held by
 * the gate's hub (the internal subscribe request of src/streaming/hub.ts, hubSubscribeUrl, exactly as the relay sends
 * it); everything else goes to the built Worker. Not a route of the Worker: the bench's stand-in for the design it
 * compares with (clients on the object's WebSocket, no relay). Passed to startWorker as its `entryWrapper`.
 */
export const HUB_DOOR = `
import scoregate from "./scoregate.js";
export * from "./scoregate.js";
export default {
  ...scoregate,
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname !== "/bench/hub") return scoregate.fetch(request, env, ctx);
    if (url.searchParams.get("token") !== "dev-read") return new Response("unauthorized", { status: 401 });
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket", { status: 426 });
    const gate = url.searchParams.get("gate");
    const after = url.searchParams.get("after");
    const hub = env.GATE_MONITOR.get(env.GATE_MONITOR.idFromName(gate));
    const at = "https://hub.internal/subscribe?gate=" + encodeURIComponent(gate) + (after === null ? "" : "&after=" + after);
    return hub.fetch(at, { headers: { upgrade: "websocket" } });
  },
};
`;
