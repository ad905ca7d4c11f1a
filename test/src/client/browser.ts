/**
 * Browser-suite helpers: build a Vite app into a temporary directory (workspace packages from their
 * sources, as the examples' own config does), and launch Debian's Chromium through playwright-core with a
 * fresh profile.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { build, type InlineConfig } from 'vite';
import { CHROMIUM, CHROMIUM_ARGS } from './support.ts';

export interface BuiltApp {
  dir: string;
  remove(): void;
}

export async function buildViteApp(config: InlineConfig): Promise<BuiltApp> {
  const dir = mkdtempSync(join(tmpdir(), 'regstack-page-'));
  await build({
    ...config,
    logLevel: 'error',
    build: { ...config.build, outDir: dir, emptyOutDir: true, write: true },
  });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Uncaught page errors and console errors seen so far. */
  errors: string[];
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'regstack-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1000, height: 700 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
