/**
 * The pages' part of sign-in with a provider (issue 22): the "Continue with …" links under the sign-in and sign-up
 * forms (plain links to `{oauth_prefix}/{provider}/start`, so they work without JavaScript), the `/oauth-complete`
 * page's refusal view, and the account page's "Connected accounts" card (a POST form per provider, with the
 * session's CSRF token, R57). Every message is chosen by code (messages.ts), never taken from the address (R60).
 */
import type { VNode } from 'preact';
import { Button, Card, Form, Layout, Links, Notice, type PageChrome } from './components.ts';
import { el } from './html.ts';

/** A configured provider as the pages show it. */
export interface PageProvider {
  name: string;
  /** "Google" and "Microsoft" for the presets, the configured name otherwise. */
  label: string;
}

/** The providers the pages offer (`enable_oauth` with at least one provider). */
export interface PageOAuth {
  /** `oauth_prefix` without a trailing slash. */
  prefix: string;
  providers: readonly PageProvider[];
}

const PRESET_LABELS: Record<string, string> = { google: 'Google', microsoft: 'Microsoft' };

export function providerLabel(name: string): string {
  return PRESET_LABELS[name] ?? name;
}

/**
 * The "Continue with …" links. With a `next` the sign-in comes back to `/oauth-complete?next=…` (a path on this
 * site, which the callback allows as `redirect_to`), so it ends where the password sign-in would.
 */
export function providerButtons(oauth: PageOAuth | undefined, ui: string, next: string | null): VNode | null {
  if (!oauth?.providers.length) return null;
  const query = next
    ? `?redirect_to=${encodeURIComponent(`${ui}/oauth-complete?next=${encodeURIComponent(next)}`)}`
    : '';
  return el(
    'ul',
    { class: 'rs-providers', 'aria-label': 'Other ways to sign in' },
    ...oauth.providers.map((p) =>
      el(
        'li',
        null,
        el(
          'a',
          { class: 'rs-button rs-button-secondary', href: `${oauth.prefix}/${p.name}/start${query}` },
          `Continue with ${p.label}`,
        ),
      ),
    ),
  );
}

/** `/oauth-complete` when the sign-in did not end in a session: the reason, and the way back. */
export function oauthCompletePage(config: PageChrome, text: string): VNode {
  return Layout({
    chrome: config,
    title: 'Sign-in not completed',
    children: Card({
      title: 'Sign-in not completed',
      children: [
        Notice({ kind: 'error', text }),
        Links({ links: [{ href: `${config.uiPrefix}/login`, label: 'Back to sign in' }] }),
      ],
    }),
  });
}

/**
 * `/oauth-complete` under `cookie_same_site = strict`: the cookies are set on this page and a link goes on. A Strict
 * cookie set during a redirect chain that began at the provider (another site) is not sent on the chain's next hop,
 * so a redirect would land signed out; the click is a navigation from this site, and the cookie goes with it.
 */
export function oauthContinuePage(config: PageChrome, href: string, secondStep: boolean): VNode {
  const title = secondStep ? 'One more step' : 'Signed in';
  return Layout({
    chrome: config,
    title,
    children: Card({
      title,
      lead: secondStep ? 'Your account asks for a second step to sign in.' : 'You are signed in.',
      children: el('p', { class: 'rs-links' }, el('a', { class: 'rs-button', href }, 'Continue')),
    }),
  });
}

/** A provider on the account page: linked (with the provider's address) or not. */
export interface ConnectedProvider extends PageProvider {
  linked: boolean;
  email: string | null;
}

export function connectedAccountsCard(
  ui: string,
  csrf: string,
  providers: readonly ConnectedProvider[],
  state: { notice?: string | undefined; formError?: string | undefined },
): VNode {
  return Card({
    id: 'connected',
    heading: 'h2',
    title: 'Connected accounts',
    lead: 'Link an account at a provider to sign in with it.',
    children: [
      state.notice ? Notice({ kind: 'success', text: state.notice }) : null,
      state.formError ? Notice({ kind: 'error', text: state.formError }) : null,
      el(
        'ul',
        { class: 'rs-sessions' },
        ...providers.map((p) =>
          el(
            'li',
            { class: 'rs-session' },
            el(
              'div',
              { class: 'rs-session-what' },
              el('span', null, p.label),
              p.linked ? el('span', { class: 'rs-badge' }, 'Linked') : null,
              el('span', { class: 'rs-session-when' }, p.linked ? (p.email ?? 'Linked') : 'Not linked'),
            ),
            Form({
              action: `${ui}/me/oauth/${p.linked ? 'unlink' : 'link'}`,
              csrf,
              inline: true,
              label: `${p.linked ? 'Unlink' : 'Link'} ${p.label}`,
              children: [
                el('input', { type: 'hidden', name: 'provider', value: p.name }),
                Button({ label: p.linked ? 'Unlink' : 'Link', variant: 'secondary', small: true }),
              ],
            }),
          ),
        ),
      ),
    ],
  });
}
