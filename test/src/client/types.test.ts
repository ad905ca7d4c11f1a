/**
 * Type-flow tests: every procedure's input and output type must reach the client unchanged — through the
 * typed helpers, the raw proxy, a host router that nests regstack under `auth`, a plain tRPC client, the
 * React hooks and the Vue composables. `expectTypeOf` is checked by the compiler (`pnpm typecheck` covers
 * this file; the runtime assertions are no-ops), so a procedure whose types stop flowing fails the build.
 */
import {
  createRegstackClient,
  type MfaChallenge,
  type RegstackClient,
  type RegstackInputs,
  type RegstackMountPath,
  type RegstackOutputs,
} from '@regstack/client';
import type {
  useConfirmMfa as useReactConfirmMfa,
  useLogin as useReactLogin,
  useResendMfaCode as useReactResendMfaCode,
  useSession as useReactSession,
} from '@regstack/client/react';
import type {
  useConfirmMfa as useVueConfirmMfa,
  useLogin as useVueLogin,
  useResendMfaCode as useVueResendMfaCode,
  useSession as useVueSession,
  useSessions as useVueSessions,
} from '@regstack/client/vue';
import type { AppRouter, Note } from '@regstack/example-host-app';
import type { Regstack, RegstackRouter, StandaloneRouter } from '@regstack/server';
import type {
  AcceptedResult,
  AccountMe,
  AdminAuditEvent,
  AdminAuditListInput,
  AdminCountResult,
  AdminListUsersInput,
  AdminPage,
  AdminPendingRegistration,
  AdminSessionInfo,
  AdminStats,
  AdminUpdateResult,
  AdminUpdateUserInput,
  AdminUserDetail,
  LoginInput,
  LoginResult,
  LogoutResult,
  MfaMethod,
  PublicUser,
  RegisterInput,
  RegisterResult,
  RegstackErrorCode,
  SessionInfo,
  MfaStatus as SharedMfaStatus,
  TotpEnrolment,
  VerifyEmailResult,
} from '@regstack/shared';
import type { createTRPCClient, TRPCClient } from '@trpc/client';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { describe, expectTypeOf, it } from 'vitest';

type MfaStatus = RegstackOutputs['mfa']['status'];

