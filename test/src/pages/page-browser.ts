/**
 * What the pages' Chromium suites share: a Chromium context (JavaScript on or off, light or dark) that records
 * console errors — a CSP violation is one — and page errors, and the axe-core audit (zero serious or critical
 * violations). axe is injected as a script, so a context that audits bypasses the CSP for the test's own script;
 * the pages' markup is the same.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS } from '../client/support.ts';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface Session {
  context: BrowserContext;
  page: Page;
  /** Console errors (a CSP violation is one) and page errors seen so far. */
  errors: string[];
  close(): Promise<void>;
}

export async function openChromium(options: {
  javaScriptEnabled: boolean;
  colorScheme?: 'light' | 'dark';
  bypassCSP?: boolean;
  viewport?: { width: number; height: number };
}): Promise<Session> {
  const profile = mkdtempSync(join(tmpdir(), 'regstack-pages-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: options.viewport ?? { width: 1000, height: 800 },
    javaScriptEnabled: options.javaScriptEnabled,
    colorScheme: options.colorScheme ?? 'light',
    bypassCSP: options.bypassCSP ?? false,
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

/** Runs axe-core on the page as it is; fails on any serious or critical violation. */
export async function auditPage(page: Page, label: string): Promise<void> {
  await page.addScriptTag({ content: AXE_SOURCE });
  const result = (await page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: axe is injected into the page as a global
    const run = await (globalThis as any).axe.run(document, { resultTypes: ['violations'] });
    return run.violations.map((v: { id: string; impact: string; nodes: unknown[] }) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.length,
    }));
  })) as { id: string; impact: string }[];
  const severe = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(severe, `${label}: ${JSON.stringify(severe)}`).toEqual([]);
}
