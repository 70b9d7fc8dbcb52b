// Social-worker pages: the caseload (overdue follow-ups first, as the server orders it), the
// organisation's clients (and recording a new one), a client's page (their consents, recorded
// and withdrawn there, and their referrals) and the referral form, which checks the person's
// eligibility for the chosen service (CheckEligibility) before sending the referral. Services
// and recipient organisations are found by typing part of a name (Chinese, English or pinyin).

import { gql } from '../api.js';
import { lang, t } from '../i18n.js';
import { act, failureText, field, fill, formatTime, h, heading, loadFailure, statusLine, table } from '../ui.js';
import { categoryNamer, categoryTree } from '../words.js';
import { countsBox, newKey } from './referrals.js';

// Same operation names as mobile-client-spec/operations, so /metrics counts them there.
const CASELOAD = `query MyCaseload($first: Int, $after: String) {
  myCaseload(first: $first, after: $after) {
    edges { node { id code status urgency needCategories followUpOn endedAt service { name } client { displayName } } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const CLIENTS = `query Clients($first: Int, $after: String, $phone: String) {
  clients(first: $first, after: $after, phone: $phone) {
    edges { cursor node { id displayNameMasked phoneMasked sensitive } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const CREATE_CLIENT = `mutation CreateClient($displayName: String!, $phone: String, $preferredLanguage: String, $idempotencyKey: String) {
  createClient(displayName: $displayName, phone: $phone, preferredLanguage: $preferredLanguage, idempotencyKey: $idempotencyKey) { id displayName phoneMasked }
}`;
const CLIENT = `query Client($id: ID!) {
  client(id: $id) {
    id displayName phoneMasked preferredLanguage createdAt erasedAt
    consents { id recipientOrganizationId recipientOrganization { id name } dataScope purpose method capturedAt withdrawnAt }
  }
}`;
const CLIENT_REFERRALS = `query ClientReferrals($clientId: ID!, $first: Int, $after: String) {
  client(id: $clientId) {
    id
    referrals(first: $first, after: $after) {
      edges { cursor node { id code status live needCategories createdAt sentAt endedAt followUpOn service { id name } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;
const RECORD_CONSENT = `mutation RecordConsent($clientId: ID!, $recipientOrganizationId: ID!, $purpose: String!, $dataScope: [ClientField!], $method: ConsentMethod) {
  recordConsent(clientId: $clientId, recipientOrganizationId: $recipientOrganizationId, purpose: $purpose, dataScope: $dataScope, method: $method) { id }
}`;
const WITHDRAW_CONSENT = `mutation WithdrawConsent($consentId: ID!) {
  withdrawConsent(consentId: $consentId) { id withdrawnAt }
}`;
const NEARBY = `query NearbyServices($near: GeoPointInput!, $radiusMeters: Int!, $text: String, $first: Int) {
  nearbyServices(near: $near, radiusMeters: $radiusMeters, text: $text, first: $first) {
    edges { node { id name organizationName } }
    areaServices { id name organizationName }
  }
}`;
const SERVICE_ORGANIZATION = `query ServiceDetail($id: ID!) {
  service(id: $id) { id name organization { id name } }
}`;
const CHECK = `query CheckEligibility($serviceId: ID!, $situation: SituationInput!, $language: Language) {
  checkEligibility(serviceId: $serviceId, situation: $situation, language: $language) {
    serviceId serviceName verdict summary requirements { kind outcome explanation }
  }
}`;
const CREATE = `mutation CreateReferral($clientId: ID!, $serviceId: ID!, $live: Boolean!, $needs: String, $needCategories: [ServiceCategory!], $idempotencyKey: String!) {
  createReferral(clientId: $clientId, serviceId: $serviceId, live: $live, needs: $needs, needCategories: $needCategories, idempotencyKey: $idempotencyKey) { id code status }
}`;

/**
 * Where a name search looks: the cities Qiao lists, each searched within 50 km of its centre
 * (WGS-84), the widest radius the search takes. The worker picks a city, never a code.
 */
const CITIES = [
  { key: 'shanghai', names: ['上海', 'Shanghai'], lat: 31.2304, lon: 121.4737 },
  { key: 'guiyang', names: ['贵阳', 'Guiyang'], lat: 26.647, lon: 106.6302 },
  { key: 'zhijin', names: ['毕节·织金', 'Bijie · Zhijin'], lat: 26.667, lon: 105.767 },
];
const SEARCH_RADIUS_M = 50000;

/** Preferred languages offered when recording a client (codes the server keeps). */
const LANGUAGES = [['zh-CN', 'langZh'], ['yue', 'langYue'], ['wuu', 'langWuu'], ['nan', 'langNan'], ['hsn', 'langHsn'], ['en', 'langEn']];

/** A language code in words when the console knows it (the code itself otherwise). */
function languageName(code) {
  if (!code) return '—';
  const known = LANGUAGES.find(([known]) => known.toLowerCase() === code.toLowerCase());
  return known ? t(known[1]) : code;
}

/** Today in China Standard Time, as YYYY-MM-DD (follow-up dates are Chinese calendar days). */
function todayInChina() {
  return new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
}

function badge(status) {
  return h('span', { class: `badge ${status.toLowerCase()}` }, t(status));
}

/**
 * A service found by name: a city, a box to type part of the name in (Chinese, English or
 * pinyin; the search runs as one types, or on Enter) and the matches to pick from.
 * `onResults` runs whenever the matches are replaced (the choice is then empty again).
 */
function servicePicker(name, labelKey, onResults) {
  const city = h('select', { name: `${name}-city` },
    CITIES.map((c) => h('option', { value: c.key }, c.names[lang() === 'en' ? 1 : 0])));
  const text = h('input', { name: `${name}-text`, type: 'search', maxlength: 100, autocomplete: 'off' });
  const matches = h('select', { name, required: true }, h('option', { value: '' }, t('typeToSearch')));
  const status = statusLine();
  let timer = null;
  let asked = 0;
  const search = async () => {
    clearTimeout(timer);
    const words = text.value.trim();
    asked += 1;
    const mine = asked;
    if (!words) {
      matches.replaceChildren(h('option', { value: '' }, t('typeToSearch')));
      status.className = 'feedback';
      status.textContent = '';
      if (onResults) onResults();
      return;
    }
    const centre = CITIES.find((c) => c.key === city.value) || CITIES[0];
    status.className = 'feedback busy';
    status.textContent = t('searching');
    try {
      const { nearbyServices } = await gql(NEARBY, {
        near: { lat: centre.lat, lon: centre.lon, datum: 'WGS84' },
        radiusMeters: SEARCH_RADIUS_M,
        text: words,
        first: 30,
      });
      // An older search answering late must not replace a newer one's matches.
      if (mine !== asked) return;
      const found = new Map();
      for (const service of [...nearbyServices.edges.map((e) => e.node), ...nearbyServices.areaServices]) {
        found.set(service.id, service);
      }
      matches.replaceChildren(
        h('option', { value: '' }, found.size ? t('chooseService') : t('noServiceFound')),
        ...[...found.values()].map((s) => h('option', { value: s.id }, `${s.name} · ${s.organizationName}`)),
      );
      status.className = found.size ? 'feedback ok' : 'feedback error';
      status.textContent = found.size ? t('servicesFound', { count: found.size }) : t('noServiceFound');
    } catch (error) {
      if (mine !== asked) return;
      status.className = 'feedback error';
      status.textContent = failureText(error);
    }
    if (onResults) onResults();
  };
  text.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(search, 350);
  });
  text.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      search();
    }
  });
  city.addEventListener('change', search);
  const element = h('div', { class: 'picker' },
    h('div', { class: 'inline-form' }, field('city', city), field(labelKey, text)),
    h('p', { class: 'help' }, t('serviceSearchHelp')),
    field('matches', matches),
    status);
  return { element, matches, text };
}

export async function caseloadPage(container) {
  container.replaceChildren(heading(t('caseloadTitle')), h('p', { class: 'help' }, t('caseloadHelp')));
  const list = h('div', {}, h('p', { class: 'feedback busy' }, t('loading')));
  container.append(list);
  const counts = await countsBox();
  container.insertBefore(counts, list);
  try {
    const edges = [];
    let after = null;
    for (let page = 0; page < 20; page += 1) {
      const { myCaseload } = await gql(CASELOAD, { first: 50, after });
      edges.push(...myCaseload.edges);
      if (!myCaseload.pageInfo.hasNextPage) break;
      after = myCaseload.pageInfo.endCursor;
    }
    if (!edges.length) {
      list.replaceChildren(h('p', { class: 'help' }, t('noReferrals')));
      return;
    }
    const today = todayInChina();
    const categories = await categoryNamer();
    list.replaceChildren(table(['referralCode', 'clientName', 'service', 'needCategories', 'status', 'followUpOn'], edges.map(({ node }) => {
      const overdue = node.followUpOn && !node.endedAt && node.followUpOn < today;
      return [
        h('a', { href: `#/referral/${node.id}` }, node.code),
        node.client && node.client.displayName ? node.client.displayName : '—',
        node.service ? node.service.name : t('serviceGone'),
        categories(node.needCategories),
        badge(node.status),
        overdue ? h('strong', { class: 'overdue' }, `${node.followUpOn} · ${t('overdue')}`) : node.followUpOn || '',
      ];
    })));
  } catch (error) {
    loadFailure(list, error);
  }
}

