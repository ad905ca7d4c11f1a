/**
 * Issue 16 item 1: `./dev` is fast on the second run. A copy of the script and its provisioning in a fresh
 * project, with a Node >= 22.17 and the pinned pnpm already on PATH (as after a first run): the first call
 * installs the packages, the next finds everything in place in one line, well under two seconds, with every
 * proxy pointing at a dead port (so any network use would fail it); a changed manifest or a deleted
 * node_modules is noticed and installed again.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/ferretdb.ts';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PINNED_PNPM = /^RS_PNPM_VERSION=(\S+)/m.exec(
  readFileSync(join(REPO_ROOT, 'scripts/provision-node.sh'), 'utf8'),
)?.[1];
// This process's node first: it is >= 22.17, as the script demands.
const PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
const pnpmOnPath = spawnSync('pnpm', ['--version'], { encoding: 'utf8', env: { ...process.env, PATH } }).stdout?.trim();

describe.skipIf(pnpmOnPath !== PINNED_PNPM)(
  `./dev's already-provisioned fast path (issue 16 item 1)${pnpmOnPath === PINNED_PNPM ? '' : ` (skipped: pnpm on PATH is ${pnpmOnPath || 'missing'}, not the pinned ${PINNED_PNPM})`}`,
  () => {
    const project = mkdtempSync(join(tmpdir(), 'regstack-dev-'));
    mkdirSync(join(project, 'scripts'));
    copyFileSync(join(REPO_ROOT, 'dev'), join(project, 'dev'));
    copyFileSync(join(REPO_ROOT, 'scripts/provision-node.sh'), join(project, 'scripts/provision-node.sh'));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'dev-fast-path', private: true }));
    afterAll(() => rmSync(project, { recursive: true, force: true }));

    async function dev(...args: string[]) {
      const dead = `http://127.0.0.1:${await freePort()}`;
      const started = Date.now();
      const run = spawnSync('bash', [join(project, 'dev'), ...args], {
        encoding: 'utf8',
        env: { ...process.env, PATH, https_proxy: dead, HTTPS_PROXY: dead, http_proxy: dead, HTTP_PROXY: dead },
        timeout: 60_000,
      });
      return { status: run.status, out: `${run.stdout}${run.stderr}`, ms: Date.now() - started };
    }

    it('installs once, then starts in one line without network; notices a changed manifest', async () => {
      const first = await dev('provision');
      expect(first.status, first.out).toBe(0);
      expect(first.out).toContain('[dev] packages: pnpm install --frozen-lockfile');

      const second = await dev('provision');
      expect(second.status, second.out).toBe(0);
      expect(second.out).toMatch(/^\[dev\] node 2\d\.\d+\.\d+, pnpm \S+, packages up to date with pnpm-lock\.yaml\n$/);
      expect(second.ms).toBeLessThan(2000);

      writeFileSync(
        join(project, 'package.json'),
        JSON.stringify({ name: 'dev-fast-path', private: true, version: '1.0.0' }),
      );
      const changed = await dev('provision');
      expect(changed.status, changed.out).toBe(0);
      expect(changed.out).toContain('[dev] packages: not installed from this lockfile/manifests yet');

      rmSync(join(project, 'node_modules'), { recursive: true, force: true });
      const wiped = await dev('provision');
      expect(wiped.out).toContain('[dev] packages: pnpm install --frozen-lockfile');
      expect((await dev('provision')).out).toContain('packages up to date');
    });

    it('help needs nothing provisioned; an unknown command is refused', async () => {
      const help = await dev('help');
      expect(help.status).toBe(0);
      expect(help.out).toContain('./dev <command>');
      expect(help.out).not.toContain('[dev]');
      const bogus = await dev('serve');
      expect(bogus.status).toBe(2);
      expect(bogus.out).toContain("unknown command 'serve'");
    });
  },
);
