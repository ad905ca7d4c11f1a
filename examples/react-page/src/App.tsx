/**
 * The whole example UI: register → (verification link) → log in (→ a second factor when the account has one)
 * → see the user and the host's own data → log out; a signed-in user can turn on an authenticator app, and a
 * superuser also gets an admin table (`auth.admin.*`). Every regstack call goes through
 * `@regstack/client/react`; the host's own procedures through the same client's tRPC options proxy, so they
 * carry the bearer token too.
 */

import { getRegstackErrorCode, getRegstackErrorData, type MfaChallenge } from '@regstack/client';
import {
  type ConfirmMfaInput,
  useConfirmMfa,
  useLogin,
  useLogout,
  useMfaStatus,
  useRegister,
  useRegstackAuthTRPC,
  useRegstackTRPC,
  useResendMfaCode,
  useSession,
  useVerifyEmail,
} from '@regstack/client/react';
import type { AppRouter } from '@regstack/example-host-app';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useRef, useState } from 'react';

function ErrorLine({ error, testId = 'error' }: { error: unknown; testId?: string }) {
  if (!error) return null;
  const data = getRegstackErrorData(error);
  const fields = data?.fieldErrors ? Object.values(data.fieldErrors).flat() : [];
  const code = getRegstackErrorCode(error) ?? 'UNKNOWN';
  return (
    <p className="error" role="alert" data-testid={testId} data-code={code}>
      <code>{code}</code>{' '}
      {fields.length > 0 ? fields.join(' ') : error instanceof Error ? error.message : 'Something went wrong'}
    </p>
  );
}

function formValues(event: FormEvent<HTMLFormElement>): Record<string, string> {
  event.preventDefault();
  const out: Record<string, string> = {};
  for (const [key, value] of new FormData(event.currentTarget)) out[key] = String(value);
  return out;
}

function RegisterForm() {
  const register = useRegister();
  if (register.data?.status === 'pending_verification') {
    return (
      <section data-testid="register-done">
        <h2>Check your inbox</h2>
        <p>
          We sent a verification link to <strong>{register.data.email}</strong>.
        </p>
      </section>
    );
  }
  return (
    <form
      aria-label="Register"
      onSubmit={(e) => {
        const { email = '', password = '', fullName = '' } = formValues(e);
        register.mutate({ email, password, ...(fullName && { fullName }) });
      }}
    >
      <h2>Create an account</h2>
      <label>
        Name <input name="fullName" autoComplete="name" data-testid="register-name" />
      </label>
      <label>
        Email <input name="email" type="email" autoComplete="email" required data-testid="register-email" />
      </label>
      <label>
        Password{' '}
        <input name="password" type="password" autoComplete="new-password" required data-testid="register-password" />
      </label>
      <button type="submit" disabled={register.isPending} data-testid="register-submit">
        Register
      </button>
      <ErrorLine error={register.error} />
    </form>
  );
}

function LoginForm() {
  const login = useLogin();
  return (
    <form
      aria-label="Log in"
      onSubmit={(e) => {
        const { email = '', password = '' } = formValues(e);
        login.mutate({ email, password });
      }}
    >
      <h2>Log in</h2>
      <label>
        Email <input name="email" type="email" autoComplete="username" required data-testid="login-email" />
      </label>
      <label>
        Password{' '}
        <input name="password" type="password" autoComplete="current-password" required data-testid="login-password" />
      </label>
      <button type="submit" disabled={login.isPending} data-testid="login-submit">
        Log in
      </button>
      <ErrorLine error={login.error} />
    </form>
  );
}

type MfaMethod = ConfirmMfaInput['method'];
const METHOD_LABELS: Record<MfaMethod, string> = {
  totp: 'Authenticator app',
  sms: 'Text message',
  recovery: 'Recovery code',
};

