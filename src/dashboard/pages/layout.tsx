/** The page frame: skip link, navigation, who is signed in (with sign-out), the main landmark. */
import { raw } from "hono/html";
import type { Child } from "hono/jsx";
import { MAX_NOTE_LENGTH } from "../../contract";
import type { Principal } from "../../platform/auth";

export interface PageProps {
  readonly title: string;
  readonly principal: Principal | null;
  readonly csrf: string;
  readonly current?: "overview" | "alerts" | "docs";
  readonly children?: Child;
}

export function Layout(props: PageProps) {
  return (
    <>
      {raw("<!doctype html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{`${props.title} · scoregate`}</title>
          <link rel="stylesheet" href="/ui/style.css" />
        </head>
        <body>
          <a class="skip" href="#main">
            Skip to content
          </a>
          <header class="top">
            <a class="brand" href="/ui">
              scoregate
            </a>
            <nav aria-label="Main">
              <ul>
                <li>
                  <a href="/ui" aria-current={props.current === "overview" ? "page" : undefined}>
                    Gates
                  </a>
                </li>
                <li>
                  <a href="/ui/alerts" aria-current={props.current === "alerts" ? "page" : undefined}>
                    Alerts
                  </a>
                </li>
                <li>
                  <a href="/docs">API reference</a>
                </li>
              </ul>
            </nav>
            {props.principal && (
              <div class="who">
                <span>
                  {props.principal.name} ({props.principal.scope})
                </span>
                <form method="post" action="/ui/logout" class="inline">
                  <input type="hidden" name="csrf" value={props.csrf} />
                  <button type="submit">Sign out</button>
                </form>
              </div>
            )}
          </header>
          <main id="main">{props.children}</main>
        </body>
      </html>
    </>
  );
}

/** A hidden CSRF field and a submit button: the admin forms of every page. */
export function AdminForm(props: {
  action: string;
  csrf: string;
  label: string;
  name?: string;
  extra?: Record<string, string>;
  reason?: boolean;
  secondary?: boolean;
}) {
  return (
    <form method="post" action={props.action} class="inline">
      <input type="hidden" name="csrf" value={props.csrf} />
      {Object.entries(props.extra ?? {}).map(([k, v]) => (
        <input type="hidden" name={k} value={v} />
      ))}
      {props.reason && (
        <>
          <label for={`reason-${props.name ?? props.action}`} class="muted">
            Reason
          </label>
          <input id={`reason-${props.name ?? props.action}`} name="reason" type="text" maxlength={MAX_NOTE_LENGTH} size={14} />{" "}
        </>
      )}
      <button type="submit" class={props.secondary ? "secondary" : undefined} aria-label={props.name}>
        {props.label}
      </button>
    </form>
  );
}

export const gateName = (g: { index: string; embedding: string; reranker: string }): string => `${g.index} / ${g.embedding} / ${g.reranker}`;

export const when = (iso: string | null | undefined): string =>
  iso
    ? iso
        .replace("T", " ")
        .replace(/\.\d+Z$/u, " UTC")
        .replace(/Z$/u, " UTC")
    : "–";
