/**
 * `auth.mfa.*`: two-factor authentication (SPEC §4). The login step (`confirmLogin`, `resendLoginCode`) is public
 * and takes the MFA-pending token; everything else acts on the signed-in user's own factors, and what changes a
 * factor is for the owner only (never an administrator impersonating them) and open to a session that must still
 * enrol one (`require_mfa`). Glue only: the
 * rules live in services/mfa.service.ts, services/sms-factor.service.ts and services/mfa-login.service.ts.
 */
import {
  confirmMfaLoginInput,
  regenerateRecoveryCodesInput,
  resendMfaLoginCodeInput,
  smsConfirmInput,
  smsDisableInput,
  smsStartInput,
  totpConfirmInput,
  totpDisableInput,
  totpStartInput,
} from '@regstack/shared';
import { t } from '../trpc/init.ts';
import { enrolmentProcedure, ownerEnrolmentProcedure, publicProcedure } from '../trpc/procedures.ts';

export const mfaRouter = t.router({
  status: enrolmentProcedure.query(({ ctx }) => ctx.regstack.runtime.services.mfa.status(ctx.auth)),

  confirmLogin: publicProcedure
    .input(confirmMfaLoginInput)
    .mutation(({ ctx, input }) => ctx.regstack.runtime.services.mfaLogin.confirm(input, ctx.regstack.request)),

  resendLoginCode: publicProcedure
    .input(resendMfaLoginCodeInput)
    .mutation(({ ctx, input }) => ctx.regstack.runtime.services.mfaLogin.resend(input, ctx.regstack.request)),

  totp: t.router({
    start: ownerEnrolmentProcedure
      .input(totpStartInput)
      .mutation(({ ctx, input }) => ctx.regstack.runtime.services.mfa.startTotp(ctx.auth, input, ctx.regstack.request)),
    confirm: ownerEnrolmentProcedure
      .input(totpConfirmInput)
      .mutation(({ ctx, input }) =>
        ctx.regstack.runtime.services.mfa.confirmTotp(ctx.auth, input, ctx.regstack.request),
      ),
    disable: ownerEnrolmentProcedure
      .input(totpDisableInput)
      .mutation(({ ctx, input }) =>
        ctx.regstack.runtime.services.mfa.disableTotp(ctx.auth, input, ctx.regstack.request),
      ),
  }),

  sms: t.router({
    start: ownerEnrolmentProcedure
      .input(smsStartInput)
      .mutation(({ ctx, input }) =>
        ctx.regstack.runtime.services.smsFactor.start(ctx.auth, input, ctx.regstack.request),
      ),
    confirm: ownerEnrolmentProcedure
      .input(smsConfirmInput)
      .mutation(({ ctx, input }) =>
        ctx.regstack.runtime.services.smsFactor.confirm(ctx.auth, input, ctx.regstack.request),
      ),
    disable: ownerEnrolmentProcedure
      .input(smsDisableInput)
      .mutation(({ ctx, input }) =>
        ctx.regstack.runtime.services.smsFactor.disable(ctx.auth, input, ctx.regstack.request),
      ),
  }),

  recoveryCodes: t.router({
    regenerate: ownerEnrolmentProcedure
      .input(regenerateRecoveryCodesInput)
      .mutation(({ ctx, input }) =>
        ctx.regstack.runtime.services.mfa.regenerateRecoveryCodes(ctx.auth, input, ctx.regstack.request),
      ),
  }),
});
