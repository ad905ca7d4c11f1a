/**
 * The client's view of who is signed in: the access token (mirrored from the token store into memory so
 * every request can read it synchronously) and the user it belongs to. One instance per client; listeners
 * hear every change with the reason, so a UI can tell "you signed out" from "your session was ended
 * elsewhere".
 */
import type { AccountMe, PublicUser } from '@regstack/shared';
import type { TokenStore } from './token-store.ts';

/**
 * - `unknown`: a token may exist but no user is confirmed yet (before `restore()`, or while it runs);
 * - `authenticated`: a token and the user it belongs to;
 * - `anonymous`: no token.
 */
export type AuthStatus = 'unknown' | 'authenticated' | 'anonymous';

/** An immutable snapshot; a new object on every change (safe for `useSyncExternalStore`). */
export interface AuthState {
  readonly status: AuthStatus;
  readonly user: AccountMe | null;
}

/**
 * Why the state changed:
 * - `restored`: `restore()` read a stored token and the server confirmed it (or found none);
 * - `signed_in`: a procedure issued a token (login, MFA confirmation);
 * - `token_replaced`: a procedure issued a new token for the same user (e.g. after a password change);
 * - `user_updated`: a fresh copy of the user arrived (`account.me`);
 * - `signed_out`: this client logged out (or deleted the account);
 * - `session_ended`: the server refused the token (revoked elsewhere, expired, user disabled);
 * - `cleared`: the application called `clearSession()`.
 */
export type AuthChangeReason =
  | 'restored'
  | 'signed_in'
  | 'token_replaced'
  | 'user_updated'
  | 'signed_out'
  | 'session_ended'
  | 'cleared';

export type AuthChangeListener = (state: AuthState, reason: AuthChangeReason) => void;

const ANONYMOUS: AuthState = Object.freeze({ status: 'anonymous', user: null });
const UNKNOWN: AuthState = Object.freeze({ status: 'unknown', user: null });

/**
 * The user as the state keeps it: what `account.me` answers. A user from `login` (a `PublicUser`) is the owner's
 * own session, so nobody is impersonating them.
 */
function asAccountMe(user: PublicUser | AccountMe): AccountMe {
  return { impersonatedBy: null, ...user };
}

function sameValue(x: unknown, y: unknown): boolean {
  if (x instanceof Date && y instanceof Date) return x.getTime() === y.getTime();
  if (typeof x === 'object' && x !== null && typeof y === 'object' && y !== null) {
    return JSON.stringify(x) === JSON.stringify(y);
  }
  return x === y;
}

function sameUser(a: AccountMe | null, b: AccountMe | null): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  for (const key of Object.keys(a) as (keyof AccountMe)[]) {
    if (!sameValue(a[key], b[key])) return false;
  }
  return Object.keys(a).length === Object.keys(b).length;
}

export interface AuthSession {
  /** Resolves once the stored token has been read into memory. */
  ready(): Promise<void>;
  token(): string | null;
  state(): AuthState;
  subscribe(listener: AuthChangeListener): () => void;
  /** A token was issued; `user` when the response carried one. */
  signIn(token: string, user: PublicUser | AccountMe | null, reason: 'signed_in' | 'token_replaced'): Promise<void>;
  /** A fresh user arrived for `forToken`; ignored if the token changed meanwhile. */
  updateUser(user: PublicUser | AccountMe, forToken: string | null, reason?: AuthChangeReason): void;
  /** Forgets the token. With `onlyIfToken`, only when that is still the current one (a late 401 for an old token must not sign out a newer login). */
  clear(reason: AuthChangeReason, onlyIfToken?: string): Promise<void>;
}

export function createAuthSession(store: TokenStore): AuthSession {
  let token: string | null = null;
  let state: AuthState = UNKNOWN;
  // Bumped on every local write, so a slow initial read cannot overwrite a login that happened meanwhile.
  let generation = 0;
  const listeners = new Set<AuthChangeListener>();

  const emit = (next: AuthState, reason: AuthChangeReason) => {
    state = next;
    for (const listener of [...listeners]) {
      try {
        listener(state, reason);
      } catch {
        // a listener's failure is its own; the others still hear the change
      }
    }
  };

  const loaded = (async () => {
    const start = generation;
    let stored: string | null | undefined = null;
    try {
      stored = await store.get();
    } catch {
      stored = null;
    }
    if (generation !== start) return;
    token = typeof stored === 'string' && stored.length > 0 ? stored : null;
    // With a stored token the user is still unknown until the server confirms it (restore / account.me).
    if (!token) emit(ANONYMOUS, 'restored');
  })();

  return {
    ready: () => loaded,
    token: () => token,
    state: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    async signIn(next, user, reason) {
      generation++;
      const previousUser = state.user;
      token = next;
      const keptUser = user ? asAccountMe(user) : reason === 'token_replaced' ? previousUser : null;
      emit(keptUser ? { status: 'authenticated', user: keptUser } : UNKNOWN, reason);
      await store.set(next);
    },
    updateUser(fresh, forToken, reason = 'user_updated') {
      if (forToken === null || forToken !== token) return;
      const user = asAccountMe(fresh);
      if (state.status === 'authenticated' && sameUser(state.user, user)) return;
      emit({ status: 'authenticated', user }, state.status === 'unknown' ? 'restored' : reason);
    },
    async clear(reason, onlyIfToken) {
      if (onlyIfToken !== undefined && onlyIfToken !== token) return;
      generation++;
      const had = token !== null || state.status !== 'anonymous';
      token = null;
      if (had) emit(ANONYMOUS, reason);
      await store.set(null);
    },
  };
}
