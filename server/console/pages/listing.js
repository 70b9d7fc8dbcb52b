// A listing's page for committee staff: edit its texts, record a check, close it for a while,
// reopen or archive it, and read its field history.

import { gql } from '../api.js';
import { fieldName, t } from '../i18n.js';
import { act, field, formatTime, h, heading, loadFailure, statusLine, table } from '../ui.js';

const LISTING = `query ConsoleListing($id: ID!) {
  zh: service(id: $id, language: ZH) {
    id name description feesDescription applicationProcess status alert lastVerifiedOn
    organization { name }
    category { code }
  }
  categories { code name children { code name } }
  en: service(id: $id, language: EN) { name description feesDescription applicationProcess }
}`;

const STATE = `query ConsoleListingState($id: ID!) { service(id: $id) { status lastVerifiedOn } }`;

const HISTORY = `query ListingHistory($id: ID!, $first: Int, $after: String) {
  listingHistory(id: $id, first: $first, after: $after) {
    nodes { field previousValue newValue action changedBy changedAt }
    pageInfo { hasNextPage endCursor }
  }
}`;

const UPDATE = `mutation UpdateService($id: ID!, $input: ServicePatchInput!) {
  updateService(id: $id, input: $input) { id changes { field previousValue newValue } }
}`;
const VERIFY = `mutation VerifyService($id: ID!) { verifyService(id: $id) { id changes { field newValue } } }`;
const CLOSE = `mutation CloseServiceTemporarily($id: ID!, $reason: TextInput!) {
  closeServiceTemporarily(id: $id, reason: $reason) { id changes { field previousValue newValue } }
}`;
const REOPEN = `mutation ReopenService($id: ID!) { reopenService(id: $id) { id changes { field previousValue newValue } } }`;
const ARCHIVE = `mutation ArchiveService($id: ID!) { archiveService(id: $id) { id changes { field previousValue newValue } } }`;

/** The bilingual texts the edit form covers: [patch field, zh key, en key, source field, multi-line]. */
const TEXTS = [
  ['name', 'nameZh', 'nameEn', 'name', false],
  ['description', 'descriptionZh', 'descriptionEn', 'description', true],
  ['feesDescription', 'feesZh', 'feesEn', 'feesDescription', true],
  ['applicationProcess', 'applyZh', 'applyEn', 'applicationProcess', true],
];

