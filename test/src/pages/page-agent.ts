/**
 * A minimal browser over raw HTTP for the page suites: a cookie jar, no redirects followed unless asked, forms
 * posted as `application/x-www-form-urlencoded` with the headers a browser sends for a same-origin form (`Origin`,
 * `Sec-Fetch-Site: same-origin`), and the CSRF token read out of the page it came from.
 */
export interface PageResponse {
  status: number;
  headers: Headers;
  html: string;
  location: string | null;
}

export function pageAgent(origin: string) {
  const jar = new Map<string, string>();
  function remember(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/max-age=0/i.test(line) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  }
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  async function send(path: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
    const res = await fetch(new URL(path, origin), {
      ...init,
      redirect: 'manual',
      headers: { ...(jar.size && { cookie: cookieHeader() }), ...init.headers },
    });
    remember(res);
    return { status: res.status, headers: res.headers, html: await res.text(), location: res.headers.get('location') };
  }
  return {
    jar,
    get: (path: string, headers: Record<string, string> = {}) => send(path, { headers }),
    /** Posts `fields` as a same-origin browser form would (override or drop headers with `headers`). */
    post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
      return send(path, {
        method: 'POST',
        body: new URLSearchParams(fields).toString(),
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          origin,
          'sec-fetch-site': 'same-origin',
          ...headers,
        },
      });
    },
    /** GET `path`, then post the form whose action is `action` with its CSRF token and `fields`. */
    async submit(path: string, action: string, fields: Record<string, string>) {
      const page = await send(path);
      return this.post(action, { csrf: csrfOf(page.html, action), ...fields });
    },
  };
}

/** The CSRF token of the form posting to `action` on a rendered page. */
export function csrfOf(html: string, action?: string): string {
  const forms = [
    ...html.matchAll(/<form method="post" action="([^"]+)"[^>]*><input type="hidden" name="csrf" value="([^"]+)"/g),
  ];
  const match = action ? forms.find((m) => m[1] === action) : forms[0];
  if (!match?.[2]) throw new Error(`no CSRF token for ${action ?? 'any form'} in the page`);
  return match[2];
}
