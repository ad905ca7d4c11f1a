/**
 * Second factors other than the phone (which is `users.phone_number`): the TOTP credential and the recovery codes.
 * Every "only once" decision is a claim (claim.entity.ts) — an insert under a primary key, the one guarantee that
 * holds on every backend, FerretDB included (its conditional updates are not atomic):
 * - `spendTotpStep`: a TOTP time step is accepted once per user (`totp:<user>:<step>`), and never at or below the
 *   newest step already accepted (`last_used_step`, RFC 6238 §5.2);
 * - `spendRecoveryCode`: a recovery code is used once (`recovery:<id>`).
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Dialect } from '../db/dialect.ts';
import {
  type RecoveryCode,
  RecoveryCodeSchema,
  type TotpCredential,
  TotpCredentialSchema,
  UserSchema,
} from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';
import type { SqlRunner } from '../db/sql-runner.ts';
import { CLAIM_SQL, createClaimRepository } from './claim.repository.ts';

/** What a user has enrolled: the TOTP credential (confirmed or in enrolment), the phone, unused recovery codes. */
export interface EnrolledFactors {
  totp: TotpCredential | null;
  phoneNumber: string | null;
  recoveryCodesRemaining: number;
}

/**
 * `factorsOf` in SQL, in parts other statements reuse (mfa-login.repository.ts): the `users` row aliased `u`, its
 * TOTP credential `t` (columns prefixed `t_`) and the count of its unused recovery codes. Every sign-in with a second
 * factor reads these twice, so on the SQL backends it is one prepared statement, not three ORM queries.
 */
export const FACTOR_COLUMNS = `u.phone_number, t.id as t_id, t.user_id as t_user_id, t.sealed_secret as t_sealed_secret,
  t.confirmed_at as t_confirmed_at, t.last_used_step as t_last_used_step, t.created_at as t_created_at,
  t.updated_at as t_updated_at,
  (select count(*) from mfa_recovery_codes r where r.user_id = u.id and r.used_at is null) as recovery_left`;
export const FACTOR_TABLES = 'users u left join mfa_totp t on t.user_id = u.id';
const FACTORS_SQL = `select ${FACTOR_COLUMNS} from ${FACTOR_TABLES} where u.id = ?`;

/** The factors in a row of `FACTOR_COLUMNS` (none when there is no row: no such user). */
export function enrolledFactorsFrom(sql: SqlRunner, r: Record<string, unknown> | undefined): EnrolledFactors {
  if (!r) return { totp: null, phoneNumber: null, recoveryCodesRemaining: 0 };
  const totp: TotpCredential | null =
    r.t_id === null || r.t_id === undefined
      ? null
      : {
          id: String(r.t_id),
          userId: String(r.t_user_id),
          sealedSecret: String(r.t_sealed_secret),
          confirmedAt: r.t_confirmed_at === null ? null : sql.date(r.t_confirmed_at),
          lastUsedStep: r.t_last_used_step === null ? null : Number(r.t_last_used_step),
          createdAt: sql.date(r.t_created_at),
          updatedAt: sql.date(r.t_updated_at),
        };
  return {
    totp,
    phoneNumber: (r.phone_number as string | null) ?? null,
    recoveryCodesRemaining: Number(r.recovery_left ?? 0),
  };
}

/**
 * `spendTotpStep`'s writes in SQL, once the `last_used_step` check passed: the step's claim, and only if it took
 * effect, `last_used_step` moved forward. PostgreSQL: one statement (the update reads the insert's `returning`);
 * SQLite: one synchronous transaction.
 */
const PG_SPEND_STEP_SQL = `with c as (insert into claims (id, scope, created_at, expires_at) values ($1, $2, $3, $4)
    on conflict (id) do nothing returning id),
  u as (update mfa_totp set last_used_step = $5 where user_id = $6
    and (last_used_step is null or last_used_step < $5) and exists (select 1 from c) returning id)
select count(*) as n from c`;
const ADVANCE_STEP_SQL =
  'update mfa_totp set last_used_step = ? where user_id = ? and (last_used_step is null or last_used_step < ?)';

/** How long a spent recovery code's claim is kept: longer than any request that read the code as unused. */
const RECOVERY_CLAIM_MS = 24 * 60 * 60 * 1000;
/** How long an enrolment confirmation's claim is kept: past any racing request; the confirmed credential then
 * refuses another confirmation by itself. */
const CONFIRM_CLAIM_MS = 10 * 60 * 1000;

