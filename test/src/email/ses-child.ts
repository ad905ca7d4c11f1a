/**
 * Runs one SES send in a plain Node process (see `clean-node.ts` for why the SES tests need one) and prints the
 * outcome as one JSON line. The job comes as JSON in argv[2]:
 *   { mode: 'transport', options: SesTransportOptions, message: EmailMessage }  → createSesTransport
 *   { mode: 'config', config: RegstackConfigInput, message: EmailMessage }     → createTransportFromConfig
 */
import {
  createJsonLogger,
  createSesTransport,
  createTransportFromConfig,
  type EmailMessage,
  type EmailTransport,
  parseConfig,
  type RegstackConfigInput,
  type SesTransportOptions,
} from '@regstack/server';

export type SesChildJob =
  | { mode: 'transport'; options: SesTransportOptions; message: EmailMessage }
  | { mode: 'config'; config: RegstackConfigInput; message: EmailMessage };

export type SesChildResult =
  | { ok: true; logs: string[] }
  | { ok: false; name: string; message: string; logs: string[] };

async function run(job: SesChildJob): Promise<SesChildResult> {
  const logs: string[] = [];
  const logger = createJsonLogger({ level: 'debug', write: (line) => logs.push(line) });
  let transport: EmailTransport;
  try {
    transport =
      job.mode === 'transport'
        ? await createSesTransport(job.options)
        : await createTransportFromConfig(parseConfig(job.config), logger);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    return { ok: false, name: e.name, message: e.message, logs };
  }
  try {
    await transport.send(job.message);
    return { ok: true, logs };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    return { ok: false, name: e.name, message: e.message, logs };
  } finally {
    await transport.close?.();
  }
}

const arg = process.argv[2];
if (arg) {
  const result = await run(JSON.parse(arg) as SesChildJob);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
