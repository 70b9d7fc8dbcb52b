// The console's shell: sign-in, the navigation of the signed-in role, and the pages by address
// (#/area, #/listing/<id>, …). Pages are functions page(container, ...params) in pages/*.js;
// a new page is one entry in ROUTES (see docs/console/README.md, "Adding pages").

import { currentAccount, onSessionExpired, renew, signIn, signOut } from './api.js';
import { lang, setLang, t } from './i18n.js';
import { failureText, h } from './ui.js';
import * as committee from './pages/committee.js';
import * as listing from './pages/listing.js';
import * as provider from './pages/provider.js';
import * as referrals from './pages/referrals.js';
import * as casework from './pages/casework.js';

const COMMITTEE = 'COMMITTEE_STAFF';
const PROVIDER = 'PROVIDER_STAFF';
const SOCIAL_WORKER = 'SOCIAL_WORKER';
const ADMIN = 'ADMIN';
const STAFF_ROLES = [COMMITTEE, PROVIDER, SOCIAL_WORKER, ADMIN];

/**
 * Every page: its address, the roles that see it, its navigation label (none: reached from
 * another page) and the function that draws it.
 */
const ROUTES = [
  { path: /^#\/area$/, nav: 'navArea', roles: [COMMITTEE, ADMIN], page: committee.areaPage },
  { path: /^#\/stale$/, nav: 'navStale', roles: [COMMITTEE, ADMIN], page: committee.stalePage },
  { path: /^#\/suggestions$/, nav: 'navSuggestions', roles: [COMMITTEE, ADMIN], page: committee.suggestionsPage },
  { path: /^#\/import$/, nav: 'navImport', roles: [COMMITTEE, ADMIN], page: committee.importPage },
  { path: /^#\/services$/, nav: 'navServices', roles: [PROVIDER, ADMIN], page: provider.servicesPage },
  { path: /^#\/inbox$/, nav: 'navInbox', roles: [PROVIDER], page: referrals.inboxPage },
  { path: /^#\/caseload$/, nav: 'navCaseload', roles: [SOCIAL_WORKER], page: casework.caseloadPage },
  { path: /^#\/clients$/, nav: 'navClients', roles: [SOCIAL_WORKER], page: casework.clientsPage },
  { path: /^#\/client\/([\w-]+)$/, roles: [SOCIAL_WORKER], page: casework.clientPage },
  { path: /^#\/referral\/([\w-]+)$/, roles: [PROVIDER, SOCIAL_WORKER], page: referrals.referralPage },
  { path: /^#\/listing\/([\w-]+)$/, roles: [COMMITTEE, ADMIN], page: listing.listingPage },
  { path: /^#\/service\/([\w-]+)$/, roles: [COMMITTEE, PROVIDER, ADMIN], page: provider.servicePage },
];

/** Where each role starts. */
const HOME = { [COMMITTEE]: '#/area', [PROVIDER]: '#/services', [SOCIAL_WORKER]: '#/caseload', [ADMIN]: '#/area' };

const main = document.getElementById('main');
const header = document.getElementById('top');

function languageButton() {
  return h('button', {
    type: 'button',
    class: 'link-button',
    'aria-label': t('languageLabel'),
    onclick: () => {
      setLang(lang() === 'en' ? 'zh' : 'en');
      render();
    },
  }, t('language'));
}

/** The sign-in form; `onDone(account)` runs after signing in. Typed values stay on failure. */
function signInForm(onDone, intro) {
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const status = h('p', { class: 'feedback', role: 'status', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', class: 'primary' }, t('signIn'));
  const form = h('form', {
    class: 'sign-in',
    onsubmit: async (event) => {
      event.preventDefault();
      button.disabled = true;
      status.className = 'feedback busy';
      status.textContent = t('signingIn');
      try {
        const account = await signIn(username.value.trim(), password.value);
        password.value = '';
        status.textContent = '';
        onDone(account);
      } catch (error) {
        status.className = 'feedback error';
        status.textContent = failureText(error);
        password.select();
      } finally {
        button.disabled = false;
      }
    },
  },
  intro ? h('p', { class: 'notice', role: 'alert' }, intro) : null,
  h('div', { class: 'field' }, h('label', { for: 'sign-in-username' }, t('username')), Object.assign(username, { id: 'sign-in-username' })),
  h('div', { class: 'field' }, h('label', { for: 'sign-in-password' }, t('password')), Object.assign(password, { id: 'sign-in-password' })),
  button,
  status);
  return { form, focus: () => username.focus() };
}

function showSignIn() {
  header.replaceChildren(h('span', { class: 'brand' }, t('appName')), h('span', { class: 'spacer' }), languageButton());
  const { form, focus } = signInForm((account) => {
    location.hash = HOME[account.role] || '#/area';
    render();
  });
  main.replaceChildren(h('section', { class: 'card narrow' }, h('h1', {}, t('signInTitle')), h('p', {}, t('signInHelp')), form));
  focus();
}

/**
 * The session ran out: sign in again in a dialog over the page, so the form being edited stays
 * as it is; the request that found the session gone is retried afterwards. Someone signing in
 * as another account gets a fresh page instead (the open form was not theirs).
 */
let expiryDialog = null;
function signInAgain() {
  if (expiryDialog) return expiryDialog.promise;
  const previous = currentAccount();
  let resolve;
  const promise = new Promise((done) => { resolve = done; });
  const dialog = h('dialog', { class: 'expired', 'aria-labelledby': 'expired-title' });
  const { form, focus } = signInForm((account) => {
    dialog.close();
    dialog.remove();
    expiryDialog = null;
    if (previous && account.id !== previous.id) {
      sessionStorage.setItem('qiao.console.notice', 'otherAccount');
      location.hash = HOME[account.role] || '#/area';
      location.reload();
      return;
    }
    resolve();
  }, t('sessionExpired'));
  dialog.append(h('h2', { id: 'expired-title' }, t('signInTitle')), form);
  // Escape must not leave the page half-signed-out with nowhere to go.
  dialog.addEventListener('cancel', (event) => event.preventDefault());
  document.body.append(dialog);
  dialog.showModal();
  focus();
  expiryDialog = { promise };
  return promise;
}
onSessionExpired(signInAgain);

function navigation(account) {
  const items = ROUTES.filter((route) => route.nav && route.roles.includes(account.role));
  return h('nav', { 'aria-label': t('appName') }, h('ul', {}, items.map((route) => {
    const href = route.path.source.replace(/^\^/, '').replace(/\$$/, '').replace(/\\\//g, '/');
    const current = location.hash === href;
    return h('li', {}, h('a', { href, 'aria-current': current ? 'page' : null }, t(route.nav)));
  })));
}

function shell(account) {
  const out = h('button', {
    type: 'button',
    class: 'link-button',
    onclick: async () => {
      await signOut().catch(() => {});
      location.hash = '';
      render();
    },
  }, t('signOut'));
  header.replaceChildren(
    h('span', { class: 'brand' }, t('appName')),
    navigation(account),
    h('span', { class: 'spacer' }),
    h('span', { class: 'who' }, t('signedInAs'), account.displayName),
    languageButton(),
    out,
  );
}

let rendering = 0;
async function render() {
  const ticket = ++rendering;
  const account = currentAccount();
  if (!account) return showSignIn();
  if (!STAFF_ROLES.includes(account.role)) {
    await signOut().catch(() => {});
    showSignIn();
    main.prepend(h('p', { class: 'feedback error', role: 'alert' }, t('notStaff')));
    return;
  }
  if (!location.hash || location.hash === '#') location.hash = HOME[account.role];
  shell(account);
  const route = ROUTES.find((r) => r.path.test(location.hash) && r.roles.includes(account.role));
  const container = h('div', { class: 'page' });
  main.replaceChildren(container);
  const notice = sessionStorage.getItem('qiao.console.notice');
  if (notice) {
    sessionStorage.removeItem('qiao.console.notice');
    main.prepend(h('p', { class: 'notice', role: 'status' }, t(notice)));
  }
  if (!route) {
    container.append(h('h1', {}, t('notFound')));
    return;
  }
  const params = route.path.exec(location.hash).slice(1);
  await route.page(container, ...params);
  // Move the focus to the new page's heading, as a page load would.
  if (ticket === rendering) {
    const title = container.querySelector('h1');
    if (title) title.focus({ preventScroll: false });
  }
}

window.addEventListener('hashchange', () => render());

(async function start() {
  main.replaceChildren(h('p', { class: 'feedback busy' }, t('loading')));
  await renew().catch(() => null);
  render();
})();