export function createMfaFactorRepository(em: EntityManager, dialect: Dialect) {
  const claims = createClaimRepository(em, dialect);
  const { sql } = dialect;
  return {
    /** The user's factors as stored now (no identity map). */
    async factorsOf(userId: string): Promise<EnrolledFactors> {
      if (sql) return enrolledFactorsFrom(sql, (await sql.all(em, FACTORS_SQL, [userId]))[0]);
      const [totp, user, recoveryCodesRemaining] = await Promise.all([
        this.findTotp(userId),
        em.findOne(UserSchema, { id: userId }, { fields: ['phoneNumber'], disableIdentityMap: true }),
        this.countUnusedRecoveryCodes(userId),
      ]);
      return { totp, phoneNumber: user?.phoneNumber ?? null, recoveryCodesRemaining };
    },

    /** The user's TOTP credential (confirmed or in enrolment), read fresh, with its sealed secret. */
    findTotp(userId: string): Promise<TotpCredential | null> {
      return em.findOne(TotpCredentialSchema, { userId }, { disableIdentityMap: true });
    },

    /**
     * Starts (or restarts) an enrolment with a new sealed secret. False when a confirmed credential exists: the
     * primary key (the user id) refuses the insert, so a confirmed factor is never overwritten.
     */
    async startTotp(userId: string, sealedSecret: string, now: Date): Promise<boolean> {
      await em.nativeDelete(TotpCredentialSchema, { userId, confirmedAt: null });
      try {
        await em.insert(TotpCredentialSchema, {
          id: userId,
          userId,
          sealedSecret,
          confirmedAt: null,
          lastUsedStep: null,
          createdAt: now,
          updatedAt: now,
        });
        return true;
      } catch (err) {
        if (dialect.isUniqueViolation(err)) return false;
        throw err;
      }
    },

    /**
     * Confirms the pending authenticator with the time step of the code that proved it; false when it already was
     * confirmed. Two confirmations racing both see it unconfirmed: a claim (`totp-confirm:<user>`, gone with the
     * credential) picks the winner before anything is written, and the step is spent by the same claim-then-write
     * as sign-in (so the code cannot sign in afterwards). Only the winner writes the credential, once: a
     * MongoDB-wire server that does not apply concurrent updates of one document atomically (FerretDB 1.x,
     * docs/storage.md) has nothing to lose.
     */
    async confirmTotp(userId: string, step: number, now: Date, stepExpiresAt: Date): Promise<boolean> {
      if (
        !(await claims.claimOnce(
          `totp-confirm:${userId}`,
          `totp:${userId}`,
          now,
          new Date(now.getTime() + CONFIRM_CLAIM_MS),
        ))
      ) {
        return false;
      }
      await claims.claimOnce(`totp:${userId}:${step}`, `totp:${userId}`, now, stepExpiresAt);
      await em.nativeUpdate(
        TotpCredentialSchema,
        { userId, confirmedAt: null },
        { confirmedAt: now, lastUsedStep: step, updatedAt: now },
      );
      return true;
    },

    /**
     * Accepts time step `step` for `userId` once: false when `lastUsedStep` (as the caller read it) is at or after
     * it, or when another request took the step first. `expiresAt` is when no code of the step can match any more.
     */
    async spendTotpStep(
      userId: string,
      step: number,
      lastUsedStep: number | null,
      now: Date,
      expiresAt: Date,
    ): Promise<boolean> {
      if (lastUsedStep !== null && step <= lastUsedStep) return false;
      const claimId = `totp:${userId}:${step}`;
      const scope = `totp:${userId}`;
      if (sql?.transaction) {
        const v = sql.value;
        return sql.transaction(em, (query) => {
          const taken = query(`${CLAIM_SQL} returning id`, [claimId, scope, v(now), v(expiresAt)]).length === 1;
          if (taken) query(ADVANCE_STEP_SQL, [step, userId, step]);
          return taken;
        });
      }
      if (sql) {
        const [row] = await sql.all(em, PG_SPEND_STEP_SQL, [claimId, scope, now, expiresAt, step, userId]);
        return Number(row?.n) === 1;
      }
      if (!(await claims.claimOnce(claimId, scope, now, expiresAt))) return false;
      // Only moves forward; the claim above already made this step's decision.
      await em.nativeUpdate(
        TotpCredentialSchema,
        { userId, $or: [{ lastUsedStep: null }, { lastUsedStep: { $lt: step } }] },
        { lastUsedStep: step },
      );
      return true;
    },

    async deleteTotp(userId: string): Promise<number> {
      await claims.deleteScope(`totp:${userId}`);
      return em.nativeDelete(TotpCredentialSchema, { userId });
    },

    countUnusedRecoveryCodes(userId: string): Promise<number> {
      return em.count(RecoveryCodeSchema, { userId, usedAt: null });
    },

    /** Replaces every recovery code of the user with the given hashes. */
    async replaceRecoveryCodes(userId: string, hashes: readonly string[], now: Date): Promise<void> {
      await this.deleteRecoveryCodes(userId);
      for (const codeHash of hashes) {
        await em.insert(RecoveryCodeSchema, {
          id: newId(now.getTime()),
          userId,
          codeHash,
          usedAt: null,
          createdAt: now,
        });
      }
    },

    findUnusedRecoveryCode(userId: string, codeHash: string): Promise<RecoveryCode | null> {
      return em.findOne(RecoveryCodeSchema, { userId, codeHash, usedAt: null }, { disableIdentityMap: true });
    },

    /** Spends the code; true for exactly one caller. */
    async spendRecoveryCode(id: string, now: Date): Promise<boolean> {
      const expiresAt = new Date(now.getTime() + RECOVERY_CLAIM_MS);
      if (!(await claims.claimOnce(`recovery:${id}`, `recovery:${id}`, now, expiresAt))) return false;
      await em.nativeUpdate(RecoveryCodeSchema, { id }, { usedAt: now });
      return true;
    },

    async deleteRecoveryCodes(userId: string): Promise<void> {
      const rows = await em.find(RecoveryCodeSchema, { userId }, { fields: ['id'], disableIdentityMap: true });
      for (const { id } of rows) await claims.deleteScope(`recovery:${id}`);
      await em.nativeDelete(RecoveryCodeSchema, { userId });
    },

    /** Every factor row of the user (account deletion, R45). */
    async deleteAllForUser(userId: string): Promise<void> {
      await this.deleteTotp(userId);
      await this.deleteRecoveryCodes(userId);
    },
  };
}

export type MfaFactorRepository = ReturnType<typeof createMfaFactorRepository>;
