/**
 * The static assets of the link pages, served from `static_prefix`: one stylesheet of `--rs-*` variables
 * (light and dark) and one script. No inline script or style anywhere, so the pages run under a strict
 * CSP (R59). The script reads the token from the address bar, removes it at once (R29), and calls the JSON
 * API with `fetch` — no cookies are involved, so there is nothing for a cross-site request to ride on. It
 * words errors by their stable code (the server's message only for codes it has no text for, such as the
 * password-policy reasons, made a sentence), on PASSWORD_REQUIRED reveals the verify page's password step
 * (R67), and after a success reveals the page's "Sign in" link.
 */
export const PAGES_CSS = `:root {
  --rs-font: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  --rs-bg: #f6f7f9; --rs-surface: #ffffff; --rs-text: #1d2330; --rs-muted: #5b6475;
  --rs-primary: #2f5bea; --rs-primary-text: #ffffff; --rs-border: #d9dde5;
  --rs-error: #b42318; --rs-success: #067647; --rs-radius: 10px;
}
@media (prefers-color-scheme: dark) {
  :root { --rs-bg: #0f1420; --rs-surface: #171d2b; --rs-text: #e7eaf0; --rs-muted: #9aa3b5;
    --rs-primary: #6b8cff; --rs-primary-text: #0f1420; --rs-border: #2a3245; --rs-error: #f97066; --rs-success: #47cd89; }
}
* { box-sizing: border-box; }
body { margin: 0; font-family: var(--rs-font); background: var(--rs-bg); color: var(--rs-text); }
main { max-width: 26rem; margin: 12vh auto; padding: 2rem; background: var(--rs-surface);
  border: 1px solid var(--rs-border); border-radius: var(--rs-radius); }
h1 { font-size: 1.35rem; margin: 0 0 1rem; }
p { color: var(--rs-muted); line-height: 1.5; }
label { display: block; margin: 1rem 0 .35rem; font-weight: 600; }
input { width: 100%; padding: .6rem .7rem; border: 1px solid var(--rs-border); border-radius: 6px;
  background: var(--rs-bg); color: var(--rs-text); font: inherit; }
button { margin-top: 1.25rem; width: 100%; padding: .7rem; border: 0; border-radius: 6px; font: inherit;
  font-weight: 600; background: var(--rs-primary); color: var(--rs-primary-text); cursor: pointer; }
button[disabled] { opacity: .6; cursor: default; }
.rs-status { margin-top: 1rem; min-height: 1.5em; }
.rs-status[data-kind="error"] { color: var(--rs-error); }
.rs-status[data-kind="success"] { color: var(--rs-success); }
main.rs-wide { max-width: 46rem; margin-top: 6vh; }
h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
code { font-size: .9em; }
a { color: var(--rs-primary); }
.rs-procedures { width: 100%; border-collapse: collapse; font-size: .9rem; }
.rs-procedures th, .rs-procedures td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--rs-border); }
.rs-rules { margin: .25rem 0 .5rem; padding-left: 1.2rem; color: var(--rs-muted); font-size: .9rem; line-height: 1.4; }
.rs-next { margin-top: 1rem; }
.rs-next a { color: var(--rs-primary); font-weight: 600; }
[hidden] { display: none !important; }
`;

export const PAGES_JS = `"use strict";
(function () {
  var body = document.body;
  var api = body.getAttribute("data-api");
  var procedure = body.getAttribute("data-procedure");
  var form = document.getElementById("rs-form");
  var status = document.getElementById("rs-status");
  var next = document.getElementById("rs-next");
  var params = new URLSearchParams(location.search);
  var token = params.get("token") || "";
  // R29: the token leaves the address bar (and so history and any later Referer) at once.
  if (location.search) history.replaceState(null, "", location.pathname);
  var passwordStep = document.getElementById("rs-password-step");
  var signUpPassword = document.getElementById("rs-password");
  // By stable code, never by message (SPEC §5).
  var MESSAGES = {
    PASSWORD_REQUIRED: 'To confirm this sign-up is yours, enter the password you chose when you signed up.',
    INVALID_CREDENTIALS: "That is not the password of the sign-up this link belongs to. If you signed up more than once, each email's link needs the password of its own sign-up; you can also sign up again.",
    INVALID_OR_EXPIRED_TOKEN: "This link is invalid or has expired.",
    TOO_MANY_ATTEMPTS: "Too many wrong passwords for this address.",
    RATE_LIMITED: "Too many requests.",
    SERVER_BUSY: "The server is busy.",
    SERVICE_UNAVAILABLE: "The service is unavailable right now."
  };
  var RETRYABLE = { TOO_MANY_ATTEMPTS: 1, RATE_LIMITED: 1, SERVER_BUSY: 1, SERVICE_UNAVAILABLE: 1 };
  function sentence(text) {
    if (typeof text !== "string" || !text) return "";
    return /[.!?]$/.test(text) ? text : text + ".";
  }
  function describe(err) {
    var data = (err && err.data) || {};
    var code = data.regstackCode;
    var known = Object.prototype.hasOwnProperty.call(MESSAGES, code) ? MESSAGES[code] : "";
    // API messages carry no final period; on the page every status is a sentence.
    var text = known || sentence(err && err.message) || "Something went wrong. Try again.";
    var wait = data.retryAfterSeconds;
    if (wait) return text + " Try again in " + (wait < 90 ? wait + " seconds." : Math.ceil(wait / 60) + " minutes.");
    return Object.prototype.hasOwnProperty.call(RETRYABLE, code) ? text + " Try again later." : text;
  }
  function show(kind, text) { status.setAttribute("data-kind", kind); status.textContent = text; }
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) { form.hidden = true; show("error", "This link is incomplete or damaged."); return; }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var input = { token: token };
    var password = document.getElementById("rs-new-password");
    if (password) input.newPassword = password.value;
    if (passwordStep && !passwordStep.hidden) input.password = signUpPassword.value;
    var button = form.querySelector("button");
    button.disabled = true;
    show("", "Working…");
    fetch(api + "/" + procedure, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ json: input }),
      credentials: "omit"
    }).then(function (res) {
      return res.json().then(function (payload) { return { ok: res.ok, payload: payload }; });
    }).then(function (r) {
      if (r.ok) {
        form.hidden = true;
        show("success", body.getAttribute("data-success"));
        // Onward to the app (base_url): the next thing a user does after any of these pages is sign in.
        if (next) next.hidden = false;
        return;
      }
      var err = r.payload && r.payload.error && r.payload.error.json;
      button.disabled = false;
      if (passwordStep && err && err.data && err.data.regstackCode === "PASSWORD_REQUIRED") {
        passwordStep.hidden = false;
        signUpPassword.focus();
        show("info", describe(err));
        return;
      }
      show("error", describe(err));
    }).catch(function () { button.disabled = false; show("error", "The server could not be reached. Try again."); });
  });
})();
`;
