/**
 * The host app as one object: its router, its context factory, and the two ways of serving it — a fetch
 * handler (`(Request) => Response`: what Hono, Next.js route handlers, Bun and Deno serve) and a Node
 * `http` request listener. Both mount tRPC at `/trpc` and serve the built React page everywhere else.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Regstack, regstackResponseMeta } from '@regstack/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { createAppRouter, createHostContext, createNotesStore, type NotesStore } from './router.ts';
import { readStaticFile } from './static.ts';

export interface HostAppOptions {
  /** A directory with a built single-page app to serve outside `/trpc` (the React page's `dist`). */
  staticDir?: string;
}

export type HostFetchHandler = (request: Request, info?: { remoteAddress?: string | null }) => Promise<Response>;

export function createHostApp(regstack: Regstack, options: HostAppOptions = {}) {
  const notes: NotesStore = createNotesStore();
  const router = createAppRouter(regstack);

  const fetchHandler: HostFetchHandler = async (request, info = {}) => {
    const url = new URL(request.url);
    if (url.pathname === '/trpc' || url.pathname.startsWith('/trpc/')) {
      // tRPC 11 itself refuses non-JSON posts (415), so a form or text/plain post cannot pose as a call (R56);
      // regstack's responseMeta adds `Cache-Control: no-store` and `Retry-After` on lockouts and limits.
      return fetchRequestHandler({
        endpoint: '/trpc',
        req: request,
        router,
        responseMeta: regstackResponseMeta,
        createContext: ({ req, resHeaders }) =>
          createHostContext(regstack, notes, { req, resHeaders, remoteAddress: info.remoteAddress ?? null }),
      });
    }
    if (request.method === 'GET' && options.staticDir) {
      const file = await readStaticFile(options.staticDir, url.pathname);
      if (file) {
        return new Response(file.body, {
          headers: { 'content-type': file.type, 'cache-control': file.cacheControl },
        });
      }
    }
    return new Response('Not found', { status: 404 });
  };

  const trpcListener = createHTTPHandler({
    router,
    responseMeta: regstackResponseMeta,
    basePath: '/trpc/',
    createContext: ({ req }) => createHostContext(regstack, notes, { req }),
  });

  const nodeListener = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://host.invalid');
    if (url.pathname.startsWith('/trpc/')) {
      trpcListener(req, res);
      return;
    }
    if (req.method === 'GET' && options.staticDir) {
      const file = await readStaticFile(options.staticDir, url.pathname);
      if (file) {
        res.writeHead(200, { 'content-type': file.type, 'cache-control': file.cacheControl }).end(file.body);
        return;
      }
    }
    res.writeHead(404).end('Not found');
  };

  return { router, notes, fetchHandler, nodeListener };
}

export type HostApp = ReturnType<typeof createHostApp>;
