// Neighbourhood committee pages: the area map with its listings, listings due for checking, the
// public's edit suggestions, and the spreadsheet import.

import { gql } from '../api.js';
import { lang, serverMessage, t } from '../i18n.js';
import { drawMap } from '../map.js';
import { act, field, formatTime, h, heading, loadFailure, statusLine, table } from '../ui.js';

// The same operations as mobile-client-spec/operations/MyListings.graphql and MyAreaBoundaries.graphql.
const LISTINGS = `query MyListings($first: Int, $after: String, $datum: Datum!) {
  myListings(first: $first, after: $after) {
    nodes {
      id
      nameZh
      nameEn
      status
      lastVerifiedOn
      places { id nameZh nameEn point { lat(datum: $datum) lon(datum: $datum) } }
    }
    pageInfo { hasNextPage endCursor }
  }
}`;

const BOUNDARIES = `query MyAreaBoundaries($datum: Datum!) {
  myAreaBoundaries { ring { lat(datum: $datum) lon(datum: $datum) } }
}`;

/** A name in the chosen language (English falls back to Chinese). */
export function localName(item) {
  return lang() === 'en' ? item.nameEn || item.nameZh : item.nameZh;
}

/** Every kept listing (an area holds tens to a few hundred), page by page. */
export async function allListings(datum) {
  const listings = [];
  let after = null;
  for (let page = 0; page < 20; page += 1) {
    const data = await gql(LISTINGS, { first: 50, after, datum });
    listings.push(...data.myListings.nodes);
    if (!data.myListings.pageInfo.hasNextPage) break;
    after = data.myListings.pageInfo.endCursor;
  }
  return listings;
}

function statusBadge(status) {
  return h('span', { class: `badge ${status.toLowerCase()}` }, t(status));
}

export async function areaPage(container) {
  const datumSelect = h('select', { id: 'map-datum' },
    h('option', { value: 'WGS84' }, t('datumWgs')),
    h('option', { value: 'GCJ02' }, t('datumGcj')),
    h('option', { value: 'BD09' }, t('datumBd')));
  datumSelect.value = sessionStorage.getItem('qiao.console.datum') || 'WGS84';
  const mapBox = h('figure', { class: 'map-box' });
  const listBox = h('section', { 'aria-labelledby': 'listings-title' });
  container.replaceChildren(
    heading(t('areaTitle')),
    h('p', { class: 'help' }, t('areaHelp')),
    h('div', { class: 'field inline' }, h('label', { for: 'map-datum' }, t('mapDatum')), datumSelect),
    mapBox,
    listBox,
  );
  async function load() {
    const datum = datumSelect.value;
    mapBox.replaceChildren(h('p', { class: 'feedback busy' }, t('loading')));
    try {
      const [boundaries, listings] = await Promise.all([gql(BOUNDARIES, { datum }), allListings(datum)]);
      const rings = boundaries.myAreaBoundaries.map((b) => b.ring);
      const places = listings.flatMap((listing) => listing.places
        .filter((place) => place.point)
        .map((place) => ({ lat: place.point.lat, lon: place.point.lon, label: localName(listing), href: `#/listing/${listing.id}` })));
      const map = drawMap(rings, places);
      mapBox.replaceChildren(
        ...(map ? [map] : []),
        h('figcaption', {}, rings.length ? t('mapCaption') : t('noArea')),
      );
      const rows = listings.map((listing) => [
        h('a', { href: `#/listing/${listing.id}` }, localName(listing)),
        statusBadge(listing.status),
        listing.lastVerifiedOn || t('never'),
        listing.places.map(localName).join('、') || t('none'),
      ]);
      listBox.replaceChildren(
        h('h2', { id: 'listings-title' }, `${t('listings')} (${listings.length})`),
        table(['name', 'status', 'lastVerified', 'places'], rows),
      );
    } catch (error) {
      loadFailure(mapBox, error);
    }
  }
  datumSelect.addEventListener('change', () => {
    sessionStorage.setItem('qiao.console.datum', datumSelect.value);
    load();
  });
  await load();
}

const STALE = `query StaleListings($olderThanDays: Int!, $first: Int, $after: String) {
  staleListings(olderThanDays: $olderThanDays, first: $first, after: $after) {
    nodes { id nameZh nameEn lastVerifiedOn }
    pageInfo { hasNextPage endCursor }
  }
}`;

const VERIFY = `mutation VerifyService($id: ID!) { verifyService(id: $id) { id changes { field newValue } } }`;

