/** `auth.mfa.*`: two-factor authentication. SMS enrolment and login confirmation arrive with the MFA work. */
import type { MfaStatus } from '@regstack/shared';
import { t } from '../trpc/init.ts';
import { authedProcedure } from '../trpc/procedures.ts';

export const mfaRouter = t.router({
  status: authedProcedure.query(
    ({ ctx }): MfaStatus => ({
      enabled: ctx.auth.user.isMfaEnabled,
      available: ctx.regstack.runtime.config.enableSms2fa,
      delivery: 'sms' as const,
    }),
  ),
});
