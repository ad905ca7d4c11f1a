/**
 * A host application's own tRPC setup with regstack nested in it — the shape SPEC §3 describes:
 *
 * - one `initTRPC` for the host, with `regstackTransformer` (superjson, the transformer regstack's router and
 *   client use, guarded so a malformed request envelope is refused before superjson parses it, R69) and an
 *   error formatter that composes regstack's `formatRegstackError`;
 * - the host context = regstack's part (`regstack.createContext`) spread with the host's own fields;
 * - `regstack.router` mounted under `auth` next to the host's routers;
 * - host procedures protected by `regstack.procedures.authed` (concatenated onto the host's builder, so
 *   they see the host context *and* `ctx.auth`);
 * - a host procedure that calls regstack server-side through `regstack.createCaller`.
 */
import type { Regstack, RegstackContext } from '@regstack/server';
import { formatRegstackError, regstackTransformer } from '@regstack/server';
import { initTRPC, TRPCError } from '@trpc/server';
import { z } from 'zod';

/** The host's own data: a per-user notes list (a real app would keep it in its database). */
export interface Note {
  id: number;
  text: string;
  createdAt: Date;
}

export interface NotesStore {
  list(userId: string): Note[];
  add(userId: string, text: string): Note;
}

export function createNotesStore(): NotesStore {
  const byUser = new Map<string, Note[]>();
  let nextId = 1;
  return {
    list: (userId) => [...(byUser.get(userId) ?? [])],
    add(userId, text) {
      const note = { id: nextId++, text, createdAt: new Date() };
      byUser.set(userId, [...(byUser.get(userId) ?? []), note]);
      return note;
    },
  };
}

/** regstack's context plus the host's own fields. */
export interface HostContext extends RegstackContext {
  notes: NotesStore;
  /** The raw `authorization` header, for server-side calls made on the user's behalf. */
  authorization: string | null;
}

const t = initTRPC.context<HostContext>().create({
  transformer: regstackTransformer,
  // Only the root's formatter runs in tRPC, so the host composes regstack's here: regstack's errors (from
  // `auth.*` and from `regstack.procedures.authed` in the host's own procedures) get `data.regstackCode`;
  // the host's own errors keep their code and message; unexpected failures say nothing about internals.
  errorFormatter: (opts) => formatRegstackError(opts),
});

export function createAppRouter(regstack: Regstack) {
  // The host's builder followed by regstack's auth middleware chain: host context *and* `ctx.auth`.
  const authedProcedure = t.procedure.concat(regstack.procedures.authed);

  const notesRouter = t.router({
    /** Public: no token needed. */
    hello: t.procedure.query(() => ({ message: 'Hello from the host app' })),

    /** The signed-in user's notes. */
    mine: authedProcedure.query(({ ctx }) => ctx.notes.list(ctx.auth.user.id)),

    add: authedProcedure
      .input(z.strictObject({ text: z.string().trim().min(1).max(500) }))
      .mutation(({ ctx, input }) => ctx.notes.add(ctx.auth.user.id, input.text)),

    /** A host error that must keep its own code and message through the composed formatter. */
    byId: authedProcedure.input(z.strictObject({ id: z.number().int() })).query(({ ctx, input }) => {
      const note = ctx.notes.list(ctx.auth.user.id).find((n) => n.id === input.id);
      if (!note) throw new TRPCError({ code: 'NOT_FOUND', message: `No note ${input.id}` });
      return note;
    }),

    /**
     * Calls regstack server-side, as the same user: `createCaller` with the request's bearer token runs
     * regstack's procedures (every check included) without an HTTP round trip.
     */
    dashboard: authedProcedure.query(async ({ ctx }) => {
      const caller = regstack.createCaller({ headers: { authorization: ctx.authorization ?? '' } });
      const sessions = await caller.account.sessions();
      return {
        email: ctx.auth.user.email,
        notes: ctx.notes.list(ctx.auth.user.id).length,
        activeSessions: sessions.length,
      };
    }),
  });

  return t.router({
    auth: regstack.router,
    notes: notesRouter,
  });
}

/** The host's root router type — what its clients (and `createRegstackClient<AppRouter>`) are typed from. */
export type AppRouter = ReturnType<typeof createAppRouter>;

export interface HostContextOptions {
  req: Request | { headers: Record<string, string | string[] | undefined>; socket?: { remoteAddress?: string } };
  resHeaders?: Headers;
  remoteAddress?: string | null;
}

/** Builds a request's context: regstack's part spread with the host's own. */
export async function createHostContext(
  regstack: Regstack,
  notes: NotesStore,
  opts: HostContextOptions,
): Promise<HostContext> {
  const base = await regstack.createContext(opts);
  return { ...base, notes, authorization: base.regstack.headers.get('authorization') };
}
