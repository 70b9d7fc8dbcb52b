// Referral pages. Provider staff: the inbox (new referrals to their services, counts by status)
// and a referral's page with the moves the server allows now (accept, reject with a reason,
// start, hold, complete or fail with an outcome). Only what the API returns is shown: the
// client's fields are there only when the referral is live and the client's consent covers them.

import { gql } from '../api.js';
import { t } from '../i18n.js';
import { act, field, fill, formatTime, h, heading, loadFailure, statusLine, table } from '../ui.js';
import { categoryNamer } from '../words.js';

// Same operation names as mobile-client-spec/operations, so /metrics counts them there.
const INBOX = `query ReferralInbox($first: Int, $after: String) {
  referralInbox(first: $first, after: $after) {
    edges { node { id code status urgency live needCategories sentAt createdAt service { id name } } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const COUNTS = `query ReferralCounts { referralCounts { status count } }`;
const REFERRAL = `query Referral($id: ID!) {
  referral(id: $id) {
    id code status live urgency needCategories needs outcome followUpOn reasonCode
    createdAt sentAt acceptedAt endedAt nextStatuses
    service { id name }
    client { displayName phone preferredLanguage }
    events { status previousStatus at actorRole reasonCode note }
  }
}`;
const TRANSITION = `mutation TransitionReferral($id: ID!, $to: ReferralStatus!, $reason: String, $outcome: String, $idempotencyKey: String) {
  transitionReferral(id: $id, to: $to, reason: $reason, outcome: $outcome, idempotencyKey: $idempotencyKey) { id status }
}`;

/** Moves that need a reason in words (the server refuses them without one). */
const NEEDS_REASON = ['REJECTED', 'CANCELLED', 'ON_HOLD', 'FAILED'];
/** Moves that carry the provider's outcome. */
const TAKES_OUTCOME = ['COMPLETED', 'FAILED'];

/** A random key for one attempt at a write, resent with every retry of that attempt. */
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function badge(status) {
  return h('span', { class: `badge ${status.toLowerCase()}` }, t(status));
}

/** The counts by status as a short list of badges with numbers. */
export async function countsBox() {
  const box = h('div', { class: 'counts', 'aria-label': t('referralCounts') });
  try {
    const { referralCounts } = await gql(COUNTS);
    const shown = referralCounts.filter((c) => c.count > 0);
    box.append(h('h2', {}, t('referralCounts')), shown.length
      ? h('ul', { class: 'inline-list' }, shown.map((c) => h('li', {}, badge(c.status), ` ${c.count}`)))
      : h('p', { class: 'help' }, t('noReferrals')));
  } catch (error) {
    loadFailure(box, error);
  }
  return box;
}

export async function inboxPage(container) {
  container.replaceChildren(heading(t('inboxTitle')), h('p', { class: 'help' }, t('inboxHelp')));
  const list = h('div', {}, h('p', { class: 'feedback busy' }, t('loading')));
  container.append(list);
  const [counts] = await Promise.all([countsBox(), fillInbox(list)]);
  container.insertBefore(counts, list);
}

async function fillInbox(list) {
  try {
    const edges = [];
    let after = null;
    // The inbox holds new referrals only: a few pages at most.
    for (let page = 0; page < 10; page += 1) {
      const { referralInbox } = await gql(INBOX, { first: 50, after });
      edges.push(...referralInbox.edges);
      if (!referralInbox.pageInfo.hasNextPage) break;
      after = referralInbox.pageInfo.endCursor;
    }
    if (!edges.length) {
      list.replaceChildren(h('p', { class: 'help' }, t('inboxEmpty')));
      return;
    }
    const categories = await categoryNamer();
    list.replaceChildren(table(['referralCode', 'service', 'needCategories', 'urgency', 'status', 'sentAt'], edges.map(({ node }) => [
      h('a', { href: `#/referral/${node.id}` }, node.code),
      node.service ? node.service.name : t('serviceGone'),
      categories(node.needCategories),
      t(`urgency.${node.urgency}`),
      badge(node.status),
      formatTime(node.sentAt || node.createdAt),
    ])));
  } catch (error) {
    loadFailure(list, error);
  }
}

/**
 * A referral's page; `notice` (after a move) is said at the top, and the focus goes to the
 * heading, since the button that was pressed is gone once the page is drawn again.
 */
