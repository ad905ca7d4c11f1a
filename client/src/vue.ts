/**
 * `@regstack/client/vue` — composables with the same surface as the React hooks, on Vue's own reactivity
 * (no query library needed). Install the client once (`app.use(createRegstackPlugin(client))`, or
 * `provideRegstack(client)` in a root component's setup) and call the composables in `setup()`.
 * Vue is an optional peer: only apps that import this subpath need it.
 */
import type { AnyTRPCRouter } from '@trpc/server';
import {
  type App,
  type ComputedRef,
  computed,
  getCurrentScope,
  type InjectionKey,
  inject,
  onScopeDispose,
  provide,
  type Ref,
  readonly,
  type ShallowRef,
  shallowRef,
  watch,
} from 'vue';
import type { AuthState, AuthStatus } from './auth-state.ts';
import type { CompleteOAuthOptions, MfaChallenge, ProviderSignInOptions, RegstackClient } from './client.ts';
import { type OAuthCompletionStatus, settleCompletion } from './oauth.ts';
import type { RegstackInputs, RegstackOutputs, StandaloneRouter } from './types.ts';

type AnyClient = RegstackClient<AnyTRPCRouter> | RegstackClient<StandaloneRouter>;

const KEY: InjectionKey<RegstackClient<AnyTRPCRouter>> = Symbol('regstack-client');

/** A Vue plugin that provides `client` to every component of the app. */
export function createRegstackPlugin(client: AnyClient): { install(app: App): void } {
  return {
    install(app) {
      app.provide(KEY, client as RegstackClient<AnyTRPCRouter>);
    },
  };
}

/** Provides `client` to the calling component's descendants (call in `setup()`). */
export function provideRegstack(client: AnyClient): void {
  provide(KEY, client as RegstackClient<AnyTRPCRouter>);
}

/** The provided client. */
export function useRegstackClient<TRouter extends AnyTRPCRouter = StandaloneRouter>(): RegstackClient<TRouter> {
  const client = inject(KEY, null);
  if (!client) {
    throw new Error(
      'regstack composables need the client: app.use(createRegstackPlugin(client)) or provideRegstack(client)',
    );
  }
  return client as unknown as RegstackClient<TRouter>;
}

function onDispose(fn: () => void): void {
  if (getCurrentScope()) onScopeDispose(fn);
}

/** The client's auth state as a read-only ref, updated on every change. */
export function useAuthState(): Readonly<ShallowRef<AuthState>> {
  const client = useRegstackClient();
  const state = shallowRef(client.getAuthState());
  onDispose(client.onAuthChange((next) => (state.value = next)));
  return readonly(state) as Readonly<ShallowRef<AuthState>>;
}

/** The sign-in waiting for a second factor (`methods`, `phoneHint`, `expiresAt`) as a read-only ref, or null. */
export function useMfaChallenge(): Readonly<ShallowRef<MfaChallenge | null>> {
  const client = useRegstackClient();
  const challenge = shallowRef(client.getMfaChallenge());
  onDispose(client.onMfaChallengeChange((next) => (challenge.value = next)));
  return readonly(challenge) as Readonly<ShallowRef<MfaChallenge | null>>;
}

export interface SessionResult {
  status: ComputedRef<AuthStatus>;
  user: ComputedRef<RegstackOutputs['account']['me'] | null>;
  /**
   * A sign-in waiting for its second factor (the last `useLogin()` answered `mfa_required`), or null: ask for a
   * code from one of `mfa.methods` and call `useConfirmMfa()`.
   */
  mfa: ComputedRef<MfaChallenge | null>;
  /** Abandons the waiting second step (back to the password form). */
  cancelMfa: () => void;
  /** True until the stored token (if any) has been confirmed or refused. */
  isLoading: ComputedRef<boolean>;
  /** Why restoring the session failed (e.g. the server was unreachable); the token is kept. */
  error: Readonly<Ref<unknown>>;
  /** Asks the server again who the token belongs to. */
  refetch: () => Promise<unknown>;
}

/** Who is signed in; restores a stored token on first use. */
export function useSession(): SessionResult {
  const client = useRegstackClient();
  const state = useAuthState();
  const challenge = useMfaChallenge();
  const error = shallowRef<unknown>(null);
  const restore = () => {
    if (state.value.status !== 'unknown') return;
    client.restore().then(
      () => (error.value = null),
      (err: unknown) => (error.value = err),
    );
  };
  restore();
  watch(() => state.value.status, restore);
  return {
    status: computed(() => state.value.status),
    user: computed(() => state.value.user),
    mfa: computed(() => challenge.value),
    cancelMfa: () => client.cancelMfa(),
    isLoading: computed(() => state.value.status === 'unknown' && error.value === null),
    error: readonly(error),
    refetch: () => client.me(),
  };
}

