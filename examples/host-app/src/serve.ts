/**
 * Putting the host app on a port, both ways. `serveFetch` runs the fetch handler under Hono on Node
 * (`@hono/node-server`) — the same handler deploys unchanged to Bun (`Bun.serve({ fetch })`), Deno, or a
 * Next.js route handler (`export const GET = handler, POST = handler`). `serveNode` is a plain
 * `node:http` server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type HttpBindings, serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { HostApp } from './app.ts';

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

function running(server: Server, host: string): RunningServer {
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function honoApp(app: HostApp): Hono<{ Bindings: HttpBindings }> {
  const hono = new Hono<{ Bindings: HttpBindings }>();
  hono.get('/healthz', (c) => c.json({ status: 'ok' }));
  hono.all('*', (c) => app.fetchHandler(c.req.raw, { remoteAddress: c.env.incoming.socket.remoteAddress ?? null }));
  return hono;
}

/** The fetch handler under Hono on Node. */
export function serveFetch(app: HostApp, opts: { port?: number; host?: string } = {}): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  return new Promise((resolve) => {
    const server = serve(
      // Keep Node's own Request/Response: other code in the process (regstack, tests) relies on them.
      { fetch: honoApp(app).fetch, port: opts.port ?? 3000, hostname: host, overrideGlobalObjects: false },
      () => resolve(running(server as Server, host)),
    ) as Server;
  });
}

/** The Node `http` request listener on a plain server. */
export function serveNode(app: HostApp, opts: { port?: number; host?: string } = {}): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    app.nodeListener(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 3000, host, () => resolve(running(server, host)));
  });
}
