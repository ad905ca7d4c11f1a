/**
 * Issue 14 item 10, over raw sockets on every backend: methods a fetch `Request` cannot carry (TRACE,
 * CONNECT) on the tRPC endpoint, `/healthz` and the pages get the resource's 405 with `Allow` instead of a 500
 * (or, for CONNECT, a dropped connection); and after a 413 for a 1 MB body the connection is closed promptly
 * and cleanly — the client reads the 413 and then an orderly close, not a reset six seconds later.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { startRegstack, type TestRegstack } from '../harness/regstack.ts';

interface Exchange {
  /** Everything the server sent. */
  text: string;
  /** Milliseconds until the server closed the connection, or null if it was still open at the deadline. */
  closedAfterMs: number | null;
  /** A socket error (a reset), if any. */
  error: string | null;
}

/** Writes `chunks` on one fresh connection and collects the answer until the server closes it or `waitMs` pass. */
function exchange(port: number, chunks: Array<string | Buffer>, waitMs: number): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const started = Date.now();
    let text = '';
    let error: string | null = null;
    const finish = (closedAfterMs: number | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closedAfterMs, error });
    };
    const timer = setTimeout(() => finish(null), waitMs);
    socket.on('data', (d) => {
      text += d.toString('latin1');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message;
    });
    socket.on('close', () => finish(Date.now() - started));
    for (const c of chunks) socket.write(c);
  });
}

const status = (text: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
const header = (text: string, name: string) =>
  new RegExp(`^${name}: *(.*?)\\r$`, 'im').exec(text.split('\r\n\r\n')[0] ?? '')?.[1];

describeEachBackend('HTTP hygiene (issue 14 item 10)', (ctx) => {
  let t: TestRegstack;
  let server: { url: string; port: number; close(): Promise<void> };
  beforeAll(async () => {
    t = await startRegstack(ctx.url, { enableUiRouter: true });
    server = await t.regstack.listen({ port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await t?.regstack.close();
  });

  const RESOURCES = [
    { path: '/trpc/auth.login', allow: 'GET, POST' },
    { path: '/healthz', allow: 'GET, HEAD' },
    { path: '/account/verify', allow: 'GET, HEAD, POST' },
    { path: '/account/me', allow: 'GET, HEAD' },
    { path: '/account/logout', allow: 'POST' },
  ];

  it('TRACE and CONNECT get 405 with the resource’s Allow, never a 500 or a dropped connection', async () => {
    for (const method of ['TRACE', 'CONNECT']) {
      for (const { path, allow } of RESOURCES) {
        const res = await exchange(
          server.port,
          [`${method} ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`],
          2000,
        );
        expect(status(res.text), `${method} ${path}`).toBe(405);
        expect(header(res.text, 'allow'), `${method} ${path}`).toBe(allow);
        expect(res.text).not.toMatch(/internal/i);
      }
      const unknown = await exchange(
        server.port,
        [`${method} /nowhere HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`],
        2000,
      );
      expect(status(unknown.text), `${method} /nowhere`).toBe(404);
    }
  });

  it('other odd methods get the same 405 with Allow, /healthz included', async () => {
    for (const method of ['PUT', 'DELETE', 'OPTIONS']) {
      for (const { path, allow } of RESOURCES) {
        const res = await fetch(`${server.url}${path}`, { method });
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(res.headers.get('allow'), `${method} ${path}`).toBe(allow);
      }
    }
  });

  it('a doubled leading slash is the same path (R20 canonical path), never read as a host name', async () => {
    // `//trpc/…` once became host "trpc" and path "/auth.login", so the endpoint answered 404.
    for (const path of ['//healthz', '//trpc//auth.account.me', '///healthz/']) {
      const res = await exchange(
        server.port,
        [`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`],
        2000,
      );
      const expected = path.includes('trpc') ? 401 : 200; // `me` without a token: UNAUTHENTICATED
      expect(status(res.text), path).toBe(expected);
    }
  });

  it('a Host that is no host name gets 400, not 500', async () => {
    const res = await exchange(server.port, ['GET /healthz HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n'], 2000);
    expect(status(res.text)).toBe(400);
  });

  it('after a 413 for a 1 MB body the connection closes promptly and cleanly; the request behind it never runs', async () => {
    const big = Buffer.alloc(1024 * 1024, 'a');
    const res = await exchange(
      server.port,
      [
        `POST /trpc/auth.login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\n\r\n`,
        big,
        'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n',
      ],
      8000,
    );
    expect(status(res.text)).toBe(413);
    expect(header(res.text, 'connection')).toBe('close');
    expect(res.closedAfterMs).not.toBeNull();
    expect(res.closedAfterMs).toBeLessThan(3000);
    expect(res.error).toBeNull(); // an orderly close, not a reset
    expect(res.text.match(/HTTP\/1\.1 /g)).toHaveLength(1);
  });

  it('the same for a 1 MB chunked body, whose size is only known while reading it', async () => {
    const chunk = Buffer.alloc(100_000, 'a');
    const chunks: Array<string | Buffer> = [
      'POST /trpc/auth.login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
    ];
    for (let i = 0; i < 10; i++) chunks.push(`${chunk.length.toString(16)}\r\n`, chunk, '\r\n');
    chunks.push('0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const res = await exchange(server.port, chunks, 8000);
    expect(status(res.text)).toBe(413);
    expect(header(res.text, 'connection')).toBe('close');
    expect(res.closedAfterMs).not.toBeNull();
    expect(res.closedAfterMs).toBeLessThan(3000);
    expect(res.error).toBeNull();
  });

  it('a connection without oversized bodies keeps serving (keep-alive unaffected)', async () => {
    const get = 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n';
    const res = await exchange(server.port, [get, get], 1500);
    expect(res.text.match(/HTTP\/1\.1 200/g)).toHaveLength(2);
    expect(res.closedAfterMs).toBeNull();
  });
});
