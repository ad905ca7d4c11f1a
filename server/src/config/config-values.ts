/**
 * Parsers for the few configuration values that are written as text but used as structure: per-IP / per-recipient
 * rate-limit rules (`"5/minute;30/hour"`, the syntax the Python regstack's `*_rate_limit` keys use), trusted-proxy
 * addresses and SMS destination allowlist entries (database URLs have their grammar in db/database-url.ts). Pure functions;
 * the schema calls them and turns `undefined` into an issue. None of them echoes a value that may hold a secret.
 */
import { isIP } from 'node:net';

/** One per-key limit: at most `limit` events per `windowSeconds`. */
export interface RateLimitRule {
  readonly limit: number;
  readonly windowSeconds: number;
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { second: 1, minute: 60, hour: 3600, day: 86_400 };

// `<count> / [<n>] <unit>[s]` or `<count> per [<n>] <unit>[s]`: "5/minute", "3 per 10 minutes", "100/hour".
const RULE_PATTERN = /^(\d{1,7})\s*(?:\/|\s+per\s+)\s*(?:(\d{1,5})\s*)?(second|minute|hour|day)s?$/;

/**
 * Parses `"5/minute;30/hour"` (rules separated by `;` or `,`) into rules; `"none"` or `"off"` means no limit (`[]`).
 * Returns `undefined` when the text is not valid.
 */
export function parseRateLimit(text: string): RateLimitRule[] | undefined {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === 'none' || trimmed === 'off') return [];
  const parts = trimmed.split(/[;,]/).map((part) => part.trim());
  const rules: RateLimitRule[] = [];
  for (const part of parts) {
    const match = RULE_PATTERN.exec(part);
    if (!match) return undefined;
    const [, count, multiplier, unit] = match;
    const limit = Number(count);
    const windowSeconds = Number(multiplier ?? '1') * (UNIT_SECONDS[unit ?? ''] ?? 0);
    if (limit < 1 || windowSeconds < 1) return undefined;
    rules.push({ limit, windowSeconds });
  }
  return rules;
}

/** True for an IPv4/IPv6 address or CIDR range (`10.0.0.0/8`, `fd00::/8`); no zone ids, no host names. */
export function isIpOrCidr(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.trim().split('/');
  if (rest.length > 0 || address.includes('%')) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * Normalises an SMS allowlist entry: an ISO 3166-1 alpha-2 country (`gb` → `GB`) or an E.164 calling-code prefix
 * (`+44`, `+1`, up to 6 digits). Returns `undefined` when the entry is neither.
 */
export function normalizeCountryCode(entry: string): string | undefined {
  const value = entry.trim();
  if (/^[a-z]{2}$/i.test(value)) return value.toUpperCase();
  if (/^\+[1-9]\d{0,5}$/.test(value)) return value;
  return undefined;
}

/**
 * Checks one `cors_origins` entry and returns it in the form browsers send in `Origin` (lowercase scheme and host,
 * no default port), or a message saying what is wrong. An origin is `scheme://host[:port]` and nothing else: a path,
 * query, user name or wildcard subdomain would suggest a match the exact comparison never makes. `"*"` passes
 * through (the schema allows it only on its own). `"null"` (sandboxed frames, `file:` pages) is refused: every such
 * page shares it.
 */
export function normalizeOrigin(entry: string): { origin: string } | { error: string } {
  const value = entry.trim();
  if (value === '*') return { origin: '*' };
  const shown = `"${value.slice(0, 60)}"`;
  if (value.toLowerCase() === 'null')
    return { error: `${shown} is not allowed: every sandboxed or file: page sends it` };
  if (value.includes('*')) return { error: `${shown}: wildcards are not supported; list each origin` };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { error: `${shown} is not an origin such as https://app.example.com` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { error: `${shown} must start with http:// or https://` };
  }
  if (url.username !== '' || url.password !== '') return { error: `${shown} must not contain a user name` };
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/?#]+\/?$/i.test(value)) {
    return { error: `${shown} must be scheme://host[:port] with no path, query or fragment` };
  }
  return { origin: url.origin };
}
