/**
 * `regstack create-admin` (issue 17 item 1): the first admin from a shell, through `regstack.bootstrapAdmin`, which
 * owns every rule (the registration policy for a new password, idempotence, never changing an existing password).
 * This file only decides where the password comes from and how the outcome is said:
 *
 * - The password: `--password-stdin` (one line, for scripts), else a prompt on the terminal, asked twice with no
 *   echo, else `--no-password`. With no terminal and neither flag it refuses before touching anything: a script
 *   must say what it means, never hang on a prompt nobody sees.
 * - The schema is installed first, as `serve` does (idempotent and safe from several instances): the first admin is
 *   usually made on a fresh database, before the first start.
 * - One line on stderr says what was done; the password is never printed (R62). Failures are one line and exit 1
 *   (program.ts), a policy refusal with its code (`PASSWORD_TOO_SHORT`, …).
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { loadConfig } from '../config/index.ts';
import { createRegstack } from '../create-regstack.ts';
import { RegstackError } from '../errors/regstack-error.ts';
import { Interrupted } from './exit-codes.ts';

export interface CreateAdminOptions {
  email: string;
  fullName?: string | undefined;
  /** `--password-stdin`. */
  passwordStdin?: boolean | undefined;
  /** commander's `--no-password`: false when given. */
  password?: boolean | undefined;
  config?: string | undefined;
}

/** Longer than any password the policy accepts (R2 caps it far below), so a runaway pipe is not read whole. */
const MAX_STDIN_BYTES = 64 * 1024;

/** The password piped on stdin: one line, its trailing newline (LF or CRLF) stripped, nothing else touched. */
async function readPasswordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > MAX_STDIN_BYTES) throw new Error('--password-stdin: the input is too long for a password');
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (/[\r\n]/.test(text)) throw new Error('--password-stdin expects the password on one line');
  if (text === '') throw new Error('--password-stdin: stdin held no password');
  return text;
}

/**
 * Asks for the password twice on the terminal with no echo. Node's readline with its output sent nowhere is all it
 * takes: readline puts the terminal in raw mode (so the kernel echoes nothing) and keeps line editing; a prompt
 * library would add a dependency for these few lines. The prompts go to stderr.
 */
async function promptPassword(): Promise<string> {
  const nowhere = new Writable({ write: (_chunk, _encoding, done) => done() });
  // Raw mode is on from here, before the first prompt is shown, so keys typed ahead are never echoed either.
  const rl = createInterface({ input: process.stdin, output: nowhere, terminal: true });
  let cancelled = false;
  rl.on('SIGINT', () => {
    cancelled = true;
    rl.close();
  });
  const lines = rl[Symbol.asyncIterator]();
  const ask = async (prompt: string): Promise<string> => {
    process.stderr.write(prompt);
    const line = await lines.next();
    process.stderr.write('\n');
    if (cancelled) throw new Interrupted('interrupted; nothing done');
    if (line.done) throw new Error('no password entered (end of input)');
    return line.value;
  };
  try {
    const password = await ask('Password for the new admin: ');
    if (password === '') throw new Error('no password entered; use --no-password to create the account without one');
    if ((await ask('Again, to confirm: ')) !== password) throw new Error('the two passwords differ; nothing done');
    return password;
  } finally {
    rl.close();
  }
}

export async function createAdmin(opts: CreateAdminOptions): Promise<void> {
  const noPassword = opts.password === false;
  if (noPassword && opts.passwordStdin) throw new Error('--password-stdin and --no-password exclude each other');
  if (!noPassword && !opts.passwordStdin && !process.stdin.isTTY) {
    throw new Error(
      'no terminal to ask for the password: pipe it with --password-stdin (e.g. from a secret store), ' +
        'or pass --no-password to make the admin without one',
    );
  }

  const config = await loadConfig({ configFile: opts.config });
  const regstack = await createRegstack({ config, startWorkers: false });
  try {
    await regstack.installSchema();
    const password = noPassword
      ? undefined
      : opts.passwordStdin
        ? await readPasswordFromStdin()
        : await promptPassword();
    const result = await regstack
      .bootstrapAdmin({ email: opts.email, password, fullName: opts.fullName })
      .catch((err: unknown) => {
        // bootstrapAdmin's own words name the API; the command's name the flag that does what was probably meant.
        if (RegstackError.is(err) && err.code === 'ADMIN_PASSWORD_CONFLICT') {
          throw new RegstackError(
            'ADMIN_PASSWORD_CONFLICT',
            'this account exists with another password, and create-admin never changes an existing password: ' +
              'run it with --no-password to promote the account as it is',
          );
        }
        throw err;
      });
    const { email } = result.user;
    if (result.status === 'created') {
      console.error(
        `regstack: created ${email} as an active, verified admin (id ${result.user.id})` +
          (password === undefined ? ' without a password: its owner sets one through "forgot password"' : ''),
      );
    } else if (result.status === 'promoted') {
      console.error(
        `regstack: promoted the existing account ${email} to an active, verified admin; its password is unchanged`,
      );
    } else {
      console.error(`regstack: ${email} is already an active, verified admin; nothing changed`);
    }
  } finally {
    await regstack.close();
  }
}
