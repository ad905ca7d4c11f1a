/**
 * Runs SMS sends in a plain Node process, the way a host's process loads the provider SDKs (vitest's `module`
 * resolve condition sends `@aws-sdk/*` to builds only bundlers can load; see ../email/clean-node.ts), and prints the
 * outcome as one JSON line. The job comes as JSON in argv[2]:
 *   { mode: 'twilio' | 'sns', options, actions }  → the transport itself: each action a send or a verify
 *   { mode: 'regstack', config, sends }            → createRegstack over a fresh SQLite file with `sms.backend`
 *                                                    from `config`; each send through `regstack.sms.sendCode`
 * Logs (debug and up) are collected and returned, so a test can check what was — and was not — logged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createJsonLogger,
  createRegstack,
  createSnsSmsTransport,
  createTwilioSmsTransport,
  parseConfig,
  type RegstackConfigInput,
  type SmsCodeRequest,
  type SmsMessage,
  type SmsTransport,
  type SnsSmsTransportOptions,
  type TwilioSmsTransportOptions,
} from '@regstack/server';

export type SmsAction = { send: SmsMessage } | { verify: true };

export type SmsChildJob = (
  | { mode: 'twilio'; options: TwilioSmsTransportOptions; actions: SmsAction[] }
  | { mode: 'sns'; options: SnsSmsTransportOptions; actions: SmsAction[] }
  | { mode: 'regstack'; config: RegstackConfigInput; sends: SmsCodeRequest[] }
) & {
  /** Packages this process resolves as not installed (a host that never added the provider's SDK). */
  hidePackages?: string[];
};

export type SmsOutcome = { ok: true } | { ok: false; name: string; message: string; code?: string };

export interface SmsChildResult {
  /** Creating the transport or the instance failed (e.g. a missing package). */
  setup?: SmsOutcome;
  outcomes: SmsOutcome[];
  logs: string[];
}

function outcomeOf(err: unknown): SmsOutcome {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  return { ok: false, name: e.name, message: e.message, ...(typeof code === 'string' && { code }) };
}

/** Makes Node's resolver answer "not found" for `packages`, exactly as it does for a package that is not installed. */
function hide(packages: readonly string[]): void {
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (packages.includes(specifier)) {
        throw Object.assign(new Error(`Cannot find package '${specifier}' imported from ${context.parentURL ?? '?'}`), {
          code: 'ERR_MODULE_NOT_FOUND',
        });
      }
      return nextResolve(specifier, context);
    },
  });
}

async function run(job: SmsChildJob): Promise<SmsChildResult> {
  if (job.hidePackages) hide(job.hidePackages);
  const logs: string[] = [];
  const logger = createJsonLogger({ level: 'debug', write: (line) => logs.push(line) });
  const outcomes: SmsOutcome[] = [];
  if (job.mode === 'regstack') {
    const dir = mkdtempSync(join(tmpdir(), 'regstack-sms-'));
    try {
      let regstack: Awaited<ReturnType<typeof createRegstack>>;
      try {
        regstack = await createRegstack({
          config: parseConfig({ databaseUrl: `sqlite:${join(dir, 'regstack.db')}`, ...job.config }),
          logger,
          startWorkers: false,
        });
      } catch (err) {
        return { setup: outcomeOf(err), outcomes, logs };
      }
      await regstack.installSchema();
      for (const request of job.sends) {
        try {
          await regstack.sms.sendCode(request);
          outcomes.push({ ok: true });
        } catch (err) {
          outcomes.push(outcomeOf(err));
        }
      }
      await regstack.settle();
      await regstack.close();
      return { outcomes, logs };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  let transport: SmsTransport;
  try {
    transport =
      job.mode === 'twilio' ? await createTwilioSmsTransport(job.options) : await createSnsSmsTransport(job.options);
  } catch (err) {
    return { setup: outcomeOf(err), outcomes, logs };
  }
  try {
    for (const action of job.actions) {
      try {
        if ('send' in action) await transport.send(action.send);
        else await transport.verify?.();
        outcomes.push({ ok: true });
      } catch (err) {
        outcomes.push(outcomeOf(err));
      }
    }
  } finally {
    await transport.close?.();
  }
  return { outcomes, logs };
}

const arg = process.argv[2];
if (arg) {
  const result = await run(JSON.parse(arg) as SmsChildJob);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  // The hashing process createRegstack started would keep this process alive; the result is out.
  process.exit(0);
}
