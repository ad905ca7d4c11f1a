/**
 * @regstack/client against regstack's own standalone server (`regstack.listen`), over real HTTP: every
 * typed helper, the auth state and its events, the token stores, error codes from the wire, and a session
 * revoked from another client clearing this one's state on its next call (R37, R40).
 */
import {
  type AuthChangeReason,
  type AuthState,
  createRegstackClient,
  getRegstackErrorCode,
  getRegstackErrorData,
  type RegstackClient,
  type TokenStore,
  webStorageTokenStore,
} from '@regstack/client';
import type { StandaloneRouter } from '@regstack/server';
import { initTRPC } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caught as failure } from '../harness/outcomes.ts';
import { createVerifiedUser } from '../harness/regstack.ts';
import { type ClientStack, PASSWORD, startClientStack, uniqueEmail, verificationLink } from './support.ts';

function recordChanges(client: RegstackClient<StandaloneRouter>) {
  const changes: { status: AuthState['status']; email: string | null; reason: AuthChangeReason }[] = [];
  client.onAuthChange((state, reason) =>
    changes.push({ status: state.status, email: state.user?.email ?? null, reason }),
  );
  return changes;
}

describe('client against the standalone server', () => {
  let stack: ClientStack;
  let url: string;
  let server: { close(): Promise<void> };
  const client = (opts: { tokenStore?: TokenStore } = {}) =>
    createRegstackClient({ url, ...(opts.tokenStore && { tokenStore: opts.tokenStore }) });

  beforeAll(async () => {
    stack = await startClientStack();
    const listening = await stack.regstack.listen({ port: 0 });
    server = listening;
    url = `${listening.url}/trpc`;
  });
  afterAll(async () => {
    await server?.close();
    await stack?.close();
  });

  it('registers, verifies from the mailed link, logs in, reads the account and logs out', async () => {
    const rs = client();
    const changes = recordChanges(rs);
    const email = uniqueEmail('flow');

    const registered = await rs.register({ email, password: PASSWORD, fullName: 'Ada Lovelace' });
    expect(registered).toMatchObject({ status: 'pending_verification', email });
    if (registered.status === 'pending_verification') expect(registered.expiresAt).toBeInstanceOf(Date); // superjson
    expect(rs.getUser()).toBeNull();

    const token = new URL(await verificationLink(stack, email)).searchParams.get('token')!;
    const verified = await rs.verifyEmail({ token });
    expect(verified.user).toMatchObject({ email, isVerified: true, fullName: 'Ada Lovelace' });
    expect(rs.getAuthState().status).toBe('anonymous'); // verifying does not sign in

    const login = await rs.login({ email, password: PASSWORD });
    expect(login.status).toBe('authenticated');
    // The state is set before the promise resolves.
    expect(rs.getUser()?.email).toBe(email);
    expect(rs.getAuthState().status).toBe('authenticated');
    expect(await rs.getAccessToken()).toBe(login.status === 'authenticated' ? login.accessToken : null);

    const me = await rs.me();
    expect(me).toMatchObject({ email, isVerified: true });
    expect(me.createdAt).toBeInstanceOf(Date);
    expect(await rs.mfaStatus()).toMatchObject({ enabled: false, methods: [] });
    const sessions = await rs.sessions();
    expect(sessions).toHaveLength(1);
    expect(sessions[0]?.current).toBe(true);

    expect(await rs.logout()).toEqual({ status: 'logged_out', revoked: 1 });
    expect(rs.getUser()).toBeNull();
    expect(await rs.getAccessToken()).toBeNull();
    // The token really is dead on the server, not just forgotten here.
    const replay = createRegstackClient({
      url,
      tokenStore: { get: () => (login.status === 'authenticated' ? login.accessToken : null), set: () => {} },
    });
    expect(getRegstackErrorCode(await failure(replay.me()))).toBe('UNAUTHENTICATED');

    expect(changes.map((c) => c.reason)).toEqual(['restored', 'signed_in', 'signed_out']);
    expect(changes[1]).toMatchObject({ status: 'authenticated', email });
  });

  it('resendVerification answers the same for a known and an unknown address', async () => {
    const rs = client();
    const email = uniqueEmail('resend');
    await rs.register({ email, password: PASSWORD });
    const known = await rs.resendVerification({ email });
    const unknown = await rs.resendVerification({ email: uniqueEmail('nobody') });
    expect(known).toEqual(unknown);
  });

  it('a session revoked from another client clears this client on its next call', async () => {
    const { email } = await createVerifiedUser(stack, uniqueEmail('revoked'));
    const laptop = client();
    const phone = client();
    const changes = recordChanges(laptop);
    await laptop.login({ email, password: PASSWORD });
    await phone.login({ email, password: PASSWORD });
    expect(laptop.getUser()?.email).toBe(email);

    expect((await phone.logoutAll()).revoked).toBe(2);
    expect(phone.getUser()).toBeNull(); // logoutAll ends this session too

    const err = await failure(laptop.me());
    expect(getRegstackErrorCode(err)).toBe('UNAUTHENTICATED');
    expect(laptop.getUser()).toBeNull();
    expect(laptop.getAuthState().status).toBe('anonymous');
    expect(await laptop.getAccessToken()).toBeNull();
    expect(changes.at(-1)?.reason).toBe('session_ended');
  });

  it('revokes another of its own sessions by id', async () => {
    const { email } = await createVerifiedUser(stack, uniqueEmail('revoke-one'));
    const a = client();
    const b = client();
    await a.login({ email, password: PASSWORD });
    await b.login({ email, password: PASSWORD });
    const other = (await a.sessions()).find((s) => !s.current)!;
    expect(await a.revokeSession({ id: other.id })).toEqual({ status: 'revoked' });
    expect(getRegstackErrorCode(await failure(b.me()))).toBe('UNAUTHENTICATED');
    expect(b.getUser()).toBeNull();
    expect((await a.me()).email).toBe(email);
    expect(getRegstackErrorCode(await failure(a.revokeSession({ id: 'no-such-session' })))).toBe('SESSION_NOT_FOUND');
  });

  it('restores a stored token (async custom store), and forgets one the server refuses', async () => {
    const { email } = await createVerifiedUser(stack, uniqueEmail('restore'));
    const saved = new Map<string, string>();
    const asyncStore: TokenStore = {
      get: async () => saved.get('token') ?? null,
      set: async (token) => {
        if (token === null) saved.delete('token');
        else saved.set('token', token);
      },
    };
    await client({ tokenStore: asyncStore }).login({ email, password: PASSWORD });
    expect(saved.get('token')).toBeTruthy();

    // A new page load: same store, new client.
    const reloaded = client({ tokenStore: asyncStore });
    expect(reloaded.getAuthState().status).toBe('unknown');
    expect((await reloaded.restore())?.email).toBe(email);
    expect(reloaded.getAuthState()).toMatchObject({ status: 'authenticated', user: { email } });

    await reloaded.logoutAll();
    expect(saved.has('token')).toBe(false);

    saved.set('token', 'not-a-real-token');
    const stale = client({ tokenStore: asyncStore });
    expect(await stale.restore()).toBeNull();
    expect(stale.getAuthState().status).toBe('anonymous');
    expect(saved.has('token')).toBe(false);
  });

  it('keeps the token in Web Storage under its key, and a storage that throws does not break sign-in', async () => {
    const { email } = await createVerifiedUser(stack, uniqueEmail('storage'));
    const data = new Map<string, string>();
    const storage = {
      getItem: (k: string) => data.get(k) ?? null,
      setItem: (k: string, v: string) => void data.set(k, v),
      removeItem: (k: string) => void data.delete(k),
    };
    const rs = client({ tokenStore: webStorageTokenStore(storage, 'app.token') });
    await rs.login({ email, password: PASSWORD });
    expect(data.get('app.token')).toBe(await rs.getAccessToken());
    await rs.logout();
    expect(data.has('app.token')).toBe(false);

    const broken = webStorageTokenStore(() => {
      throw new Error('SecurityError: storage disabled');
    });
    const rs2 = client({ tokenStore: broken });
    await rs2.login({ email, password: PASSWORD });
    expect((await rs2.me()).email).toBe(email);
  });

  it('turns server errors into stable codes with their data (field errors, wrong credentials)', async () => {
    const rs = client();
    const bad = await failure(rs.register({ email: 'not-an-email', password: PASSWORD }));
    expect(getRegstackErrorCode(bad)).toBe('VALIDATION_FAILED');
    expect(getRegstackErrorData(bad)?.fieldErrors?.email?.length).toBeGreaterThan(0);

    const { email } = await createVerifiedUser(stack, uniqueEmail('wrong'));
    const wrong = await failure(rs.login({ email, password: 'not the password at all' }));
    expect(getRegstackErrorCode(wrong)).toBe('INVALID_CREDENTIALS');
    expect(rs.getUser()).toBeNull();
    expect(getRegstackErrorCode(await failure(rs.me()))).toBe('UNAUTHENTICATED');
  });

  it('logout is idempotent here: no token, or a session the server already ended, still resolves', async () => {
    const { email } = await createVerifiedUser(stack, uniqueEmail('logout-twice'));
    const rs = client();
    expect(await rs.logout()).toEqual({ status: 'logged_out', revoked: 0 });
    await rs.login({ email, password: PASSWORD });
    const other = client();
    await other.login({ email, password: PASSWORD });
    await other.logoutAll();
    expect(await rs.logout()).toEqual({ status: 'logged_out', revoked: 0 });
    expect(rs.getUser()).toBeNull();
  });

  it('works unbatched (httpLink) with extra headers, and the raw proxy carries the token', async () => {
    const { email } = await createVerifiedUser(stack, uniqueEmail('raw'));
    const rs = createRegstackClient({
      url,
      batch: false,
      headers: async () => ({ 'user-agent': 'regstack-client-test' }),
    });
    const res = await rs.trpc.auth.login.mutate({ email, password: PASSWORD });
    expect(res.status).toBe('authenticated');
    expect(rs.getUser()?.email).toBe(email); // the link saw the raw call too
    const sessions = await rs.auth.account.sessions.query();
    expect(sessions.find((s) => s.current)?.userAgent).toBe('regstack-client-test');
  });
});

