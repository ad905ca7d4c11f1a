/**
 * What an error looks like on the wire. tRPC runs only the *root* router's `errorFormatter`, so this is
 * exported for hosts to compose into theirs (`errorFormatter: (opts) => formatRegstackError(opts)`): it adds
 * `data.regstackCode` (the stable code clients branch on), `data.retryAfterSeconds` and flattened
 * `data.fieldErrors`, and removes internals — an unexpected error's message and stack never leave the
 * server (R64).
 */
import { CLIENT_ERROR_CODES, isRegstackErrorCode, type ServerErrorCode } from '@regstack/shared';
import type { TRPCError } from '@trpc/server';
import { RegstackError } from '../errors/regstack-error.ts';

export interface RegstackErrorShapeData {
  /** regstack's stable code; absent on errors a host's own procedures raised. */
  regstackCode?: ServerErrorCode;
  retryAfterSeconds?: number;
  fieldErrors?: Record<string, string[]>;
}

interface SchemaIssue {
  message: string;
  path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>;
  params?: { regstackCode?: unknown };
}

function schemaIssues(cause: unknown): SchemaIssue[] | null {
  const issues = (cause as { issues?: unknown } | null)?.issues;
  return Array.isArray(issues) ? (issues as SchemaIssue[]) : null;
}

function pathKey(path: SchemaIssue['path']): string {
  if (!path || path.length === 0) return '_';
  return path.map((p) => String(typeof p === 'object' && p !== null ? p.key : p)).join('.');
}

function isServerErrorCode(value: unknown): value is ServerErrorCode {
  return isRegstackErrorCode(value) && !(CLIENT_ERROR_CODES as readonly string[]).includes(value);
}

/** The regstack view of any error a procedure produced. */
export function describeError(error: TRPCError): RegstackErrorShapeData & { message: string } {
  const cause = error.cause;
  if (RegstackError.is(cause)) {
    return {
      regstackCode: cause.code,
      message: cause.message,
      ...(cause.retryAfterSeconds !== undefined && { retryAfterSeconds: cause.retryAfterSeconds }),
      ...(cause.fieldErrors && { fieldErrors: cause.fieldErrors }),
    };
  }
  const issues = schemaIssues(cause);
  if (issues && error.code === 'BAD_REQUEST') {
    const fieldErrors: Record<string, string[]> = {};
    for (const issue of issues) {
      const key = pathKey(issue.path);
      fieldErrors[key] = [...(fieldErrors[key] ?? []), issue.message];
    }
    const specific = issues.map((i) => i.params?.regstackCode).find(isServerErrorCode);
    const first = issues[0]?.message ?? 'Invalid input';
    return { regstackCode: specific ?? 'VALIDATION_FAILED', message: first, fieldErrors };
  }
  if (error.code === 'BAD_REQUEST' && cause instanceof SyntaxError) {
    // tRPC's JSON.parse of a body or `?input=` failed, and tRPC copied the parser's text into the message (R69).
    return { regstackCode: 'VALIDATION_FAILED', message: 'Malformed request' };
  }
  switch (error.code) {
    case 'PAYLOAD_TOO_LARGE':
      return { regstackCode: 'PAYLOAD_TOO_LARGE', message: 'Request body too large' };
    case 'UNSUPPORTED_MEDIA_TYPE':
      return { regstackCode: 'UNSUPPORTED_MEDIA_TYPE', message: 'Use Content-Type: application/json' };
    case 'METHOD_NOT_SUPPORTED':
      return { regstackCode: 'METHOD_NOT_ALLOWED', message: error.message };
    case 'PARSE_ERROR':
      return { regstackCode: 'VALIDATION_FAILED', message: 'Malformed request' };
    case 'INTERNAL_SERVER_ERROR':
      // Whatever failed, its message may carry SQL, paths or driver names (R64): say nothing.
      return { regstackCode: 'INTERNAL_ERROR', message: 'Internal server error' };
    default:
      // A tRPC protocol error (unknown procedure) or an error a host procedure threw on purpose: its own code
      // and message stand, and it has no regstack code.
      return { message: error.message };
  }
}

/** Compose into a host root's `errorFormatter`; regstack's own root uses it as is. */
export function formatRegstackError<TShape extends { message: string; data: object }>(opts: {
  shape: TShape;
  error: TRPCError;
}): TShape & { data: TShape['data'] & RegstackErrorShapeData } {
  const { message, ...data } = describeError(opts.error);
  const { stack: _stack, ...rest } = opts.shape.data as { stack?: unknown };
  return { ...opts.shape, message, data: { ...rest, ...data } as TShape['data'] & RegstackErrorShapeData };
}
