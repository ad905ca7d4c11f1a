/**
 * Pending registrations: sign-up attempts awaiting email verification. Each attempt is its own row with its
 * own password hash, and a row is never updated — a later sign-up for the same address adds a row, so it can
 * never change the password an earlier attempt's link will create the account with (R67). An address keeps
 * only its newest few attempts, so a flood of sign-ups cannot grow the table without limit. `claimOnce`
 * hands an attempt to exactly one verifier through the claim `pending:<id>` (claim.entity.ts).
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Dialect } from '../db/dialect.ts';
import { type PendingRegistration, PendingRegistrationSchema } from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';
import { createClaimRepository } from './claim.repository.ts';

export interface NewPendingRegistration {
  email: string;
  hashedPassword: string;
  fullName?: string | null;
  expiresAt: Date;
}

export function createPendingRegistrationRepository(em: EntityManager, dialect: Dialect) {
  const claims = createClaimRepository(em, dialect);
  const live = (email: string, now: Date) => ({ email, expiresAt: { $gt: now } });
  return {
    /**
     * Adds a sign-up attempt, then removes this address's attempts beyond the newest `keep` (and its expired
     * ones). Concurrent callers each trim by what they see, so a row goes only when `keep` newer ones exist.
     */
    async insertAttempt(data: NewPendingRegistration, now: Date, keep: number): Promise<PendingRegistration> {
      const row = {
        id: newId(now.getTime()),
        email: data.email,
        hashedPassword: data.hashedPassword,
        fullName: data.fullName ?? null,
        expiresAt: data.expiresAt,
        createdAt: now,
      };
      await em.insert(PendingRegistrationSchema, row);
      const attempts = await em.find(
        PendingRegistrationSchema,
        { email: data.email },
        { fields: ['id', 'expiresAt'], orderBy: { createdAt: 'desc', id: 'desc' }, disableIdentityMap: true },
      );
      const stale = attempts.filter((a, i) => i >= keep || a.expiresAt <= now).map((a) => a.id);
      if (stale.length) await em.nativeDelete(PendingRegistrationSchema, { id: { $in: stale } });
      return row;
    },

    /** The attempt with its password hash (expired or not). */
    findById(id: string): Promise<PendingRegistration | null> {
      return em.findOne(PendingRegistrationSchema, { id }, { populate: ['hashedPassword'], disableIdentityMap: true });
    },

    /** The newest unexpired attempt of an address. */
    findNewestLive(email: string, now: Date): Promise<PendingRegistration | null> {
      return em.findOne(PendingRegistrationSchema, live(email, now), {
        orderBy: { createdAt: 'desc', id: 'desc' },
        disableIdentityMap: true,
      });
    },

    /** How many unexpired attempts the address has. */
    countLive(email: string, now: Date): Promise<number> {
      return em.count(PendingRegistrationSchema, live(email, now));
    },

    /**
     * Hands the live attempt, with its password hash, to exactly one of any number of concurrent callers.
     * The row stays: the caller removes it (with the address's other attempts) once the account exists.
     */
    async claimOnce(id: string, now: Date): Promise<PendingRegistration | null> {
      const row = await em.findOne(
        PendingRegistrationSchema,
        { id, expiresAt: { $gt: now } },
        { populate: ['hashedPassword'], disableIdentityMap: true },
      );
      if (!row) return null;
      if (!(await claims.claimOnce(`pending:${id}`, `pending:${id}`, now, row.expiresAt))) return null;
      return row;
    },

    /** Unexpired attempts, newest first, after the id `beforeId` (ids are time-ordered): the admin list. */
    listLive(now: Date, limit: number, beforeId?: string): Promise<PendingRegistration[]> {
      return em.find(
        PendingRegistrationSchema,
        { expiresAt: { $gt: now }, ...(beforeId !== undefined && { id: { $lt: beforeId } }) },
        { orderBy: { id: 'desc' }, limit, disableIdentityMap: true },
      );
    },

    /** Every unexpired attempt (stats). */
    countAllLive(now: Date): Promise<number> {
      return em.count(PendingRegistrationSchema, { expiresAt: { $gt: now } });
    },

    /** Removes every attempt of an address: its links then lead nowhere (account created or deleted). */
    deleteByEmail(email: string): Promise<number> {
      return em.nativeDelete(PendingRegistrationSchema, { email });
    },

    purgeExpired(now: Date): Promise<number> {
      return em.nativeDelete(PendingRegistrationSchema, { expiresAt: { $lte: now } });
    },
  };
}

export type PendingRegistrationRepository = ReturnType<typeof createPendingRegistrationRepository>;
