/**
 * regstack's one `initTRPC` (STYLE: one per package). superjson on the wire (SPEC §3): a host that nests
 * the router uses superjson too. Inputs go through `regstackTransformer`, superjson behind the wire-envelope
 * check (R69). `isDev: false` so no stack trace ever reaches a response (R64).
 */
import { initTRPC, TRPCError } from '@trpc/server';
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from '../db/outages.ts';
import { RegstackError } from '../errors/regstack-error.ts';
import { instrumentCall } from './call-telemetry.ts';
import type { RegstackContext } from './context.ts';
import { TRPC_CODE_OF } from './error-codes.ts';
import { describeError, formatRegstackError } from './error-formatter.ts';
import { regstackTransformer } from './wire-envelope.ts';

export const t = initTRPC.context<RegstackContext>().create({
  transformer: regstackTransformer,
  errorFormatter: formatRegstackError,
  isDev: false,
});

const CONTEXT_MISSING_MESSAGE =
  "regstack procedure called without regstack's context: build the context with " +
  '`{ ...(await regstack.createContext({ req, resHeaders })), ...yours }` (or use regstack.createCaller)';

/**
 * The one middleware under every regstack procedure (one layer, not two: each layer costs a context merge on
 * every call). It refuses a call whose context lacks regstack's part, and it is the one place domain errors
 * become tRPC errors: a thrown RegstackError becomes the tRPC error its code maps to, and an input-validation
 * failure becomes a RegstackError (VALIDATION_FAILED, or the password code a schema named) — so HTTP clients
 * and server-side callers see the same stable code as `cause`. It is also where a database outage (down, cut,
 * frozen past a timeout, locked — as the db layer classifies it) becomes 503 SERVICE_UNAVAILABLE with
 * `Retry-After` instead of a 500, for every procedure at once (R71). And it is where each call gets its span and
 * its duration recording (call-telemetry.ts; no-ops unless the host registered an OpenTelemetry SDK).
 */
const regstackMiddleware = t.middleware(async ({ ctx, next, path, type }) => {
  const rs = (ctx as Partial<RegstackContext> | undefined)?.regstack;
  if (!rs?.runtime) {
    const cause = new RegstackError('CONTEXT_MISSING', CONTEXT_MISSING_MESSAGE);
    throw new TRPCError({ code: TRPC_CODE_OF[cause.code], message: CONTEXT_MISSING_MESSAGE, cause });
  }
  // The span and duration wrap the conversions below, so they record the error the caller gets.
  return instrumentCall(rs.runtime.telemetry, path, type, async () => {
    const result = await next({ ctx: { regstack: rs } });
    if (result.ok) return result;
    const { error } = result;
    if (error.code === 'INTERNAL_SERVER_ERROR') {
      // A database outage is no internal error: every procedure, public or not, answers 503 + Retry-After (R71).
      const original = RegstackError.is(error.cause)
        ? error.cause.code === 'INTERNAL_ERROR'
          ? error.cause.cause
          : undefined
        : (error.cause ?? error);
      if (original !== undefined && isDatabaseUnavailable(original)) throw databaseUnavailable(rs.runtime, original);
    }
    if (RegstackError.is(error.cause)) {
      const cause = error.cause;
      if (error.code === 'INTERNAL_SERVER_ERROR' && cause.code !== 'INTERNAL_ERROR') {
        throw new TRPCError({ code: TRPC_CODE_OF[cause.code], message: cause.message, cause });
      }
      return result;
    }
    if (error.code === 'INTERNAL_SERVER_ERROR') {
      // An unexpected failure: callers (HTTP and server-side alike) get INTERNAL_ERROR and nothing else (R64);
      // the original stays as the cause for the server's log.
      const cause = new RegstackError('INTERNAL_ERROR', 'Internal server error', { cause: error.cause ?? error });
      throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: cause.message, cause });
    }
    if (error.code === 'BAD_REQUEST') {
      const described = describeError(error);
      const cause = new RegstackError(described.regstackCode ?? 'VALIDATION_FAILED', described.message, {
        ...(described.fieldErrors && { fieldErrors: described.fieldErrors }),
        cause: error.cause,
      });
      throw new TRPCError({ code: TRPC_CODE_OF[cause.code], message: cause.message, cause });
    }
    return result;
  });
});

/** How often an outage is logged per instance: once is enough to alert, every request would flood the log. */
const OUTAGE_LOG_INTERVAL_MS = 10_000;
const lastOutageLog = new WeakMap<RegstackContext['regstack']['runtime'], number>();

function databaseUnavailable(runtime: RegstackContext['regstack']['runtime'], original: unknown): TRPCError {
  const now = Date.now();
  if (now - (lastOutageLog.get(runtime) ?? Number.NEGATIVE_INFINITY) >= OUTAGE_LOG_INTERVAL_MS) {
    lastOutageLog.set(runtime, now);
    runtime.logger.warn('the database is unavailable; answering 503 until it is back', { err: original });
  }
  const cause = new RegstackError('SERVICE_UNAVAILABLE', 'The service is temporarily unavailable', {
    retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
    cause: original,
  });
  return new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: cause.message, cause });
}

export const publicProcedure = t.procedure.use(regstackMiddleware);
