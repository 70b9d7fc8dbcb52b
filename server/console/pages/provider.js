// Provider pages (committee staff reach them from a listing too): the services one keeps, and a
// service's weekly hours grid with holiday exceptions, its capacity and its notice.

import { gql } from '../api.js';
import { t } from '../i18n.js';
import { act, field, h, heading, loadFailure, statusLine, table } from '../ui.js';
import { allListings, localName } from './committee.js';

const DAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];

export async function servicesPage(container) {
  container.replaceChildren(heading(t('servicesTitle')), h('p', { class: 'help' }, t('servicesHelp')));
  const box = h('div', {}, h('p', { class: 'feedback busy' }, t('loading')));
  container.append(box);
  try {
    const listings = await allListings('WGS84');
    box.replaceChildren(table(['name', 'status', 'lastVerified'], listings.map((listing) => [
      h('a', { href: `#/service/${listing.id}` }, localName(listing)),
      h('span', { class: `badge ${listing.status.toLowerCase()}` }, t(listing.status)),
      listing.lastVerifiedOn || t('never'),
    ])));
  } catch (error) {
    loadFailure(box, error);
  }
}

const FACTS = `query ConsoleServiceFacts($id: ID!) {
  zh: service(id: $id, language: ZH) { id name status alert capacity { status asOf note } }
  en: service(id: $id, language: EN) { alert capacity { note } }
  serviceHours(id: $id) { weekly { days opens closes } exceptions { date opens closes reasonZh reasonEn } }
}`;
const SET_HOURS = `mutation SetServiceHours($id: ID!, $hours: [HoursInput!]!, $exceptions: [ScheduleExceptionInput!]) {
  setServiceHours(id: $id, hours: $hours, exceptions: $exceptions) { id changes { field previousValue newValue } }
}`;
const SET_CAPACITY = `mutation SetServiceCapacity($id: ID!, $status: CapacityStatus!, $note: TextInput) {
  setServiceCapacity(id: $id, status: $status, note: $note) { id changes { field previousValue newValue } }
}`;
const SET_ALERT = `mutation SetServiceAlert($id: ID!, $alert: TextInput) {
  setServiceAlert(id: $id, alert: $alert) { id changes { field previousValue newValue } }
}`;

export async function servicePage(container, id) {
  container.replaceChildren(heading(t('keepHours')), h('p', { class: 'feedback busy' }, t('loading')));
  let data;
  try {
    data = await gql(FACTS, { id });
  } catch (error) {
    loadFailure(container, error);
    container.prepend(heading(t('keepHours')));
    return;
  }
  container.replaceChildren(
    h('p', {}, h('a', { href: '#/services', onclick: (event) => { event.preventDefault(); history.back(); } }, `← ${t('back')}`)),
    heading(data.zh.name),
    h('p', { class: 'meta' }, h('span', { class: `badge ${data.zh.status.toLowerCase()}` }, t(data.zh.status))),
    hoursForm(id, data.serviceHours),
    h('div', { class: 'columns' }, capacityForm(id, data), alertForm(id, data)),
  );
}

/** Per day, the intervals of the weekly hours, earliest first. */
function intervalsByDay(weekly) {
  const byDay = Object.fromEntries(DAYS.map((d) => [d, []]));
  for (const entry of weekly) for (const day of entry.days) byDay[day].push([entry.opens, entry.closes]);
  for (const day of DAYS) byDay[day].sort((a, b) => a[0].localeCompare(b[0]));
  return byDay;
}

