/**
 * Issue 15 item 6: the layering is enforced by `pnpm lint` (Biome's `noRestrictedImports`, one override per layer
 * in biome.json; docs/architecture.md). This suite plants one import per rule into a scratch copy of the tree's
 * layout, runs Biome with the repository's own biome.json, and requires exactly the planted violations to be
 * reported (with a non-zero exit) while the allowed imports beside them pass — so a rule that stops matching, or
 * an override that stops applying, fails here and not silently in review.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');
const BIOME = join(REPO_ROOT, 'node_modules', '.bin', 'biome');

/** Imports each layer must not make: [file planted, its one import line]. */
const VIOLATIONS: Array<[string, string]> = [
  ['server/src/routers/orm.ts', "import type { EntityManager } from '@mikro-orm/core';"],
  ['server/src/routers/sql-driver.ts', "import type { Pool } from 'pg';"],
  ['server/src/routers/crypto.ts', "import { createHash } from 'node:crypto';"],
  ['server/src/routers/jose.ts', "import { SignJWT } from 'jose';"],
  ['server/src/routers/argon2.ts', "import argon2 from 'argon2';"],
  ['server/src/routers/security.ts', "import { createTokenService } from '../security/tokens/index.ts';"],
  ['server/src/routers/db.ts', "import { openStorage } from '../db/storage.ts';"],
  ['server/src/routers/repositories.ts', "import { createRepositories } from '../repositories/index.ts';"],
  ['server/src/routers/http.ts', "import { createFetchHandler } from '../http/fetch-handler.ts';"],
  ['server/src/trpc/http.ts', "import { regstackTransformer } from '../http/wire-envelope.ts';"],
  ['server/src/trpc/routers.ts', "import { regstackRouter } from '../routers/auth.ts';"],
  ['server/src/services/trpc.ts', "import { t } from '../trpc/init.ts';"],
  ['server/src/services/trpc-package.ts', "import { TRPCError } from '@trpc/server';"],
  ['server/src/services/policies/routers.ts', "import { regstackRouter } from '../../routers/auth.ts';"],
  ['server/src/repositories/services.ts', "export { createSessionService } from '../services/session.service.ts';"],
  ['server/src/db/repositories.ts', "import { createRepositories } from '../repositories/index.ts';"],
  ['server/src/db/entities/services.ts', "const load = () => import('../../services/deps.ts');"],
  ['server/src/security/services.ts', "import type { ServiceDeps } from '../services/deps.ts';"],
  ['server/src/config/trpc.ts', "import { t } from '../trpc/init.ts';"],
  // Issue 21: telemetry/ is a support module like logger.ts (the trpc layer wraps calls with it, not the reverse).
  ['server/src/telemetry/trpc.ts', "import { t } from '../trpc/init.ts';"],
  // Issue 18: sms/ gets its limit counters from createRegstack, never by opening repositories or services itself.
  ['server/src/sms/services.ts', "import type { ServiceDeps } from '../services/deps.ts';"],
  ['server/src/sms/repositories.ts', "import { createRepositories } from '../repositories/index.ts';"],
  ['server/src/sms/http.ts', "import { createClientIpResolver } from '../http/client-ip.ts';"],
  ['server/src/repositories/sms.ts', "import { createSmsCodeSender } from '../sms/code-sender.ts';"],
  ['client/src/server.ts', "import { createRegstack } from '@regstack/server';"],
  ['client/src/server-internal.ts', "import { openStorage } from '@regstack/server/internal';"],
  ['client/src/server-path.ts', "import { t } from '../../server/src/trpc/init.ts';"],
  ['client/src/node.ts', "import { randomBytes } from 'node:crypto';"],
  ['client/src/types.ts', "import { createRegstack } from '@regstack/server';"],
  ['shared/src/server.ts', "import type { RegstackConfig } from '@regstack/server';"],
  ['shared/src/client.ts', "import { createRegstackClient } from '@regstack/client';"],
  ['shared/src/node.ts', "import { readFileSync } from 'node:fs';"],
];

