/** Raw HTTP against a running regstack: the tRPC wire format with superjson, no client library. */
export interface RawResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests probe the raw wire format, whose shape is what they assert
  body: any;
}

export function rawClient(baseUrl: string, defaults: Record<string, string> = {}) {
  async function send(method: 'GET' | 'POST', path: string, input?: unknown, headers: Record<string, string> = {}) {
    const url = new URL(`/trpc/${path}`, baseUrl);
    const init: RequestInit = { method, headers: { ...defaults, ...headers } };
    if (method === 'POST') {
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
      init.body = JSON.stringify(input === undefined ? {} : { json: input });
    } else if (input !== undefined) {
      url.searchParams.set('input', JSON.stringify({ json: input }));
    }
    const res = await fetch(url, init);
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {}
    return { status: res.status, headers: res.headers, body } as RawResponse;
  }
  return {
    mutation: (path: string, input?: unknown, headers?: Record<string, string>) => send('POST', path, input, headers),
    query: (path: string, input?: unknown, headers?: Record<string, string>) => send('GET', path, input, headers),
  };
}

export const data = (r: RawResponse) => r.body?.result?.data?.json;
export const error = (r: RawResponse) => r.body?.error?.json;
