/**
 * The two-factor screens (SPEC §4, issue 19): the sign-in's second step (`mfa-confirm`), the account page's
 * two-factor card, the screen a session that must still enrol a factor lands on (`require_mfa`), the authenticator
 * set-up (QR code and key), the phone's confirmation, and the recovery codes, shown once. Every code field carries
 * `autocomplete="one-time-code"` and a numeric keyboard (R61); every form posts with its CSRF token (R57).
 *
 * The QR code is inline SVG rebuilt element by element from the `qrSvg` the procedure returns (only the `<svg>` and
 * `<path>` shapes the QR library emits, with their colours and path data checked): the procedure's markup never
 * enters the page as raw HTML, and the SVG uses presentation attributes only, so it renders under the CSP without
 * inline style (R59).
 */
import type { MfaMethod, MfaStatus, ReauthenticationInfo, TotpEnrolment } from '@regstack/shared';
import type { VNode } from 'preact';
import { Button, Card, CurrentPassword, Field, Form, Layout, Links, Notice } from './components.ts';
import { el } from './html.ts';
import type { AccountPageConfig } from './views-account.ts';
import type { FormState } from './views-public.ts';

export interface MfaPageConfig extends AccountPageConfig {
  /** `enable_sms_2fa`: offer the phone factor. */
  enableSms2fa: boolean;
}

/** The two-factor forms of the account page, by the action they post to. */
export type MfaForm = 'totp-start' | 'totp-disable' | 'sms-start' | 'sms-disable' | 'recovery';

/** A refused two-factor form on the account page, with its messages. */
export interface MfaFailure {
  form: MfaForm;
  fieldErrors: Record<string, string[]>;
  formError?: string | undefined;
}

const METHOD_NAMES: Record<MfaMethod, string> = {
  totp: 'Authenticator app',
  sms: 'Text message',
  recovery: 'Recovery code',
};

const METHOD_SWITCH: Record<MfaMethod, string> = {
  totp: 'Use your authenticator app instead',
  sms: 'Use a text message instead',
  recovery: 'Use a recovery code instead',
};

function notices(state: FormState) {
  return [
    state.notice ? Notice({ kind: 'success', text: state.notice }) : null,
    state.formError ? Notice({ kind: 'error', text: state.formError, id: 'rs-form-error' }) : null,
  ];
}

/** A six-digit code field (authenticator or SMS): the autofill and keyboard password managers and phones read. */
function OtpField(props: { id: string; label: string; errors?: string[] | undefined; autofocus?: boolean }) {
  return Field({
    id: props.id,
    name: 'code',
    label: props.label,
    autocomplete: 'one-time-code',
    inputMode: 'numeric',
    required: true,
    maxLength: 6,
    errors: props.errors,
    ...(props.autofocus && { autofocus: true }),
  });
}

// ---- the sign-in's second step ----------------------------------------------------------------------------------

export interface SecondStep {
  methods: MfaMethod[];
  phoneHint: string | null;
  /** The method this view asks for. */
  method: MfaMethod;
  next: string | null;
}

export function mfaConfirmPage(config: MfaPageConfig, csrf: string, step: SecondStep, state: FormState): VNode {
  const ui = config.uiPrefix;
  const { method, next } = step;
  const nextField = next ? el('input', { type: 'hidden', name: 'next', value: next }) : null;
  const lead =
    method === 'totp'
      ? 'Open your authenticator app and enter the 6-digit code it shows for this site.'
      : method === 'sms'
        ? `We sent a 6-digit code by text message to ${step.phoneHint ?? 'your phone'}.`
        : 'Enter one of the recovery codes you saved when you set up two-factor authentication. Each code works once.';
  const codeField =
    method === 'recovery'
      ? Field({
          id: 'mfa-code',
          name: 'code',
          label: 'Recovery code',
          autocomplete: 'off',
          required: true,
          maxLength: 32,
          autofocus: true,
          hint: 'Ten letters and digits, as xxxxx-xxxxx.',
          errors: state.fieldErrors?.code,
        })
      : OtpField({
          id: 'mfa-code',
          label: method === 'totp' ? 'Code from your app' : 'Code from the text message',
          errors: state.fieldErrors?.code,
          autofocus: true,
        });
  const query = (m: MfaMethod) => `?method=${m}${next ? `&next=${encodeURIComponent(next)}` : ''}`;
  const others = step.methods.filter((m) => m !== method);
  return Layout({
    chrome: config,
    title: 'Two-step sign-in',
    children: Card({
      title: 'Enter your code',
      lead,
      children: [
        ...notices(state),
        Form({
          action: `${ui}/mfa-confirm`,
          csrf,
          children: [
            el('input', { type: 'hidden', name: 'method', value: method }),
            nextField,
            codeField,
            Button({ label: 'Verify' }),
          ],
        }),
        method === 'sms'
          ? Form({
              action: `${ui}/mfa-confirm`,
              csrf,
              children: [
                el('input', { type: 'hidden', name: 'method', value: 'sms' }),
                el('input', { type: 'hidden', name: 'resend', value: '1' }),
                nextField,
                Button({ label: 'Send a new code', variant: 'secondary' }),
              ],
            })
          : null,
        Links({
          links: [
            ...others.map((m) => ({ href: `${ui}/mfa-confirm${query(m)}`, label: METHOD_SWITCH[m] })),
            { href: `${ui}/login`, label: 'Start over' },
          ],
        }),
      ],
    }),
  });
}

