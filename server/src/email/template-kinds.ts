/**
 * The kinds of message regstack sends and the three template sources each kind has. The templates
 * (templates.ts) and the loader of the host's override files (template-overrides.ts) both use them, so they live
 * here, below both, and neither of those imports the other back.
 */

/** Every kind of message regstack sends (also the `kind` stored with each outbox row). */
export const EMAIL_KINDS = [
  'verification',
  'account_exists',
  'password_reset',
  'password_changed',
  'email_change_confirmation',
  'email_changed',
  'account_deleted',
  'mfa_changed',
  'recovery_code_used',
] as const;
export type EmailKind = (typeof EMAIL_KINDS)[number];

/** One kind's three template sources. */
export interface KindTemplates {
  subject: string;
  text: string;
  html: string;
}
