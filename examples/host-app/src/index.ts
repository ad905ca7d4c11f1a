/** The example host app: its router (and `AppRouter` type), the app object, and the two ways to serve it. */
export { createHostApp, type HostApp, type HostAppOptions, type HostFetchHandler } from './app.ts';
export {
  type AppRouter,
  createAppRouter,
  createHostContext,
  createNotesStore,
  type HostContext,
  type Note,
  type NotesStore,
} from './router.ts';
export { honoApp, type RunningServer, serveFetch, serveNode } from './serve.ts';
