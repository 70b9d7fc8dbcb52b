// Small DOM helpers: elements without innerHTML (so nothing the server or a person typed is ever
// parsed as HTML), labelled fields, and actions that always say what happened.

import { serverMessage, t } from './i18n.js';

/** Makes an element: h('a', {href: '#/x', class: 'y'}, 'text', child, …). */
export function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'value') element.value = value;
    else if (name === 'checked') element.checked = Boolean(value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * Replaces an element's children, skipping null, undefined and false as `h` does (the DOM's own
 * replaceChildren would show them as the words "null" and "undefined").
 */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

let fieldCount = 0;

/** A labelled input: field('nameZh', h('input', {...})). Returns [wrapper, input]. */
export function field(labelKey, input, help) {
  fieldCount += 1;
  if (!input.id) input.id = `f${fieldCount}`;
  const wrapper = h('div', { class: 'field' }, h('label', { for: input.id }, t(labelKey)), input);
  if (help) wrapper.append(h('p', { class: 'help' }, help));
  return wrapper;
}

/** A status line for one action's feedback, read out by screen readers. */
export function statusLine() {
  return h('p', { class: 'feedback', role: 'status', 'aria-live': 'polite' });
}

/** The message to show for a failure, in the chosen language. */
export function failureText(error) {
  return t('failed') + serverMessage(error && error.message);
}

/**
 * Runs `work` for a button: disables it, says "saving", then "saved" (or `doneText`) or the
 * server's message. Never clears the form: on failure everything typed stays.
 */
export async function act(button, status, work, doneText) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  status.className = 'feedback busy';
  status.textContent = t('saving');
  try {
    const result = await work();
    status.className = 'feedback ok';
    status.textContent = typeof doneText === 'function' ? doneText(result) : doneText || t('saved');
    return result;
  } catch (error) {
    status.className = 'feedback error';
    status.textContent = failureText(error);
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/** A table: headers are word keys, rows are arrays of cells (text or nodes). */
export function table(headerKeys, rows, caption) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      caption ? h('caption', {}, caption) : null,
      h('thead', {}, h('tr', {}, headerKeys.map((key) => h('th', { scope: 'col' }, t(key))))),
      h('tbody', {}, rows.map((row) => h('tr', {}, row.map((cell) => h('td', {}, cell))))),
    ),
  );
}

/** A page heading that takes the focus, so keyboard and screen-reader users land on it. */
export function heading(text) {
  return h('h1', { tabindex: '-1', class: 'page-title' }, text);
}

/** Shows a page's failure to load in place of its content. */
export function loadFailure(container, error) {
  container.replaceChildren(h('p', { class: 'feedback error', role: 'alert' }, failureText(error)));
}

/** "2026-11-30 14:05" in China Standard Time, whatever the PC's zone. */
export function formatTime(iso) {
  if (!iso) return '';
  const date = new Date(new Date(iso).getTime() + 8 * 3600 * 1000);
  return date.toISOString().slice(0, 16).replace('T', ' ');
}
