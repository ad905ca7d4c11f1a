/**
 * The whole example UI: register → (verification link) → log in → see the user and the host's own data →
 * log out; a superuser also gets an admin table (`auth.admin.*`). Every regstack call goes through
 * `@regstack/client/react`; the host's own procedures through the same client's tRPC options proxy, so they
 * carry the bearer token too.
 */

import { getRegstackErrorCode, getRegstackErrorData } from '@regstack/client';
import {
  useLogin,
  useLogout,
  useRegister,
  useRegstackAuthTRPC,
  useRegstackTRPC,
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
      {login.data?.status === 'mfa_required' && (
        <p data-testid="mfa-required">Enter the code we sent by SMS (not part of this example).</p>
      )}
      <ErrorLine error={login.error} />
    </form>
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
        <LoginForm />
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