export async function stalePage(container) {
  const days = h('input', { type: 'number', min: 1, max: 3650, value: sessionStorage.getItem('qiao.console.staleDays') || 180, inputmode: 'numeric' });
  const listBox = h('div', {});
  let after = null;
  const more = h('button', { type: 'button', hidden: true, onclick: () => load(false) }, t('more'));
  const rows = h('tbody', {});
  async function load(fresh) {
    if (fresh) {
      after = null;
      rows.replaceChildren();
    }
    try {
      const data = await gql(STALE, { olderThanDays: Number(days.value), first: 50, after });
      for (const node of data.staleListings.nodes) {
        const status = statusLine();
        const verify = h('button', { type: 'button' }, t('verify'));
        verify.addEventListener('click', () => act(verify, status, () => gql(VERIFY, { id: node.id }), t('verified')));
        rows.append(h('tr', {},
          h('td', {}, h('a', { href: `#/listing/${node.id}` }, localName(node))),
          h('td', {}, node.lastVerifiedOn || t('never')),
          h('td', {}, verify, status)));
      }
      after = data.staleListings.pageInfo.endCursor;
      more.hidden = !data.staleListings.pageInfo.hasNextPage;
      if (!rows.children.length) rows.append(h('tr', {}, h('td', { colspan: 3 }, t('none'))));
    } catch (error) {
      loadFailure(listBox, error);
    }
  }
  const form = h('form', {
    class: 'inline-form',
    onsubmit: (event) => {
      event.preventDefault();
      sessionStorage.setItem('qiao.console.staleDays', days.value);
      load(true);
    },
  }, field('olderThan', days), h('button', { type: 'submit' }, t('show')));
  listBox.append(h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, ['name', 'lastVerified', 'verifyTitle'].map((k) => h('th', { scope: 'col' }, t(k))))),
    rows)), more);
  container.replaceChildren(heading(t('staleTitle')), h('p', { class: 'help' }, t('staleHelp')), form, listBox);
  await load(true);
}

const SUGGESTIONS = `query EditSuggestions($status: SuggestionStatus, $first: Int, $after: String) {
  editSuggestions(status: $status, first: $first, after: $after) {
    nodes { id serviceId serviceName kind proposedValue comment status createdAt decidedAt decisionReason }
    pageInfo { hasNextPage endCursor }
  }
}`;
const ACCEPT = `mutation AcceptEditSuggestion($id: ID!) { acceptEditSuggestion(id: $id) { id serviceId kind status decidedAt } }`;
const REJECT = `mutation RejectEditSuggestion($id: ID!, $reason: String!) {
  rejectEditSuggestion(id: $id, reason: $reason) { id serviceId kind status decidedAt decisionReason }
}`;

export async function suggestionsPage(container) {
  container.replaceChildren(heading(t('suggestionsTitle')), h('p', { class: 'help' }, t('suggestionsHelp')));
  const list = h('div', { class: 'cards' });
  container.append(list);
  let after = null;
  const more = h('button', { type: 'button', hidden: true, onclick: () => load() }, t('more'));
  container.append(more);
  async function load() {
    try {
      const data = await gql(SUGGESTIONS, { status: 'PENDING', first: 20, after });
      for (const s of data.editSuggestions.nodes) list.append(suggestionCard(s));
      after = data.editSuggestions.pageInfo.endCursor;
      more.hidden = !data.editSuggestions.pageInfo.hasNextPage;
      if (!list.children.length) list.append(h('p', {}, t('noSuggestions')));
    } catch (error) {
      loadFailure(list, error);
    }
  }
  await load();
}

function suggestionCard(s) {
  const status = statusLine();
  const reason = h('input', { name: 'reason', maxlength: 500 });
  const accept = h('button', { type: 'button', class: 'primary' }, t('accept'));
  const reject = h('button', { type: 'button' }, t('reject'));
  const decided = () => {
    accept.disabled = true;
    reject.disabled = true;
    reason.disabled = true;
  };
  accept.addEventListener('click', async () => {
    const done = await act(accept, status, () => gql(ACCEPT, { id: s.id }), t('accepted'));
    if (done) decided();
  });
  reject.addEventListener('click', async () => {
    const done = await act(reject, status, () => gql(REJECT, { id: s.id, reason: reason.value }), t('rejected'));
    if (done) decided();
  });
  return h('article', { class: 'card suggestion' },
    h('h2', {}, h('a', { href: `#/listing/${s.serviceId}` }, s.serviceName)),
    h('dl', {},
      h('dt', {}, t('kind')), h('dd', {}, t(s.kind)),
      s.proposedValue ? [h('dt', {}, t('proposed')), h('dd', {}, s.proposedValue)] : null,
      s.comment ? [h('dt', {}, t('comment')), h('dd', {}, s.comment)] : null,
      h('dt', {}, t('when')), h('dd', {}, formatTime(s.createdAt))),
    h('div', { class: 'actions' }, accept, field('rejectReason', reason), reject),
    status);
}