export async function referralPage(container, id, notice) {
  container.replaceChildren(heading(t('referralTitle')), h('p', { class: 'feedback busy' }, t('loading')));
  let referral;
  let categories;
  try {
    [{ referral }, categories] = await Promise.all([gql(REFERRAL, { id }), categoryNamer()]);
  } catch (error) {
    loadFailure(container, error);
    container.prepend(heading(t('referralTitle')));
    return;
  }
  if (!referral) {
    container.replaceChildren(heading(t('referralTitle')), h('p', { class: 'feedback error', role: 'alert' }, t('referralMissing')));
    return;
  }
  const facts = [
    ['referralCode', referral.code],
    ['status', badge(referral.status)],
    ['service', referral.service ? referral.service.name : t('serviceGone')],
    ['urgency', t(`urgency.${referral.urgency}`)],
    ['referralKind', referral.live ? t('liveReferral') : t('loggedReferral')],
    ['needCategories', categories(referral.needCategories)],
    ['needs', referral.needs],
    ['outcome', referral.outcome],
    ['followUpOn', referral.followUpOn],
    ['sentAt', formatTime(referral.sentAt)],
    ['acceptedAt', formatTime(referral.acceptedAt)],
    ['endedAt', formatTime(referral.endedAt)],
  ].filter(([, value]) => value !== null && value !== undefined && value !== '');
  const client = referral.client;
  const clientFacts = client
    ? [['clientName', client.displayName], ['phone', client.phone], ['preferredLanguage', client.preferredLanguage]]
      .filter(([, value]) => value)
    : [];
  fill(container,
    h('p', {}, h('a', { href: '#/inbox', onclick: (event) => { event.preventDefault(); history.back(); } }, `← ${t('back')}`)),
    heading(`${t('referralTitle')} ${referral.code}`),
    definitions(facts),
    h('section', { class: 'card' }, h('h2', {}, t('clientTitle')), clientFacts.length
      ? definitions(clientFacts)
      : h('p', { class: 'help' }, t('clientHidden'))),
    notice ? h('p', { class: 'feedback ok', role: 'status' }, notice) : null,
    movesForm(referral, (said) => referralPage(container, id, said)),
    h('section', { class: 'card' }, h('h2', {}, t('referralHistory')), table(['at', 'status', 'actor', 'note'], referral.events.map((e) => [
      formatTime(e.at),
      e.status ? badge(e.status) : t('noteEvent'),
      t(`actor.${e.actorRole}`),
      e.note || e.reasonCode || '',
    ]))),
  );
  if (notice) container.querySelector('h1').focus();
}

function definitions(pairs) {
  return h('dl', { class: 'facts' }, pairs.flatMap(([key, value]) => [h('dt', {}, t(key)), h('dd', {}, value)]));
}

/**
 * The moves the server allows now, one button each; the reason and outcome fields sit above
 * them. Each button press is one attempt with its own idempotency key, kept while it is retried
 * after a failure, so a retry over a weak link does not move the referral twice.
 */
function movesForm(referral, reload) {
  const section = h('section', { class: 'card' }, h('h2', {}, t('actionsTitle')));
  if (!referral.nextStatuses.length) {
    section.append(h('p', { class: 'help' }, t('noMoves')));
    return section;
  }
  const reason = h('textarea', { name: 'reason', rows: 2, maxlength: 2000 });
  const outcome = h('textarea', { name: 'outcome', rows: 2, maxlength: 2000 });
  const status = statusLine();
  const keys = {};
  const buttons = referral.nextStatuses.map((to) => {
    const button = h('button', {
      type: 'button',
      class: to === 'ACCEPTED' || to === 'COMPLETED' ? 'primary' : null,
      'data-to': to,
      onclick: async () => {
        const why = reason.value.trim();
        if (NEEDS_REASON.includes(to) && !why) {
          status.className = 'feedback error';
          status.textContent = t('reasonNeeded');
          reason.focus();
          return;
        }
        keys[to] = keys[to] || newKey();
        const said = (result) => t('movedTo', { status: t(result.transitionReferral.status) });
        const done = await act(button, status, () => gql(TRANSITION, {
          id: referral.id,
          to,
          reason: NEEDS_REASON.includes(to) ? why : null,
          outcome: TAKES_OUTCOME.includes(to) && outcome.value.trim() ? outcome.value.trim() : null,
          idempotencyKey: keys[to],
        }), said);
        if (done) await reload(said(done));
      },
    }, t(`move.${to}`));
    return button;
  });
  section.append(
    field('reasonLabel', reason, t('reasonHelp')),
    TAKES_OUTCOME.some((s) => referral.nextStatuses.includes(s)) ? field('outcomeLabel', outcome, t('outcomeHelp')) : null,
    h('div', { class: 'actions' }, buttons),
    status,
  );
  return section;
}
