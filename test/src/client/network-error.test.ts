/**
 * Issue 16 item 3: a request the client cannot get an answer to becomes NETWORK_ERROR with a message saying what
 * to check — from Node against a real closed port, and from a real Chromium page on another origin against a real
 * regstack server without `cors_origins` (the browser withholds the answer) and against a closed port; with the
 * page's origin in `cors_origins` the same page reads the server's own answer (UNAUTHENTICATED). An aborted
 * call stays an abort. The client's behaviour does not depend on the backend: SQLite only.
 */
import { createServer, type Server } from 'node:http';
import {
  createRegstackClient,
  getRegstackErrorCode,
  getRegstackErrorData,
  isTRPCClientError,
  RegstackNetworkError,
} from '@regstack/client';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, launchChromium } from './browser.ts';
import { type ClientStack, chromiumMissing, freePort, startClientStack } from './support.ts';

const PAGE_SOURCE = new URL('./fixtures/network-page/main.ts', import.meta.url).pathname;

describe('NETWORK_ERROR from Node (issue 16 item 3)', () => {
  it('a closed port: a TRPCClientError with the code, the endpoint and what to check', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/trpc`;
    const client = createRegstackClient({ url });
    const err = await client.me().then(
      () => null,
      (e: unknown) => e,
    );
    expect(isTRPCClientError(err)).toBe(true);
    expect(getRegstackErrorCode(err)).toBe('NETWORK_ERROR');
    expect(getRegstackErrorData(err)).toEqual({ regstackCode: 'NETWORK_ERROR' });
    const message = (err as Error).message;
    expect(message).toContain(`Could not reach the regstack server at ${url}`);
    expect(message).toContain('Is the server running at that address?');
    expect(message).not.toContain('cors_origins'); // no page, so no other origin to name
    const cause = (err as { cause?: unknown }).cause;
    expect(RegstackNetworkError.is(cause)).toBe(true);
    expect((cause as RegstackNetworkError).url).toBe(url);
    expect((cause as Error).cause).toBeInstanceOf(TypeError); // fetch's own error is kept
  });

  it('a batch of calls: every call gets its own NETWORK_ERROR', async () => {
    const client = createRegstackClient({ url: `http://127.0.0.1:${await freePort()}/trpc` });
    const outcomes = await Promise.allSettled([client.me(), client.sessions(), client.mfaStatus()]);
    for (const o of outcomes) {
      expect(o.status).toBe('rejected');
      expect(getRegstackErrorCode((o as PromiseRejectedResult).reason)).toBe('NETWORK_ERROR');
    }
  });

  it('an aborted call stays an abort, not a network error', async () => {
    const stack = await startClientStack();
    const server = await stack.regstack.listen({ port: 0 });
    try {
      const client = createRegstackClient({ url: `${server.url}/trpc` });
      const controller = new AbortController();
      const call = client.auth.account.me.query(undefined, { signal: controller.signal });
      controller.abort();
      const err = await call.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).not.toBeNull();
      expect(getRegstackErrorCode(err)).toBeUndefined();
    } finally {
      await server.close();
      await stack.close();
    }
  });
});

describe.skipIf(chromiumMissing)('NETWORK_ERROR and CORS in Chromium (issue 16 item 3)', () => {
  let page: Server;
  let pageOrigin: string;
  let plain: ClientStack;
  let withCors: ClientStack;
  let plainServer: { url: string; close(): Promise<void> };
  let corsServer: { url: string; close(): Promise<void> };
  let browser: Browser;

  beforeAll(async () => {
    const bundle = await build({
      entryPoints: [PAGE_SOURCE],
      bundle: true,
      write: false,
      platform: 'browser',
      format: 'esm',
      conditions: ['@regstack/source'],
      logLevel: 'silent',
    });
    const script = bundle.outputFiles[0]?.text ?? '';
    page = createServer((req, res) => {
      if (req.url === '/main.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
        return;
      }
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><title>page</title><script type="module" src="/main.js"></script>');
    });
    await new Promise<void>((r) => page.listen(0, '127.0.0.1', () => r()));
    const address = page.address();
    pageOrigin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    [plain, withCors] = await Promise.all([startClientStack(), startClientStack({ corsOrigins: [pageOrigin] })]);
    plainServer = await plain.regstack.listen({ port: 0 });
    corsServer = await withCors.regstack.listen({ port: 0 });
    browser = await launchChromium();
    await browser.page.goto(pageOrigin);
    await browser.page.waitForFunction(() => 'callMe' in globalThis);
  });
  afterAll(async () => {
    await browser?.close();
    await plainServer?.close();
    await corsServer?.close();
    await plain?.close();
    await withCors?.close();
    await new Promise<void>((r) => (page ? page.close(() => r()) : r()));
  });

  const callMe = (url: string) =>
    browser.page.evaluate(
      (u) =>
        (
          globalThis as unknown as {
            callMe(url: string): Promise<{ ok: boolean; code?: string; message?: string; data?: unknown }>;
          }
        ).callMe(u),
      url,
    );

  it('a server without cors_origins: NETWORK_ERROR naming the server and asking about cors_origins', async () => {
    const url = `${plainServer.url}/trpc`;
    const outcome = await callMe(url);
    expect(outcome).toMatchObject({ ok: false, code: 'NETWORK_ERROR', data: { regstackCode: 'NETWORK_ERROR' } });
    expect(outcome.message).toContain(`Could not reach the regstack server at ${url}`);
    expect(outcome.message).toContain(`does the server's cors_origins include ${pageOrigin}?`);
  });

  it('a closed port: NETWORK_ERROR too', async () => {
    const outcome = await callMe(`http://127.0.0.1:${await freePort()}/trpc`);
    expect(outcome).toMatchObject({ ok: false, code: 'NETWORK_ERROR' });
  });

  it("with the page's origin in cors_origins the page reads the server's own answer", async () => {
    const outcome = await callMe(`${corsServer.url}/trpc`);
    expect(outcome).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
  });
});