const IMPORT = `mutation ImportListingsCsv($csv: String!) {
  importListingsCsv(csv: $csv) { imported serviceIds errors { row line column message } }
}`;

/**
 * CSV records with the file line each starts on (a quoted cell may hold line breaks), so the
 * server's report (which names lines) can be shown next to the spreadsheet's rows.
 */
export function parseCsv(text) {
  const records = [];
  let record = [], cell = '', quoted = false, line = 1, start = 1, i = 0;
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  for (; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i += 1; }
      else if (c === '"') quoted = false;
      else { if (c === '\n') line += 1; cell += c; }
    } else if (c === '"') quoted = true;
    else if (c === ',') { record.push(cell); cell = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      record.push(cell);
      records.push({ line: start, cells: record });
      record = []; cell = ''; line += 1; start = line;
    } else cell += c;
  }
  if (cell !== '' || record.length) { record.push(cell); records.push({ line: start, cells: record }); }
  return records;
}

/** A spreadsheet saved by Excel on a Chinese PC may be GBK: read UTF-8, else GB18030. */
function decode(buffer) {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buffer);
  } catch {
    return new TextDecoder('gb18030').decode(buffer);
  }
}

export async function importPage(container) {
  const file = h('input', { type: 'file', accept: '.csv,text/csv' });
  const text = h('textarea', { rows: 8, spellcheck: 'false', class: 'csv' });
  const status = statusLine();
  const report = h('section', { class: 'import-report', 'aria-live': 'polite' });
  file.addEventListener('change', async () => {
    const chosen = file.files && file.files[0];
    if (!chosen) return;
    text.value = decode(await chosen.arrayBuffer());
    status.className = 'feedback ok';
    status.textContent = t('fileRead', { name: chosen.name });
  });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('importButton'));
  const form = h('form', {
    onsubmit: async (event) => {
      event.preventDefault();
      const csv = text.value;
      const result = await act(submit, status, () => gql(IMPORT, { csv }), (data) => {
        const r = data.importListingsCsv;
        return r.errors.length ? t('importRefused', { n: r.errors.length }) : t('importedN', { n: r.imported });
      });
      if (!result) return;
      const r = result.importListingsCsv;
      if (r.errors.length) status.className = 'feedback error';
      report.replaceChildren(...reportTable(csv, r.errors));
    },
  },
  field('chooseFile', file),
  field('orPaste', text),
  submit,
  status);
  container.replaceChildren(heading(t('importTitle')), h('p', { class: 'help' }, t('importHelp')), form, report);
}

/** The spreadsheet's rows with each row's problems beside it, the bad cells marked. */
function reportTable(csv, errors) {
  if (!errors.length) return [];
  const records = parseCsv(csv);
  const header = records[0] ? records[0].cells : [];
  const whole = errors.filter((e) => e.row === 0 || e.line === 0);
  const byLine = new Map();
  for (const error of errors.filter((e) => e.row !== 0 && e.line !== 0)) {
    if (!byLine.has(error.line)) byLine.set(error.line, []);
    byLine.get(error.line).push(error);
  }
  const nodes = [];
  if (whole.length) {
    nodes.push(h('div', { class: 'notice error' }, h('strong', {}, t('wholeFile')),
      h('ul', {}, whole.map((e) => h('li', {}, (e.column ? `${e.column}: ` : '') + serverMessage(e.message))))));
  }
  const rows = records.slice(1).filter((r) => r.cells.some((c) => c.trim() !== '') || byLine.has(r.line));
  nodes.push(h('div', { class: 'table-wrap' }, h('table', { class: 'sheet' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('line')), header.map((name) => h('th', { scope: 'col' }, name)), h('th', { scope: 'col' }, t('problems')))),
    h('tbody', {}, rows.map((record) => {
      const problems = byLine.get(record.line) || [];
      const badColumns = new Set(problems.map((p) => p.column).filter(Boolean));
      return h('tr', { class: problems.length ? 'bad-row' : null },
        h('th', { scope: 'row' }, String(record.line)),
        header.map((name, i) => h('td', { class: badColumns.has(name) ? 'bad-cell' : null }, record.cells[i] || '')),
        h('td', { class: 'problems' }, problems.length
          ? h('ul', {}, problems.map((p) => h('li', {}, (p.column ? `${p.column}: ` : '') + serverMessage(p.message))))
          : '✓'));
    })))));
  return nodes;
}