/** The sign-in's second step: shown while `useSession().mfa` says a login waits for a code. */
function SecondFactor({ challenge, onCancel }: { challenge: MfaChallenge; onCancel: () => void }) {
  const confirm = useConfirmMfa();
  const resend = useResendMfaCode();
  // A recovery code is the fallback, never the first thing offered.
  const [method, setMethod] = useState<MfaMethod>(
    challenge.methods.find((m) => m !== 'recovery') ?? challenge.methods[0] ?? 'totp',
  );
  return (
    <form
      aria-label="Two-factor code"
      data-testid="mfa-step"
      onSubmit={(e) => {
        const { code = '' } = formValues(e);
        confirm.mutate({ method, code: code.trim() });
      }}
    >
      <h2>Two-factor authentication</h2>
      {challenge.methods.length > 1 && (
        <fieldset>
          <legend>Verify with</legend>
          {challenge.methods.map((m) => (
            <label key={m}>
              <input
                type="radio"
                name="method"
                value={m}
                checked={method === m}
                onChange={() => {
                  setMethod(m);
                  confirm.reset();
                }}
                data-testid={`mfa-method-${m}`}
              />{' '}
              {METHOD_LABELS[m]}
            </label>
          ))}
        </fieldset>
      )}
      <p>
        {method === 'totp' && 'Enter the 6-digit code from your authenticator app.'}
        {method === 'sms' && `Enter the 6-digit code we sent to ${challenge.phoneHint ?? 'your phone'}.`}
        {method === 'recovery' && 'Enter one of your recovery codes (xxxxx-xxxxx); each works once.'}
      </p>
      <label>
        Code{' '}
        <input
          key={method}
          name="code"
          autoComplete="one-time-code"
          inputMode={method === 'recovery' ? 'text' : 'numeric'}
          required
          data-testid="mfa-code"
        />
      </label>
      <button type="submit" disabled={confirm.isPending} data-testid="mfa-submit">
        Verify
      </button>
      {method === 'sms' && (
        <button type="button" disabled={resend.isPending} onClick={() => resend.mutate()} data-testid="mfa-resend">
          Send a new code
        </button>
      )}
      <button type="button" onClick={onCancel} data-testid="mfa-cancel">
        Back
      </button>
      {resend.isSuccess && (
        <p role="status" data-testid="mfa-resent">
          A new code is on its way; the earlier one no longer works.
        </p>
      )}
      <ErrorLine error={confirm.error ?? resend.error} testId="mfa-error" />
    </form>
  );
}