/** What a mutation composable returns: the shape of TanStack Query's `useMutation`, as refs. */
export interface MutationResult<TInput, TOutput> {
  /** Runs the mutation; failures land in `error` (nothing is thrown). */
  mutate: (input: TInput) => void;
  /** Runs the mutation and returns its promise (rejects on failure, and sets `error`). */
  mutateAsync: (input: TInput) => Promise<TOutput>;
  data: Readonly<ShallowRef<TOutput | undefined>>;
  error: Readonly<ShallowRef<unknown>>;
  isPending: Readonly<Ref<boolean>>;
  isSuccess: ComputedRef<boolean>;
  isError: ComputedRef<boolean>;
  /** Back to the initial state. */
  reset: () => void;
}

function useMutationOf<TInput, TOutput>(run: (input: TInput) => Promise<TOutput>): MutationResult<TInput, TOutput> {
  const data = shallowRef<TOutput | undefined>(undefined);
  const error = shallowRef<unknown>(null);
  const isPending = shallowRef(false);
  let latest = 0;
  async function mutateAsync(input: TInput): Promise<TOutput> {
    const call = ++latest;
    isPending.value = true;
    error.value = null;
    try {
      const result = await run(input);
      if (call === latest) data.value = result;
      return result;
    } catch (err) {
      if (call === latest) error.value = err;
      throw err;
    } finally {
      if (call === latest) isPending.value = false;
    }
  }
  return {
    mutate: (input) => {
      mutateAsync(input).catch(() => undefined);
    },
    mutateAsync,
    data: readonly(data) as Readonly<ShallowRef<TOutput | undefined>>,
    error: readonly(error) as Readonly<ShallowRef<unknown>>,
    isPending: readonly(isPending),
    isSuccess: computed(() => !isPending.value && error.value === null && data.value !== undefined),
    isError: computed(() => error.value !== null),
    reset: () => {
      latest++;
      data.value = undefined;
      error.value = null;
      isPending.value = false;
    },
  };
}

/** What a query composable returns: the shape of TanStack Query's `useQuery`, as refs. */
export interface QueryResult<TOutput> {
  data: Readonly<ShallowRef<TOutput | undefined>>;
  error: Readonly<ShallowRef<unknown>>;
  isLoading: Readonly<Ref<boolean>>;
  refetch: () => Promise<TOutput | undefined>;
}

/** Runs `run` while signed in, again on every sign-in, and drops its data on sign-out. */
function useAuthedQuery<TOutput>(
  run: () => Promise<TOutput>,
  when: (status: AuthStatus) => boolean = (status) => status === 'authenticated',
): QueryResult<TOutput> {
  const state = useAuthState();
  const data = shallowRef<TOutput | undefined>(undefined);
  const error = shallowRef<unknown>(null);
  const isLoading = shallowRef(false);
  let latest = 0;
  async function refetch(): Promise<TOutput | undefined> {
    const call = ++latest;
    if (!when(state.value.status)) {
      data.value = undefined;
      error.value = null;
      isLoading.value = false;
      return undefined;
    }
    isLoading.value = true;
    try {
      const result = await run();
      if (call === latest) {
        data.value = result;
        error.value = null;
      }
      return result;
    } catch (err) {
      if (call === latest) error.value = err;
      return undefined;
    } finally {
      if (call === latest) isLoading.value = false;
    }
  }
  void refetch();
  watch(
    () => [state.value.status, state.value.user?.id],
    () => void refetch(),
  );
  return {
    data: readonly(data) as Readonly<ShallowRef<TOutput | undefined>>,
    error: readonly(error) as Readonly<ShallowRef<unknown>>,
    isLoading: readonly(isLoading),
    refetch,
  };
}

/** `register`: `pending_verification` (a mail was sent) or `registered`. */
export function useRegister(): MutationResult<RegstackInputs['register'], RegstackOutputs['register']> {
  const client = useRegstackClient();
  return useMutationOf((input) => client.register(input));
}

/** `verifyEmail` with the token from the verification link (and, after PASSWORD_REQUIRED, the sign-up's password). */
export function useVerifyEmail(): MutationResult<RegstackInputs['verifyEmail'], RegstackOutputs['verifyEmail']> {
  const client = useRegstackClient();
  return useMutationOf((input) => client.verifyEmail(input));
}

/** `resendVerification`: always the same answer. */
export function useResendVerification(): MutationResult<
  RegstackInputs['resendVerification'],
  RegstackOutputs['resendVerification']
> {
  const client = useRegstackClient();
  return useMutationOf((input) => client.resendVerification(input));
}

/**
 * `login`: signs the client in on `authenticated`; `mfa_required` stores nothing and starts the second step
 * (`useSession().mfa` turns non-null; finish it with `useConfirmMfa()`).
 */
export function useLogin(): MutationResult<RegstackInputs['login'], RegstackOutputs['login']> {
  const client = useRegstackClient();
  return useMutationOf((input) => client.login(input));
}

/** What `useConfirmMfa()` sends: the factor and its code (the pending token stays inside the client). */
export interface ConfirmMfaInput {
  method: RegstackInputs['mfa']['confirmLogin']['method'];
  code: string;
}

