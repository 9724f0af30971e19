/**
 * A request no route takes: a 405 with the methods a known path takes (a POST to a read-only path), else a 404 with
 * the nearest known path (`/v1/calibration` for `/v1/calibrations`, `/v1/treshold`).
 */
import { ROUTES, type RouteSpec } from "../contract";
import { editDistance } from "../platform/http/query";

/** The HTML pages beside the API operations (src/dashboard, src/reference/docs.ts). */
const PAGES = ["/ui", "/docs"];

/**
 * Longest path given a hint: the nearest path costs an edit distance per route, quadratic in the path's length, and a
 * request needs no token to reach a 404 (a path of 8,000 characters took 3 s of CPU). Real paths are under 120.
 */
const MAX_HINTED_PATH_LENGTH = 200;

/** The longest edit distance still read as a typo of a known path: 2, or a tenth of the path's length. */
const typoDistance = (path: string): number => Math.max(2, Math.floor(path.length / 10));

/** `template` with its `{param}` segments filled from `path`'s segments (same depth), else as it is. */
function filled(template: string, path: string): string {
  const t = template.split("/");
  const p = path.split("/");
  if (t.length !== p.length) return template;
  return t.map((s, i) => (s.startsWith("{") && p[i] !== "" ? p[i] : s)).join("/");
}

/**
 * The methods a known path takes when `method` is not one of them (the 405's `Allow`, HEAD beside GET: Hono answers
 * a HEAD with the GET route), else undefined: the path is unknown, or its route did not take the request for another
 * reason. Only API operations: the dashboard's pages answer their own methods.
 */
export function allowedMethods(method: string, path: string): string[] | undefined {
  const known = (Object.values(ROUTES) as RouteSpec[]).filter((s) => filled(s.path, path) === path).map((s) => s.method.toUpperCase());
  if (known.length === 0 || known.includes(method)) return undefined;
  return [...new Set(known.flatMap((m) => (m === "GET" ? ["GET", "HEAD"] : [m])))];
}

/** " (did you mean GET /v1/calibrations?)" or "". */
export function notFoundHint(method: string, path: string): string {
  if (path.length > MAX_HINTED_PATH_LENGTH) return "";
  const specs = Object.values(ROUTES) as RouteSpec[];
  let best: string | null = null;
  let bestD = Number.POSITIVE_INFINITY;
  for (const candidate of [...specs.map((s) => `${s.method.toUpperCase()} ${filled(s.path, path)}`), ...PAGES.map((p) => `GET ${p}`)]) {
    const at = candidate.indexOf(" ");
    if (candidate.slice(0, at) !== method) continue;
    const d = editDistance(path, candidate.slice(at + 1));
    if (d > 0 && d < bestD) [best, bestD] = [candidate, d];
  }
  return best !== null && bestD <= typoDistance(path) ? ` (did you mean ${best}?)` : "";
}
