/**
 * The RAG service example (examples/rag-service) as scripts/consumer-test.mjs drives it: started from its installed
 * copy, searched while scoregate answers, then again once scoregate is stopped. Every assertion is on what the service
 * answered and printed.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { waitFor } from "./consumer-harness.mjs";

const QUERIES = ["how do refunds work", "express shipping fee", "reset my password"];

/** Starts the service, runs the searches of a healthy scoregate, and returns the outage half and a stop function. */
export async function startRagService({ node, dir, env, calibration }) {
  const child = spawn(node.bin, ["server.mjs"], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (c) => {
    out += c;
  });
  child.stderr.on("data", (c) => {
    out += c;
  });
  const exited = once(child, "exit");
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  };
  const fail = (message) => {
    throw new Error(`${message}\n--- rag-service output ---\n${out}`);
  };
  try {
    const port = await waitFor(() => /listening on http:\/\/127\.0\.0\.1:(\d+)/u.exec(out)?.[1], "rag-service to listen");
    const get = async (path) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: res.status, body: await res.json() };
    };
    const search = (q) => get(`/search?q=${encodeURIComponent(q)}`);

    const answers = [];
    for (const q of QUERIES) {
      const { status, body } = await search(q);
      if (status !== 200) fail(`GET /search answered ${status}`);
      if (body.threshold !== calibration.threshold || body.calibration_id !== calibration.id) fail(`search "${q}" used ${JSON.stringify(body)}`);
      if (body.kept.some((d) => d.score < calibration.threshold)) fail(`search "${q}" kept a passage below the threshold`);
      answers.push(body);
    }
    if (answers[0].reason !== "calibrated" || answers.slice(1).some((a) => a.reason !== "cached")) fail(`reasons ${answers.map((a) => a.reason)}`);
    if (answers.every((a) => a.kept.length === a.candidates)) fail("the gate dropped nothing in any search");
    // observations go out in batches, on the client's timer (5 s by default)
    await waitFor(async () => (await get("/stats")).body.sent >= QUERIES.length, "the observations to be sent", { timeoutMs: 20_000 });
    for (const line of [
      `serving calibration ${calibration.id}`,
      `kept ${answers[0].kept.length} of ${answers[0].candidates} at threshold ${calibration.threshold} (${calibration.id}, calibrated)`,
    ])
      if (!out.includes(line)) fail(`the service did not print "${line}"`);

    const afterOutage = async () => {
      // past the threshold's max-age the cached value is served as `stale` while its revalidation fails
      const stale = await waitFor(
        async () => {
          const { status, body } = await search(QUERIES[0]);
          if (status !== 200) fail(`GET /search answered ${status} with scoregate down`);
          return body.reason === "stale" && body.error !== undefined ? body : null;
        },
        "a stale answer",
        { timeoutMs: 20_000, everyMs: 500 },
      );
      if (stale.threshold !== calibration.threshold || stale.kept.length !== answers[0].kept.length) fail(`stale answer ${JSON.stringify(stale)}`);
      if ((await get("/healthz")).status !== 200) fail("GET /healthz failed with scoregate down");
      for (const text of [`(${calibration.id}, stale: `, "searches go on with the last known threshold"])
        if (!out.includes(text)) fail(`the service did not print "${text}"`);
      child.kill("SIGTERM");
      const [code] = await exited;
      if (code !== 0) fail(`the service exited ${code} on SIGTERM`);
      const last = /rag-service stopped: observations sent (\d+)/u.exec(out);
      if (last === null || Number(last[1]) < QUERIES.length) fail("the service did not report its observations on exit");
      return `stale threshold ${stale.threshold}, exit 0, ${last[1]} observations sent`;
    };
    return { afterOutage, stop, detail: `${QUERIES.length} searches, ${answers.map((a) => `${a.kept.length}/${a.candidates}`).join(", ")} kept` };
  } catch (e) {
    await stop();
    throw e;
  }
}