describe('the mfa_required login branch', () => {
  // regstack's login answers `mfa_required` for accounts with SMS 2FA (not enrollable yet): a server that
  // answers it, mounted like regstack (`auth.login`), shows what the client does with that answer.
  const t = initTRPC.create({ transformer: superjson });
  const router = t.router({
    auth: t.router({
      login: t.procedure.mutation(() => ({
        status: 'mfa_required' as const,
        mfaPendingToken: 'pending-token',
        expiresIn: 300,
        delivery: 'sms' as const,
      })),
    }),
  });
  const fetchToServer = (input: string | URL | Request, init?: RequestInit) =>
    fetchRequestHandler({ endpoint: '/trpc', req: new Request(input, init), router, createContext: () => ({}) });

  it('returns the pending challenge to the caller and stores nothing', async () => {
    const writes: (string | null)[] = [];
    const rs = createRegstackClient({
      url: 'http://mfa.test/trpc',
      fetch: fetchToServer,
      tokenStore: { get: () => null, set: (token) => void writes.push(token) },
    });
    const res = await rs.login({ email: 'mfa@example.com', password: PASSWORD });
    expect(res).toEqual({ status: 'mfa_required', mfaPendingToken: 'pending-token', expiresIn: 300, delivery: 'sms' });
    expect(writes).toEqual([]);
    expect(rs.getUser()).toBeNull();
    expect(rs.getAuthState().status).toBe('anonymous');
    expect(await rs.getAccessToken()).toBeNull();
  });
});