function hoursForm(id, hours) {
  const byDay = intervalsByDay(hours.weekly);
  const periods = Math.max(2, ...DAYS.map((d) => byDay[d].length));
  const cells = {};
  const rows = DAYS.map((day) => {
    cells[day] = [];
    const tds = [];
    for (let p = 0; p < periods; p += 1) {
      const [opens, closes] = byDay[day][p] || ['', ''];
      const o = h('input', { type: 'time', name: `${day}-${p}-opens`, value: opens, 'aria-label': `${t(day)} ${t(p === 0 ? 'period1' : 'period2')} ${t('opens')}` });
      const c = h('input', { type: 'time', name: `${day}-${p}-closes`, value: closes, 'aria-label': `${t(day)} ${t(p === 0 ? 'period1' : 'period2')} ${t('closes')}` });
      cells[day].push([o, c]);
      tds.push(h('td', { class: 'period' }, o, h('span', { 'aria-hidden': 'true' }, ' – '), c));
    }
    return h('tr', {}, h('th', { scope: 'row' }, t(day)), tds);
  });
  const grid = h('div', { class: 'table-wrap' }, h('table', { class: 'hours-grid' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('day')),
      Array.from({ length: periods }, (_, p) => h('th', { scope: 'col' }, `${t(p === 0 ? 'period1' : 'period2')}${p > 1 ? ` ${p + 1}` : ''}（${t('opens')} – ${t('closes')}）`)))),
    h('tbody', {}, rows)));

  const exceptionRows = h('tbody', {});
  // Past days are kept (the whole list is saved back) but folded away: the future is what staff edit.
  const pastRows = h('tbody', {});
  const today = new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
  const addException = (e = {}, into = exceptionRows) => {
    const row = h('tr', {});
    const date = h('input', { type: 'date', name: 'exception-date', value: e.date || '', 'aria-label': t('date') });
    const opens = h('input', { type: 'time', name: 'exception-opens', value: e.opens || '', 'aria-label': t('opens') });
    const closes = h('input', { type: 'time', name: 'exception-closes', value: e.closes || '', 'aria-label': t('closes') });
    const reasonZh = h('input', { name: 'exception-reason-zh', value: e.reasonZh || '', 'aria-label': t('reasonZh') });
    const reasonEn = h('input', { name: 'exception-reason-en', value: e.reasonEn || '', 'aria-label': t('reasonEn') });
    const remove = h('button', { type: 'button', onclick: () => row.remove() }, t('remove'));
    row.append(...[date, opens, closes, reasonZh, reasonEn, remove].map((control) => h('td', {}, control)));
    row.read = () => ({
      date: date.value,
      opens: opens.value || null,
      closes: closes.value || null,
      reason: { zh: reasonZh.value, en: reasonEn.value || reasonZh.value },
    });
    into.append(row);
    return date;
  };
  for (const e of hours.exceptions) addException(e, e.date < today ? pastRows : exceptionRows);
  const exceptionHead = () => h('thead', {}, h('tr', {}, ['date', 'opens', 'closes', 'reasonZh', 'reasonEn', 'remove'].map((k) => h('th', { scope: 'col' }, t(k)))));
  const add = h('button', { type: 'button', onclick: () => addException().focus() }, t('addException'));

  const status = statusLine();
  const save = h('button', { type: 'submit', class: 'primary' }, t('saveHours'));
  return h('form', {
    class: 'card',
    'aria-labelledby': 'hours-title',
    onsubmit: async (event) => {
      event.preventDefault();
      // Days with the same interval become one entry, as a person would write them.
      const groups = new Map();
      for (const day of DAYS) {
        for (const [o, c] of cells[day]) {
          if (!o.value && !c.value) continue;
          if (!o.value || !c.value) {
            status.className = 'feedback error';
            status.textContent = t('halfPeriod', { day: t(day) });
            (o.value ? c : o).focus();
            return;
          }
          const key = `${o.value}-${c.value}`;
          if (!groups.has(key)) groups.set(key, { days: [], opens: o.value, closes: c.value });
          groups.get(key).days.push(day);
        }
      }
      const exceptions = [...pastRows.children, ...exceptionRows.children].map((row) => row.read());
      await act(save, status, () => gql(SET_HOURS, { id, hours: [...groups.values()], exceptions }));
    },
  },
  h('h2', { id: 'hours-title' }, t('hoursTitle')),
  h('p', { class: 'help' }, t('hoursHelp')),
  grid,
  h('h3', {}, t('exceptionsTitle')),
  h('p', { class: 'help' }, t('exceptionsHelp')),
  pastRows.children.length
    ? h('details', {}, h('summary', {}, t('pastDays', { n: pastRows.children.length })),
      h('div', { class: 'table-wrap' }, h('table', { class: 'exceptions' }, exceptionHead(), pastRows)))
    : null,
  h('div', { class: 'table-wrap' }, h('table', { class: 'exceptions' }, exceptionHead(), exceptionRows)),
  add,
  h('div', { class: 'actions' }, save),
  status);
}

function capacityForm(id, data) {
  const current = data.zh.capacity || {};
  const choice = h('select', { name: 'capacity' }, ['ACCEPTING', 'WAITLIST', 'FULL'].map((s) => h('option', { value: s }, t(s))));
  choice.value = current.status || 'ACCEPTING';
  const noteZh = h('input', { name: 'capacity-note-zh', value: current.note || '' });
  const noteEn = h('input', { name: 'capacity-note-en', value: (data.en.capacity && data.en.capacity.note) || '' });
  const status = statusLine();
  const save = h('button', { type: 'submit', class: 'primary' }, t('saveCapacity'));
  return h('form', {
    class: 'card',
    'aria-labelledby': 'capacity-title',
    onsubmit: async (event) => {
      event.preventDefault();
      const note = noteZh.value || noteEn.value ? { zh: noteZh.value, en: noteEn.value || noteZh.value } : null;
      await act(save, status, () => gql(SET_CAPACITY, { id, status: choice.value, note }));
    },
  }, h('h2', { id: 'capacity-title' }, t('capacityTitle')), field('capacityTitle', choice),
  field('noteZh', noteZh), field('noteEn', noteEn), save, status);
}

function alertForm(id, data) {
  const alertZh = h('textarea', { name: 'alert-zh', rows: 2, value: data.zh.alert || '' });
  const alertEn = h('textarea', { name: 'alert-en', rows: 2, value: data.en.alert || '' });
  const status = statusLine();
  const save = h('button', { type: 'submit', class: 'primary' }, t('saveAlert'));
  return h('form', {
    class: 'card',
    'aria-labelledby': 'alert-title',
    onsubmit: async (event) => {
      event.preventDefault();
      const alert = alertZh.value || alertEn.value ? { zh: alertZh.value, en: alertEn.value || alertZh.value } : null;
      await act(save, status, () => gql(SET_ALERT, { id, alert }));
    },
  }, h('h2', { id: 'alert-title' }, t('alertTitle')), h('p', { class: 'help' }, t('alertHelp')),
  field('alertZh', alertZh), field('alertEn', alertEn), save, status);
}
