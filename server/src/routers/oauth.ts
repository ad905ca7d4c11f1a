/**
 * `auth.oauth.*`: sign-in with OpenID Connect providers (issue 22). The browser legs (`start`, `callback`) are plain
 * HTTP routes in http/fetch-handler.ts; these are the app's side: the providers, the one-time `exchange` that ends
 * a sign-in like `login` does, and linking for the account's owner. Glue only: the rules live in
 * services/oauth.service.ts.
 */
import { oauthExchangeInput, oauthLinkStartInput, oauthUnlinkInput } from '@regstack/shared';
import { t } from '../trpc/init.ts';
import { optionalAuthProcedure, ownerProcedure, publicProcedure } from '../trpc/procedures.ts';

export const oauthRouter = t.router({
  providers: optionalAuthProcedure.query(({ ctx }) => ctx.regstack.runtime.services.oauth.providers(ctx.auth)),

  exchange: publicProcedure
    .input(oauthExchangeInput)
    .mutation(({ ctx, input }) =>
      ctx.regstack.runtime.services.oauth.exchange(input.id, ctx.regstack.request, ctx.regstack.oauthBrowserBinding),
    ),

  link: t.router({
    start: ownerProcedure
      .input(oauthLinkStartInput)
      .mutation(({ ctx, input }) =>
        ctx.regstack.runtime.services.oauth.linkStart(ctx.auth, input.provider, input.redirectTo, ctx.regstack.request),
      ),
  }),

  unlink: ownerProcedure
    .input(oauthUnlinkInput)
    .mutation(({ ctx, input }) =>
      ctx.regstack.runtime.services.oauth.unlink(ctx.auth, input.provider, ctx.regstack.request),
    ),
});
