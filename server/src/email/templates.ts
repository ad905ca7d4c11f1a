/**
 * The messages regstack sends, as subject + text + HTML. Every interpolated value is HTML-escaped in the
 * HTML part. Links are built from the configured `base_url`, never from the request (R28).
 */
export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

export interface TemplateContext {
  appName: string;
  baseUrl: string;
  uiPrefix: string;
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function pageLink(ctx: TemplateContext, page: string, token: string): string {
  return `${ctx.baseUrl}${ctx.uiPrefix}/${page}?token=${encodeURIComponent(token)}`;
}

function layout(ctx: TemplateContext, title: string, paragraphs: string[], link?: { href: string; label: string }) {
  const body = paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n');
  const button = link ? `<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.label)}</a></p>` : '';
  return `<!doctype html><html><body><h1>${escapeHtml(title)}</h1>\n${body}\n${button}\n<p>— ${escapeHtml(ctx.appName)}</p></body></html>`;
}

export function verificationEmail(ctx: TemplateContext, token: string, ttlHours: number): RenderedEmail {
  const link = pageLink(ctx, 'verify', token);
  const intro = `Confirm your email address to finish creating your ${ctx.appName} account.`;
  const expiry = `The link expires in ${ttlHours} hour${ttlHours === 1 ? '' : 's'}. If you did not sign up, ignore this email.`;
  return {
    subject: `Confirm your email for ${ctx.appName}`,
    text: `${intro}\n\n${link}\n\n${expiry}\n`,
    html: layout(ctx, 'Confirm your email', [intro, expiry], { href: link, label: 'Confirm email' }),
  };
}

/** Sent instead of a verification link when someone registers with an address that already has an account (R12). */
export function accountExistsEmail(ctx: TemplateContext): RenderedEmail {
  const login = `${ctx.baseUrl}${ctx.uiPrefix}/login`;
  const forgot = `${ctx.baseUrl}${ctx.uiPrefix}/forgot`;
  const intro = `Someone tried to create a ${ctx.appName} account with this email address, which already has one.`;
  const help = `If it was you, sign in at ${login} or reset your password at ${forgot}. If not, you can ignore this email: nothing was changed.`;
  return {
    subject: `Someone tried to sign up with your email on ${ctx.appName}`,
    text: `${intro}\n\n${help}\n`,
    html: layout(ctx, 'Sign-up attempt', [intro, help], { href: login, label: 'Sign in' }),
  };
}
