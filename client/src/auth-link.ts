/**
 * A tRPC link that keeps the client's auth state in step with what the server says, for every call —
 * the typed helpers, the raw proxy and the React/Vue hooks alike, and a host's own procedures too:
 *
 * - a result under the mount path that carries a bearer token (`login`, a provider sign-in's `oauth.exchange`, and any later procedure that
 *   issues one, such as an MFA confirmation or a password change) stores it — *before* the caller's
 *   promise resolves, so `getUser()` is right the moment `await login()` returns. The `mfa_required`
 *   branch carries no access token, so nothing is stored for it;
 * - except `admin.users.impersonate`'s: that token is for another client (docs/admin.md), never the admin's own;
 * - `logout`, `logoutAll`, `account.delete` and `admin.stopImpersonating` clear it;
 * - `account.me` refreshes the user;
 * - an UNAUTHENTICATED answer to a call that carried the current token clears it (the session was revoked
 *   elsewhere, expired, or the user was disabled). A late answer for an older token leaves a newer login
 *   alone.
 */
import type { PublicUser } from '@regstack/shared';
import { getRegstackErrorCode } from '@regstack/shared';
import type { OperationResultEnvelope, TRPCClientError, TRPCLink } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import type { AuthSession } from './auth-state.ts';

interface TokenGrant {
  accessToken: string;
  tokenType: 'Bearer';
  user?: PublicUser;
}

function isTokenGrant(data: unknown): data is TokenGrant {
  if (typeof data !== 'object' || data === null) return false;
  const d = data as Record<string, unknown>;
  return typeof d.accessToken === 'string' && d.accessToken.length > 0 && d.tokenType === 'Bearer';
}

function isUser(data: unknown): data is PublicUser {
  if (typeof data !== 'object' || data === null) return false;
  const d = data as Record<string, unknown>;
  return typeof d.id === 'string' && typeof d.email === 'string' && typeof d.isActive === 'boolean';
}

const SIGN_IN_PROCEDURES = new Set(['login', 'mfa.confirmLogin', 'oauth.exchange']);
const SIGN_OUT_PROCEDURES = new Set(['logout', 'logoutAll', 'account.delete', 'admin.stopImpersonating']);
/** Procedures whose token grant is not this client's session. */
const FOREIGN_GRANTS = new Set(['admin.users.impersonate']);
const USER_PROCEDURES = new Set(['account.me', 'account.update']);

export function createAuthLink<TRouter extends AnyTRPCRouter>(
  session: AuthSession,
  mountPath: string,
): TRPCLink<TRouter> {
  const prefix = `${mountPath}.`;
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        let unsubscribed = false;
        let subscription: { unsubscribe(): void } | undefined;
        // Results are forwarded in order, each after the state update it causes has been applied.
        let chain: Promise<void> = Promise.resolve();
        const enqueue = (step: () => void | Promise<void>) => {
          chain = chain.then(step).catch(() => undefined);
        };

        void session.ready().then(() => {
          if (unsubscribed) return;
          const sentWith = session.token();
          const relative = op.path.startsWith(prefix) ? op.path.slice(prefix.length) : null;

          const onData = async (data: unknown) => {
            if (relative === null || FOREIGN_GRANTS.has(relative)) return;
            if (isTokenGrant(data)) {
              await session.signIn(
                data.accessToken,
                isUser(data.user) ? data.user : null,
                SIGN_IN_PROCEDURES.has(relative) ? 'signed_in' : 'token_replaced',
              );
            } else if (SIGN_OUT_PROCEDURES.has(relative)) {
              await session.clear('signed_out', sentWith ?? undefined);
            } else if (USER_PROCEDURES.has(relative) && isUser(data)) {
              session.updateUser(data, sentWith);
            }
          };

          subscription = next(op).subscribe({
            next(envelope: OperationResultEnvelope<unknown, TRPCClientError<TRouter>>) {
              enqueue(async () => {
                const result = envelope.result as { type?: string; data?: unknown };
                try {
                  if (result.type === undefined || result.type === 'data') await onData(result.data);
                } finally {
                  // A token store that fails to persist must not swallow the caller's result.
                  observer.next(envelope);
                }
              });
            },
            error(err) {
              enqueue(async () => {
                try {
                  if (sentWith !== null && getRegstackErrorCode(err) === 'UNAUTHENTICATED') {
                    await session.clear('session_ended', sentWith);
                  }
                } finally {
                  observer.error(err);
                }
              });
            },
            complete() {
              enqueue(() => observer.complete());
            },
          });
        });

        return () => {
          unsubscribed = true;
          subscription?.unsubscribe();
        };
      });
}