/**
 * The second step of the waiting sign-in (`mfa.confirmLogin`): on success the client is signed in and
 * `useSession().mfa` turns null. A wrong code leaves the step waiting; a refused pending token
 * (MFA_CHALLENGE_INVALID) ends it.
 */
export function useConfirmMfa(): MutationResult<ConfirmMfaInput, RegstackOutputs['mfa']['confirmLogin']> {
  const client = useRegstackClient();
  return useMutationOf(({ method, code }) => client.confirmMfa({ method, code }));
}

/** Sends a new SMS code for the waiting sign-in (`mfa.resendLoginCode`); the earlier code stops working. */
export function useResendMfaCode(): MutationResult<void, RegstackOutputs['mfa']['resendLoginCode']> {
  const client = useRegstackClient();
  return useMutationOf(() => client.resendMfaCode());
}

/** Ends this session; the client forgets it even if the server cannot be reached. */
export function useLogout(): MutationResult<void, RegstackOutputs['logout']> {
  const client = useRegstackClient();
  return useMutationOf(() => client.logout());
}

/** Ends every session of the user. */
export function useLogoutAll(): MutationResult<void, RegstackOutputs['logoutAll']> {
  const client = useRegstackClient();
  return useMutationOf(() => client.logoutAll());
}

/** `account.sessions`, fetched while signed in. */
export function useSessions(): QueryResult<RegstackOutputs['account']['sessions']> {
  const client = useRegstackClient();
  return useAuthedQuery(() => client.sessions());
}

/** `account.revokeSession`. */
export function useRevokeSession(): MutationResult<
  RegstackInputs['account']['revokeSession'],
  RegstackOutputs['account']['revokeSession']
> {
  const client = useRegstackClient();
  return useMutationOf((input) => client.revokeSession(input));
}

/** `mfa.status`, fetched while signed in. */
export function useMfaStatus(): QueryResult<RegstackOutputs['mfa']['status']> {
  const client = useRegstackClient();
  return useAuthedQuery(() => client.mfaStatus());
}

export type { OAuthCompletionStatus } from './oauth.ts';

/** What `useOAuthCompletion()` shows. */
export interface OAuthCompletion {
  /**
   * `pending` while the one-time id is exchanged; `signed-in` (also once a waiting second step is confirmed);
   * `mfa_required`: ask for a code (`mfa`) and call `useConfirmMfa()`; `error`: see `error`.
   */
  status: ComputedRef<OAuthCompletionStatus>;
  /** Why the sign-in failed: branch on `getRegstackErrorCode(error)` (`OAUTH_ACCOUNT_EXISTS`, …). */
  error: Readonly<ShallowRef<unknown>>;
  /** The second step the sign-in waits for, as `useMfaChallenge()` gives it. */
  mfa: Readonly<ShallowRef<MfaChallenge | null>>;
}

/**
 * For the page a provider sign-in lands on: runs `client.completeOAuth()` once, in `setup()`, and reports how it
 * went. A reload of the page after it signed in reads `signed-in` without exchanging again.
 */
export function useOAuthCompletion(options: CompleteOAuthOptions = {}): OAuthCompletion {
  const client = useRegstackClient();
  const state = useAuthState();
  const mfa = useMfaChallenge();
  const settled = shallowRef<OAuthCompletionStatus>('pending');
  const error = shallowRef<unknown>(null);
  void settleCompletion(client, options.url).then((outcome) => {
    settled.value = outcome.status;
    error.value = outcome.error;
  });
  return {
    status: computed(() =>
      settled.value === 'mfa_required' && state.value.status === 'authenticated' ? 'signed-in' : settled.value,
    ),
    error: readonly(error) as Readonly<ShallowRef<unknown>>,
    mfa,
  };
}

/**
 * `oauth.providers`: the configured providers and, while signed in, which are linked. Fetched once the stored
 * session is known, and again after every sign-in or sign-out.
 */
export function useOAuthProviders(): QueryResult<RegstackOutputs['oauth']['providers']> {
  const client = useRegstackClient();
  return useAuthedQuery(
    () => client.oauth.providers(),
    (status) => status !== 'unknown',
  );
}

/** What `useLinkProvider()` takes: the provider, and where the browser comes back to. */
export interface LinkProviderInput extends ProviderSignInOptions {
  provider: string;
}

/** Links a provider to the signed-in account (`client.oauth.link`): on success the browser leaves for the provider. */
export function useLinkProvider(): MutationResult<LinkProviderInput, void> {
  const client = useRegstackClient();
  return useMutationOf(({ provider, ...rest }) => client.oauth.link(provider, rest));
}

/** `oauth.unlink` (by provider name). */
export function useUnlinkProvider(): MutationResult<string, RegstackOutputs['oauth']['unlink']> {
  const client = useRegstackClient();
  return useMutationOf((provider) => client.oauth.unlink(provider));
}