// ---- the account page's card, and the enrolment screen ----------------------------------------------------------

/** The forms that turn a factor on: an authenticator app, and a phone when SMS is offered. */
function startForms(
  config: MfaPageConfig,
  csrf: string,
  status: MfaStatus,
  failed: MfaFailure | undefined,
  heading: 'h2' | 'h3',
  reauth: ReauthenticationInfo,
) {
  const ui = config.uiPrefix;
  const errorsOf = (form: MfaForm, field: string) => (failed?.form === form ? failed.fieldErrors[field] : undefined);
  const formError = (form: MfaForm) =>
    failed?.form === form && failed.formError ? Notice({ kind: 'error', text: failed.formError }) : null;
  const hasTotp = status.methods.includes('totp');
  const hasSms = status.methods.includes('sms');
  return [
    hasTotp
      ? null
      : el(
          'div',
          { class: 'rs-subsection' },
          el(heading, null, 'Authenticator app'),
          el('p', { class: 'rs-muted' }, 'An app such as a password manager shows a new code every 30 seconds.'),
          formError('totp-start'),
          Form({
            action: `${ui}/me/mfa/totp/start`,
            csrf,
            children: [
              CurrentPassword({ id: 'totp-start-password', errors: errorsOf('totp-start', 'currentPassword'), reauth }),
              Button({ label: 'Set up an authenticator app' }),
            ],
          }),
        ),
    config.enableSms2fa && !hasSms
      ? el(
          'div',
          { class: 'rs-subsection' },
          el(heading, null, 'Text message'),
          el(
            'p',
            { class: 'rs-muted' },
            'A code is sent to your phone at each sign-in. An authenticator app is safer: text messages can be intercepted.',
          ),
          formError('sms-start'),
          Form({
            action: `${ui}/me/mfa/sms/start`,
            csrf,
            children: [
              Field({
                id: 'sms-phone',
                name: 'phoneNumber',
                label: 'Phone number',
                type: 'tel',
                autocomplete: 'tel',
                required: true,
                maxLength: 32,
                hint: 'With the country code, for example +44 20 7946 0958.',
                errors: errorsOf('sms-start', 'phoneNumber'),
              }),
              CurrentPassword({ id: 'sms-start-password', errors: errorsOf('sms-start', 'currentPassword'), reauth }),
              Button({ label: 'Send a code to this phone' }),
            ],
          }),
        )
      : null,
  ];
}

