/**
 * regstack's email: transports (console, SMTP, SES, or any object with `send`), the durable outbox mailer, and the
 * per-kind templates with host overrides. The explicit export list is this folder's public surface.
 */
export { createMailer, type Mailer, type MailerOptions } from './mailer.ts';
export { createSesTransport, type SesTransportOptions } from './ses.ts';
export { createSmtpTransport, type SmtpTransportOptions } from './smtp.ts';
export { checkTemplateSource, fillTemplate, placeholdersOf } from './template-language.ts';
export { loadTemplateOverrides, TemplateError, type TemplateOverrides } from './template-overrides.ts';
export {
  accountExistsEmail,
  BUILT_IN_TEMPLATES,
  type CreateTemplatesOptions,
  createTemplates,
  EMAIL_KINDS,
  type EmailKind,
  type EmailLinkOptions,
  type EmailTemplates,
  escapeHtml,
  formatDuration,
  type KindTemplates,
  pageLink,
  type RenderedEmail,
  sanitizeSubject,
  TEMPLATE_VARIABLES,
  type TemplateContext,
  type TemplateInputs,
  type TemplateVariable,
  tokenLink,
  verificationEmail,
} from './templates.ts';
export { createConsoleTransport, type EmailMessage, type EmailTransport } from './transport.ts';
export { createTransportFromConfig, maskEmailAddress, withSendLogging } from './transport-from-config.ts';
