// Dashboard sessions inside workerd for the workerd tests: sign in with a token through the login form (as a browser
// does) and read pages with the session cookie.
import { exports } from "cloudflare:workers";
import { expect } from "vitest";

const worker = (exports as unknown as { default: Fetcher }).default;

/** Signs in with `token` and returns the session cookie (`name=value`). */
export async function session(token: string): Promise<string> {
  const res = await worker.fetch("http://scoregate.test/ui/login", {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token, next: "/ui" }).toString(),
  });
  expect(res.status, "login").toBe(303);
  return res.headers.get("set-cookie")!.split(";")[0]!;
}

/** A dashboard page's HTML, read with the session cookie (it must answer 200). */
export async function page(path: string, cookie: string): Promise<string> {
  const res = await worker.fetch(`http://scoregate.test${path}`, { headers: { cookie }, redirect: "manual" });
  expect(res.status, path).toBe(200);
  return res.text();
}

/** The page as a Response, for tests that read it with HTMLRewriter. */
export async function pageResponse(path: string, cookie: string): Promise<Response> {
  const res = await worker.fetch(`http://scoregate.test${path}`, { headers: { cookie }, redirect: "manual" });
  expect(res.status, path).toBe(200);
  return res;
}
