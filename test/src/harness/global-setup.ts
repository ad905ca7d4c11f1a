/**
 * Vitest global setup: finds out which backends can run (`detectBackends`: PostgreSQL reachable, FerretDB
 * started when its binary is there and no URL was given), says which run and which are skipped and why, and
 * hands the answer to the test files through `inject('backends')`. A backend listed in
 * REGSTACK_REQUIRE_BACKENDS (CI) that is not reachable fails the whole run here, loudly, instead of its
 * suites being skipped.
 */
import type { TestProject } from 'vitest/node';
import {
  type BackendAvailability,
  backendReport,
  detectBackends,
  listFromEnv,
  PG_ADMIN_URL,
  selectedBackends,
} from './backends.ts';
import { chromiumSkipReason } from './chromium.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    backends: BackendAvailability;
    /** Why the browser suites skip, or null when Chromium is there (see chromium.ts). */
    browserSkipReason: string | null;
  }
}

export default async function setup(project: TestProject) {
  const required = new Set(listFromEnv('REGSTACK_REQUIRE_BACKENDS'));
  const { availability, cleanups } = await detectBackends({
    wanted: selectedBackends(),
    pgUrl: PG_ADMIN_URL,
    ferretDbUrl: process.env.REGSTACK_TEST_FERRETDB_URL,
    ferretDbBin: process.env.REGSTACK_FERRETDB_BIN,
    mongoUrl: process.env.REGSTACK_TEST_MONGO_URL,
  });

  const missingRequired = availability.skipped.filter(
    (s) => required.has(s.backend) || (s.backend === 'postgres' && required.has('postgresql')),
  );
  if (missingRequired.length) {
    await Promise.all(cleanups.map((c) => c()));
    throw new Error(
      `required test backends are unavailable:\n${missingRequired.map((s) => `  ${s.backend}: ${s.reason}`).join('\n')}`,
    );
  }
  const browserSkipReason = chromiumSkipReason();
  console.log(`[regstack tests] ${backendReport(availability, 'run', browserSkipReason)}`);
  project.provide('backends', availability);
  project.provide('browserSkipReason', browserSkipReason);
  return async () => {
    await Promise.all(cleanups.map((c) => c()));
  };
}