/** The server-made QR code, shown as an image: its SVG markup never becomes part of this page's DOM. */
function QrImage({ svg }: { svg: string }) {
  return (
    <img
      src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`}
      alt="QR code for your authenticator app"
      width={200}
      height={200}
      data-testid="totp-qr"
    />
  );
}

/** Turn an authenticator app on (password → scan → confirm with a code → recovery codes once) or off. */
function TwoFactor() {
  const auth = useRegstackAuthTRPC();
  const queryClient = useQueryClient();
  const status = useMfaStatus();
  const refresh = () => queryClient.invalidateQueries(auth.mfa.status.queryFilter());
  const start = useMutation(auth.mfa.totp.start.mutationOptions());
  const confirm = useMutation(
    auth.mfa.totp.confirm.mutationOptions({
      onSuccess: () => {
        start.reset();
        return refresh();
      },
    }),
  );
  const disable = useMutation(auth.mfa.totp.disable.mutationOptions({ onSuccess: refresh }));
  const totpOn = status.data?.methods.includes('totp') ?? false;

  // Shown once: the server keeps only a keyed hash of each.
  const recoveryCodes = confirm.data?.recoveryCodes;
  if (recoveryCodes) {
    return (
      <section data-testid="two-factor">
        <h2>Two-factor</h2>
        <p>Authenticator app on. Save these recovery codes now — they are shown only once, and each works once:</p>
        <ol data-testid="recovery-codes">
          {recoveryCodes.map((code) => (
            <li key={code}>
              <code>{code}</code>
            </li>
          ))}
        </ol>
        <button type="button" onClick={() => confirm.reset()} data-testid="recovery-codes-done">
          I have saved them
        </button>
      </section>
    );
  }

  return (
    <section data-testid="two-factor">
      <h2>Two-factor</h2>
      {status.data && (
        <p data-testid="two-factor-status">
          {totpOn ? 'Authenticator app on' : 'Authenticator app off'}
          {status.data.enabled && ` · ${status.data.recoveryCodesRemaining} recovery code(s) left`}
        </p>
      )}
      {totpOn ? (
        <form
          aria-label="Turn off the authenticator app"
          onSubmit={(e) => {
            const { currentPassword = '', code = '' } = formValues(e);
            disable.mutate({ currentPassword, code: code.trim() });
          }}
        >
          <label>
            Password{' '}
            <input
              name="currentPassword"
              type="password"
              autoComplete="current-password"
              required
              data-testid="totp-disable-password"
            />
          </label>
          <label>
            Code or recovery code{' '}
            <input name="code" autoComplete="one-time-code" required data-testid="totp-disable-code" />
          </label>
          <button type="submit" disabled={disable.isPending} data-testid="totp-disable">
            Turn off
          </button>
          <ErrorLine error={disable.error} testId="totp-error" />
        </form>
      ) : start.data ? (
        <form
          aria-label="Confirm the authenticator app"
          onSubmit={(e) => {
            const { code = '' } = formValues(e);
            confirm.mutate({ code: code.trim() });
          }}
        >
          <p>Scan this code with your authenticator app, or type the secret in by hand:</p>
          <QrImage svg={start.data.qrSvg} />
          <p>
            <code data-testid="totp-secret">{start.data.secret}</code>
          </p>
          <label>
            Code from the app{' '}
            <input
              name="code"
              autoComplete="one-time-code"
              inputMode="numeric"
              required
              data-testid="totp-confirm-code"
            />
          </label>
          <button type="submit" disabled={confirm.isPending} data-testid="totp-confirm">
            Turn on
          </button>
          <button type="button" onClick={() => start.reset()}>
            Cancel
          </button>
          <ErrorLine error={confirm.error} testId="totp-error" />
        </form>
      ) : (
        <form
          aria-label="Set up an authenticator app"
          onSubmit={(e) => {
            const { currentPassword = '' } = formValues(e);
            start.mutate({ currentPassword });
          }}
        >
          <label>
            Password{' '}
            <input
              name="currentPassword"
              type="password"
              autoComplete="current-password"
              required
              data-testid="totp-start-password"
            />
          </label>
          <button type="submit" disabled={start.isPending} data-testid="totp-start">
            Set up an authenticator app
          </button>
          <ErrorLine error={start.error} testId="totp-error" />
        </form>
      )}
      {disable.data && !totpOn && <p role="status">Authenticator app turned off.</p>}
    </section>
  );
}

function Notes() {
  const trpc = useRegstackTRPC<AppRouter>();
  const queryClient = useQueryClient();
  const dashboard = useQuery(trpc.notes.dashboard.queryOptions());
  const notes = useQuery(trpc.notes.mine.queryOptions());
  const add = useMutation(
    trpc.notes.add.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.notes.pathKey() }),
    }),
  );
  return (
    <section>
      <h2>Your notes</h2>
      {dashboard.data && (
        <p data-testid="dashboard">
          {dashboard.data.notes} notes · {dashboard.data.activeSessions} active session(s)
        </p>
      )}
      <ul>
        {notes.data?.map((n) => (
          <li key={n.id}>{n.text}</li>
        ))}
      </ul>
      <form
        aria-label="Add a note"
        onSubmit={(e) => {
          const { text = '' } = formValues(e);
          add.mutate({ text });
          e.currentTarget.reset();
        }}
      >
        <input name="text" placeholder="A note" data-testid="note-text" />
        <button type="submit" data-testid="note-submit">
          Add
        </button>
      </form>
    </section>
  );
}

type Flag = 'isActive' | 'isVerified' | 'isSuperuser';
const FLAGS: [Flag, string][] = [
  ['isActive', 'Active'],
  ['isVerified', 'Verified'],
  ['isSuperuser', 'Admin'],
];
const PAGE_SIZE = 10;

interface UserQuery {
  search: string;
  filters: Partial<Record<Flag, boolean>>;
}

/**
 * Shown to superusers only — as a courtesy: the server re-reads the caller on every `auth.admin.*` call and
 * refuses anyone else with FORBIDDEN, whatever the page shows.
 */
function AdminUsers() {
  const auth = useRegstackAuthTRPC();
  const queryClient = useQueryClient();
  const [query, setQuery] = useState<UserQuery>({ search: '', filters: {} });
  const [cursor, setCursor] = useState<string | undefined>();
  const [outcome, setOutcome] = useState<{ text?: string; error?: unknown }>({});

  const list = useQuery({
    ...auth.admin.users.list.queryOptions({
      limit: PAGE_SIZE,
      search: query.search || undefined,
      filters: query.filters,
      cursor,
    }),
    placeholderData: keepPreviousData, // keep the table on screen while the next page loads
  });
  // A cursor belongs to the search and filters that made it (another query refuses it), so a new query
  // starts again at the first page.
  const changeQuery = (next: UserQuery) => {
    setQuery(next);
    setCursor(undefined);
  };
  const setFilter = (flag: Flag, value: string) => {
    const { [flag]: _, ...filters } = query.filters;
    changeQuery({ ...query, filters: value === 'any' ? filters : { ...filters, [flag]: value === 'yes' } });
  };

  const settled = {
    onError: (error: unknown) => setOutcome({ error }),
    onSettled: () => queryClient.invalidateQueries(auth.admin.users.pathFilter()),
  };
  const update = useMutation(
    auth.admin.users.update.mutationOptions({
      ...settled,
      onSuccess: ({ user, sessionsRevoked }) =>
        setOutcome({
          text: user.isActive
            ? `${user.email} enabled`
            : `${user.email} disabled (${sessionsRevoked} session(s) ended)`,
        }),
    }),
  );
  const revoke = useMutation(
    auth.admin.users.revokeSessions.mutationOptions({
      ...settled,
      onSuccess: ({ count }) => setOutcome({ text: `${count} session(s) revoked` }),
    }),
  );
  const resend = useMutation(
    auth.admin.users.resendVerification.mutationOptions({
      ...settled,
      onSuccess: () => setOutcome({ text: 'Verification mail sent' }),
    }),
  );
  const busy = update.isPending || revoke.isPending || resend.isPending;

  return (
    <section data-testid="admin">
      <h2>Admin · users</h2>
      <form
        aria-label="Search users"
        className="admin-search"
        onSubmit={(e) => changeQuery({ ...query, search: (formValues(e).search ?? '').trim() })}
      >
        <input name="search" type="search" placeholder="Email prefix or name" data-testid="admin-search" />
        <button type="submit">Search</button>
      </form>
      <div className="admin-filters">
        {FLAGS.map(([flag, label]) => (
          <label key={flag}>
            {label}{' '}
            <select
              value={query.filters[flag] === undefined ? 'any' : query.filters[flag] ? 'yes' : 'no'}
              onChange={(e) => setFilter(flag, e.target.value)}
              data-testid={`admin-filter-${flag}`}
            >
              <option value="any">any</option>
              <option value="yes">yes</option>
              <option value="no">no</option>
            </select>
          </label>
        ))}
      </div>
      <table>
        <thead>
          <tr>
            <th>Email</th>
            <th>Name</th>
            <th>Status</th>
            <th>Last login</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.data?.items.map((u) => (
            <tr key={u.id} data-testid="admin-row">
              <td>{u.email}</td>
              <td>{u.fullName}</td>
              <td data-testid="admin-row-status">
                {[
                  u.isActive ? 'active' : 'disabled',
                  u.isVerified ? 'verified' : 'unverified',
                  u.isSuperuser && 'admin',
                ]
                  .filter(Boolean)
                  .join(' · ')}
              </td>
              <td>{u.lastLoginAt?.toLocaleString() ?? 'never'}</td>
              <td>
                <div className="actions">
                  <button
                    type="button"
                    disabled={busy}
                    onClick={() => update.mutate({ id: u.id, isActive: !u.isActive })}
                  >
                    {u.isActive ? 'Disable' : 'Enable'}
                  </button>
                  <button type="button" disabled={busy} onClick={() => revoke.mutate({ id: u.id })}>
                    Revoke sessions
                  </button>
                  {!u.isVerified && (
                    <button type="button" disabled={busy} onClick={() => resend.mutate({ id: u.id })}>
                      Resend verification
                    </button>
                  )}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data?.items.length === 0 && <p>No users match.</p>}
      <button type="button" disabled={!cursor} onClick={() => setCursor(undefined)}>
        First page
      </button>{' '}
      <button
        type="button"
        disabled={!list.data?.nextCursor || list.isPlaceholderData}
        onClick={() => setCursor(list.data?.nextCursor ?? undefined)}
        data-testid="admin-next"
      >
        Next page
      </button>
      <ErrorLine error={list.error} testId="admin-list-error" />
      {outcome.text && (
        <p role="status" data-testid="admin-outcome">
          {outcome.text}
        </p>
      )}
      <ErrorLine error={outcome.error} testId="admin-error" />
    </section>
  );
}

function Account() {
  const { user } = useSession();
  const logout = useLogout();
  if (!user) return null;
  return (
    <main>
      <section data-testid="signed-in">
        <h2>Signed in</h2>
        <p>
          <strong data-testid="user-email">{user.email}</strong>
          {user.fullName && <span data-testid="user-name"> ({user.fullName})</span>}
        </p>
        <p>Member since {user.createdAt.toLocaleDateString()}</p>
        <button type="button" onClick={() => logout.mutate()} data-testid="logout">
          Log out
        </button>
      </section>
      <TwoFactor />
      <Notes />
      {user.isSuperuser && <AdminUsers />}
    </main>
  );
}

/** `/verify?token=…` — the link from the verification mail. Calls verifyEmail once (tokens are single-use). */
function VerifyEmail({ token }: { token: string }) {
  const verify = useVerifyEmail();
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return; // StrictMode runs effects twice in development; the token works once
    started.current = true;
    verify.mutate({ token });
  }, [token, verify]);
  return (
    <main>
      <h2>Verifying your email…</h2>
      {verify.data && (
        <p data-testid="verified">
          {verify.data.user.email} is verified. <a href="/">Log in</a>
        </p>
      )}
      <ErrorLine error={verify.error} />
    </main>
  );
}

export function App() {
  const [location] = useState(() => new URL(window.location.href));
  const session = useSession();
  const token = location.searchParams.get('token');
  let body: React.ReactNode;
  if (location.pathname.endsWith('/verify') && token) body = <VerifyEmail token={token} />;
  else if (session.isLoading) body = <p>Loading…</p>;
  else if (session.user) body = <Account />;
  else
    body = (
      <main className="columns" data-testid="signed-out">
        <RegisterForm />
        {session.mfa ? (
          <SecondFactor key={session.mfa.expiresAt} challenge={session.mfa} onCancel={session.cancelMfa} />
        ) : (
          <LoginForm />
        )}
      </main>
    );
  return (
    <>
      <header>
        <h1>regstack × React</h1>
      </header>
      {body}
    </>
  );
}
