/**
 * The last-admin rule (R46, issue 17): no change may leave the deployment without an active superuser. Every
 * change that can take an active superuser away — an admin disabling, demoting or deleting one, or a superuser
 * deleting their own account — runs `guard`, which holds the lease `admin:guard` (a claim: an insert under a unique
 * key, the one "only one may win" primitive that holds on every backend, FerretDB included, whose conditional
 * updates are not atomic — claim.entity.ts). Inside it the caller re-reads what it decides on (the acting admin,
 * the target, how many active superusers would remain) and writes its change before the lease is released, so two
 * admins demoting each other at the same moment are serialized: the second finds one admin left and is refused
 * with LAST_ACTIVE_ADMIN.
 *
 * A holder that dies leaves the lease to expire after `LEASE_TTL_MS`; a caller that cannot take it within
 * `WAIT_MS` gets SERVICE_UNAVAILABLE with `retryAfterSeconds` and changes nothing. Changes that only add admins
 * (promotion, bootstrap) need no lease: they can never break the rule.
 */
import { RegstackError } from '../../errors/regstack-error.ts';
import { openRepos, type ServiceDeps } from '../deps.ts';

const LEASE_ID = 'admin:guard';
/** Far longer than the few reads and writes a guarded change makes; only a dead holder's lease ever runs out. */
const LEASE_TTL_MS = 30_000;
/** How long a caller waits for a busy lease before giving up. */
const WAIT_MS = 10_000;

export function lastActiveAdmin(): RegstackError {
  return new RegstackError('LAST_ACTIVE_ADMIN', 'The last active superuser cannot be disabled, demoted or deleted');
}

export interface AdminGuard {
  /** Runs `work` while no other change that can remove an admin runs, on any instance. */
  guard<T>(work: () => Promise<T>): Promise<T>;
}

export function createAdminGuard(deps: Pick<ServiceDeps, 'storage' | 'clock'>): AdminGuard {
  return {
    async guard(work) {
      const waitUntil = Date.now() + WAIT_MS;
      let takenAt: Date;
      for (let round = 0; ; round++) {
        const repos = openRepos(deps);
        takenAt = deps.clock.now();
        await repos.claims.deleteExpiredLock(LEASE_ID, takenAt);
        if (await repos.claims.claimOnce(LEASE_ID, LEASE_ID, takenAt, new Date(takenAt.getTime() + LEASE_TTL_MS)))
          break;
        if (Date.now() >= waitUntil) {
          throw new RegstackError('SERVICE_UNAVAILABLE', 'Another admin change is in progress; try again', {
            retryAfterSeconds: 1,
          });
        }
        // A short, growing, jittered pause: the holder needs a few queries' time.
        await new Promise((r) => setTimeout(r, Math.min(200, 5 * 2 ** Math.min(round, 5)) * (0.5 + Math.random())));
      }
      try {
        return await work();
      } finally {
        await openRepos(deps).claims.releaseHeld(LEASE_ID, takenAt);
      }
    },
  };
}
