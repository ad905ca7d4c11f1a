/**
 * The scenarios that live in this folder (6 and up), run one after the other after scenarios 1–5, each with its
 * own servers and rounds. run.ts calls `runScenarioModules` once; adding a scenario here needs no change there.
 */
import type { Scenario } from '../lib/settings.ts';
import type { ScenarioContext, ScenarioOutcome } from './context.ts';
import { runRegstackPyScenario } from './regstack-py.ts';
import { runScaleScenario } from './scale.ts';
import { runTotpLoginScenario } from './totp-login.ts';
import { runTwoInstancesScenario } from './two-instances.ts';

const MODULES: Array<{ scenario: Scenario; run: (ctx: ScenarioContext) => Promise<ScenarioOutcome> }> = [
  { scenario: 'totp', run: runTotpLoginScenario },
  { scenario: 'scale', run: runScaleScenario },
  { scenario: 'regstack-py', run: runRegstackPyScenario },
  { scenario: 'two-instances', run: runTwoInstancesScenario },
];

export async function runScenarioModules(
  ctx: ScenarioContext,
): Promise<{ metrics: ScenarioOutcome['metrics']; records: Record<string, Omit<ScenarioOutcome, 'metrics'>> }> {
  const metrics: ScenarioOutcome['metrics'] = [];
  const records: Record<string, Omit<ScenarioOutcome, 'metrics'>> = {};
  for (const { scenario, run } of MODULES) {
    if (!ctx.settings.scenarios.has(scenario)) continue;
    const outcome = await run(ctx);
    metrics.push(...outcome.metrics);
    records[scenario] = { rounds: outcome.rounds, ...(outcome.details && { details: outcome.details }) };
  }
  return { metrics, records };
}
