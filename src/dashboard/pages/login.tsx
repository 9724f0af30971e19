import { Layout } from "./layout";

export function LoginPage(props: { next: string; error: string | null; development: boolean }) {
  return (
    <Layout title="Sign in" principal={null} csrf="">
      <h1>Sign in</h1>
      <p>
        Paste an API token. A read token shows every page; an admin token also activates calibrations and acknowledges alerts. The token itself is not
        kept: signing in sets a cookie with a signed, expiring session id, which page scripts cannot read.
      </p>
      {props.error && (
        <p class="error" role="alert">
          {props.error}
        </p>
      )}
      <form method="post" action="/ui/login" class="panel">
        <input type="hidden" name="next" value={props.next} />
        <div class="filters">
          <div>
            <label for="token">API token</label>
            <input id="token" name="token" type="password" autocomplete="current-password" required size={40} />
          </div>
          <div>
            <button type="submit">Sign in</button>
          </div>
        </div>
      </form>
      {props.development && (
        <p class="notice">
          Development: the local tokens are <code>dev-read</code>, <code>dev-calibrate</code> and <code>dev-admin</code>.
        </p>
      )}
    </Layout>
  );
}
