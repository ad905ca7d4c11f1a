/**
 * Prints the run's closing lines: which backends ran and which were skipped and why (the same words the run
 * opened with), then `N passed, N failed, N skipped`, which CI reads and which must stay the last line. A
 * module that failed to load, a suite whose hook threw, an unhandled error or an aborted run counts as a failure,
 * so a broken suite can never look green.
 */
import type { Reporter, TestModule, Vitest } from 'vitest/node';
import { backendReport } from './backends.ts';

export default class SummaryReporter implements Reporter {
  private vitest: Vitest | undefined;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<unknown>,
    reason: 'passed' | 'failed' | 'interrupted',
  ): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      if (mod.state() === 'failed' && mod.errors().length > 0) failed += 1;
      // A hook that threw (a `beforeAll` that could not set up) fails its suite, whose tests then count as skipped.
      for (const suite of mod.children.allSuites()) {
        if (suite.state() === 'failed' && suite.errors().length > 0) failed += 1;
      }
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') failed += 1;
        else skipped += 1;
      }
    }
    failed += unhandledErrors.length;
    if (reason === 'interrupted' && failed === 0) failed = 1;
    // Absent when the global setup did not finish (e.g. a required backend was missing: it said why).
    const provided = this.vitest?.getRootProject().getProvidedContext();
    if (provided?.backends) {
      process.stdout.write(`\n[regstack tests] ${backendReport(provided.backends, 'ran', provided.browserSkipReason)}`);
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
