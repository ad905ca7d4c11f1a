/**
 * @regstack/client — the typed SDK for browsers, React/Vue apps and server-side callers. It depends only on
 * @regstack/shared (and, for the router type, on `import type` from @regstack/server), so no server code can
 * reach a browser bundle. Today it offers the stable error-code helpers; the typed client arrives with the
 * client issue.
 */
export {
  getRegstackErrorCode,
  isRegstackErrorCode,
  REGSTACK_ERROR_CODES,
  type RegstackErrorCode,
  type RegstackErrorData,
} from '@regstack/shared';
