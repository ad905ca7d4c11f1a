/**
 * Pending registrations (sign-ups awaiting email verification). At most one per canonical email (unique
 * index): a newer sign-up for the same address overwrites every field of the older one, and `takeOnce`
 * hands the row to exactly one verifier through the claim `pending:<id>` (claim.entity.ts).
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Dialect } from '../db/drivers.ts';
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
  return {
    /**
     * Creates the pending sign-up for this email, or overwrites the existing one's password, name and expiry
     * (all fields in one write, so whichever concurrent writer lands last leaves a whole, consistent row).
     * The row id is stable; older verification links die because issuing a new token retires them (R27).
     */
    async upsertForEmail(data: NewPendingRegistration, now: Date): Promise<PendingRegistration> {
      const fields = {
        hashedPassword: data.hashedPassword,
        fullName: data.fullName ?? null,
        expiresAt: data.expiresAt,
        createdAt: now,
      };
      for (let attempt = 0; attempt < 5; attempt++) {
        const id = newId(now.getTime());
        try {
          await em.insert(PendingRegistrationSchema, { id, email: data.email, ...fields });
          return { id, email: data.email, ...fields };
        } catch (err) {
          if (!dialect.isUniqueViolation(err)) throw err;
        }
        const existing = await em.findOne(
          PendingRegistrationSchema,
          { email: data.email },
          { disableIdentityMap: true },
        );
        // It may have vanished in between (verified or purged): then insert again.
        if (existing && (await em.nativeUpdate(PendingRegistrationSchema, { id: existing.id }, fields)) === 1) {
          return { id: existing.id, email: data.email, ...fields };
        }
      }
      throw new Error('pending registration kept changing under concurrent writers');
    },

    findById(id: string): Promise<PendingRegistration | null> {
      return em.findOne(PendingRegistrationSchema, { id }, { populate: ['hashedPassword'], disableIdentityMap: true });
    },

    findByEmail(email: string): Promise<PendingRegistration | null> {
      return em.findOne(PendingRegistrationSchema, { email }, { disableIdentityMap: true });
    },

    /**
     * Hands the live pending row to exactly one of any number of concurrent callers, then removes it.
     * A row replaced by a newer sign-up has a new id, so an old link finds nothing.
     */
    async takeOnce(id: string, now: Date): Promise<PendingRegistration | null> {
      const row = await em.findOne(
        PendingRegistrationSchema,
        { id, expiresAt: { $gt: now } },
        { populate: ['hashedPassword'], disableIdentityMap: true },
      );
      if (!row) return null;
      if (!(await claims.claimOnce(`pending:${id}`, `pending:${id}`, now, row.expiresAt))) return null;
      await em.nativeDelete(PendingRegistrationSchema, { id });
      return row;
    },

    deleteByEmail(email: string): Promise<number> {
      return em.nativeDelete(PendingRegistrationSchema, { email });
    },

    purgeExpired(now: Date): Promise<number> {
      return em.nativeDelete(PendingRegistrationSchema, { expiresAt: { $lte: now } });
    },
  };
}

export type PendingRegistrationRepository = ReturnType<typeof createPendingRegistrationRepository>;