describe('procedure types reach the client', () => {
  it('RegstackInputs / RegstackOutputs match the shared DTOs', () => {
    expectTypeOf<RegstackInputs['register']>().toEqualTypeOf<RegisterInput>();
    expectTypeOf<RegstackOutputs['register']>().toEqualTypeOf<RegisterResult>();
    expectTypeOf<RegstackInputs['verifyEmail']>().toEqualTypeOf<{ token: string; password?: string | undefined }>();
    expectTypeOf<RegstackOutputs['verifyEmail']>().toEqualTypeOf<VerifyEmailResult>();
    expectTypeOf<RegstackInputs['resendVerification']>().toEqualTypeOf<{ email: string }>();
    expectTypeOf<RegstackOutputs['resendVerification']>().toEqualTypeOf<AcceptedResult>();
    expectTypeOf<RegstackInputs['login']>().toEqualTypeOf<LoginInput>();
    expectTypeOf<RegstackOutputs['login']>().toEqualTypeOf<LoginResult>();
    expectTypeOf<RegstackOutputs['logout']>().toEqualTypeOf<LogoutResult>();
    expectTypeOf<RegstackOutputs['logoutAll']>().toEqualTypeOf<LogoutResult>();
    expectTypeOf<RegstackOutputs['account']['me']>().toEqualTypeOf<AccountMe>();
    expectTypeOf<RegstackOutputs['account']['sessions']>().toEqualTypeOf<SessionInfo[]>();
    expectTypeOf<RegstackInputs['account']['revokeSession']>().toEqualTypeOf<{ id: string }>();
    expectTypeOf<RegstackOutputs['account']['revokeSession']>().toEqualTypeOf<{ status: 'revoked' }>();
    expectTypeOf<MfaStatus['enabled']>().toEqualTypeOf<boolean>();
    expectTypeOf<MfaStatus['methods']>().toEqualTypeOf<MfaMethod[]>();
    expectTypeOf<MfaStatus['recoveryCodesRemaining']>().toEqualTypeOf<number>();
    expectTypeOf<RegstackOutputs['mfa']['status']>().toEqualTypeOf<SharedMfaStatus>();
    expectTypeOf<RegstackOutputs['mfa']['totp']['start']>().toEqualTypeOf<TotpEnrolment>();
    expectTypeOf<RegstackOutputs['mfa']['confirmLogin']>().toEqualTypeOf<
      Extract<LoginResult, { status: 'authenticated' }>
    >();
    // Dates stay Dates on the client (superjson), not strings.
    expectTypeOf<RegstackOutputs['account']['me']['createdAt']>().toEqualTypeOf<Date>();
  });

  it('the typed helpers take and return exactly those types', () => {
    const rs = createRegstackClient({ url: 'http://localhost:8000/trpc' });
    expectTypeOf(rs).toEqualTypeOf<RegstackClient<StandaloneRouter>>();
    expectTypeOf(rs.register).parameter(0).toEqualTypeOf<RegisterInput>();
    expectTypeOf(rs.register).returns.resolves.toEqualTypeOf<RegisterResult>();
    expectTypeOf(rs.verifyEmail).returns.resolves.toEqualTypeOf<VerifyEmailResult>();
    expectTypeOf(rs.resendVerification).returns.resolves.toEqualTypeOf<AcceptedResult>();
    expectTypeOf(rs.login).parameter(0).toEqualTypeOf<LoginInput>();
    expectTypeOf(rs.login).returns.resolves.toEqualTypeOf<LoginResult>();
    expectTypeOf(rs.logout).returns.resolves.toEqualTypeOf<LogoutResult>();
    expectTypeOf(rs.logoutAll).returns.resolves.toEqualTypeOf<LogoutResult>();
    expectTypeOf(rs.me).returns.resolves.toEqualTypeOf<AccountMe>();
    expectTypeOf(rs.sessions).returns.resolves.toEqualTypeOf<SessionInfo[]>();
    expectTypeOf(rs.revokeSession).parameter(0).toEqualTypeOf<{ id: string }>();
    expectTypeOf(rs.mfaStatus).returns.resolves.toEqualTypeOf<MfaStatus>();
    expectTypeOf(rs.getUser).returns.toEqualTypeOf<AccountMe | null>();

    // The raw proxies: the whole root (`trpc`) and the regstack part (`auth`).
    expectTypeOf(rs.trpc.auth.login.mutate).parameter(0).toEqualTypeOf<LoginInput>();
    expectTypeOf(rs.trpc.auth.login.mutate).returns.resolves.toEqualTypeOf<LoginResult>();
    expectTypeOf(rs.auth.account.me.query).returns.resolves.toEqualTypeOf<AccountMe>();
    expectTypeOf(rs.auth).toEqualTypeOf<TRPCClient<RegstackRouter>>();

    // Wrong inputs do not compile.
    // @ts-expect-error password is required
    void (() => rs.login({ email: 'a@example.com' }));
    // @ts-expect-error unknown procedure
    void (() => rs.trpc.auth.signIn);
  });

  it('through the host router that nests regstack under `auth`', () => {
    expectTypeOf<RegstackMountPath<AppRouter>>().toEqualTypeOf<'auth'>();
    expectTypeOf<RegstackMountPath<StandaloneRouter>>().toEqualTypeOf<'auth'>();

    const rs = createRegstackClient<AppRouter>({ url: '/trpc', path: 'auth' });
    expectTypeOf(rs.trpc.auth.login.mutate).parameter(0).toEqualTypeOf<LoginInput>();
    expectTypeOf(rs.trpc.auth.login.mutate).returns.resolves.toEqualTypeOf<LoginResult>();
    expectTypeOf(rs.trpc.auth.register.mutate).returns.resolves.toEqualTypeOf<RegisterResult>();
    expectTypeOf(rs.trpc.auth.account.me.query).returns.resolves.toEqualTypeOf<AccountMe>();
    expectTypeOf(rs.trpc.auth.account.sessions.query).returns.resolves.toEqualTypeOf<SessionInfo[]>();
    expectTypeOf(rs.trpc.auth.mfa.status.query).returns.resolves.toEqualTypeOf<MfaStatus>();
    // …and the host's own procedures, next to regstack's.
    expectTypeOf(rs.trpc.notes.add.mutate).parameter(0).toEqualTypeOf<{ text: string }>();
    expectTypeOf(rs.trpc.notes.add.mutate).returns.resolves.toEqualTypeOf<Note>();
    expectTypeOf(rs.trpc.notes.dashboard.query).returns.resolves.toEqualTypeOf<{
      email: string;
      notes: number;
      activeSessions: number;
    }>();

    // A mount path the host does not have is refused.
    // @ts-expect-error regstack is mounted at `auth` in this host
    void (() => createRegstackClient<AppRouter>({ url: '/trpc', path: 'accounts' }));

    // The inference helpers and a plain tRPC client see the same types.
    expectTypeOf<inferRouterInputs<AppRouter>['auth']['login']>().toEqualTypeOf<LoginInput>();
    expectTypeOf<inferRouterOutputs<AppRouter>['auth']['login']>().toEqualTypeOf<LoginResult>();
    expectTypeOf<inferRouterOutputs<AppRouter>['auth']['account']['me']>().toEqualTypeOf<AccountMe>();
    type Plain = ReturnType<typeof createTRPCClient<AppRouter>>;
    expectTypeOf<Plain['auth']['verifyEmail']['mutate']>().returns.resolves.toEqualTypeOf<VerifyEmailResult>();
  });

  it('server-side callers are typed the same way', () => {
    type Caller = ReturnType<Regstack['createCaller']>;
    expectTypeOf<Caller['login']>().parameter(0).toEqualTypeOf<LoginInput>();
    expectTypeOf<Caller['login']>().returns.resolves.toEqualTypeOf<LoginResult>();
    expectTypeOf<Caller['account']['me']>().returns.resolves.toEqualTypeOf<AccountMe>();
  });

  it('the React hooks and the Vue composables carry the types', () => {
    type ReactLogin = ReturnType<typeof useReactLogin>;
    expectTypeOf<ReactLogin['data']>().toEqualTypeOf<LoginResult | undefined>();
    expectTypeOf<Parameters<ReactLogin['mutateAsync']>[0]>().toEqualTypeOf<LoginInput>();
    expectTypeOf<ReturnType<typeof useReactSession>['user']>().toEqualTypeOf<AccountMe | null>();

    type VueLogin = ReturnType<typeof useVueLogin>;
    expectTypeOf<VueLogin['data']['value']>().toEqualTypeOf<LoginResult | undefined>();
    expectTypeOf<VueLogin['mutateAsync']>().parameter(0).toEqualTypeOf<LoginInput>();
    expectTypeOf<ReturnType<typeof useVueSessions>['data']['value']>().toEqualTypeOf<SessionInfo[] | undefined>();
  });

  it('issue 18 item 9: the hooks expose the waiting second step and type its confirmation', () => {
    type Challenge = MfaChallenge | null;
    type Confirmed = RegstackOutputs['mfa']['confirmLogin'];
    type Resent = RegstackOutputs['mfa']['resendLoginCode'];
    expectTypeOf<MfaChallenge['methods']>().toEqualTypeOf<MfaMethod[]>();
    expectTypeOf<MfaChallenge['phoneHint']>().toEqualTypeOf<string | null>();
    expectTypeOf<MfaChallenge['expiresAt']>().toEqualTypeOf<number>();
    // The challenge never carries the pending token: it stays inside the client.
    expectTypeOf<MfaChallenge>().not.toHaveProperty('mfaPendingToken');

    type ReactSession = ReturnType<typeof useReactSession>;
    expectTypeOf<ReactSession['mfa']>().toEqualTypeOf<Challenge>();
    expectTypeOf<ReactSession['cancelMfa']>().toEqualTypeOf<() => void>();
    type ReactConfirm = ReturnType<typeof useReactConfirmMfa>;
    expectTypeOf<Parameters<ReactConfirm['mutateAsync']>[0]>().toEqualTypeOf<{ method: MfaMethod; code: string }>();
    expectTypeOf<ReactConfirm['data']>().toEqualTypeOf<Confirmed | undefined>();
    expectTypeOf<ReturnType<typeof useReactResendMfaCode>['data']>().toEqualTypeOf<Resent | undefined>();

    type VueSession = ReturnType<typeof useVueSession>;
    expectTypeOf<VueSession['mfa']['value']>().toEqualTypeOf<Challenge>();
    type VueConfirm = ReturnType<typeof useVueConfirmMfa>;
    expectTypeOf<VueConfirm['mutateAsync']>().parameter(0).toEqualTypeOf<{ method: MfaMethod; code: string }>();
    expectTypeOf<VueConfirm['data']['value']>().toEqualTypeOf<Confirmed | undefined>();
    expectTypeOf<ReturnType<typeof useVueResendMfaCode>['data']['value']>().toEqualTypeOf<Resent | undefined>();

    // The client: what the hooks read.
    expectTypeOf<RegstackClient['getMfaChallenge']>().returns.toEqualTypeOf<Challenge>();
    expectTypeOf<RegstackClient['cancelMfa']>().toEqualTypeOf<() => void>();
  });

  it('error codes are a closed union', () => {
    expectTypeOf<'UNAUTHENTICATED'>().toExtend<RegstackErrorCode>();
    // @ts-expect-error not a regstack code
    expectTypeOf<'NOT_A_CODE'>().toExtend<RegstackErrorCode>();
  });
});

