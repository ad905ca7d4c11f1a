/**
 * @regstack/client — the typed SDK for browsers, React/Vue apps and other servers. It takes only the router's
 * *type* from @regstack/server (`import type`), so no server code can reach a browser bundle (a test bundles
 * it for the browser and checks). React and Vue bindings live in the `@regstack/client/react` and
 * `@regstack/client/vue` subpath exports.
 */
export {
  type AccountMe,
  getRegstackErrorCode,
  isOAuthProviderName,
  isRegstackErrorCode,
  type PublicUser,
  REGSTACK_ERROR_CODES,
  type RegstackErrorCode,
  type RegstackErrorData,
} from '@regstack/shared';
export { isTRPCClientError, TRPCClientError } from '@trpc/client';
export type { AuthChangeListener, AuthChangeReason, AuthState, AuthStatus } from './auth-state.ts';
export {
  type CompleteOAuthOptions,
  createRegstackClient,
  type FetchLike,
  type MfaChallenge,
  type ProviderSignInOptions,
  type RegstackClient,
  type RegstackClientOptions,
  type TransformerLike,
} from './client.ts';
export { getRegstackErrorData } from './errors.ts';
export { RegstackNetworkError } from './network-error.ts';
export { RegstackOAuthError } from './oauth.ts';
export {
  DEFAULT_TOKEN_STORAGE_KEY,
  localStorageTokenStore,
  memoryTokenStore,
  sessionStorageTokenStore,
  type TokenStore,
  type TokenStoreName,
  type WebStorageLike,
  webStorageTokenStore,
} from './token-store.ts';
export type {
  RegstackErrorShapeData,
  RegstackInputs,
  RegstackMountPath,
  RegstackOutputs,
  RegstackRouter,
  StandaloneRouter,
} from './types.ts';
