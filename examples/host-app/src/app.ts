/**
 * The host app as one object: its router, its context factory, and the two ways of serving it — a fetch
 * handler (`(Request) => Response`: what Hono, Next.js route handlers, Bun and Deno serve) and a Node
 * `http` request listener. Both mount tRPC at `/trpc` and serve the built React page everywhere else.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Regstack } from '@regstack/server';
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

  // regstack's own server refuses state-changing requests that are not JSON (R56: a cross-site form or
  // text/plain post cannot be made to look like a tRPC call). A host serving the router itself keeps that.
  const isJsonPost = (method: string, contentType: string | null | undefined) =>
    method !== 'POST' || (contentType ?? '').split(';')[0]?.trim().toLowerCase() === 'application/json';

  const fetchHandler: HostFetchHandler = async (request, info = {}) => {
    const url = new URL(request.url);
    if (url.pathname === '/trpc' || url.pathname.startsWith('/trpc/')) {
      if (!isJsonPost(request.method, request.headers.get('content-type'))) {
        return new Response('Use Content-Type: application/json', { status: 415 });
      }
      return fetchRequestHandler({
        endpoint: '/trpc',
        req: request,
        router,
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
    basePath: '/trpc/',
    createContext: ({ req }) => createHostContext(regstack, notes, { req }),
  });

  const nodeListener = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://host.invalid');
    if (url.pathname.startsWith('/trpc/')) {
      if (!isJsonPost(req.method ?? 'GET', req.headers['content-type'])) {
        res.writeHead(415).end('Use Content-Type: application/json');
        return;
      }
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