export async function clientsPage(container) {
  container.replaceChildren(heading(t('clientsTitle')));
  const list = h('div', {}, h('p', { class: 'feedback busy' }, t('loading')));
  container.append(newClientForm(), list);
  try {
    const { clients } = await gql(CLIENTS, { first: 50 });
    if (!clients.edges.length) {
      list.replaceChildren(h('p', { class: 'help' }, t('noClients')));
      return;
    }
    list.replaceChildren(table(['clientName', 'phone'], clients.edges.map(({ node }) => [
      h('a', { href: `#/client/${node.id}` }, node.displayNameMasked || '—'),
      node.phoneMasked || '',
    ])));
  } catch (error) {
    loadFailure(list, error);
  }
}

/**
 * Recording a client: the least that works (a name or alias; phone and language if the person
 * wants). One idempotency key per set of values: a retry of the same values after a network
 * failure returns the client already made; changing a value makes it a new attempt.
 */
function newClientForm() {
  let key = newKey();
  const name = h('input', { name: 'client-name', required: true, maxlength: 200, autocomplete: 'off' });
  const phone = h('input', { name: 'client-phone', type: 'tel', inputmode: 'tel', maxlength: 20, autocomplete: 'off' });
  const language = h('select', { name: 'client-language' }, h('option', { value: '' }, t('notGiven')),
    LANGUAGES.map(([code, word]) => h('option', { value: code }, t(word))));
  const status = statusLine();
  const submit = h('button', { type: 'submit', class: 'primary' }, t('createClient'));
  const form = h('form', {
    class: 'card',
    'aria-labelledby': 'new-client-title',
    novalidate: true,
    oninput: () => { key = newKey(); },
    onsubmit: async (event) => {
      event.preventDefault();
      if (!name.value.trim()) {
        status.className = 'feedback error';
        status.textContent = t('nameNeeded');
        name.focus();
        return;
      }
      const made = await act(submit, status, () => gql(CREATE_CLIENT, {
        displayName: name.value.trim(),
        phone: phone.value.trim() || null,
        preferredLanguage: language.value || null,
        idempotencyKey: key,
      }), t('clientCreated'));
      if (made) location.hash = `#/client/${made.createClient.id}`;
    },
  },
  h('h2', { id: 'new-client-title' }, t('newClientTitle')),
  h('p', { class: 'help' }, t('newClientHelp')),
  h('div', { class: 'inline-form' }, field('clientName', name), field('phone', phone), field('preferredLanguage', language)),
  h('div', { class: 'actions' }, submit, status));
  return form;
}

