/**
 * The pages' one stylesheet, served from `static_prefix` as `regstack.css`. Every colour, radius, shadow and font
 * is read from a `--rs-*` custom property — the sixteen names of the Python regstack's theme, so one of its
 * `theme.css` files (loaded after this one through `theme_css_url`) restyles these pages unchanged. Dark values
 * come with `prefers-color-scheme`. No inline style exists anywhere, so the pages run under a CSP without
 * `'unsafe-inline'` (R59).
 */
export const PAGES_CSS = `:root {
  color-scheme: light dark;
  --rs-bg: #f4f6fb;
  --rs-bg-hover: #e9edf6;
  --rs-surface: #ffffff;
  --rs-fg: #131a2b;
  --rs-fg-muted: #4a5568;
  --rs-border: #d5dbe7;
  --rs-accent: #3f3fc8;
  --rs-accent-fg: #ffffff;
  --rs-accent-bg: rgba(63, 63, 200, 0.09);
  --rs-danger: #b3261e;
  --rs-danger-fg: #ffffff;
  --rs-danger-bg: rgba(179, 38, 30, 0.08);
  --rs-radius: 10px;
  --rs-shadow: 0 1px 3px rgba(19, 26, 43, 0.06), 0 8px 24px rgba(19, 26, 43, 0.07);
  --rs-font-display: ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  --rs-font-body: ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --rs-bg: #0c1120;
    --rs-bg-hover: #1a2340;
    --rs-surface: #141b2f;
    --rs-fg: #e6e9f2;
    --rs-fg-muted: #a6afc3;
    --rs-border: #2a3452;
    --rs-accent: #9aa5ff;
    --rs-accent-fg: #0c1120;
    --rs-accent-bg: rgba(154, 165, 255, 0.13);
    --rs-danger: #ff8a80;
    --rs-danger-fg: #0c1120;
    --rs-danger-bg: rgba(255, 138, 128, 0.12);
    --rs-shadow: 0 1px 3px rgba(0, 0, 0, 0.45), 0 10px 28px rgba(0, 0, 0, 0.35);
  }
}
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; min-height: 100vh; display: flex; flex-direction: column; align-items: center;
  padding: 2.5rem 1rem 2rem; background: var(--rs-bg); color: var(--rs-fg);
  font-family: var(--rs-font-body); font-size: 1rem; line-height: 1.5;
}
a { color: var(--rs-accent); text-underline-offset: 2px; }
a:hover { text-decoration-thickness: 2px; }
:focus-visible { outline: 3px solid var(--rs-accent); outline-offset: 2px; border-radius: 4px; }
.rs-header { display: flex; flex-direction: column; align-items: center; gap: .35rem; margin-bottom: 1.5rem; text-align: center; }
.rs-brand { display: inline-flex; align-items: center; gap: .6rem; color: var(--rs-fg); text-decoration: none;
  font-family: var(--rs-font-display); font-weight: 700; font-size: 1.2rem; }
.rs-brand-logo { height: 2rem; width: auto; }
.rs-tagline { margin: 0; color: var(--rs-fg-muted); font-size: .95rem; }
.rs-main { width: 100%; max-width: 27rem; }
.rs-main.rs-wide { max-width: 44rem; }
.rs-card { background: var(--rs-surface); border: 1px solid var(--rs-border); border-radius: var(--rs-radius);
  box-shadow: var(--rs-shadow); padding: 2rem; }
.rs-card + .rs-card { margin-top: 1.25rem; }
h1, h2 { font-family: var(--rs-font-display); line-height: 1.25; margin: 0 0 .5rem; }
h1 { font-size: 1.5rem; }
h2 { font-size: 1.1rem; }
.rs-lead { margin: 0 0 1.25rem; color: var(--rs-fg-muted); }
.rs-muted { color: var(--rs-fg-muted); }
.rs-field { margin: 0 0 1rem; }
.rs-field label { display: block; font-weight: 600; margin-bottom: .35rem; }
.rs-field input {
  display: block; width: 100%; padding: .65rem .8rem; font: inherit; color: var(--rs-fg);
  background: var(--rs-surface); border: 1px solid var(--rs-border); border-radius: calc(var(--rs-radius) * .7);
}
.rs-field input:hover { background: var(--rs-bg-hover); }
.rs-field input:focus-visible { outline: 3px solid var(--rs-accent); outline-offset: 1px; }
.rs-field input[aria-invalid="true"] { border-color: var(--rs-danger); }
.rs-hint { margin: .35rem 0 0; color: var(--rs-fg-muted); font-size: .9rem; }
.rs-hint ul { margin: 0; padding-left: 1.1rem; }
.rs-error { margin: .35rem 0 0; color: var(--rs-danger); font-size: .9rem; font-weight: 600; }
.rs-button {
  display: inline-flex; justify-content: center; align-items: center; gap: .4rem; width: 100%;
  padding: .7rem 1rem; margin-top: .25rem; font: inherit; font-weight: 600; cursor: pointer;
  color: var(--rs-accent-fg); background: var(--rs-accent); border: 1px solid var(--rs-accent);
  border-radius: calc(var(--rs-radius) * .7);
}
.rs-button:hover { filter: brightness(1.08); }
.rs-button-secondary { color: var(--rs-accent); background: transparent; }
.rs-button-secondary:hover { background: var(--rs-accent-bg); filter: none; }
.rs-button-danger { color: var(--rs-danger-fg); background: var(--rs-danger); border-color: var(--rs-danger); }
.rs-button-small { width: auto; padding: .35rem .75rem; font-size: .9rem; margin: 0; }
.rs-notice { margin: 0 0 1.25rem; padding: .75rem 1rem; border-radius: calc(var(--rs-radius) * .7);
  background: var(--rs-accent-bg); border: 1px solid var(--rs-accent); }
.rs-notice-error { background: var(--rs-danger-bg); border-color: var(--rs-danger); }
.rs-notice p { margin: 0; }
.rs-links { display: flex; flex-wrap: wrap; justify-content: space-between; gap: .5rem; margin: 1.25rem 0 0; font-size: .95rem; }
.rs-sessions { list-style: none; margin: 0 0 1rem; padding: 0; }
.rs-session { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: .5rem;
  padding: .75rem 0; border-bottom: 1px solid var(--rs-border); }
.rs-session:last-child { border-bottom: 0; }
.rs-session-what { min-width: 0; overflow-wrap: anywhere; }
.rs-session-when { display: block; color: var(--rs-fg-muted); font-size: .85rem; }
.rs-badge { display: inline-block; margin-left: .4rem; padding: .05rem .5rem; font-size: .75rem; font-weight: 700;
  color: var(--rs-accent); background: var(--rs-accent-bg); border-radius: 999px; }
.rs-inline { display: inline; margin: 0; }
a.rs-button { box-sizing: border-box; text-decoration: none; }
.rs-providers { display: grid; gap: .5rem; list-style: none; margin: 1.25rem 0 0; padding: 1.25rem 0 0;
  border-top: 1px solid var(--rs-border); }
.rs-row { display: flex; flex-wrap: wrap; gap: .75rem; }
.rs-row > * { flex: 1 1 12rem; }
.rs-facts { margin: 0 0 1rem; }
.rs-facts dt { color: var(--rs-fg-muted); font-size: .85rem; }
.rs-facts dd { margin: 0 0 .5rem; font-weight: 600; overflow-wrap: anywhere; }
.rs-subsection { margin-top: 1.5rem; padding-top: 1.25rem; border-top: 1px solid var(--rs-border); }
.rs-subsection h2, .rs-subsection h3 { font-size: 1rem; margin: 0 0 .35rem; }
.rs-subsection > p { margin: 0 0 1rem; }
.rs-qr { display: flex; justify-content: center; margin: 0 0 1.25rem; }
.rs-qr-code { width: 13rem; height: 13rem; max-width: 100%; border-radius: 6px; shape-rendering: crispEdges; }
.rs-secret { font-size: 1rem; letter-spacing: .05em; }
.rs-codes { display: grid; grid-template-columns: repeat(auto-fill, minmax(9rem, 1fr)); gap: .5rem 1.5rem;
  margin: 0 0 1.25rem; padding-left: 1.5rem; }
.rs-codes code { font-size: 1rem; }
.rs-main.rs-full { max-width: 72rem; }
.rs-impersonation { width: 100%; max-width: 72rem; display: flex; flex-wrap: wrap; align-items: center;
  justify-content: space-between; gap: .75rem; margin: -1.5rem 0 1.5rem; padding: .75rem 1rem;
  background: var(--rs-danger-bg); border: 2px solid var(--rs-danger); border-radius: var(--rs-radius); }
.rs-impersonation p { margin: 0; flex: 1 1 20rem; }
.rs-impersonation form { margin: 0; }
.rs-filters { display: flex; flex-wrap: wrap; align-items: flex-start; gap: .75rem; margin: 0 0 1rem; }
.rs-filters .rs-field { flex: 1 1 9rem; margin: 0; }
.rs-filters .rs-field-search { flex: 3 1 16rem; }
.rs-filters .rs-button { width: auto; align-self: flex-end; }
.rs-field select {
  display: block; width: 100%; padding: .6rem .7rem; font: inherit; color: var(--rs-fg);
  background: var(--rs-surface); border: 1px solid var(--rs-border); border-radius: calc(var(--rs-radius) * .7);
}
.rs-field input[type="search"] { appearance: none; }
.rs-table-wrap { overflow-x: auto; margin: 0 0 1rem; }
.rs-table { width: 100%; border-collapse: collapse; font-size: .92rem; }
.rs-table th, .rs-table td { text-align: left; vertical-align: top; padding: .6rem .5rem; border-bottom: 1px solid var(--rs-border); }
.rs-table th { color: var(--rs-fg-muted); font-weight: 600; font-size: .85rem; }
.rs-table td.rs-user { overflow-wrap: anywhere; min-width: 12rem; }
.rs-table .rs-badge { margin: 0 .25rem .25rem 0; }
.rs-badge-off { color: var(--rs-danger); background: var(--rs-danger-bg); }
.rs-actions { display: flex; flex-wrap: wrap; gap: .4rem; align-items: flex-start; min-width: 12rem; }
.rs-actions details { width: 100%; }
.rs-actions summary { cursor: pointer; color: var(--rs-accent); font-weight: 600; }
.rs-actions details .rs-field { margin: .5rem 0; }
.rs-pager { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; margin: 0; }
.rs-footer { margin-top: 2rem; color: var(--rs-fg-muted); font-size: .85rem; }
@media (max-width: 420px) {
  body { padding: 1.25rem .75rem; }
  .rs-card { padding: 1.25rem; }
  h1 { font-size: 1.3rem; }
}
[hidden] { display: none !important; }
.rs-procedures { width: 100%; border-collapse: collapse; font-size: .9rem; margin-bottom: 1rem; }
.rs-procedures th, .rs-procedures td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--rs-border); }
code { font-size: .9em; overflow-wrap: anywhere; }
`;
