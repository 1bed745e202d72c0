import type { ReactNode } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';

export interface AssetUrls {
  /** Only pages with charts load the chart script. */
  script?: string | undefined;
  stylesheet: string;
}

/** React escapes every text and attribute value: no hand-written HTML escaping anywhere. */
export function renderPage(page: ReactNode): string {
  return `<!doctype html>\n${renderToStaticMarkup(page)}`;
}

export function Shell(props: { title: string; assets: AssetUrls; children: ReactNode }) {
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title}</title>
        <link rel="stylesheet" href={props.assets.stylesheet} />
        {props.assets.script && <script defer src={props.assets.script} />}
      </head>
      <body>{props.children}</body>
    </html>
  );
}

export function LoginPage(props: { assets: AssetUrls; csrfToken: string; error?: string | undefined }) {
  return (
    <Shell title="Sign in · ai-dev-bot team ledger" assets={props.assets}>
      <main>
        <form className="login" method="post" action="/login">
          <h1>ai-dev-bot team ledger</h1>
          <p className="muted">Sign in with your member token (the one given to `ai-dev-bot credits sync`).</p>
          {props.error && (
            <p className="error" role="alert" id="login-error">
              {props.error}
            </p>
          )}
          <input type="hidden" name="_csrf" value={props.csrfToken} />
          <label htmlFor="token">Member token</label>
          <input
            id="token"
            name="token"
            type="password"
            autoComplete="current-password"
            required
            aria-describedby={props.error ? 'login-error' : undefined}
          />
          <button type="submit">Sign in</button>
        </form>
      </main>
    </Shell>
  );
}

export function ErrorPage(props: { assets: AssetUrls; status: number; message: string }) {
  return (
    <Shell title={`${props.status} · ai-dev-bot team ledger`} assets={props.assets}>
      <main>
        <h1>{props.status}</h1>
        <p role="alert">{props.message}</p>
        <p>
          <a href="/">Back to the dashboard</a>
        </p>
      </main>
    </Shell>
  );
}

/** A download link; `download` keeps the browser on the page. */
export function ExportLink(props: { href: string; what: string }) {
  return (
    <p>
      <a href={props.href} download>
        Download {props.what} as CSV
      </a>
    </p>
  );
}
