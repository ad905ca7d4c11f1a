/**
 * regstack embedded in a host app (examples/host-app): the host's own router and context, `regstack.router`
 * nested under `auth`, regstack's error formatter composed into the host's root, a host procedure protected
 * by `regstack.procedures.authed`, and regstack called server-side with `createCaller` — served both as a
 * fetch handler (under Hono) and as a Node `http` server, and reached over real HTTP with
 * `createRegstackClient<AppRouter>` and with a plain tRPC client.
 */
import { createRegstackClient, getRegstackErrorCode, getRegstackErrorData } from '@regstack/client';
import { type AppRouter, createHostApp, type RunningServer, serveFetch, serveNode } from '@regstack/example-host-app';
import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caught as failure } from '../harness/outcomes.ts';
import { createVerifiedUser } from '../harness/regstack.ts';
import { type ClientStack, PASSWORD, startClientStack, uniqueEmail, verificationLink } from './support.ts';

const MODES = [
  { mode: 'fetch handler (Hono)', serve: serveFetch },
  { mode: 'node:http server', serve: serveNode },
] as const;

describe.each(MODES)('host app served as a $mode', ({ serve }) => {
  let stack: ClientStack;
  let server: RunningServer;
  let url: string;

  beforeAll(async () => {
    stack = await startClientStack();
    server = await serve(createHostApp(stack.regstack), { port: 0 });
    url = `${server.url}/trpc`;
  });
  afterAll(async () => {
    await server?.close();
    await stack?.close();
  });

  it('the client signs up, verifies, logs in and calls the host’s own protected procedures', async () => {
    const rs = createRegstackClient<AppRouter>({ url, path: 'auth' });
    const email = uniqueEmail('host');
    expect((await rs.register({ email, password: PASSWORD })).status).toBe('pending_verification');
    const token = new URL(await verificationLink(stack, email)).searchParams.get('token')!;
    await rs.verifyEmail({ token });
    await rs.login({ email, password: PASSWORD });
    expect(rs.getUser()?.email).toBe(email);

    // The host's procedures through the same client: the bearer token goes along.
    const note = await rs.trpc.notes.add.mutate({ text: 'first note' });
    expect(note.createdAt).toBeInstanceOf(Date);
    expect((await rs.trpc.notes.mine.query()).map((n) => n.text)).toEqual(['first note']);
    // `dashboard` calls regstack server-side (createCaller) as the same user.
    expect(await rs.trpc.notes.dashboard.query()).toEqual({ email, notes: 1, activeSessions: 1 });
    expect(await rs.trpc.notes.hello.query()).toEqual({ message: 'Hello from the host app' });

    await rs.logout();
    expect(rs.getUser()).toBeNull();
  });

  it('regstack’s error codes survive nesting, for regstack’s procedures and for the host’s protected ones', async () => {
    const rs = createRegstackClient<AppRouter>({ url });
    const { email } = await createVerifiedUser(stack, uniqueEmail('codes'));

    const wrong = await failure(rs.login({ email, password: 'definitely the wrong one' }));
    expect(getRegstackErrorCode(wrong)).toBe('INVALID_CREDENTIALS');
    expect((wrong as TRPCClientError<AppRouter>).data?.httpStatus).toBe(401);

    const invalid = await failure(rs.register({ email: 'nope', password: PASSWORD }));
    expect(getRegstackErrorData(invalid)).toMatchObject({ regstackCode: 'VALIDATION_FAILED' });
    expect(getRegstackErrorData(invalid)?.fieldErrors?.email).toBeDefined();

    // The host's own procedure, protected by regstack.procedures.authed, without a token.
    const anonymous = await failure(rs.trpc.notes.mine.query());
    expect(getRegstackErrorCode(anonymous)).toBe('UNAUTHENTICATED');

    // A host error keeps the host's code and message; it is not relabelled as a regstack error.
    await rs.login({ email, password: PASSWORD });
    const missing = await failure(rs.trpc.notes.byId.query({ id: 999 }));
    expect(missing).toBeInstanceOf(TRPCClientError);
    expect((missing as TRPCClientError<AppRouter>).data?.code).toBe('NOT_FOUND');
    expect((missing as Error).message).toBe('No note 999');
    expect(getRegstackErrorCode(missing)).toBeUndefined();
    // No stack traces leave the host either.
    expect((missing as TRPCClientError<AppRouter>).data).not.toHaveProperty('stack');
  });

  it('a plain tRPC client typed from the host router reads the same codes', async () => {
    const trpc = createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url, transformer: superjson })],
    });
    const err = await failure(trpc.auth.account.me.query());
    expect(err).toBeInstanceOf(TRPCClientError);
    expect(getRegstackErrorCode(err)).toBe('UNAUTHENTICATED');
    const { email } = await createVerifiedUser(stack, uniqueEmail('plain'));
    const res = await trpc.auth.login.mutate({ email, password: PASSWORD });
    expect(res.status).toBe('authenticated');
  });

  it('a revoked session clears the client on its next call to a host procedure', async () => {
    const { email } = await createVerifiedUser(stack, uniqueEmail('host-revoked'));
    const rs = createRegstackClient<AppRouter>({ url });
    await rs.login({ email, password: PASSWORD });
    expect((await rs.trpc.notes.mine.query()).length).toBe(0);
    // Revoked server-side, as an admin tool or a password change would.
    const other = await stack.regstack.createCaller().login({ email, password: PASSWORD });
    if (other.status !== 'authenticated') throw new Error('expected a token');
    await stack.regstack.createCaller({ accessToken: other.accessToken }).logoutAll();

    expect(getRegstackErrorCode(await failure(rs.trpc.notes.mine.query()))).toBe('UNAUTHENTICATED');
    expect(rs.getAuthState().status).toBe('anonymous');
  });

  it('refuses a non-JSON POST to tRPC (R56), as regstack’s own server does', async () => {
    const res = await fetch(`${url}/auth.login`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ json: { email: 'a@example.com', password: PASSWORD } }),
    });
    expect(res.status).toBe(415);
  });

  it('with regstackResponseMeta, a lockout through the host answers 429 with Retry-After and no-store', async () => {
    const { email } = await createVerifiedUser(stack, uniqueEmail('host-lock'));
    const login = (password: string) =>
      fetch(`${url}/auth.login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ json: { email, password } }),
      });
    for (let i = 0; i < 5; i++) expect((await login('definitely the wrong one')).status).toBe(401);
    const locked = await login(PASSWORD);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(890);
    expect(locked.headers.get('cache-control')).toBe('no-store');
  });
});

describe('server-side callers in the host', () => {
  let stack: ClientStack;
  beforeAll(async () => {
    stack = await startClientStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('regstack.createCaller acts as a user with their token, with every check', async () => {
    const { email } = await createVerifiedUser(stack, uniqueEmail('caller'));
    const login = await stack.regstack.createCaller().login({ email, password: PASSWORD });
    if (login.status !== 'authenticated') throw new Error('expected a token');
    const asUser = stack.regstack.createCaller({ accessToken: login.accessToken });
    expect((await asUser.account.me()).email).toBe(email);
    await asUser.logout();
    expect(getRegstackErrorCode(await failure(asUser.account.me()))).toBe('UNAUTHENTICATED');
  });

  it('the host router’s own caller runs nested regstack procedures with the host context', async () => {
    const app = createHostApp(stack.regstack);
    const { email } = await createVerifiedUser(stack, uniqueEmail('host-caller'));
    const { createHostContext } = await import('@regstack/example-host-app');
    const anonymousCtx = await createHostContext(stack.regstack, app.notes, { req: new Request('http://host.test/') });
    const caller = app.router.createCaller(anonymousCtx);
    const login = await caller.auth.login({ email, password: PASSWORD });
    if (login.status !== 'authenticated') throw new Error('expected a token');
    const ctx = await createHostContext(stack.regstack, app.notes, {
      req: new Request('http://host.test/', { headers: { authorization: `Bearer ${login.accessToken}` } }),
    });
    const signedIn = app.router.createCaller(ctx);
    await signedIn.notes.add({ text: 'from the server' });
    expect(await signedIn.notes.dashboard()).toEqual({ email, notes: 1, activeSessions: 1 });
    expect(getRegstackErrorCode(await failure(caller.notes.mine()))).toBe('UNAUTHENTICATED');
  });

  it('a host context built without regstack’s part gets CONTEXT_MISSING, never a crash or a pass', async () => {
    const app = createHostApp(stack.regstack);
    const caller = app.router.createCaller({} as Parameters<typeof app.router.createCaller>[0]);
    const err = await failure(caller.auth.account.me());
    expect(err).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', cause: { code: 'CONTEXT_MISSING' } });
    expect(
      ((await failure(caller.auth.login({ email: 'x@example.com', password: PASSWORD }))) as Error).cause,
    ).toMatchObject({ code: 'CONTEXT_MISSING' });
  });
});