/**
 * A client's page; `notice` (after recording or withdrawing a consent) is said at the top and
 * the focus goes to the heading, since the button that was pressed is gone once redrawn.
 */
export async function clientPage(container, id, notice) {
  container.replaceChildren(heading(t('clientTitle')), h('p', { class: 'feedback busy' }, t('loading')));
  let client;
  try {
    ({ client } = await gql(CLIENT, { id }));
  } catch (error) {
    loadFailure(container, error);
    container.prepend(heading(t('clientTitle')));
    return;
  }
  if (!client) {
    container.replaceChildren(heading(t('clientTitle')), h('p', { class: 'feedback error', role: 'alert' }, t('clientMissing')));
    return;
  }
  const reload = (said) => clientPage(container, id, said);
  const referrals = h('section', { class: 'card', 'aria-labelledby': 'client-referrals-title' },
    h('h2', { id: 'client-referrals-title' }, t('clientReferralsTitle')), h('p', { class: 'feedback busy' }, t('loading')));
  fill(container,
    h('p', {}, h('a', { href: '#/clients' }, `← ${t('back')}`)),
    heading(client.displayName || t('clientTitle')),
    notice ? h('p', { class: 'feedback ok', role: 'status' }, notice) : null,
    h('dl', { class: 'facts' },
      h('dt', {}, t('phone')), h('dd', {}, client.phoneMasked || '—'),
      h('dt', {}, t('preferredLanguage')), h('dd', {}, languageName(client.preferredLanguage)),
      h('dt', {}, t('createdAt')), h('dd', {}, formatTime(client.createdAt))),
    consentsSection(client, reload),
    referrals,
    client.erasedAt ? null : referralForm(client),
  );
  if (notice) container.querySelector('h1').focus();
  await fillClientReferrals(referrals, client.id);
}