export function twoFactorCard(
  config: MfaPageConfig,
  csrf: string,
  status: MfaStatus,
  failed: MfaFailure | undefined,
  reauth: ReauthenticationInfo,
): VNode {
  const ui = config.uiPrefix;
  const errorsOf = (form: MfaForm, field: string) => (failed?.form === form ? failed.fieldErrors[field] : undefined);
  const formError = (form: MfaForm) =>
    failed?.form === form && failed.formError ? Notice({ kind: 'error', text: failed.formError }) : null;
  const factors = status.methods.filter((m) => m !== 'recovery');
  return Card({
    id: 'two-factor',
    heading: 'h2',
    title: 'Two-factor authentication',
    lead: status.enabled
      ? 'Each sign-in asks for a code after your password.'
      : 'Add a second step to sign-in, so your password alone does not open your account.',
    children: [
      el(
        'dl',
        { class: 'rs-facts' },
        el('dt', null, 'Status'),
        el('dd', null, status.enabled ? `On: ${factors.map((m) => METHOD_NAMES[m]).join(', ')}` : 'Off'),
        status.enabled ? el('dt', null, 'Recovery codes left') : null,
        status.enabled ? el('dd', null, String(status.recoveryCodesRemaining)) : null,
        status.required ? el('dt', null, 'Policy') : null,
        status.required ? el('dd', null, 'Required by this site') : null,
      ),
      status.methods.includes('totp')
        ? el(
            'div',
            { class: 'rs-subsection' },
            el('h3', null, 'Authenticator app'),
            el('p', { class: 'rs-muted' }, 'To remove it, enter a code from the app or one of your recovery codes.'),
            formError('totp-disable'),
            Form({
              action: `${ui}/me/mfa/totp/disable`,
              csrf,
              children: [
                CurrentPassword({
                  id: 'totp-disable-password',
                  errors: errorsOf('totp-disable', 'currentPassword'),
                  reauth,
                }),
                Field({
                  id: 'totp-disable-code',
                  name: 'code',
                  label: 'Code from your app or a recovery code',
                  autocomplete: 'one-time-code',
                  required: true,
                  maxLength: 32,
                  errors: errorsOf('totp-disable', 'code'),
                }),
                Button({ label: 'Remove the authenticator app', variant: 'secondary' }),
              ],
            }),
          )
        : null,
      status.methods.includes('sms')
        ? el(
            'div',
            { class: 'rs-subsection' },
            el('h3', null, 'Text message'),
            el('p', { class: 'rs-muted' }, `Codes go to ${status.phoneHint ?? 'your phone'}.`),
            formError('sms-disable'),
            Form({
              action: `${ui}/me/mfa/sms/disable`,
              csrf,
              children: [
                CurrentPassword({
                  id: 'sms-disable-password',
                  errors: errorsOf('sms-disable', 'currentPassword'),
                  reauth,
                }),
                Button({ label: 'Remove this phone', variant: 'secondary' }),
              ],
            }),
          )
        : null,
      ...startForms(config, csrf, status, failed, 'h3', reauth),
      status.enabled
        ? el(
            'div',
            { class: 'rs-subsection' },
            el('h3', null, 'Recovery codes'),
            el(
              'p',
              { class: 'rs-muted' },
              'Each recovery code signs you in once when you cannot use your phone. New codes replace all the old ones.',
            ),
            formError('recovery'),
            Form({
              action: `${ui}/me/mfa/recovery-codes`,
              csrf,
              children: [
                CurrentPassword({ id: 'recovery-password', errors: errorsOf('recovery', 'currentPassword'), reauth }),
                Button({ label: 'Get new recovery codes', variant: 'secondary' }),
              ],
            }),
          )
        : null,
    ],
  });
}

/** What a session that must still enrol a factor sees instead of the account page (`require_mfa`). */
export function mfaEnrolmentPage(
  config: MfaPageConfig,
  csrf: string,
  status: MfaStatus,
  state: { notice?: string | undefined; failed?: MfaFailure | undefined; formError?: string | undefined },
  reauth: ReauthenticationInfo,
): VNode {
  const ui = config.uiPrefix;
  return Layout({
    chrome: config,
    title: 'Set up two-factor authentication',
    children: Card({
      title: 'Set up two-factor authentication',
      lead: 'This site requires a second step at sign-in for your account. Set one up to continue.',
      children: [
        state.notice ? Notice({ kind: 'success', text: state.notice }) : null,
        state.formError ? Notice({ kind: 'error', text: state.formError }) : null,
        ...startForms(config, csrf, status, state.failed, 'h2', reauth),
        Form({ action: `${ui}/logout`, csrf, children: Button({ label: 'Sign out', variant: 'secondary' }) }),
      ],
    }),
  });
}

// ---- enrolment steps --------------------------------------------------------------------------------------------

const SVG_HEAD = /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="(0 0 \d{1,4} \d{1,4})"[^>]*>/;
const SVG_PATH = /<path (fill|stroke)="(#[0-9a-fA-F]{3,8})" d="([MmHhVvZz0-9 .-]+)"\/>/g;

