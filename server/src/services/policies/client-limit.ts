/**
 * The per-client limit of a procedure (R20), shared by the services that have one: a hit is counted under
 * `ip:<procedure>:<client>` (the request's limit key, else its IP) against the procedure's configured rules.
 * A request whose client is unknown, or a procedure without rules, is not limited here.
 */
import type { Repositories } from '../../repositories/index.ts';
import type { RateLimiter } from '../lockout.service.ts';

/** Per-client limit for a procedure (R20), when the client is known. */
export async function limitClient(
  rateLimiter: RateLimiter,
  repos: Repositories,
  request: { ip: string | null; limitKey?: string | null | undefined },
  procedure: string,
  rules: readonly { limit: number; windowSeconds: number }[],
): Promise<void> {
  const client = request.limitKey ?? request.ip;
  if (client && rules.length) await rateLimiter.hit(repos.loginAttempts, `ip:${procedure}:${client}`, rules);
}