function consentsSection(client, reload) {
  const rows = client.consents.map((c) => {
    const status = statusLine();
    const withdraw = c.withdrawnAt || client.erasedAt ? null : h('button', {
      type: 'button',
      class: 'danger',
      name: 'withdraw-consent',
      onclick: async () => {
        if (!window.confirm(t('withdrawConfirm'))) return;
        const done = await act(withdraw, status, () => gql(WITHDRAW_CONSENT, { consentId: c.id }), t('consentWithdrawn'));
        if (done) await reload(t('consentWithdrawn'));
      },
    }, t('withdrawConsent'));
    return [
      c.recipientOrganization ? c.recipientOrganization.name : t('organizationGone'),
      c.dataScope.map((f) => t(`clientField.${f}`)).join('、'),
      c.purpose || '',
      formatTime(c.capturedAt),
      c.withdrawnAt ? `${t('withdrawn')} ${formatTime(c.withdrawnAt)}` : t('current'),
      withdraw ? h('div', {}, withdraw, status) : '',
    ];
  });
  return h('section', { class: 'card', 'aria-labelledby': 'consents-title' },
    h('h2', { id: 'consents-title' }, t('consentsTitle')),
    rows.length
      ? table(['consentFor', 'consentScope', 'consentPurpose', 'capturedAt', 'status', 'actionsTitle'], rows)
      : h('p', { class: 'help' }, t('noConsents')),
    client.erasedAt ? null : consentForm(client, reload));
}

/**
 * Recording a consent: the recipient organisation is found through one of its services' names
 * (what a worker knows), shown by name before anything is recorded.
 */
