/**
 * Vitest global setup: finds out which backends can run, starts FerretDB (the MongoDB-wire test server)
 * when its binary is available and no URL was given, and hands the answers to the test files through
 * `inject('backends')`. A backend listed in REGSTACK_REQUIRE_BACKENDS that is not reachable fails the whole
 * run here, loudly, instead of its suites being skipped.
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { listFromEnv, PG_ADMIN_URL, selectedBackends, type TestBackend } from './backends.ts';
import { pingMongo, startFerretDb } from './ferretdb.ts';

export interface BackendAvailability {
  available: TestBackend[];
  skipped: { backend: TestBackend; reason: string }[];
  mongoUrls: Record<string, string>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    backends: BackendAvailability;
  }
}

export default async function setup(project: TestProject) {
  const wanted = selectedBackends();
  const required = new Set(listFromEnv('REGSTACK_REQUIRE_BACKENDS'));
  const result: BackendAvailability = { available: [], skipped: [], mongoUrls: {} };
  const cleanups: (() => Promise<void>)[] = [];

  for (const backend of wanted) {
    let reason: string | null = null;
    try {
      if (backend === 'sqlite') {
        // always available: better-sqlite3 ships its binary
      } else if (backend === 'postgres') {
        const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
        await c.connect();
        await c.query('select 1');
        await c.end();
      } else if (backend === 'mongodb') {
        const given = process.env.REGSTACK_TEST_FERRETDB_URL;
        if (given) {
          await pingMongo(given, 3000);
          result.mongoUrls.mongodb = given;
        } else {
          const started = await startFerretDb();
          if ('error' in started) reason = started.error;
          else {
            result.mongoUrls.mongodb = started.url;
            cleanups.push(started.stop);
          }
        }
      } else if (backend === 'mongodb-real') {
        const url = process.env.REGSTACK_TEST_MONGO_URL;
        if (!url) reason = 'REGSTACK_TEST_MONGO_URL is not set';
        else {
          await pingMongo(url, 3000);
          result.mongoUrls['mongodb-real'] = url;
        }
      }
    } catch (err) {
      reason = (err as Error).message;
    }
    if (reason === null) result.available.push(backend);
    else result.skipped.push({ backend, reason });
  }

  const missingRequired = result.skipped.filter(
    (s) => required.has(s.backend) || (s.backend === 'postgres' && required.has('postgresql')),
  );
  if (missingRequired.length) {
    await Promise.all(cleanups.map((c) => c()));
    throw new Error(
      `required test backends are unavailable:\n${missingRequired.map((s) => `  ${s.backend}: ${s.reason}`).join('\n')}`,
    );
  }
  for (const s of result.skipped) console.warn(`[regstack tests] backend ${s.backend} SKIPPED: ${s.reason}`);
  console.log(`[regstack tests] backends: ${result.available.join(', ')}`);
  project.provide('backends', result);
  return async () => {
    await Promise.all(cleanups.map((c) => c()));
  };
}
