/**
 * The reads that open a pending sign-in's second step (mfa-login.service.ts), as one call: whether the challenge
 * is already settled (its claim exists, R50), the account with its credentials, its latest bulk cutoff (a cutoff
 * at or after the challenge ends it, R40/R41) and its factors. Through the repositories that is six queries; on the
 * SQL backends it is one prepared statement, because those reads capped sign-ins with an authenticator app
 * (bench/, scenario 6). test/src/storage/sql-hot-path.test.ts runs both and compares.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Dialect } from '../db/dialect.ts';
import type { User } from '../db/entities/index.ts';
import type { ClaimRepository } from './claim.repository.ts';
import {
  type EnrolledFactors,
  enrolledFactorsFrom,
  FACTOR_COLUMNS,
  FACTOR_TABLES,
  type MfaFactorRepository,
} from './mfa-factor.repository.ts';
import type { RevocationRepository } from './revocation.repository.ts';
import { credentialsFrom, USER_COLUMNS, type UserRepository } from './user.repository.ts';

/** What `readChallenge` finds. */
export interface ChallengeRead {
  /** True when the challenge's claim exists: it was completed (or is being) by another request. */
  settled: boolean;
  /** The account with its password hash (not enumerable), or null when it is gone. */
  user: User | null;
  /** The user's latest bulk cutoff, or null. */
  cutoff: Date | null;
  factors: EnrolledFactors;
}

export interface MfaLoginRepository {
  /** The challenge's state and its user's, as of now; `scope` is the challenge's claim scope. */
  readChallenge(userId: string, scope: string): Promise<ChallengeRead>;
}

/** The repositories `readChallenge` reads through when there is no SQL. */
export interface ChallengeRepositories {
  users: UserRepository;
  revocations: RevocationRepository;
  claims: ClaimRepository;
  mfaFactors: MfaFactorRepository;
}

const PREFIXED_USER_COLUMNS = USER_COLUMNS.split(',')
  .map((column) => `u.${column.trim()}`)
  .join(', ');

/** `readChallenge` in SQL: the user's row, factors, cutoff and the challenge's claim count, in one statement. */
const CHALLENGE_SQL = `select ${PREFIXED_USER_COLUMNS}, ${FACTOR_COLUMNS},
  (select max(v.revoked_at) from revocations v where v.user_id = u.id and v.session_id is null) as cutoff,
  (select count(*) from claims c where c.scope = ?) as settled
from ${FACTOR_TABLES} where u.id = ?`;

export function createMfaLoginRepository(
  em: EntityManager,
  dialect: Dialect,
  repos: ChallengeRepositories,
): MfaLoginRepository {
  const { sql } = dialect;
  return {
    async readChallenge(userId, scope) {
      if (!sql) return readChallengeStepByStep(repos, userId, scope);
      const [row] = await sql.all(em, CHALLENGE_SQL, [scope, userId]);
      return {
        settled: Number(row?.settled ?? 0) > 0,
        user: credentialsFrom(sql, row),
        cutoff: row?.cutoff === null || row?.cutoff === undefined ? null : sql.date(row.cutoff),
        factors: enrolledFactorsFrom(sql, row),
      };
    },
  };
}

/** `readChallenge` through the repositories (MongoDB; and the reference the SQL version is tested against). */
export async function readChallengeStepByStep(
  repos: ChallengeRepositories,
  userId: string,
  scope: string,
): Promise<ChallengeRead> {
  const [claims, user, cutoff, factors] = await Promise.all([
    repos.claims.countInScope(scope),
    repos.users.findCredentialsById(userId),
    repos.revocations.cutoffFor(userId),
    repos.mfaFactors.factorsOf(userId),
  ]);
  return { settled: claims > 0, user, cutoff, factors };
}