function consentForm(client, reload) {
  let organization = null;
  const chosen = h('p', { class: 'chosen-organization', 'aria-live': 'polite' });
  const picker = servicePicker('consent-service', 'consentSearch', () => {
    organization = null;
    chosen.textContent = '';
  });
  picker.matches.addEventListener('change', async () => {
    organization = null;
    chosen.textContent = '';
    if (!picker.matches.value) return;
    const asked = picker.matches.value;
    try {
      const { service } = await gql(SERVICE_ORGANIZATION, { id: asked });
      if (picker.matches.value !== asked) return;
      organization = service && service.organization;
      chosen.textContent = organization ? `${t('consentFor')}：${organization.name}` : t('organizationGone');
    } catch (error) {
      chosen.textContent = failureText(error);
    }
  });
  const purpose = h('input', { name: 'consent-purpose', required: true, maxlength: 500, autocomplete: 'off' });
  const scope = ['DISPLAY_NAME', 'PHONE', 'PREFERRED_LANGUAGE', 'NOTES'].map((f) => {
    const box = h('input', { type: 'checkbox', name: 'consent-scope', value: f, checked: f !== 'NOTES', id: `consent-scope-${f}` });
    return [box, h('label', { class: 'check' }, box, ` ${t(`clientField.${f}`)}`)];
  });
  const method = h('select', { name: 'consent-method' },
    ['SPOKEN', 'SIGNED', 'IN_APP'].map((m) => h('option', { value: m }, t(`method.${m}`))));
  const status = statusLine();
  const submit = h('button', { type: 'submit', class: 'primary' }, t('recordConsent'));
  // The console's own messages (in the chosen language) instead of the browser's bubbles.
  return h('form', {
    'aria-labelledby': 'consent-form-title',
    novalidate: true,
    onsubmit: async (event) => {
      event.preventDefault();
      const fail = (word, focus) => {
        status.className = 'feedback error';
        status.textContent = t(word);
        focus.focus();
      };
      if (!organization) return fail('chooseOrganizationFirst', picker.text);
      if (!purpose.value.trim()) return fail('purposeNeeded', purpose);
      const done = await act(submit, status, () => gql(RECORD_CONSENT, {
        clientId: client.id,
        recipientOrganizationId: organization.id,
        purpose: purpose.value.trim(),
        dataScope: scope.filter(([box]) => box.checked).map(([box]) => box.value),
        method: method.value,
      }), t('consentRecorded', { name: organization.name }));
      if (done) await reload(t('consentRecorded', { name: organization.name }));
      return undefined;
    },
  },
  h('h3', { id: 'consent-form-title' }, t('recordConsentTitle')),
  picker.element,
  chosen,
  field('consentPurpose', purpose),
  h('fieldset', {}, h('legend', {}, t('consentScope')), h('div', { class: 'inline-list' }, scope.map(([, label]) => label))),
  field('consentMethod', method),
  h('div', { class: 'actions' }, submit, status));
}

/** The client's referrals, newest first, a page at a time ("more" continues). */
async function fillClientReferrals(section, clientId) {
  const title = section.querySelector('h2');
  const categories = await categoryNamer();
  const rows = [];
  const body = h('div', {});
  section.replaceChildren(title, body);
  const load = async (after) => {
    const { client } = await gql(CLIENT_REFERRALS, { clientId, first: 20, after });
    if (!client) throw new Error(t('clientMissing'));
    const page = client.referrals;
    rows.push(...page.edges.map(({ node }) => [
      h('a', { href: `#/referral/${node.id}` }, node.code),
      node.service ? node.service.name : t('serviceGone'),
      badge(node.status),
      categories(node.needCategories),
      formatTime(node.sentAt || node.createdAt),
      node.endedAt ? `${t('endedAt')} ${formatTime(node.endedAt)}` : node.followUpOn ? `${t('followUpOn')} ${node.followUpOn}` : '',
    ]));
    const more = page.pageInfo.hasNextPage ? h('button', {
      type: 'button',
      onclick: async () => {
        more.disabled = true;
        try {
          await load(page.pageInfo.endCursor);
        } catch (error) {
          body.append(h('p', { class: 'feedback error', role: 'alert' }, failureText(error)));
        }
      },
    }, t('more')) : null;
    fill(body, rows.length
      ? table(['referralCode', 'service', 'status', 'needCategories', 'sentAt', 'followUpOn'], rows)
      : h('p', { class: 'help' }, t('noClientReferrals')), more);
  };
  try {
    await load(null);
  } catch (error) {
    loadFailure(body, error);
  }
}

/**
 * The referral form: find the service by name, answer what the person knows of their situation,
 * check eligibility, then send. One idempotency key per form: a retry after a network failure
 * returns the referral already made instead of a second one.
 */
