/**
 * `@regstack/client/react` — a provider and hooks on TanStack Query and tRPC's TanStack integration.
 * Every call goes through the client's tRPC link, so the auth state and the query cache move together:
 * a login seeds `account.me`, a logout or a revoked session drops every regstack query, and a refetch of
 * `account.me` (window focus, reconnect) notices a session ended elsewhere.
 *
 * React, @tanstack/react-query and @trpc/tanstack-react-query are optional peers: only apps that import this
 * subpath need them. Written without JSX so the package needs no JSX build step.
 */
import {
  QueryClient,
  QueryClientContext,
  QueryClientProvider,
  type UseMutationOptions,
  useMutation,
  useQuery,
  useQueryClient,
} from '@tanstack/react-query';
import type { AnyTRPCRouter } from '@trpc/server';
import { createTRPCOptionsProxy, type TRPCOptionsProxy } from '@trpc/tanstack-react-query';
import {
  createContext,
  createElement,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
  useSyncExternalStore,
} from 'react';
import type { AuthState, AuthStatus } from './auth-state.ts';
import type { CompleteOAuthOptions, MfaChallenge, ProviderSignInOptions, RegstackClient } from './client.ts';
import { type OAuthCompletionStatus, settleCompletion } from './oauth.ts';
import type { RegstackInputs, RegstackOutputs, RegstackRouter, StandaloneRouter } from './types.ts';

type AuthProxy = TRPCOptionsProxy<RegstackRouter>;

interface RegstackReactContext {
  client: RegstackClient<AnyTRPCRouter>;
  trpc: TRPCOptionsProxy<AnyTRPCRouter>;
  auth: AuthProxy;
}

const Context = createContext<RegstackReactContext | null>(null);

export interface RegstackProviderProps {
  /** The client from `createRegstackClient()`. */
  client: RegstackClient<AnyTRPCRouter> | RegstackClient<StandaloneRouter>;
  /**
   * The TanStack Query client.
   * @default the one from an enclosing `QueryClientProvider`, or a new one owned by this provider
   */
  queryClient?: QueryClient;
  children?: ReactNode;
}

function subProxy<T>(root: unknown, path: string): T {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], root) as T;
}

/** Makes a regstack client (and its query cache wiring) available to the hooks below. */
export function RegstackProvider(props: RegstackProviderProps): ReactNode {
  const enclosing = useContext(QueryClientContext);
  const [owned] = useState(() => (props.queryClient || enclosing ? null : new QueryClient()));
  const queryClient = props.queryClient ?? enclosing ?? owned!;
  const client = props.client as RegstackClient<AnyTRPCRouter>;

  const value = useMemo<RegstackReactContext>(() => {
    const trpc = createTRPCOptionsProxy<AnyTRPCRouter>({ client: client.trpc, queryClient });
    return { client, trpc, auth: subProxy<AuthProxy>(trpc, client.path) };
  }, [client, queryClient]);

  useEffect(
    () =>
      client.onAuthChange((state, reason) => {
        const { auth } = value;
        if (reason === 'signed_in' || reason === 'signed_out' || reason === 'session_ended' || reason === 'cleared') {
          // Another user (or nobody) now: nothing cached for the previous one may be shown.
          queryClient.removeQueries(auth.pathFilter());
        }
        if (state.user) queryClient.setQueryData(auth.account.me.queryKey(), state.user);
      }),
    [client, queryClient, value],
  );

  const inner = createElement(Context.Provider, { value }, props.children);
  return props.queryClient || !enclosing ? createElement(QueryClientProvider, { client: queryClient }, inner) : inner;
}

function useRegstackContext(): RegstackReactContext {
  const ctx = useContext(Context);
  if (!ctx) throw new Error('regstack hooks need a <RegstackProvider client={…}> above them');
  return ctx;
}

/** The client given to the provider. */
export function useRegstackClient<TRouter extends AnyTRPCRouter = StandaloneRouter>(): RegstackClient<TRouter> {
  return useRegstackContext().client as unknown as RegstackClient<TRouter>;
}

/**
 * tRPC's TanStack Query options proxy for the whole root router — for a host's own procedures
 * (`useQuery(trpc.notes.mine.queryOptions())`); calls carry the bearer token.
 */
export function useRegstackTRPC<TRouter extends AnyTRPCRouter = StandaloneRouter>(): TRPCOptionsProxy<TRouter> {
  return useRegstackContext().trpc as unknown as TRPCOptionsProxy<TRouter>;
}

/** The options proxy for regstack's own procedures (`auth.account.sessions.queryOptions()`). */
export function useRegstackAuthTRPC(): AuthProxy {
  return useRegstackContext().auth;
}

/** The client's auth state, re-rendering on every change. */
export function useAuthState(): AuthState {
  const { client } = useRegstackContext();
  const subscribe = useCallback((onChange: () => void) => client.onAuthChange(() => onChange()), [client]);
  return useSyncExternalStore(subscribe, client.getAuthState, client.getAuthState);
}