export async function listingPage(container, id) {
  container.replaceChildren(heading(t('listingTitle')), h('p', { class: 'feedback busy' }, t('loading')));
  let data;
  try {
    data = await gql(LISTING, { id });
  } catch (error) {
    loadFailure(container, error);
    container.prepend(heading(t('listingTitle')));
    return;
  }
  const { zh, en } = data;
  const title = heading(zh.name);
  const statusText = h('span', {});
  const verifiedText = h('span', {});
  const showState = (status, lastVerifiedOn) => {
    statusText.replaceChildren(h('span', { class: `badge ${status.toLowerCase()}` }, t(status)));
    verifiedText.textContent = lastVerifiedOn || t('never');
  };
  showState(zh.status, zh.lastVerifiedOn);
  const history = h('section', { 'aria-labelledby': 'history-title' });
  const loadHistory = () => showHistory(history, id);
  // After an action, read back what the server now holds rather than guessing it.
  const refreshState = async () => {
    try {
      const fresh = await gql(STATE, { id });
      zh.status = fresh.service.status;
      showState(fresh.service.status, fresh.service.lastVerifiedOn);
    } catch {
      // The action's own feedback already said it worked; the history below still updates.
    }
    loadHistory();
  };

  // Edit: only changed fields are sent; a text is sent in both languages.
  const inputs = {};
  const editStatus = statusLine();
  const save = h('button', { type: 'submit', class: 'primary' }, t('save'));
  const editForm = h('form', {
    class: 'card',
    'aria-labelledby': 'edit-title',
    onsubmit: async (event) => {
      event.preventDefault();
      const input = {};
      for (const [patch, , , source] of TEXTS) {
        const [zhInput, enInput] = inputs[patch];
        if (zhInput.value !== (zh[source] || '') || enInput.value !== (en[source] || '')) {
          input[patch] = { zh: zhInput.value, en: enInput.value };
        }
      }
      if (category.value && category.value !== (zh.category && zh.category.code)) input.category = category.value;
      if (!Object.keys(input).length) {
        editStatus.className = 'feedback ok';
        editStatus.textContent = t('nothingChanged');
        return;
      }
      const done = await act(save, editStatus, () => gql(UPDATE, { id, input }));
      if (done) {
        for (const [patch, , , source] of TEXTS) {
          zh[source] = inputs[patch][0].value;
          en[source] = inputs[patch][1].value;
        }
        title.textContent = zh.name;
        zh.category = { code: category.value };
        loadHistory();
      }
    },
  }, h('h2', { id: 'edit-title' }, t('editTitle')));
  for (const [patch, zhKey, enKey, source, long] of TEXTS) {
    const make = (value, name) => long
      ? h('textarea', { name, rows: 3, value: value || '' })
      : h('input', { name, value: value || '' });
    const pair = [make(zh[source], `${patch}-zh`), make(en[source], `${patch}-en`)];
    inputs[patch] = pair;
    editForm.append(h('div', { class: 'pair' }, field(zhKey, pair[0]), field(enKey, pair[1])));
  }
  // The primary category, from the category tree (children indented under their parent).
  const category = h('select', { name: 'category' });
  for (const parent of data.categories) {
    category.append(h('option', { value: parent.code }, parent.name));
    for (const child of parent.children) category.append(h('option', { value: child.code }, `— ${child.name}`));
  }
  category.value = zh.category ? zh.category.code : '';
  editForm.insertBefore(field('category', category), editForm.children[1]);
  editForm.append(save, editStatus);

  // Check (verify).
  const verifyStatus = statusLine();
  const verify = h('button', { type: 'button', class: 'primary' }, t('verify'));
  verify.addEventListener('click', async () => {
    const done = await act(verify, verifyStatus, () => gql(VERIFY, { id }), t('verified'));
    if (done) refreshState();
  });

  // Status: close for a while, reopen, archive.
  const reasonZh = h('input', { name: 'close-reason-zh' });
  const reasonEn = h('input', { name: 'close-reason-en' });
  const stateStatus = statusLine();
  const close = h('button', { type: 'button' }, t('closeTemporarily'));
  const reopen = h('button', { type: 'button' }, t('reopen'));
  const archive = h('button', { type: 'button', class: 'danger' }, t('archive'));
  const afterStatusChange = () => (done) => {
    if (done) refreshState();
  };
  close.addEventListener('click', () => {
    if (!reasonZh.value.trim() || !reasonEn.value.trim()) {
      stateStatus.className = 'feedback error';
      stateStatus.textContent = t('bothLanguages');
      (reasonZh.value.trim() ? reasonEn : reasonZh).focus();
      return;
    }
    act(close, stateStatus, () => gql(CLOSE, { id, reason: { zh: reasonZh.value, en: reasonEn.value } }))
      .then(afterStatusChange());
  });
  reopen.addEventListener('click', () => act(reopen, stateStatus, () => gql(REOPEN, { id })).then(afterStatusChange()));
  archive.addEventListener('click', async () => {
    if (!window.confirm(t('archiveConfirm'))) return;
    const done = await act(archive, stateStatus, () => gql(ARCHIVE, { id }), t('archived'));
    if (done) {
      for (const control of container.querySelectorAll('button, input, textarea')) control.disabled = true;
      statusText.replaceChildren(h('span', { class: 'badge defunct' }, t('DEFUNCT')));
    }
  });

  container.replaceChildren(
    h('p', {}, h('a', { href: '#/area' }, `← ${t('back')}`)),
    title,
    h('p', { class: 'meta' }, zh.organization ? `${zh.organization.name} · ` : '', t('status'), '：', statusText, ' · ', t('lastVerified'), '：', verifiedText),
    h('p', {}, h('a', { href: `#/service/${id}` }, `${t('keepHours')} →`)),
    h('div', { class: 'columns' },
      editForm,
      h('div', {},
        h('section', { class: 'card', 'aria-labelledby': 'verify-title' },
          h('h2', { id: 'verify-title' }, t('verifyTitle')), h('p', { class: 'help' }, t('verifyHelp')), verify, verifyStatus),
        h('section', { class: 'card', 'aria-labelledby': 'state-title' },
          h('h2', { id: 'state-title' }, t('statusTitle')),
          h('div', { class: 'pair' }, field('closeReasonZh', reasonZh), field('closeReasonEn', reasonEn)),
          h('div', { class: 'actions' }, close, reopen, archive), stateStatus))),
    history,
  );
  await loadHistory();
}

/** A recorded value in words where there are some (a status), else as recorded. */
function valueText(field, value) {
  if (value === null || value === undefined) return '';
  if (field === 'status') return t(value.toUpperCase());
  return value;
}

async function showHistory(section, id) {
  try {
    const data = await gql(HISTORY, { id, first: 50 });
    // The modification stamp changes with every edit and says nothing the time column does not.
    const rows = data.listingHistory.nodes.filter((n) => n.field !== 'last_modified').map((n) => [
      formatTime(n.changedAt), fieldName(n.field), valueText(n.field, n.previousValue), valueText(n.field, n.newValue), n.changedBy,
    ]);
    section.replaceChildren(
      h('h2', { id: 'history-title' }, t('historyTitle')),
      table(['when', 'field', 'before', 'after', 'who'], rows),
    );
  } catch (error) {
    loadFailure(section, error);
  }
}
