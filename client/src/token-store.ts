/**
 * Where the client keeps the access token between calls (and, for the web-storage stores, between page
 * loads). The default is memory: a token that lives only in the page's heap is not readable by a script
 * injected later through another page of the origin, and dies with the tab. `localStorage` keeps the user
 * signed in across reloads at the price that any script running on the origin (an XSS) can read it;
 * `sessionStorage` is the middle ground (one tab, survives reloads). A custom store — React Native secure
 * storage, an encrypted IndexedDB record, a cookie bridge — is any object with `get` and `set`, sync or async.
 */

/** Persists the access token. `get` and `set` may be synchronous or return promises. */
export interface TokenStore {
  /** The stored token, or `null`/`undefined` when there is none. */
  get(): string | null | undefined | Promise<string | null | undefined>;
  /** Stores a token, or forgets it when given `null`. */
  set(token: string | null): void | Promise<void>;
}

/** The names `createRegstackClient({ tokenStore })` accepts for the built-in stores. */
export type TokenStoreName = 'memory' | 'localStorage' | 'sessionStorage';

/** The storage key the web-storage stores use unless told otherwise. */
export const DEFAULT_TOKEN_STORAGE_KEY = 'regstack.accessToken';

/** A store that keeps the token in this JavaScript heap only (the default). */
export function memoryTokenStore(initial: string | null = null): TokenStore {
  let token = initial;
  return {
    get: () => token,
    set: (next) => {
      token = next;
    },
  };
}

/** The subset of the Web Storage API the web-storage stores use. */
export interface WebStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * A store over a Web Storage object. Storage that throws (Safari private mode, a full quota, storage
 * disabled by policy) degrades to "no stored token" instead of breaking sign-in: the client still keeps the
 * token in memory for this page.
 */
export function webStorageTokenStore(
  storage: WebStorageLike | (() => WebStorageLike | undefined),
  key: string = DEFAULT_TOKEN_STORAGE_KEY,
): TokenStore {
  const resolve = (): WebStorageLike | undefined => {
    try {
      return typeof storage === 'function' ? storage() : storage;
    } catch {
      return undefined;
    }
  };
  return {
    get() {
      try {
        return resolve()?.getItem(key) ?? null;
      } catch {
        return null;
      }
    },
    set(token) {
      try {
        const s = resolve();
        if (token === null) s?.removeItem(key);
        else s?.setItem(key, token);
      } catch {
        // see above: memory still holds the token for this page
      }
    },
  };
}

/** `window.localStorage`: survives reloads and browser restarts; readable by any script on the origin. */
export function localStorageTokenStore(key: string = DEFAULT_TOKEN_STORAGE_KEY): TokenStore {
  return webStorageTokenStore(() => (globalThis as { localStorage?: WebStorageLike }).localStorage, key);
}

/** `window.sessionStorage`: one tab, survives reloads. */
export function sessionStorageTokenStore(key: string = DEFAULT_TOKEN_STORAGE_KEY): TokenStore {
  return webStorageTokenStore(() => (globalThis as { sessionStorage?: WebStorageLike }).sessionStorage, key);
}

export function resolveTokenStore(store: TokenStore | TokenStoreName | undefined): TokenStore {
  if (store === undefined || store === 'memory') return memoryTokenStore();
  if (store === 'localStorage') return localStorageTokenStore();
  if (store === 'sessionStorage') return sessionStorageTokenStore();
  return store;
}
