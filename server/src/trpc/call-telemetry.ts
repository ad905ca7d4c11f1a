/**
 * One span and one duration recording per procedure call (docs/observability.md), taken in the one middleware under
 * every regstack procedure, so they see the error the caller gets. OpenTelemetry's RPC conventions: a SERVER span
 * named `regstack <path>`, `rpc.system.name` `trpc`, `rpc.method` the procedure path, `rpc.response.status_code` the
 * tRPC code, `error.type` regstack's stable error code; the histogram is `rpc.server.call.duration` in seconds.
 * Nothing else from the call is attached — no input, no message, no exception: an internal error's message can hold
 * SQL and its parameters, and inputs hold passwords and addresses (R62). The span is marked failed only for errors
 * on the server's side (5xx), as the conventions ask; a refused password is an answer, not a failure.
 */
import { type Attributes, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { TRPCError } from '@trpc/server';
import type { Telemetry } from '../telemetry/instruments.ts';
import { describeError } from './error-formatter.ts';

const SERVER_SIDE: ReadonlySet<string> = new Set([
  'INTERNAL_SERVER_ERROR',
  'NOT_IMPLEMENTED',
  'BAD_GATEWAY',
  'SERVICE_UNAVAILABLE',
  'GATEWAY_TIMEOUT',
]);

interface CallAttributes {
  span: Attributes;
  ok: Attributes;
}

/** Per path and type, built once: the router's paths are a fixed set (an unknown path never reaches a middleware). */
const byProcedure = new Map<string, CallAttributes>();

function attributesOf(path: string, type: string): CallAttributes {
  const key = `${type}\0${path}`;
  let attrs = byProcedure.get(key);
  if (!attrs) {
    const base = { 'rpc.system.name': 'trpc', 'rpc.method': path };
    attrs = {
      span: { ...base, 'regstack.procedure.type': type },
      ok: { ...base, 'rpc.response.status_code': 'OK' },
    };
    byProcedure.set(key, attrs);
  }
  return attrs;
}

/** Runs one procedure call inside its span and records its duration; returns or throws what the call did. */
export function instrumentCall<R extends { ok: boolean; error?: unknown }>(
  telemetry: Telemetry,
  path: string,
  type: string,
  call: () => Promise<R>,
): Promise<R> {
  const attrs = attributesOf(path, type);
  const started = performance.now();
  return telemetry.tracer.startActiveSpan(
    `regstack ${path}`,
    { kind: SpanKind.SERVER, attributes: attrs.span },
    async (span) => {
      let failure: unknown;
      try {
        const result = await call();
        if (!result.ok) failure = result.error ?? new Error('failed');
        return result;
      } catch (err) {
        failure = err;
        throw err;
      } finally {
        const seconds = (performance.now() - started) / 1000;
        if (failure === undefined) {
          span.setAttribute('rpc.response.status_code', 'OK');
          telemetry.callDuration.record(seconds, attrs.ok);
        } else {
          const status = failure instanceof TRPCError ? failure.code : 'INTERNAL_SERVER_ERROR';
          const errorType = (failure instanceof TRPCError ? describeError(failure).regstackCode : undefined) ?? status;
          span.setAttributes({ 'rpc.response.status_code': status, 'error.type': errorType });
          if (SERVER_SIDE.has(status)) span.setStatus({ code: SpanStatusCode.ERROR });
          telemetry.callDuration.record(seconds, {
            ...attrs.ok,
            'rpc.response.status_code': status,
            'error.type': errorType,
          });
        }
        span.end();
      }
    },
  );
}
