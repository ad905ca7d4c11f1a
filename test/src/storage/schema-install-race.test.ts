/**
 * Issue 14, item 1: instances started together over one empty database all install the schema. Several storages
 * (several processes on SQLite, where one process's connections would wait for each other on one thread) run
 * `installSchema` at the same moment on a fresh database, several rounds on fresh databases: every one resolves
 * and the schema is current. PostgreSQL serialises installation under an advisory lock; SQLite under its write
 * lock; MongoDB's collection and index creation is idempotent.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openStorage, type Storage } from '@regstack/server/internal';
import { describe, expect, inject, it } from 'vitest';
import { ALL_BACKENDS, createTestDatabase } from '../harness/backends.ts';

const info = inject('backends');
const ROUNDS = 3;
const INSTANCES = 5;
const CHILD = fileURLToPath(new URL('./schema-install-child.ts', import.meta.url));

type Outcome = { ok: boolean; error?: string };

/** `count` processes, each with its storage open, released together; their outcomes. */
async function installInProcesses(url: string, count: number): Promise<Outcome[]> {
  const { NODE_OPTIONS: _ignored, ...env } = process.env;
  const children = Array.from({ length: count }, () =>
    spawn(process.execPath, ['--conditions=@regstack/source', '--disable-warning=ExperimentalWarning', CHILD, url], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
  const outputs = children.map((child) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    const ready = new Promise<void>((resolve, reject) => {
      const check = () => (out.includes('ready') ? resolve() : undefined);
      child.stdout.on('data', check);
      child.once('exit', () => reject(new Error(`child exited before it was ready: ${err}`)));
    });
    const done = new Promise<Outcome>((resolve) => {
      child.once('exit', () => {
        try {
          resolve(JSON.parse(out.trim().split('\n').pop() ?? ''));
        } catch {
          resolve({ ok: false, error: `no result: ${err.slice(0, 300)}` });
        }
      });
    });
    return { ready, done };
  });
  await Promise.all(outputs.map((o) => o.ready));
  for (const child of children) child.stdin.write('go\n');
  return Promise.all(outputs.map((o) => o.done));
}

/** `count` storages in this process, released together; their outcomes. */
async function installInThisProcess(url: string, count: number): Promise<Outcome[]> {
  const storages: Storage[] = await Promise.all(Array.from({ length: count }, () => openStorage(url)));
  try {
    return await Promise.all(
      storages.map((s) =>
        s.installSchema().then(
          () => ({ ok: true }),
          (err: unknown) => ({ ok: false, error: String((err as Error).message).slice(0, 300) }),
        ),
      ),
    );
  } finally {
    await Promise.all(storages.map((s) => s.close()));
  }
}

for (const backend of ALL_BACKENDS) {
  if (!info.available.includes(backend) && !info.skipped.some((s) => s.backend === backend)) continue;
  describe.skipIf(!info.available.includes(backend))(`schema installation by instances at once [${backend}]`, () => {
    it(`${INSTANCES} concurrent installSchema on a fresh database all succeed, ${ROUNDS} rounds (issue 14, item 1)`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const db = await createTestDatabase(backend, info.mongoUrls);
        try {
          const outcomes =
            backend === 'sqlite'
              ? await installInProcesses(db.url, INSTANCES)
              : await installInThisProcess(db.url, INSTANCES);
          expect(outcomes, `round ${round}`).toEqual(Array.from({ length: INSTANCES }, () => ({ ok: true })));
          const check = await openStorage(db.url);
          try {
            expect(await check.schemaState()).toEqual({ current: true });
          } finally {
            await check.close();
          }
        } finally {
          await db.drop();
        }
      }
    });
  });
}