/**
 * The sign-in waiting for a second factor (`methods`, `phoneHint`, `expiresAt`), or null; re-renders when it
 * changes. Finish it with `useConfirmMfa()`.
 */
export function useMfaChallenge(): MfaChallenge | null {
  const { client } = useRegstackContext();
  const subscribe = useCallback((onChange: () => void) => client.onMfaChallengeChange(() => onChange()), [client]);
  return useSyncExternalStore(subscribe, client.getMfaChallenge, client.getMfaChallenge);
}

export interface SessionResult {
  status: AuthStatus;
  user: RegstackOutputs['account']['me'] | null;
  /**
   * A sign-in waiting for its second factor (the last `useLogin()` answered `mfa_required`), or null: ask for a
   * code from one of `mfa.methods` and call `useConfirmMfa()`.
   */
  mfa: MfaChallenge | null;
  /** Abandons the waiting second step (back to the password form). */
  cancelMfa: () => void;
  /** True until the stored token (if any) has been confirmed or refused. */
  isLoading: boolean;
  /** Why restoring the session failed (e.g. the server was unreachable); the token is kept. */
  error: unknown;
  /** Asks the server again who the token belongs to. */
  refetch: () => Promise<unknown>;
}

/**
 * Who is signed in. Restores a stored token on first use and keeps `account.me` fresh through TanStack
 * Query (refetched on window focus once stale), so a session revoked elsewhere signs the page out.
 */
export function useSession(): SessionResult {
  const { client, auth } = useRegstackContext();
  const state = useAuthState();
  const mfa = useMfaChallenge();
  const [restoreError, setRestoreError] = useState<unknown>(null);

  useEffect(() => {
    if (state.status !== 'unknown') return;
    let live = true;
    client.restore().then(
      () => live && setRestoreError(null),
      (err: unknown) => live && setRestoreError(err),
    );
    return () => {
      live = false;
    };
  }, [client, state.status]);

  const me = useQuery({
    ...auth.account.me.queryOptions(),
    enabled: state.status === 'authenticated',
    staleTime: 60_000,
    retry: false,
  });

  return {
    status: state.status,
    user: state.user,
    mfa,
    cancelMfa: client.cancelMfa,
    isLoading: state.status === 'unknown' && !restoreError,
    error: restoreError ?? me.error,
    refetch: me.refetch,
  };
}

type MutationOptionsOf<K extends 'register' | 'verifyEmail' | 'resendVerification' | 'login' | 'logoutAll'> =
  Parameters<AuthProxy[K]['mutationOptions']>[0];

/** `register`: `pending_verification` (a mail was sent) or `registered`. */
export function useRegister(options?: MutationOptionsOf<'register'>) {
  return useMutation(useRegstackContext().auth.register.mutationOptions(options));
}

/** `verifyEmail` with the token from the verification link (and, after PASSWORD_REQUIRED, the sign-up's password). */
export function useVerifyEmail(options?: MutationOptionsOf<'verifyEmail'>) {
  return useMutation(useRegstackContext().auth.verifyEmail.mutationOptions(options));
}

/** `resendVerification`: always the same answer. */
export function useResendVerification(options?: MutationOptionsOf<'resendVerification'>) {
  return useMutation(useRegstackContext().auth.resendVerification.mutationOptions(options));
}

/**
 * `login`. An `authenticated` result signs the client in before `onSuccess` runs; an `mfa_required` result
 * stores nothing and starts the second step: `useSession().mfa` (and `useMfaChallenge()`) turn non-null, and
 * `useConfirmMfa()` finishes it.
 */
export function useLogin(options?: MutationOptionsOf<'login'>) {
  const { client, auth } = useRegstackContext();
  // Through the client, not the bare procedure, so the client keeps the pending token for the second step.
  return useMutation({ ...auth.login.mutationOptions(options), mutationFn: (input) => client.login(input) });
}

/** What `useConfirmMfa()` sends: the factor and its code (the pending token stays inside the client). */
export interface ConfirmMfaInput {
  method: RegstackInputs['mfa']['confirmLogin']['method'];
  code: string;
}

/**
 * The second step of the waiting sign-in (`mfa.confirmLogin`): on success the client is signed in (as after a
 * password-only login) and `useSession().mfa` turns null. A wrong code leaves the step waiting; an expired or
 * refused pending token (MFA_CHALLENGE_INVALID) ends it.
 */
export function useConfirmMfa(
  options?: Omit<UseMutationOptions<RegstackOutputs['mfa']['confirmLogin'], Error, ConfirmMfaInput>, 'mutationFn'>,
) {
  const { client, auth } = useRegstackContext();
  return useMutation({
    mutationKey: auth.mfa.confirmLogin.mutationKey(),
    ...options,
    mutationFn: ({ method, code }: ConfirmMfaInput) => client.confirmMfa({ method, code }),
  });
}

