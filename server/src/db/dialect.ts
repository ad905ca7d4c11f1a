/**
 * What the repositories may ask of a driver: whether an error is a unique-index violation (R66: every atomic
 * decision is an insert under a unique key, claim.entity.ts), and — on the SQL backends — a runner for the few
 * prepared statements of the hot paths (sql-runner.ts). Nothing else about a driver reaches the repositories.
 */
import type { SqlRunner } from './sql-runner.ts';

export interface Dialect {
  /** Whether the error is a unique-index violation, however this driver reports it (R66). */
  isUniqueViolation(err: unknown): boolean;
  /** Prepared statements on the SQL backends; undefined on MongoDB (the ORM's queries are already native). */
  sql?: SqlRunner;
  /**
   * What runs reads that need no disk outside a transaction — the authentication lookup of every authenticated
   * call: on PostgreSQL a small pool of its own (postgres-pool.ts `lookupPool`), elsewhere `sql` itself.
   */
  reader?: SqlRunner;
}

function hasUniqueException(err: unknown): boolean {
  return (err as { name?: string } | null)?.name === 'UniqueConstraintViolationException';
}

/** SQLite and PostgreSQL: MikroORM maps both drivers' unique violations to its own exception. */
export function sqlDialect(sql: SqlRunner, reader: SqlRunner = sql): Dialect {
  return { isUniqueViolation: hasUniqueException, sql, reader };
}

export const mongoDialect: Dialect = {
  isUniqueViolation(err) {
    if (hasUniqueException(err)) return true;
    // FerretDB reports some unique-index violations (those raised by updates) as an InternalError whose
    // message carries SQLite's or PostgreSQL's text rather than MongoDB's E11000 code.
    const e = err as { code?: number; message?: string } | null;
    if (e?.code === 11000) return true;
    return /UNIQUE constraint failed|duplicate key value violates unique constraint|E11000/.test(e?.message ?? '');
  },
};
