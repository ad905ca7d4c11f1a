/**
 * The development index at `/` (issue 16 item 6): what this server answers, for someone who just ran
 * `regstack serve --dev` (or `./dev start`) and opened the address it printed — the tRPC endpoint with every
 * procedure and its HTTP method, `/healthz`, and the account pages. Served only in development mode
 * (`createRegstack({ development: true })`, which `--dev` sets); in production `/` stays a 404, so a deployed
 * server lists nothing. It reflects configuration only (prefixes, the app name), escaped by the renderer (R60),
 * and is sent with the pages' strict headers: no inline code, no framing, no caching (R59).
 */
import type { RegstackConfig } from '../../config/index.ts';
import { pageHeaders } from './account-pages.ts';
import { Card, Layout } from './components.ts';
import { el, renderDocument } from './html.ts';
import { linkPageList } from './views-public.ts';

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

type DevIndexConfig = Pick<
  RegstackConfig,
  'appName' | 'apiPrefix' | 'uiPrefix' | 'staticPrefix' | 'enableUiRouter' | 'themeCssUrl' | 'brandLogoUrl' | 'baseUrl'
>;

const code = (text: string) => el('code', null, text);

export function renderDevIndex(config: DevIndexConfig, procedures: readonly ListedProcedure[]): string {
  const api = config.apiPrefix.replace(/\/+$/, '');
  const ui = config.uiPrefix.replace(/\/+$/, '');
  const assets = config.staticPrefix.replace(/\/+$/, '');
  const pages = config.enableUiRouter
    ? [
        el('h2', null, 'Pages'),
        el(
          'p',
          null,
          'Sign up, sign in and manage the account here; mailed links open the link pages with ',
          code('?token=…'),
          '. With ',
          code('--dev'),
          " each email, link included, is printed to the server's console.",
        ),
        el(
          'ul',
          null,
          el('li', null, el('a', { href: `${ui}/register` }, code(`${ui}/register`)), ' · Create an account'),
          el('li', null, el('a', { href: `${ui}/login` }, code(`${ui}/login`)), ' · Sign in'),
          el('li', null, el('a', { href: `${ui}/me` }, code(`${ui}/me`)), ' · Your account'),
          el('li', null, el('a', { href: `${ui}/forgot` }, code(`${ui}/forgot`)), ' · Forgot your password'),
          ...linkPageList().map((page) => el('li', null, code(`${ui}/${page.name}`), ` · ${page.title}`)),
          el('li', null, code(`${assets}/regstack.css`), " · the pages' stylesheet"),
        ),
      ]
    : [
        el('h2', null, 'Pages'),
        el('p', null, 'The account pages are off (', code('enable_ui_router = false'), '): the app serves its own.'),
      ];
  return renderDocument(
    Layout({
      chrome: { appName: config.appName, uiPrefix: ui, staticPrefix: assets },
      title: 'development server',
      wide: true,
      children: Card({
        title: `${config.appName} · development server`,
        children: [
          el(
            'p',
            null,
            'This index is shown only in development (',
            code('regstack serve --dev'),
            '). In production ',
            code('/'),
            ' answers 404.',
          ),
          el('h2', null, 'Endpoints'),
          el(
            'ul',
            null,
            el(
              'li',
              null,
              el('a', { href: '/healthz' }, code('GET /healthz')),
              ' · readiness: the database answers and its schema is current',
            ),
            el(
              'li',
              null,
              code(api),
              ' · the tRPC endpoint (superjson; queries over GET, mutations over POST with ',
              code('Content-Type: application/json'),
              ')',
            ),
          ),
          el(
            'table',
            { class: 'rs-procedures' },
            el('thead', null, el('tr', null, el('th', null, 'Method'), el('th', null, 'Procedure'))),
            el(
              'tbody',
              null,
              ...procedures.map((p) =>
                el(
                  'tr',
                  null,
                  el('td', null, p.type === 'query' ? 'GET' : 'POST'),
                  el('td', null, code(`${api}/${p.path}`)),
                ),
              ),
            ),
          ),
          ...pages,
        ],
      }),
    }),
  );
}

/** The index as a response: GET and HEAD only, with the pages' strict headers. */
export function devIndexResponse(
  method: string,
  config: DevIndexConfig,
  procedures: readonly ListedProcedure[],
): Response {
  const headers = pageHeaders(config);
  if (method !== 'GET' && method !== 'HEAD') {
    return new Response('Method Not Allowed', { status: 405, headers: { allow: 'GET, HEAD', ...headers } });
  }
  return new Response(method === 'HEAD' ? null : renderDevIndex(config, procedures), {
    headers: { 'content-type': 'text/html; charset=utf-8', ...headers },
  });
}
