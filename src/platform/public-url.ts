/**
 * PUBLIC_URL: the address people open this Worker at (`https://scoregate.example.com`, or with the path a proxy
 * mounts it under), so that what the Worker sends out can link back to it: an alert's webhook carries the link of the
 * alert's dashboard page. Optional: unset or empty, nothing links. Generic: no feature is named here.
 *
 * The check is the deploy guard's too (scripts/check-deploy-config.mjs publicUrlProblem, held in agreement by
 * test/platform/public-url.test.ts): an absolute https URL (http only for localhost, or for any host outside
 * production: a development box on the local network, `npm start`), with no user name, password,
 * query or fragment, and a path of letters, digits and `. _ ~ - /` only, so that the link it makes is the same in
 * every reader, Slack's `<url|label>` markup included (which a `|`, `<`, `>` or `&` would break).
 */

/** The characters a PUBLIC_URL's path may hold (RFC 3986's unreserved ones and `/`). */
const PATH = /^[A-Za-z0-9._~/-]*$/u;
const LOCAL_HOSTS: readonly string[] = ["localhost", "127.0.0.1", "[::1]"];

/**
 * Why `raw` is not a usable PUBLIC_URL, or null when it is (or is unset: empty or only spaces). `production` false
 * (ENVIRONMENT development or test) takes http:// for any host.
 */
export function publicUrlProblem(raw: string, production = true): string | null {
  const value = raw.trim();
  if (value === "") return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "is not an absolute URL such as https://scoregate.example.com";
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && (!production || LOCAL_HOSTS.includes(url.hostname)))) {
    return production ? "must start with https:// (http:// only for localhost)" : "must start with https:// or http://";
  }
  if (url.username !== "" || url.password !== "") return "must not hold a user name or password";
  if (url.search !== "" || url.hash !== "" || /[?#]/u.test(value)) return "must not hold a query (?) or fragment (#)";
  if (!PATH.test(url.pathname)) return "may hold only letters, digits and . _ ~ - / in its path";
  return null;
}

/** The PUBLIC_URL to link from, without a trailing slash; null when unset or not usable (publicUrlProblem). */
export function publicUrlOf(raw: string | undefined, production = true): string | null {
  if (raw === undefined || raw.trim() === "" || publicUrlProblem(raw, production) !== null) return null;
  const url = new URL(raw.trim());
  return `${url.origin}${url.pathname.replace(/\/+$/u, "")}`;
}
