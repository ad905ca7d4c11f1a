/**
 * The email outbox (SPEC §8). A worker may send a message only while it holds a lease: the claim
 * `outbox:<id>:<attempt>#<k>` with an expiry (claim.entity.ts). Two workers racing for the same attempt
 * cannot both win it; a lease left by a worker that died lapses, and the next worker takes over with the
 * next `k`, so a message is retried rather than lost. Only the lease holder writes the message row.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Dialect } from '../db/dialect.ts';
import { type EmailOutbox, EmailOutboxSchema } from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';
import { createClaimRepository } from './claim.repository.ts';

export interface NewOutboxMessage {
  kind: string;
  toAddress: string;
  payload: string;
}

export interface OutboxLease {
  message: EmailOutbox;
  leaseUntil: Date;
}

export function createEmailOutboxRepository(em: EntityManager, dialect: Dialect) {
  const claims = createClaimRepository(em, dialect);
  return {
    /**
     * Stores a message. With `id`, the insert is idempotent: a second enqueue under the same id (a retried
     * job) stores nothing and returns null.
     */
    async enqueue(data: NewOutboxMessage, now: Date, id?: string): Promise<EmailOutbox | null> {
      const row = {
        id: id ?? newId(now.getTime()),
        ...data,
        status: 'pending' as const,
        attempts: 0,
        nextAttemptAt: now,
        lastError: null,
        createdAt: now,
        sentAt: null,
      };
      try {
        await em.insert(EmailOutboxSchema, row);
      } catch (err) {
        if (id && dialect.isUniqueViolation(err)) return null;
        throw err;
      }
      return row;
    },

    /** Leases up to `limit` due messages for `leaseMs`; returns only those this caller won. */
    async claimDue(now: Date, leaseMs: number, limit: number): Promise<OutboxLease[]> {
      const due = await em.find(
        EmailOutboxSchema,
        { status: 'pending', nextAttemptAt: { $lte: now } },
        { orderBy: { nextAttemptAt: 'asc' }, limit, disableIdentityMap: true },
      );
      const leaseUntil = new Date(now.getTime() + leaseMs);
      const won: OutboxLease[] = [];
      for (const message of due) {
        const scope = `outbox:${message.id}:${message.attempts}`;
        // The leases of this try so far (one per lapsed holder: a handful at most). Compared by their number, not
        // their text ("#10" sorts before "#9") or their time (a frozen or coarse clock ties them).
        const leases = (await claims.listInScope(scope)).map((c) => ({
          n: Number(c.id.slice(c.id.lastIndexOf('#') + 1)),
          expiresAt: c.expiresAt,
        }));
        if (leases.some((l) => l.expiresAt > now)) continue; // someone holds a live lease
        const k = leases.reduce((max, l) => (Number.isInteger(l.n) && l.n >= max ? l.n + 1 : max), 0);
        if (await claims.claimOnce(`${scope}#${k}`, scope, now, leaseUntil)) won.push({ message, leaseUntil });
      }
      return won;
    },

    async markSent(id: string, now: Date): Promise<void> {
      await em.nativeUpdate(EmailOutboxSchema, { id }, { status: 'sent', sentAt: now });
    },

    /** Records a failed try: back to pending at `retryAt`, or `dead` when `retryAt` is null. */
    async markFailed(id: string, attempts: number, error: string, retryAt: Date | null): Promise<void> {
      const lastError = error.slice(0, 500);
      await em.nativeUpdate(
        EmailOutboxSchema,
        { id },
        retryAt
          ? { status: 'pending', attempts, lastError, nextAttemptAt: retryAt }
          : { status: 'dead', attempts, lastError },
      );
    },

    /**
     * What the observability gauges report: undelivered (pending) rows and the oldest one's enqueue time. Both
     * read the (status, createdAt) index — a count over the pending entries and one seek — never the sent history,
     * so a scrape costs the same however much mail has gone out.
     */
    async pendingStats(): Promise<{ pending: number; oldestCreatedAt: Date | null }> {
      const pending = await em.count(EmailOutboxSchema, { status: 'pending' });
      if (pending === 0) return { pending, oldestCreatedAt: null };
      const [oldest] = await em.find(
        EmailOutboxSchema,
        { status: 'pending' },
        { orderBy: { createdAt: 'asc' }, limit: 1, fields: ['createdAt'], disableIdentityMap: true },
      );
      return { pending, oldestCreatedAt: oldest?.createdAt ?? null };
    },

    findById(id: string): Promise<EmailOutbox | null> {
      return em.findOne(EmailOutboxSchema, { id }, { disableIdentityMap: true });
    },

    deleteForAddress(toAddress: string): Promise<number> {
      return em.nativeDelete(EmailOutboxSchema, { toAddress, status: { $ne: 'pending' } });
    },

    purgeSentBefore(cutoff: Date): Promise<number> {
      return em.nativeDelete(EmailOutboxSchema, { status: 'sent', sentAt: { $lte: cutoff } });
    },
  };
}

export type EmailOutboxRepository = ReturnType<typeof createEmailOutboxRepository>;
