/**
 * `regstack purge [--dry-run] [--older-than <age>] [--batch-size <rows>]` (issue 20 item 5). The rules live in the
 * purge service (services/purge.service.ts): bounded batches, each its own short transaction, so a table of a
 * million rows never holds a long lock; one instance at a time under the `purge:lock` claim — the same lock the
 * background purge (`purge_interval_seconds`) takes, so a manual run and the servers' own never overlap. This file
 * only says what happened:
 *
 * - on a terminal, one progress line rewritten in place (stderr); without one, no progress noise;
 * - a summary per table on stdout; `--dry-run` counts what would go, taking no lock and deleting nothing;
 * - another instance holding the lock: one line on stderr and EXIT.locked (3), nothing done.
 */
import { InvalidArgumentError } from 'commander';
import { loadConfigWithoutSecret } from '../config/load-config.ts';
import { openPurger } from '../create-regstack.ts';
import type { PurgeCounts } from '../repositories/purge.repository.ts';
import { EXIT } from './exit-codes.ts';

export interface PurgeCliOptions {
  config?: string | undefined;
  batchSize?: number | undefined;
  dryRun?: boolean | undefined;
  /** Milliseconds, parsed by `parseAge`. */
  olderThan?: number | undefined;
}

/** The table each purge kind deletes from, in the order of the summary. */
const TABLES: Record<keyof PurgeCounts, string> = {
  sessions: 'sessions',
  revocations: 'revocations',
  oneTimeTokens: 'one_time_tokens',
  claims: 'claims',
  pendingRegistrations: 'pending_registrations',
  mfaCodes: 'mfa_codes',
  oauthStates: 'oauth_states',
  loginAttempts: 'login_attempts',
  emailOutbox: 'email_outbox',
  auditEvents: 'audit_events',
};

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `--older-than`: `90s`, `30m`, `12h`, `7d`, `2w` (a bare number is seconds); at most a year. */
export function parseAge(text: string): number {
  const match = /^(\d{1,7})\s*([smhdw]?)$/.exec(text.trim());
  const ms = match ? Number(match[1]) * (UNIT_MS[match[2] || 's'] ?? 1000) : Number.NaN;
  if (!Number.isFinite(ms) || ms > 366 * 86_400_000) {
    throw new InvalidArgumentError('must be an age such as 30m, 12h, 7d or 2w (at most a year)');
  }
  return ms;
}

function summary(counts: PurgeCounts, verb: string): string {
  const width = Math.max(...Object.values(TABLES).map((t) => t.length));
  const lines = (Object.keys(TABLES) as (keyof PurgeCounts)[]).map((kind) => {
    const note = kind === 'revocations' && verb === 'would remove' ? ' (go with their sessions; not counted)' : '';
    return `  ${TABLES[kind].padEnd(width)}  ${counts[kind].toLocaleString('en-US').padStart(9)}${note}`;
  });
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return [...lines, `${verb} ${total.toLocaleString('en-US')} rows in total`].join('\n');
}

export async function purge(opts: PurgeCliOptions): Promise<void> {
  // The purge signs nothing: it needs no jwt_secret (nor a mail transport or hashing process).
  const { config } = await loadConfigWithoutSecret({ configFile: opts.config });
  const regstack = await openPurger(config);
  try {
    const olderThanMs = opts.olderThan ?? 0;
    if (opts.dryRun) {
      const counts = await regstack.purgePreview({ olderThanMs });
      process.stdout.write(`Dry run on ${regstack.storage.description}: nothing was removed.\n`);
      process.stdout.write(`${summary(counts, 'would remove')}\n`);
      return;
    }
    const tty = process.stderr.isTTY === true;
    let shown = 0;
    const started = Date.now();
    const result = await regstack.purge({
      ...(opts.batchSize !== undefined && { batchSize: opts.batchSize }),
      olderThanMs,
      onProgress(counts) {
        if (!tty) return;
        // At most a few redraws a second: a fast purge must not spend its time writing to the terminal.
        const now = Date.now();
        if (now - shown < 200) return;
        shown = now;
        const total = Object.values(counts).reduce((a, b) => a + b, 0);
        const current = (Object.keys(TABLES) as (keyof PurgeCounts)[]).filter((k) => counts[k] > 0).pop();
        process.stderr.write(
          `\r\x1b[2Kregstack: purging… ${total.toLocaleString('en-US')} rows removed` +
            `${current ? ` (now ${TABLES[current]})` : ''}, ${Math.round((now - started) / 1000)} s`,
        );
      },
    });
    if (tty && shown > 0) process.stderr.write('\r\x1b[2K');
    if (result.status === 'locked') {
      console.error('regstack: another instance is purging right now (it holds the purge lock); nothing done');
      process.exitCode = EXIT.locked;
      return;
    }
    process.stdout.write(
      `Purged ${regstack.storage.description} in ${((Date.now() - started) / 1000).toFixed(1)} s:\n`,
    );
    process.stdout.write(`${summary(result.counts, 'removed')}\n`);
  } finally {
    await regstack.close();
  }
}
