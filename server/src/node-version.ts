/**
 * The Node.js floor (Node ≥ 22.17: MikroORM 7 and better-sqlite3 need it, and on Node 20 the argon2 and
 * better-sqlite3 prebuilds crash the process with no message). Every entry point checks it before anything else
 * is loaded, so an older Node gets one sentence instead of a segfault or a loader error. Keep this module free of
 * imports and of syntax newer than Node 18 understands: it must run on the Node it refuses.
 */

/** The oldest Node.js regstack runs on. */
export const MINIMUM_NODE_VERSION = '22.17.0';

/** What is wrong with `version` (default: this process's Node), or undefined when it is new enough. */
export function nodeVersionProblem(version: string = process.versions.node): string | undefined {
  const [major = 0, minor = 0] = version.split('.').map((part) => Number.parseInt(part, 10) || 0);
  if (major > 22 || (major === 22 && minor >= 17)) return undefined;
  return (
    `regstack needs Node ≥ 22.17 (22 LTS or newer); this is Node ${version} (${process.execPath}). ` +
    'Install Node 22 LTS from https://nodejs.org or your version manager (nvm install 22, fnm install 22), ' +
    'then run this again.'
  );
}

/** Throws (with code `ERR_REGSTACK_NODE_VERSION`) when this Node is older than regstack supports. */
export function assertSupportedNode(): void {
  const problem = nodeVersionProblem();
  if (problem) throw Object.assign(new Error(problem), { code: 'ERR_REGSTACK_NODE_VERSION' });
}
