/**
 * Issue 20, "every config key honest": `sms.log_bodies` makes the console SMS transport that `sms.backend =
 * "console"` builds print the message body (the code); off, the default, it prints the masked destination only (R62).
 */
import { createSmsTransportFromConfig, parseConfig, silentLogger } from '@regstack/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TEST_SECRET } from '../harness/regstack.ts';

describe('config keys of the message transports (issue 20)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('sms.log_bodies prints the SMS body on the console transport only when on', async () => {
    const printed: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });
    const message = { to: '+442079460958', body: 'Your code is 493817' };
    const build = (logBodies: boolean) =>
      createSmsTransportFromConfig(
        parseConfig({ jwtSecret: TEST_SECRET, sms: { backend: 'console', logBodies } }),
        silentLogger,
      );
    await (await build(false)).send(message);
    expect(printed.join('')).not.toContain('493817');
    printed.splice(0);
    await (await build(true)).send(message);
    expect(printed.join('')).toContain('Your code is 493817');
  });
});
