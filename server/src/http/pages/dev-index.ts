/**
 * The development index at `/` (issue 16 item 6): what this server answers, for someone who just ran
 * `regstack serve --dev` (or `./dev start`) and opened the address it printed — the tRPC endpoint with every
 * procedure and its HTTP method, `/healthz`, and the link pages with their assets. Served only in development
 * mode (`createRegstack({ development: true })`, which `--dev` sets); in production `/` stays a 404, so a
 * deployed server lists nothing. It reflects configuration only (prefixes, the app name), all HTML-escaped
 * (R60), and is sent with the pages' strict headers: no inline code, no framing, no caching (R59).
 */
import type { RegstackConfig } from '../../config/index.ts';
import { escapeHtml } from '../../email/templates.ts';
import { linkPageList, PAGE_SECURITY_HEADERS, pageHead } from './link-pages.ts';

/** One procedure of the served router: its dotted path and whether it is a query (GET) or a mutation (POST). */
export interface ListedProcedure {
  path: string;
  type: string;
}

/**
 * The procedures of a tRPC router record (`router._def.record`), depth first, in declaration order. Walked by
 * shape: a procedure is a function with `_def.procedure`, anything else is a nested record.
 */
export function listProcedures(record: object, prefix = ''): ListedProcedure[] {
  const out: ListedProcedure[] = [];
  for (const [key, value] of Object.entries(record)) {
    const def = (value as { _def?: { procedure?: unknown; type?: unknown } } | null)?._def;
    if (def?.procedure === true) out.push({ path: `${prefix}${key}`, type: String(def.type) });
    else if (typeof value === 'object' && value !== null) out.push(...listProcedures(value, `${prefix}${key}.`));
  }
  return out;
}

export function renderDevIndex(
  config: Pick<RegstackConfig, 'appName' | 'apiPrefix' | 'uiPrefix' | 'staticPrefix' | 'enableUiRouter'>,
  procedures: readonly ListedProcedure[],
): string {
  const e = escapeHtml;
  const api = config.apiPrefix.replace(/\/+$/, '');
  const ui = config.uiPrefix.replace(/\/+$/, '');
  const assets = config.staticPrefix.replace(/\/+$/, '');
  const rows = procedures
    .map((p) => {
      const method = p.type === 'query' ? 'GET' : 'POST';
      return `<tr><td>${method}</td><td><code>${e(`${api}/${p.path}`)}</code></td></tr>`;
    })
    .join('\n        ');
  const pages = config.enableUiRouter
    ? `<h2>Pages</h2>
    <p>Mailed links open these pages with <code>?token=…</code>; with <code>--dev</code> each email, link included, is printed to the server's console.</p>
    <ul>
      ${linkPageList()
        .map((page) => `<li><code>${e(`${ui}/${page.name}`)}</code> · ${e(page.title)}</li>`)
        .join('\n      ')}
      <li><code>${e(`${assets}/regstack.css`)}</code>, <code>${e(`${assets}/link-pages.js`)}</code> · the pages' assets</li>
    </ul>`
    : `<h2>Pages</h2>
    <p>The link pages are off (<code>enable_ui_router = false</code>): the app serves its own.</p>`;
  return `${pageHead(`${config.appName} · development server`, assets)}
<body>
  <main class="rs-wide">
    <h1>${e(config.appName)} · development server</h1>
    <p>This index is shown only in development (<code>regstack serve --dev</code>). In production <code>/</code> answers 404.</p>
    <h2>Endpoints</h2>
    <ul>
      <li><a href="/healthz"><code>GET /healthz</code></a> · readiness: the database answers and its schema is current</li>
      <li><code>${e(api)}</code> · the tRPC endpoint (superjson; queries over GET, mutations over POST with <code>Content-Type: application/json</code>)</li>
    </ul>
    <table class="rs-procedures">
      <thead><tr><th>Method</th><th>Procedure</th></tr></thead>
      <tbody>
        ${rows}
      </tbody>
    </table>
    ${pages}
  </main>
</body>
</html>
`;
}

/** The index as a response: GET and HEAD only, with the pages' strict headers. */
export function devIndexResponse(
  method: string,
  config: Parameters<typeof renderDevIndex>[0],
  procedures: readonly ListedProcedure[],
): Response {
  if (method !== 'GET' && method !== 'HEAD') {
    return new Response('Method Not Allowed', {
      status: 405,
      headers: { allow: 'GET, HEAD', ...PAGE_SECURITY_HEADERS },
    });
  }
  return new Response(method === 'HEAD' ? null : renderDevIndex(config, procedures), {
    headers: { 'content-type': 'text/html; charset=utf-8', ...PAGE_SECURITY_HEADERS },
  });
}