describe('issue 17 item 4: the admin procedures reach the client with no extra code', () => {
  it('client.auth.admin.* takes the shared admin inputs and returns the shared admin DTOs', () => {
    const rs = createRegstackClient({ url: 'http://localhost:8000/trpc' });
    const admin = rs.auth.admin;
    expectTypeOf(admin.stats.query).returns.resolves.toEqualTypeOf<AdminStats>();
    expectTypeOf(admin.users.list.query).parameter(0).toEqualTypeOf<AdminListUsersInput>();
    expectTypeOf(admin.users.list.query).returns.resolves.toEqualTypeOf<AdminPage<PublicUser>>();
    expectTypeOf(admin.users.get.query).parameter(0).toEqualTypeOf<{ id: string }>();
    expectTypeOf(admin.users.get.query).returns.resolves.toEqualTypeOf<AdminUserDetail>();
    expectTypeOf(admin.users.update.mutate).parameter(0).toEqualTypeOf<AdminUpdateUserInput>();
    expectTypeOf(admin.users.update.mutate).returns.resolves.toEqualTypeOf<AdminUpdateResult>();
    expectTypeOf(admin.users.delete.mutate).returns.resolves.toEqualTypeOf<{ status: 'deleted' }>();
    expectTypeOf(admin.users.sessions.query).returns.resolves.toEqualTypeOf<AdminSessionInfo[]>();
    expectTypeOf(admin.users.revokeSessions.mutate).returns.resolves.toEqualTypeOf<AdminCountResult>();
    expectTypeOf(admin.users.resendVerification.mutate).returns.resolves.toEqualTypeOf<{ status: 'accepted' }>();
    expectTypeOf(admin.users.sendPasswordReset.mutate).returns.resolves.toEqualTypeOf<{ status: 'accepted' }>();
    expectTypeOf(admin.pending.list.query).returns.resolves.toEqualTypeOf<AdminPage<AdminPendingRegistration>>();
    expectTypeOf(admin.pending.promote.mutate).parameter(0).toEqualTypeOf<{ email: string }>();
    expectTypeOf(admin.pending.promote.mutate).returns.resolves.toEqualTypeOf<{ user: PublicUser }>();
    expectTypeOf(admin.pending.delete.mutate).returns.resolves.toEqualTypeOf<AdminCountResult>();
    expectTypeOf(admin.audit.list.query).parameter(0).toEqualTypeOf<AdminAuditListInput>();
    expectTypeOf(admin.audit.list.query).returns.resolves.toEqualTypeOf<AdminPage<AdminAuditEvent>>();
    // Dates stay Dates (superjson), and the inferred types agree with the helpers'.
    expectTypeOf<RegstackOutputs['admin']['audit']['list']['items'][number]['createdAt']>().toEqualTypeOf<Date>();
    expectTypeOf<RegstackInputs['admin']['users']['update']>().toEqualTypeOf<AdminUpdateUserInput>();
    // Server-side callers too.
    type Caller = ReturnType<Regstack['createCaller']>;
    expectTypeOf<Caller['admin']['users']['get']>().returns.resolves.toEqualTypeOf<AdminUserDetail>();
  });
});