/** The QR code as inline SVG, rebuilt from the shapes the QR library draws; null if `svg` is not one of them. */
export function QrCode(svg: string, label: string): VNode | null {
  const head = SVG_HEAD.exec(svg);
  const paths = [...svg.matchAll(SVG_PATH)];
  if (!head || paths.length === 0) return null;
  return el(
    'svg',
    { xmlns: 'http://www.w3.org/2000/svg', viewBox: head[1], class: 'rs-qr-code', role: 'img', 'aria-label': label },
    ...paths.map(([, paint, colour, d]) =>
      el('path', { ...(paint === 'fill' ? { fill: colour } : { stroke: colour }), d }),
    ),
  );
}

/** The base32 key in groups of four, easier to type by hand (apps ignore the spaces). */
export function groupedSecret(secret: string): string {
  return secret.match(/.{1,4}/g)?.join(' ') ?? secret;
}

/**
 * The authenticator set-up: the QR code and the key (the answer to the password form, shown this once), then the
 * code that proves the app has it. After a wrong code `enrolment` is null: the app already holds the key.
 */
export function totpSetupPage(
  config: MfaPageConfig,
  csrf: string,
  enrolment: TotpEnrolment | null,
  state: FormState,
): VNode {
  const ui = config.uiPrefix;
  const qr = enrolment ? QrCode(enrolment.qrSvg, `QR code to add ${config.appName} to an authenticator app`) : null;
  return Layout({
    chrome: config,
    title: 'Set up your authenticator app',
    children: Card({
      title: 'Set up your authenticator app',
      lead: enrolment
        ? 'Scan this QR code with your authenticator app, or type the key into it. Then enter the 6-digit code the app shows.'
        : 'Enter the 6-digit code your authenticator app shows for this site.',
      children: [
        ...notices(state),
        qr ? el('div', { class: 'rs-qr' }, qr) : null,
        enrolment
          ? el(
              'dl',
              { class: 'rs-facts' },
              el('dt', null, 'Key'),
              el('dd', null, el('code', { class: 'rs-secret', id: 'totp-secret' }, groupedSecret(enrolment.secret))),
            )
          : null,
        Form({
          action: `${ui}/me/mfa/totp/confirm`,
          csrf,
          children: [
            OtpField({ id: 'totp-code', label: 'Code from your app', errors: state.fieldErrors?.code }),
            Button({ label: 'Turn on' }),
          ],
        }),
        Links({
          links: [{ href: `${ui}/me#two-factor`, label: enrolment ? 'Cancel' : 'Start over with a new QR code' }],
        }),
      ],
    }),
  });
}

/** The phone's confirmation: the code sent to the number just entered. */
export function smsConfirmPage(
  config: MfaPageConfig & { smsCodeTtlSeconds: number },
  csrf: string,
  state: FormState,
): VNode {
  const ui = config.uiPrefix;
  const minutes = Math.max(1, Math.floor(config.smsCodeTtlSeconds / 60));
  return Layout({
    chrome: config,
    title: 'Confirm your phone',
    children: Card({
      title: 'Confirm your phone',
      lead: `We sent a 6-digit code by text message to the number you entered. It works for ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}.`,
      children: [
        ...notices(state),
        Form({
          action: `${ui}/me/mfa/sms/confirm`,
          csrf,
          children: [
            OtpField({
              id: 'sms-code',
              label: 'Code from the text message',
              errors: state.fieldErrors?.code,
              autofocus: true,
            }),
            Button({ label: 'Turn on' }),
          ],
        }),
        Links({ links: [{ href: `${ui}/me#two-factor`, label: 'Use another number or send a new code' }] }),
      ],
    }),
  });
}

/** The recovery codes, shown this once (the answer to the form that made them). */
export function recoveryCodesPage(config: MfaPageConfig, codes: readonly string[], continueTo: string): VNode {
  return Layout({
    chrome: config,
    title: 'Save your recovery codes',
    children: Card({
      title: 'Save your recovery codes',
      lead: 'If you lose your phone, each of these codes signs you in once. Keep them somewhere safe, such as a password manager: they are shown only now.',
      children: [
        el(
          'ol',
          { class: 'rs-codes', id: 'recovery-codes' },
          ...codes.map((code) => el('li', null, el('code', null, code))),
        ),
        Links({ links: [{ href: continueTo, label: 'I have saved them: continue' }] }),
      ],
    }),
  });
}
