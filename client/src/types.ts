/**
 * The types the client is built from. Everything here is `import type`: the router's *type* flows from
 * @regstack/server to the client, no server code does (a test bundles the client for the browser and proves
 * it). A host that nests regstack in its own router passes its root router type instead of
 * `StandaloneRouter`, and names where regstack is mounted with `path`.
 */
import type { RegstackErrorShapeData, RegstackRouter, StandaloneRouter } from '@regstack/server';
import type {
  AnyTRPCProcedure,
  AnyTRPCRouter,
  inferRouterInputs,
  inferRouterOutputs,
  TRPCRouterRecord,
} from '@trpc/server';

// RegstackErrorShapeData is exported so that a type inferred from the router (the React hooks') can be named.
export type { RegstackErrorShapeData, RegstackRouter, StandaloneRouter };

/** Inputs of every regstack procedure, by path relative to the mount point (`RegstackInputs['login']`). */
export type RegstackInputs = inferRouterInputs<RegstackRouter>;
/** Outputs of every regstack procedure, by path relative to the mount point (`RegstackOutputs['account']['me']`). */
export type RegstackOutputs = inferRouterOutputs<RegstackRouter>;

type RegstackRecord = RegstackRouter['_def']['record'];

type MountPaths<TRecord, TPrefix extends string, TDepth extends unknown[]> = TDepth['length'] extends 4
  ? never
  : {
      [K in keyof TRecord & string]: TRecord[K] extends AnyTRPCProcedure
        ? never
        : TRecord[K] extends RegstackRecord
          ? `${TPrefix}${K}`
          : TRecord[K] extends TRPCRouterRecord
            ? MountPaths<TRecord[K], `${TPrefix}${K}.`, [...TDepth, 0]>
            : never;
    }[keyof TRecord & string];

/**
 * The dotted paths in `TRouter` where regstack's router is mounted: `'auth'` for the standalone server,
 * whatever the host chose otherwise (`'auth'`, `'accounts'`, `'v1.auth'`).
 */
export type RegstackMountPath<TRouter extends AnyTRPCRouter> = MountPaths<TRouter['_def']['record'], '', []>;
