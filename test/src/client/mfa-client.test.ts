/**
 * Issue 18 item 9: @regstack/client's second step against the standalone server over real HTTP — `login()` answers
 * `mfa_required` and stores nothing (R50), `confirmMfa()` finishes the sign-in with the pending token it kept and
 * signs the client in; the typed enrolment helpers (`client.mfa.*`) enrol an authenticator app and hand back the
 * recovery codes; `confirmMfa()` with no sign-in waiting throws before any request.
 */
import { createRegstackClient, getRegstackErrorCode } from '@regstack/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caught } from '../harness/outcomes.ts';
import { createVerifiedUser } from '../harness/regstack.ts';
import { type ClientStack, enrolTotpThroughClient, PASSWORD, startClientStack, uniqueEmail } from './support.ts';

describe('client: two-factor sign-in and enrolment', () => {
  let stack: ClientStack;
  let url: string;
  let server: { close(): Promise<void> };
  beforeAll(async () => {
    stack = await startClientStack();
    const listening = await stack.regstack.listen({ port: 0 });
    server = listening;
    url = `${listening.url}/trpc`;
  });
  afterAll(async () => {
    await server?.close();
    await stack?.close();
  });

  it('enrols with client.mfa.*, then login → mfa_required → confirmMfa signs in', async () => {
    const { email } = await createVerifiedUser(stack, uniqueEmail('mfa-client'));
    // The previous step's code (inside the ±1 window) proves the enrolment, leaving the current step for sign-in.
    const { client: laptop, code, enabled } = await enrolTotpThroughClient(url, email);
    expect(enabled.recoveryCodes).toHaveLength(10);
    expect(await laptop.mfaStatus()).toMatchObject({ enabled: true, methods: ['totp', 'recovery'] });

    const phone = createRegstackClient({ url });
    expect(await caught(phone.confirmMfa({ method: 'totp', code: code() }))).toBeInstanceOf(Error);
    const step = await phone.login({ email, password: PASSWORD });
    expect(step.status).toBe('mfa_required');
    expect(phone.getUser()).toBeNull();
    expect(await phone.getAccessToken()).toBeNull();
    const wrong = await caught(phone.confirmMfa({ method: 'totp', code: code(600_000) }));
    expect(getRegstackErrorCode(wrong)).toBe('MFA_CODE_INVALID');
    const done = await phone.confirmMfa({ method: 'totp', code: code() });
    expect(done.status).toBe('authenticated');
    expect(phone.getUser()?.email).toBe(email);
    expect(phone.getAuthState().status).toBe('authenticated');
    expect((await phone.me()).email).toBe(email);
    // The kept pending token is gone with the sign-in it completed.
    expect(await caught(phone.resendMfaCode())).toBeInstanceOf(Error);
  });
});
