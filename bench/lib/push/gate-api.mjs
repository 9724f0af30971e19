/**
 * What bench/push-propagation.mjs asks of the Worker over HTTP (uploading and activating calibrations of its gate, with
 * the development tokens) and the SDK it bundles for a run.
 */
import { join } from "node:path";
import { build } from "esbuild";
import { CACHE } from "../build-cache.mjs";
import { mulberry32, ROOT } from "../worker.mjs";
import { GATE, K } from "./options.mjs";

async function api(url, method, path, token, body) {
  const res = await fetch(new URL(path, url), {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

/** Serves `target` on its gate (an admin activation, as a rollback would be); returns when it was sent and answered. */
export async function serve(url, target, reason) {
  const t0 = performance.now();
  await api(url, "POST", `/v1/calibrations/${target}/activate`, "dev-admin", { reason });
  return { t0, t200: performance.now() };
}

async function upload(url, version, activate, seed) {
  const rand = mulberry32(seed);
  const scores = Array.from({ length: 1000 }, () => rand());
  const body = { ...GATE, index_version: version, scores, policy: { kind: "drop_rate", target: 0.2 }, activate };
  return (await api(url, "POST", "/v1/calibrations", "dev-calibrate", body)).calibration;
}

/** Every mode's gate: v1 uploaded and served, v2 uploaded and stored (seeded scores). */
export async function uploadVersions(url) {
  const v1 = await upload(url, "v1", true, 1);
  const v2 = await upload(url, "v2", false, 2);
  return { v1, v2 };
}

/** The `--activations` targets of an arm: v2, v1, v2, ... (K even: v1 served again at the end). */
export const alternating = (v1, v2) => Array.from({ length: K }, (_, i) => (i % 2 === 0 ? v2.id : v1.id));

/** The SDK (packages/client) bundled for this run: `index`, today's polling client, or `stream`, pushed changes. */
export async function loadClient(entry = "index") {
  const outfile = join(CACHE, "scoregate-bench", `push-propagation-client-${entry}.mjs`);
  await build({
    entryPoints: [join(ROOT, `packages/client/src/${entry}.ts`)],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile,
    logLevel: "warning",
  });
  return import(outfile);
}
