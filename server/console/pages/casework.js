// Social-worker pages: the caseload (overdue follow-ups first, as the server orders it), the
// organisation's clients, a client's page (their consents) and the referral form, which checks
// the person's eligibility for the chosen service (CheckEligibility) before sending the referral.

import { gql } from '../api.js';
import { lang, t } from '../i18n.js';
import { act, field, formatTime, h, heading, loadFailure, statusLine, table } from '../ui.js';
import { countsBox, newKey } from './referrals.js';

// Same operation names as mobile-client-spec/operations, so /metrics counts them there.
const CASELOAD = `query MyCaseload($first: Int, $after: String) {
  myCaseload(first: $first, after: $after) {
    edges { node { id code status urgency followUpOn endedAt service { name } client { displayName } } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const CLIENTS = `query Clients($first: Int, $after: String, $phone: String) {
  clients(first: $first, after: $after, phone: $phone) {
    edges { cursor node { id displayNameMasked phoneMasked sensitive } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const CLIENT = `query Client($id: ID!) {
  client(id: $id) {
    id displayName phoneMasked preferredLanguage createdAt erasedAt
    consents { id recipientOrganizationId dataScope purpose method capturedAt withdrawnAt }
  }
}`;
const SERVICES = `query ServicesInRegion($adcode: String!, $categories: [ServiceCategory!], $first: Int, $after: String) {
  servicesInRegion(adcode: $adcode, categories: $categories, first: $first, after: $after) {
    edges { cursor node { id name organizationName } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const CHECK = `query CheckEligibility($serviceId: ID!, $situation: SituationInput!, $language: Language) {
  checkEligibility(serviceId: $serviceId, situation: $situation, language: $language) {
    serviceId serviceName verdict summary requirements { kind outcome explanation }
  }
}`;
const CREATE = `mutation CreateReferral($clientId: ID!, $serviceId: ID!, $live: Boolean!, $needs: String, $idempotencyKey: String!) {
  createReferral(clientId: $clientId, serviceId: $serviceId, live: $live, needs: $needs, idempotencyKey: $idempotencyKey) { id code status }
}`;

/** Today in China Standard Time, as YYYY-MM-DD (follow-up dates are Chinese calendar days). */
function todayInChina() {
  return new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
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
    list.replaceChildren(table(['referralCode', 'clientName', 'service', 'status', 'followUpOn'], edges.map(({ node }) => {
      const overdue = node.followUpOn && !node.endedAt && node.followUpOn < today;
      return [
        h('a', { href: `#/referral/${node.id}` }, node.code),
        node.client && node.client.displayName ? node.client.displayName : '—',
        node.service ? node.service.name : t('serviceGone'),
        h('span', { class: `badge ${node.status.toLowerCase()}` }, t(node.status)),
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
  container.append(list);
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

export async function clientPage(container, id) {
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
  container.replaceChildren(
    h('p', {}, h('a', { href: '#/clients' }, `← ${t('back')}`)),
    heading(client.displayName || t('clientTitle')),
    h('dl', { class: 'facts' },
      h('dt', {}, t('phone')), h('dd', {}, client.phoneMasked || '—'),
      h('dt', {}, t('preferredLanguage')), h('dd', {}, client.preferredLanguage || '—'),
      h('dt', {}, t('createdAt')), h('dd', {}, formatTime(client.createdAt))),
    h('section', { class: 'card' }, h('h2', {}, t('consentsTitle')), client.consents.length
      ? table(['consentFor', 'consentScope', 'consentPurpose', 'capturedAt', 'status'], client.consents.map((c) => [
        c.recipientOrganizationId,
        c.dataScope.map((f) => t(`clientField.${f}`)).join('、'),
        c.purpose || '',
        formatTime(c.capturedAt),
        c.withdrawnAt ? `${t('withdrawn')} ${formatTime(c.withdrawnAt)}` : t('current'),
      ]))
      : h('p', { class: 'help' }, t('noConsents'))),
    client.erasedAt ? null : referralForm(client),
    h('p', { class: 'help' }, t('clientReferralsHelp')),
  );
}

/**
 * The referral form: pick a service, answer what the person knows of their situation, check
 * eligibility, then send. One idempotency key per form: a retry after a network failure
 * returns the referral already made instead of a second one.
 */
function referralForm(client) {
  const key = newKey();
  const adcode = h('input', { name: 'adcode', value: '310000', inputmode: 'numeric', maxlength: 6, size: 8 });
  const service = h('select', { name: 'service', required: true }, h('option', { value: '' }, t('chooseService')));
  const loadStatus = statusLine();
  const loadButton = h('button', {
    type: 'button',
    onclick: () => act(loadButton, loadStatus, async () => {
      const { servicesInRegion } = await gql(SERVICES, { adcode: adcode.value.trim(), first: 50 });
      service.replaceChildren(h('option', { value: '' }, t('chooseService')), ...servicesInRegion.edges.map(({ node }) =>
        h('option', { value: node.id }, `${node.name} · ${node.organizationName || ''}`)));
      invalidate();
      return servicesInRegion.edges.length;
    }, (count) => t('servicesFound', { count })),
  }, t('findServices'));
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
  // A changed service or situation needs a new check before sending.
  const invalidate = () => { send.disabled = true; verdict.replaceChildren(); };
  for (const input of [service, hukou, contract, permit, insurance, age]) input.addEventListener('change', invalidate);
  const check = h('button', {
    type: 'button',
    name: 'check',
    onclick: async () => {
      if (!service.value) {
        checkStatus.className = 'feedback error';
        checkStatus.textContent = t('chooseServiceFirst');
        service.focus();
        return;
      }
      const result = await act(check, checkStatus, () => gql(CHECK, {
        serviceId: service.value,
        situation: situation(),
        language: lang() === 'en' ? 'EN' : 'ZH',
      }), t('checked'));
      if (!result) return;
      const e = result.checkEligibility;
      verdict.replaceChildren(
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
        idempotencyKey: key,
      }), (result) => t('referralSent', { code: result.createReferral.code }));
      if (made) location.hash = `#/referral/${made.createReferral.id}`;
    },
  },
  h('h2', { id: 'refer-title' }, t('referTitle')),
  h('div', { class: 'inline-form' }, field('adcode', adcode), loadButton, loadStatus),
  field('service', service),
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