/** Imports the same layers may make: none of these may be reported. */
const ALLOWED: Array<[string, string]> = [
  ['server/src/routers/ok.ts', "import { t } from '../trpc/init.ts';"],
  ['server/src/routers/ok-service.ts', "import { toPublicUser } from '../services/mappers.ts';"],
  ['server/src/routers/ok-shared.ts', "import { LoginInputSchema } from '@regstack/shared';"],
  ['server/src/trpc/ok.ts', "import { bearerToken } from '../services/session.service.ts';"],
  ['server/src/services/ok.ts', "import { createRepositories } from '../repositories/index.ts';"],
  ['server/src/services/ok-entities.ts', "import type { User } from '../db/entities/index.ts';"],
  ['server/src/services/ok-security.ts', "import type { TokenService } from '../security/tokens/index.ts';"],
  ['server/src/repositories/ok.ts', "import type { EntityManager } from '@mikro-orm/core';"],
  ['server/src/repositories/ok-db.ts', "import { newId } from '../db/ids.ts';"],
  ['server/src/db/ok.ts', "import { MikroORM } from '@mikro-orm/sqlite';"],
  ['server/src/sms/ok.ts', "import type { MfaPurpose } from '../db/entities/index.ts';"],
  ['server/src/sms/ok-email.ts', "import { importOptionalPackage } from '../email/optional-package.ts';"],
  ['server/src/services/ok-sms.ts', "import type { SmsCodeSender } from '../sms/code-sender.ts';"],
  ['server/src/http/ok.ts', "import { regstackRouter } from '../routers/auth.ts';"],
  ['client/src/ok.ts', "import { createTRPCClient } from '@trpc/client';"],
  [
    'client/src/types.ts',
    "import type { RegstackErrorShapeData, RegstackRouter, StandaloneRouter } from '@regstack/server';",
  ],
  ['shared/src/ok.ts', "import { z } from 'zod';"],
];

const scratchRoots: string[] = [];
afterAll(() => {
  for (const root of scratchRoots) rmSync(root, { recursive: true, force: true });
});

/** Writes `files` into a fresh directory holding the repository's biome.json and lints it for restricted imports. */
function lintPlanted(files: Array<[string, string]>): { status: number | null; flagged: string[]; output: string } {
  const root = mkdtempSync(join(tmpdir(), 'regstack-layering-'));
  scratchRoots.push(root);
  const config = JSON.parse(readFileSync(join(REPO_ROOT, 'biome.json'), 'utf8')) as Record<string, unknown>;
  delete config.$schema; // points into the repository's node_modules
  writeFileSync(join(root, 'biome.json'), JSON.stringify(config));
  for (const [path, line] of files) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), `${line}\nexport const planted = 1;\n`);
  }
  const run = spawnSync(
    BIOME,
    ['lint', '--only=style/noRestrictedImports', '--colors=off', '--max-diagnostics=none', '.'],
    { cwd: root, encoding: 'utf8' },
  );
  const output = `${run.stdout}\n${run.stderr}`;
  const flagged = [...output.matchAll(/^(\S+\.ts):\d+:\d+ lint\/style\/noRestrictedImports/gm)].map((m) => m[1]!);
  return { status: run.status, flagged: [...new Set(flagged)].sort(), output };
}

describe('layering is enforced by pnpm lint (issue 15 item 6)', () => {
  it('reports every planted upward or forbidden import, and exits non-zero', () => {
    const result = lintPlanted(VIOLATIONS);
    expect(result.flagged, result.output).toEqual(VIOLATIONS.map(([path]) => path).sort());
    expect(result.status).not.toBe(0);
  });

  it('passes the imports each layer is allowed to make', () => {
    const result = lintPlanted(ALLOWED);
    expect(result.flagged, result.output).toEqual([]);
    expect(result.status).toBe(0);
  });
});
