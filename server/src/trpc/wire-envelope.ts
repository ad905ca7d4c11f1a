/**
 * The wire envelope rule (R69): a call's input is checked for shape and size before superjson sees it, and only
 * what regstack's client ever sends gets through. superjson trusts its `meta` block — a string where it expects
 * an annotation tree recurses until the stack overflows, `class`/`custom`/`symbol` annotations look up
 * registries, `referentialEqualities` builds cycles — so an attacker's 100-byte request must never reach it
 * unchecked. Every refusal is one generic VALIDATION_FAILED with no exception text (R64).
 *
 * What passes: `{ json, meta? }` where `json` is plain JSON at most `MAX_DEPTH` deep with at most `MAX_NODES`
 * values (no `__proto__` key), and `meta` is `{ v: 1, values? }` whose annotations are only `undefined` (an
 * omitted optional field, or a call without input) on a `null` and `Date` on a string — the two a client's
 * inputs produce; every other superjson transform is refused. tRPC hands each call of a batch to the
 * transformer separately, so a batch is checked call by call.
 *
 * `regstackTransformer` is superjson with this check on the way in. regstack's own root uses it; a host that
 * nests `regstack.router` passes it to its own `initTRPC` so its adapter is protected too (the root router's
 * transformer is the one tRPC runs).
 */
import { TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { RegstackError } from '../errors/regstack-error.ts';

/** Deepest nesting of arrays and objects in a call's `json`. regstack's own inputs are one level deep. */
export const MAX_DEPTH = 20;
/** Most values (of any kind) in one call's `json`; bounds the work of the check and of superjson's copy. */
export const MAX_NODES = 10_000;
/** Most entries in `meta.values`. */
export const MAX_ANNOTATIONS = 500;

/** Annotations a client's inputs produce, and the JSON type each applies to. */
const ALLOWED_ANNOTATIONS: Record<string, (target: unknown) => boolean> = {
  undefined: (target) => target === null,
  Date: (target) => typeof target === 'string',
};

/** The error every malformed input becomes: the same code and text whatever was wrong (R64, R69). */
export function malformedInput(): TRPCError {
  const cause = new RegstackError('VALIDATION_FAILED', 'Malformed request');
  return new TRPCError({ code: 'BAD_REQUEST', message: cause.message, cause });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function hasOnlyKeys(record: Record<string, unknown>, allowed: readonly string[]): boolean {
  return Object.keys(record).every((k) => allowed.includes(k));
}

/** Plain JSON within the depth and size bounds; iterative, so no input can exhaust the stack. */
function jsonWithinBounds(root: unknown): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value: root, depth: 0 }];
  let nodes = 0;
  while (stack.length > 0) {
    const { value, depth } = stack.pop() as { value: unknown; depth: number };
    if (++nodes > MAX_NODES) return false;
    if (value === null || typeof value === 'string' || typeof value === 'boolean') continue;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return false;
      continue;
    }
    if (depth >= MAX_DEPTH) return false;
    if (Array.isArray(value)) {
      for (const item of value) stack.push({ value: item, depth: depth + 1 });
      continue;
    }
    if (!isRecord(value)) return false;
    for (const key of Object.keys(value)) {
      if (key === '__proto__') return false;
      stack.push({ value: value[key], depth: depth + 1 });
    }
  }
  return true;
}

/** One annotation leaf: `[type]` with a type regstack allows, applying to what `target` is. */
function allowedLeaf(leaf: unknown, target: unknown): boolean {
  if (!Array.isArray(leaf) || leaf.length !== 1 || typeof leaf[0] !== 'string') return false;
  const fits = Object.hasOwn(ALLOWED_ANNOTATIONS, leaf[0]) ? ALLOWED_ANNOTATIONS[leaf[0]] : undefined;
  return fits?.(target) === true;
}

/**
 * The value a superjson path points at, or `undefined` when it does not name an existing value. Paths of
 * regstack's inputs are plain keys joined by `.`; an escaped segment (`\.`, `\\`) never occurs, so it is refused.
 */
function resolvePath(json: unknown, path: string): { found: boolean; value?: unknown } {
  if (path.includes('\\')) return { found: false };
  const segments = path.split('.');
  if (segments.length > MAX_DEPTH) return { found: false };
  let node = json;
  for (const segment of segments) {
    if (segment === '__proto__' || segment === 'constructor' || segment === 'prototype') return { found: false };
    if (Array.isArray(node)) {
      if (!/^(?:0|[1-9]\d*)$/.test(segment) || Number(segment) >= node.length) return { found: false };
      node = node[Number(segment)];
    } else if (isRecord(node) && Object.hasOwn(node, segment)) {
      node = node[segment];
    } else {
      return { found: false };
    }
  }
  return { found: true, value: node };
}

function metaAllowed(meta: unknown, json: unknown): boolean {
  // `v: 1` since superjson 2.2.2; earlier 2.x clients send no `v` with the same meaning.
  if (!isRecord(meta) || !hasOnlyKeys(meta, ['v', 'values']) || (meta.v !== undefined && meta.v !== 1)) return false;
  const { values } = meta;
  if (values === undefined) return true;
  if (Array.isArray(values)) return allowedLeaf(values, json); // the whole input is one transformed value
  if (!isRecord(values)) return false;
  const entries = Object.entries(values);
  if (entries.length > MAX_ANNOTATIONS) return false;
  for (const [path, leaf] of entries) {
    const target = resolvePath(json, path);
    if (!target.found || !allowedLeaf(leaf, target.value)) return false;
  }
  return true;
}

/** Whether one call's wire input is an envelope regstack accepts (see the module header). */
export function isAcceptedEnvelope(input: unknown): input is { json: unknown; meta?: unknown } {
  if (!isRecord(input) || !Object.hasOwn(input, 'json') || !hasOnlyKeys(input, ['json', 'meta'])) return false;
  if (!jsonWithinBounds(input.json)) return false;
  return input.meta === undefined || metaAllowed(input.meta, input.json);
}

/** superjson's `deserialize` behind the envelope check; anything it still throws becomes the same generic error. */
export function deserializeInput(input: unknown): unknown {
  if (!isAcceptedEnvelope(input)) throw malformedInput();
  try {
    return superjson.deserialize(input as Parameters<typeof superjson.deserialize>[0]);
  } catch {
    throw malformedInput();
  }
}

/**
 * superjson with the envelope check on inputs. Give it to `initTRPC.create({ transformer })` wherever
 * `regstack.router` is served; clients keep plain `superjson` (the wire format is the same).
 */
export const regstackTransformer = {
  input: {
    serialize: (value: unknown) => superjson.serialize(value),
    deserialize: deserializeInput,
  },
  output: {
    serialize: (value: unknown) => superjson.serialize(value),
    deserialize: (value: unknown) => superjson.deserialize(value as Parameters<typeof superjson.deserialize>[0]),
  },
};
