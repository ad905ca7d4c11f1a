/**
 * Walking regstack's router by its own list of procedures, so a suite that attacks "every procedure" also covers one
 * added later: the paths and kinds (`admin.users.list` → query), and a call by path on any caller.
 */
import { regstackRouter } from '@regstack/server';

/** Every procedure of the `auth` router, from the router itself. */
export const ROUTER_PROCEDURES = Object.entries(
  regstackRouter._def.procedures as unknown as Record<
    string,
    { _def: { type: 'query' | 'mutation' | 'subscription' } }
  >,
).map(([path, procedure]) => ({ path, type: procedure._def.type }));

// biome-ignore lint/suspicious/noExplicitAny: a caller is walked by path, whatever the procedure's input type
type AnyCaller = any;

/** Calls the procedure at `path` (`account.me`, `admin.users.list`) on `caller` with `input`. */
export const callAt = (caller: AnyCaller, path: string, input: unknown): Promise<unknown> =>
  path.split('.').reduce((node, key) => node[key], caller)(input);
