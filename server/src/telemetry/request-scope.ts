/**
 * The request id: one per HTTP request regstack's handler serves, echoed as `X-Request-Id`, and carried by every
 * log line written while the request runs (`requestId`, plus `traceId`/`spanId` when the host traces), whichever
 * module writes it. A request id a client or proxy sent is kept only when it has a safe shape — short, letters,
 * digits and `._:-` — so it can neither flood nor forge a log line or a header (R63); otherwise a fresh UUID is used.
 *
 * Held in an AsyncLocalStorage so no function signature has to carry it. Background work a request merely wakes
 * (the outbox worker) runs `detached` from it, so its lines do not claim a request — nor its spans a parent — that
 * is over.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { LogFields, Logger } from '../logger.ts';

interface RequestScope {
  readonly requestId: string;
}

const scope = new AsyncLocalStorage<RequestScope>();

/** Incoming request ids kept as they are: what proxies and tracers send (UUIDs, hex, dotted/colon forms). */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request id to use for a request that sent `incoming` (the `X-Request-Id` header, or null). */
export function requestIdFor(incoming: string | null): string {
  return incoming !== null && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** Runs `work` as the request `requestId`: log lines written meanwhile carry it. */
export function runInRequest<T>(requestId: string, work: () => T): T {
  return scope.run({ requestId }, work);
}

/** The id of the request running now, if any. */
export function currentRequestId(): string | undefined {
  return scope.getStore()?.requestId;
}

/** Runs `work` outside any request and trace: for background work a request only woke up. */
export function detached<T>(work: () => T): T {
  return scope.exit(() => context.with(ROOT_CONTEXT, work));
}

/** The fields a log line gets from where it is written: the request id, the active span's trace and span ids. */
function scopeFields(): LogFields | null {
  const requestId = scope.getStore()?.requestId;
  const span = trace.getActiveSpan()?.spanContext();
  const traced = span !== undefined && trace.isSpanContextValid(span);
  if (requestId === undefined && !traced) return null;
  return {
    ...(requestId !== undefined && { requestId }),
    ...(traced && { traceId: span.traceId, spanId: span.spanId }),
  };
}

/** `logger` with the request's fields added to every line (the line's own fields win a clash). */
export function withRequestFields(logger: Logger): Logger {
  const wrap =
    (write: Logger['info']) =>
    (message: string, fields?: LogFields): void => {
      const extra = scopeFields();
      write(message, extra ? { ...extra, ...fields } : fields);
    };
  return {
    debug: wrap(logger.debug.bind(logger)),
    info: wrap(logger.info.bind(logger)),
    warn: wrap(logger.warn.bind(logger)),
    error: wrap(logger.error.bind(logger)),
  };
}