/** Sends a new SMS code for the waiting sign-in (`mfa.resendLoginCode`); the earlier code stops working. */
export function useResendMfaCode(
  options?: Omit<UseMutationOptions<RegstackOutputs['mfa']['resendLoginCode'], Error, void>, 'mutationFn'>,
) {
  const { client, auth } = useRegstackContext();
  return useMutation({
    mutationKey: auth.mfa.resendLoginCode.mutationKey(),
    ...options,
    mutationFn: () => client.resendMfaCode(),
  });
}

/** Ends this session; the client forgets it even if the server cannot be reached. */
export function useLogout() {
  const { client, auth } = useRegstackContext();
  return useMutation({ mutationKey: auth.logout.mutationKey(), mutationFn: () => client.logout() });
}

/** Ends every session of the user. */
export function useLogoutAll(options?: MutationOptionsOf<'logoutAll'>) {
  return useMutation(useRegstackContext().auth.logoutAll.mutationOptions(options));
}

/** `account.sessions`, fetched while signed in. */
export function useSessions() {
  const { auth } = useRegstackContext();
  const state = useAuthState();
  return useQuery({ ...auth.account.sessions.queryOptions(), enabled: state.status === 'authenticated' });
}

/** `account.revokeSession`; refreshes `useSessions()` afterwards. */
export function useRevokeSession() {
  const { auth } = useRegstackContext();
  const queryClient = useQueryClient();
  return useMutation(
    auth.account.revokeSession.mutationOptions({
      onSettled: () => queryClient.invalidateQueries(auth.account.sessions.queryFilter()),
    }),
  );
}

/** `mfa.status`, fetched while signed in. */
export function useMfaStatus() {
  const { auth } = useRegstackContext();
  const state = useAuthState();
  return useQuery({ ...auth.mfa.status.queryOptions(), enabled: state.status === 'authenticated' });
}

export type { OAuthCompletionStatus } from './oauth.ts';

/** What `useOAuthCompletion()` shows. */
export interface OAuthCompletion {
  /**
   * `pending` while the one-time id is exchanged; `signed-in` (also once a waiting second step is confirmed);
   * `mfa_required`: ask for a code (`mfa`) and call `useConfirmMfa()`; `error`: see `error`.
   */
  status: OAuthCompletionStatus;
  /** Why the sign-in failed: branch on `getRegstackErrorCode(error)` (`OAUTH_ACCOUNT_EXISTS`, …). */
  error: unknown;
  /** The second step the sign-in waits for, as `useMfaChallenge()` gives it. */
  mfa: MfaChallenge | null;
}

/**
 * For the page a provider sign-in lands on: runs `client.completeOAuth()` once on mount (StrictMode's second
 * run shares the first exchange) and reports how it went. A reload of the page after it signed in reads
 * `signed-in` without exchanging again.
 */
export function useOAuthCompletion(options: CompleteOAuthOptions = {}): OAuthCompletion {
  const { client } = useRegstackContext();
  const state = useAuthState();
  const mfa = useMfaChallenge();
  const [outcome, setOutcome] = useState<{ status: OAuthCompletionStatus; error: unknown }>({
    status: 'pending',
    error: null,
  });
  const url = options.url === undefined ? undefined : String(options.url);
  useEffect(() => {
    let live = true;
    void settleCompletion(client, url).then((settled) => live && setOutcome(settled));
    return () => {
      live = false;
    };
  }, [client, url]);
  const status = outcome.status === 'mfa_required' && state.status === 'authenticated' ? 'signed-in' : outcome.status;
  return { status, error: outcome.error, mfa };
}

/**
 * `oauth.providers`: the configured providers and, while signed in, which are linked. Fetched once the stored
 * session is known, and again after every sign-in or sign-out.
 */
export function useOAuthProviders() {
  const { auth } = useRegstackContext();
  const state = useAuthState();
  return useQuery({ ...auth.oauth.providers.queryOptions(), enabled: state.status !== 'unknown' });
}

/** What `useLinkProvider()` takes: the provider, and where the browser comes back to. */
export interface LinkProviderInput extends ProviderSignInOptions {
  provider: string;
}

/** Links a provider to the signed-in account (`client.oauth.link`): on success the browser leaves for the provider. */
export function useLinkProvider(options?: Omit<UseMutationOptions<void, Error, LinkProviderInput>, 'mutationFn'>) {
  const { client, auth } = useRegstackContext();
  return useMutation({
    mutationKey: auth.oauth.link.start.mutationKey(),
    ...options,
    mutationFn: ({ provider, ...rest }: LinkProviderInput) => client.oauth.link(provider, rest),
  });
}

/** `oauth.unlink` (by provider name); refreshes `useOAuthProviders()` afterwards. */
export function useUnlinkProvider() {
  const { client, auth } = useRegstackContext();
  const queryClient = useQueryClient();
  return useMutation({
    mutationKey: auth.oauth.unlink.mutationKey(),
    mutationFn: (provider: string) => client.oauth.unlink(provider),
    onSettled: () => queryClient.invalidateQueries(auth.oauth.providers.queryFilter()),
  });
}