function referralForm(client) {
  const key = newKey();
  // A changed service or situation needs a new check before sending.
  const invalidate = () => { send.disabled = true; verdict.replaceChildren(); };
  const picker = servicePicker('service', 'serviceSearch', () => invalidate());
  const service = picker.matches;
  const need = h('select', { name: 'need-category' }, h('option', { value: '' }, t('notGiven')));
  categoryTree().then((tree) => {
    need.append(...tree.map((c) => h('option', { value: c.code }, `${'— '.repeat(c.depth)}${c.name}`)));
  }).catch(() => {
    need.disabled = true;
  });
  const yesNo = (name) => h('select', { name },
    h('option', { value: '' }, t('unknown')), h('option', { value: 'true' }, t('yes')), h('option', { value: 'false' }, t('no')));
  const hukou = yesNo('localHukou');
  const contract = yesNo('labourContract');
  const permit = h('input', { name: 'residencePermitMonths', type: 'number', min: 0, max: 1200 });
  const insurance = h('input', { name: 'socialInsuranceMonths', type: 'number', min: 0, max: 1200 });
  const age = h('input', { name: 'age', type: 'number', min: 0, max: 150 });
  const needs = h('textarea', { name: 'needs', rows: 3, maxlength: 2000 });
  const live = h('input', { name: 'live', type: 'checkbox', checked: true });
  const verdict = h('div', { class: 'verdict', 'aria-live': 'polite' });
  const checkStatus = statusLine();
  const sendStatus = statusLine();
  const send = h('button', { type: 'submit', class: 'primary', disabled: true }, t('sendReferral'));
  const situation = () => {
    const out = {};
    const bool = (select) => (select.value === '' ? undefined : select.value === 'true');
    const num = (input) => (input.value === '' ? undefined : Number(input.value));
    out.localHukou = bool(hukou);
    out.labourContract = bool(contract);
    out.residencePermitMonths = num(permit);
    out.socialInsuranceMonths = num(insurance);
    out.age = num(age);
    return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
  };
  for (const input of [service, hukou, contract, permit, insurance, age]) input.addEventListener('change', invalidate);
  const check = h('button', {
    type: 'button',
    name: 'check',
    onclick: async () => {
      if (!service.value) {
        checkStatus.className = 'feedback error';
        checkStatus.textContent = t('chooseServiceFirst');
        (service.options.length > 1 ? service : picker.text).focus();
        return;
      }
      const result = await act(check, checkStatus, () => gql(CHECK, {
        serviceId: service.value,
        situation: situation(),
        language: lang() === 'en' ? 'EN' : 'ZH',
      }), t('checked'));
      if (!result) return;
      const e = result.checkEligibility;
      fill(verdict,
        h('p', {}, h('strong', {}, t(`verdict.${e.verdict}`)), ' ', e.summary || ''),
        e.requirements.length ? h('ul', {}, e.requirements.map((r) => h('li', {}, `${t(`verdict.${r.outcome}`)}: ${r.explanation || r.kind}`))) : null,
      );
      send.disabled = false;
    },
  }, t('checkEligibility'));
  const form = h('form', {
    class: 'card',
    'aria-labelledby': 'refer-title',
    onsubmit: async (event) => {
      event.preventDefault();
      const made = await act(send, sendStatus, () => gql(CREATE, {
        clientId: client.id,
        serviceId: service.value,
        live: live.checked,
        needs: needs.value.trim() || null,
        needCategories: need.value ? [need.value] : null,
        idempotencyKey: key,
      }), (result) => t('referralSent', { code: result.createReferral.code }));
      if (made) location.hash = `#/referral/${made.createReferral.id}`;
    },
  },
  h('h2', { id: 'refer-title' }, t('referTitle')),
  picker.element,
  field('needCategories', need),
  h('fieldset', {}, h('legend', {}, t('situationTitle')),
    h('div', { class: 'inline-form' }, field('localHukou', hukou), field('labourContract', contract),
      field('residencePermitMonths', permit), field('socialInsuranceMonths', insurance), field('age', age))),
  h('div', { class: 'actions' }, check, checkStatus),
  verdict,
  field('needs', needs),
  h('div', { class: 'field inline' }, live, h('label', { for: 'refer-live' }, t('liveLabel'))),
  h('div', { class: 'actions' }, send, sendStatus));
  live.id = 'refer-live';
  return form;
}
