/**
 * Issue 16 item 5: the README's embedding example — a host tRPC router with regstack nested under `auth` and a
 * host procedure behind `regstack.procedures.authed` — served over real HTTP on both tRPC adapters, with the
 * adapter's own context options handed to `regstack.createContext` as they come: `{ req, res }` from Node's
 * adapter (`@trpc/server/adapters/standalone`), `{ req, resHeaders }` from the fetch adapter. That `{ req, res }`
 * compiles is checked by `pnpm typecheck` (this file) and by the README snippet check (snippets.test.ts).
 */
import type { AddressInfo } from 'node:net';
import { createRegstackClient, getRegstackErrorCode } from '@regstack/client';
import { formatRegstackError, type RegstackContext, regstackResponseMeta, regstackTransformer } from '@regstack/server';
import { createNodeServer } from '@regstack/server/internal';
import { initTRPC } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClientStack, PASSWORD, startClientStack, uniqueEmail } from '../client/support.ts';
import { caught } from '../harness/outcomes.ts';
import { createVerifiedUser } from '../harness/regstack.ts';

type Context = RegstackContext & { requestId: string };
const t = initTRPC.context<Context>().create({
  transformer: regstackTransformer,
  errorFormatter: (opts) => formatRegstackError(opts),
});

function hostRouter(stack: ClientStack) {
  return t.router({
    auth: stack.regstack.router,
    whoami: t.procedure
      .concat(stack.regstack.procedures.authed)
      .query(({ ctx }) => ({ email: ctx.auth.user.email, requestId: ctx.requestId, ip: ctx.regstack.request.ip })),
  });
}
type AppRouter = ReturnType<typeof hostRouter>;

interface Served {
  url: string;
  close(): Promise<void>;
}

function urlOf(address: AddressInfo | string | null): string {
  if (!address || typeof address === 'string') throw new Error('no TCP address');
  return `http://127.0.0.1:${address.port}/trpc`;
}

const ADAPTERS = [
  {
    adapter: 'Node (standalone)',
    async serve(stack: ClientStack): Promise<Served> {
      const server = createHTTPServer({
        router: hostRouter(stack),
        basePath: '/trpc/',
        responseMeta: regstackResponseMeta,
        // Destructured the way the README writes it: `res` must be accepted next to `req`.
        createContext: async ({ req, res }) => ({
          ...(await stack.regstack.createContext({ req, res })),
          requestId: 'node',
        }),
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return {
        url: urlOf(server.address()),
        close: () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      };
    },
  },
  {
    adapter: 'fetch',
    async serve(stack: ClientStack): Promise<Served> {
      const router = hostRouter(stack);
      const server = createNodeServer((request, info) =>
        fetchRequestHandler({
          endpoint: '/trpc',
          req: request,
          router,
          responseMeta: regstackResponseMeta,
          createContext: async ({ req, resHeaders }) => ({
            ...(await stack.regstack.createContext({ req, resHeaders, remoteAddress: info?.remoteAddress ?? null })),
            requestId: 'fetch',
          }),
        }),
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return { url: urlOf(server.address()), close: () => server.shutdown(1000) };
    },
  },
] as const;

describe.each(ADAPTERS)('the README host router on the $adapter adapter', ({ adapter, serve }) => {
  let stack: ClientStack;
  let served: Served;

  beforeAll(async () => {
    stack = await startClientStack();
    served = await serve(stack);
  });
  afterAll(async () => {
    await served?.close();
    await stack?.close();
  });

  it('a client signs in through the nested router and calls the host’s protected procedure', async () => {
    const { email } = await createVerifiedUser(stack, uniqueEmail('embed'));
    const rs = createRegstackClient<AppRouter>({ url: served.url, path: 'auth' });
    await rs.login({ email, password: PASSWORD });
    // Regstack's part of the context came from the adapter's request: the bearer token and the TCP peer.
    expect(await rs.trpc.whoami.query()).toEqual({
      email,
      requestId: adapter === 'fetch' ? 'fetch' : 'node',
      ip: '127.0.0.1',
    });
  });

  it('keeps regstack’s error codes and answers an anonymous call with UNAUTHENTICATED', async () => {
    const rs = createRegstackClient<AppRouter>({ url: served.url, path: 'auth' });
    expect(getRegstackErrorCode(await caught(rs.trpc.whoami.query()))).toBe('UNAUTHENTICATED');
    const { email } = await createVerifiedUser(stack, uniqueEmail('embed-wrong'));
    const wrong = await caught(rs.login({ email, password: 'not the password at all' }));
    expect(getRegstackErrorCode(wrong)).toBe('INVALID_CREDENTIALS');
  });
});
