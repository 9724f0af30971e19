import { DurableObject } from "cloudflare:workers";
export class GateMonitor extends DurableObject {}
export default { async fetch() { return new Response("ok"); } } satisfies ExportedHandler<Env>;
