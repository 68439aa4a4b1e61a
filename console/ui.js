// SPDX-License-Identifier: GPL-3.0-or-later
// DOM helpers shared by every page. Nodes are always built with h(): text
// from the hub is set as text, never parsed as HTML.

const SVG_NS = 'http://www.w3.org/2000/svg';
const BOOLEAN_ATTRS = new Set(['hidden', 'disabled', 'checked', 'selected', 'required', 'multiple',
  'readonly', 'download', 'open', 'autofocus', 'novalidate']);
const PROPERTY_ATTRS = new Set(['value', 'checked', 'selected', 'indeterminate']);

let idCounter = 0;

// A fresh id for an element, unique on the page: prefix-N.
export function uid(prefix) {
  idCounter += 1;
  return `${prefix || 'id'}-${idCounter}`;
}

function append(el, child) {
  if (child === null || child === undefined || child === false || child === true)
    return;
  if (Array.isArray(child)) {
    for (const c of child)
      append(el, c);
    return;
  }
  if (child instanceof Node)
    el.appendChild(child);
  else
    el.appendChild(document.createTextNode(String(child)));
}

function setAttrs(el, attrs, isSvg) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null)
      continue;
    if (key === 'text') {
      el.textContent = String(value);
    } else if (key === 'class' || key === 'className') {
      if (Array.isArray(value))
        el.setAttribute('class', value.filter(Boolean).join(' '));
      else if (value !== '' && value !== false)
        el.setAttribute('class', String(value));
    } else if (key === 'style') {
      // The CSP forbids style attributes; CSSOM properties are allowed.
      if (typeof value === 'object')
        Object.assign(el.style, value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (!isSvg && PROPERTY_ATTRS.has(key)) {
      el[key] = value;
      if (key === 'checked' && value)
        el.setAttribute('checked', '');
      if (key === 'selected' && value)
        el.setAttribute('selected', '');
    } else if (BOOLEAN_ATTRS.has(key) && typeof value === 'boolean') {
      if (value)
        el.setAttribute(key, '');
    } else if (key.startsWith('aria-') && typeof value === 'boolean') {
      el.setAttribute(key, value ? 'true' : 'false');
    } else if (value !== false) {
      el.setAttribute(key === 'htmlFor' ? 'for' : key, String(value));
    }
  }
}

// Builds an element. attrs: class, id, for, href, type, name, value, text,
// on<event> (listeners), aria-*, role, hidden, style (object, applied via
// CSSOM), dataset; children: nodes, strings, arrays, null (skipped).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs, false);
  append(el, children);
  return el;
}

// The same as h() for SVG elements.
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs, true);
  append(el, children);
  return el;
}

// Replaces every child of el with children.
export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// Text only screen readers read.
export function visuallyHidden(text) {
  return h('span', { class: 'vh', text });
}

function pad(n) {
  return n < 10 ? `0${n}` : String(n);
}

function toDate(t) {
  if (t === null || t === undefined || t === '')
    return null;
  const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t);
  return Number.isNaN(d.getTime()) ? null : d;
}

// 'YYYY-MM-DD HH:MM:SS' in local time; takes epoch seconds or an RFC 3339
// string; '—' for none.
export function fmtTime(epochSeconds) {
  const d = toDate(epochSeconds);
  if (!d)
    return '—';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// '5 min ago', 'in 3 h'; '—' for none.
export function fmtAgo(epochSeconds) {
  const d = toDate(epochSeconds);
  if (!d)
    return '—';
  const diff = Math.round((Date.now() - d.getTime()) / 1000);
  const abs = Math.abs(diff);
  let s;
  if (abs < 10)
    return 'just now';
  if (abs < 60)
    s = `${abs} s`;
  else if (abs < 3600)
    s = `${Math.floor(abs / 60)} min`;
  else if (abs < 86400)
    s = `${Math.floor(abs / 3600)} h`;
  else if (abs < 86400 * 60) {
    const days = Math.floor(abs / 86400);
    s = `${days} ${days === 1 ? 'day' : 'days'}`;
  } else
    return fmtTime(epochSeconds).slice(0, 10);
  return diff >= 0 ? `${s} ago` : `in ${s}`;
}

// A <time> showing fmtAgo with the full time as its title.
export function timeAgo(epochSeconds) {
  const d = toDate(epochSeconds);
  if (!d)
    return h('span', { text: '—' });
  return h('time', { datetime: d.toISOString(), title: fmtTime(epochSeconds), text: fmtAgo(epochSeconds) });
}

let toastTimer = null;

// A short message in the polite live region at the bottom of the page.
export function toast(msg, kind) {
  const box = document.getElementById('toast');
  if (!box)
    return;
  clearTimeout(toastTimer);
  box.className = `toast-${kind === 'error' ? 'error' : 'ok'} toast-show`;
  box.textContent = msg;
  toastTimer = setTimeout(() => {
    box.className = '';
    box.textContent = '';
  }, kind === 'error' ? 10000 : 5000);
}

// A data table. columns: [{key, label, render?(row), class?, numeric?}];
// opts: caption, captionHidden (caption only for screen readers), empty
// (text when no rows), rowClass(row), class. Returns the <table>; narrow
// screens scroll it sideways.
export function table(columns, rows, opts) {
  opts = opts || {};
  const cap = opts.caption ? h('caption', { class: opts.captionHidden ? 'vh' : null, text: opts.caption }) : null;
  const head = h('thead', null, h('tr', null, columns.map((c) =>
    h('th', { scope: 'col', class: [c.numeric ? 'num' : null, c.class].filter(Boolean).join(' ') || null, text: c.label }))));
  const body = h('tbody');
  if (!rows || rows.length === 0) {
    body.appendChild(h('tr', null, h('td', { colspan: String(columns.length), class: 'empty', text: opts.empty || 'Nothing to show.' })));
  } else {
    for (const row of rows) {
      const tr = h('tr', { class: opts.rowClass ? opts.rowClass(row) : null });
      for (const c of columns) {
        const v = c.render ? c.render(row) : row[c.key];
        const cls = [c.numeric ? 'num' : null, c.class].filter(Boolean).join(' ') || null;
        tr.appendChild(h(c.header ? 'th' : 'td', { class: cls, scope: c.header ? 'row' : null },
          v === null || v === undefined || v === '' ? '—' : v));
      }
      body.appendChild(tr);
    }
  }
  return h('table', { class: ['data', opts.class].filter(Boolean).join(' ') }, cap, head, body);
}

// A labelled form control with an error slot. input: the control (its id is
// made when it has none). opts: hint, error, class, inline (label after the
// control, for checkboxes; the default for checkboxes and radios).
// Returns the wrapper <div class="field">.
export function field(label, input, opts) {
  opts = opts || {};
  if (!input.id)
    input.id = uid('f');
  const errId = `${input.id}-err`;
  const inline = opts.inline !== undefined ? opts.inline : (input.type === 'checkbox' || input.type === 'radio');
  const lab = h('label', { for: input.id }, label);
  const hint = opts.hint ? h('p', { class: 'hint', id: `${input.id}-hint`, text: opts.hint }) : null;
  const err = h('p', { class: 'field-error', id: errId, hidden: true });
  const describedBy = [];
  if (hint)
    describedBy.push(hint.id);
  if (describedBy.length)
    input.setAttribute('aria-describedby', describedBy.join(' '));
  const wrap = h('div', { class: ['field', inline ? 'field-inline' : null, opts.class].filter(Boolean).join(' ') },
    inline ? [input, lab, hint] : [lab, hint, input], err);
  wrap.fieldInput = input;
  if (opts.error)
    showFieldError(wrap, opts.error);
  return wrap;
}

// Shows msg under the field (empty or null clears it) and marks the control
// aria-invalid, described by the message.
// An API error of a form: next to fields[key] when that field exists (and
// focused), else as an alert in the form's error box.
export function showFormError(fields, key, box, e) {
  if (key && fields[key]) {
    showFieldError(fields[key], e.message);
    fields[key].fieldInput.focus();
  } else {
    box.replaceChildren(h('div', { class: 'alert', role: 'alert', text: e.message }));
  }
}

export function showFieldError(wrapper, msg) {
  const input = wrapper.fieldInput || wrapper.querySelector('input, select, textarea');
  const err = wrapper.querySelector(':scope > .field-error');
  if (!err)
    return;
  const ids = (input && input.getAttribute('aria-describedby') || '').split(/\s+/).filter((x) => x && x !== err.id);
  if (msg) {
    err.textContent = msg;
    err.hidden = false;
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      ids.push(err.id);
      input.setAttribute('aria-describedby', ids.join(' '));
    }
  } else {
    err.textContent = '';
    err.hidden = true;
    if (input) {
      input.removeAttribute('aria-invalid');
      if (ids.length)
        input.setAttribute('aria-describedby', ids.join(' '));
      else
        input.removeAttribute('aria-describedby');
    }
  }
}

// A modal <dialog> asking to confirm; resolves true (OK) or false (Cancel,
// Escape). Cancel has the focus first, so Enter alone does no harm; focus
// goes back where it was.
export function confirmDialog(message, okLabel) {
  return new Promise((resolve) => {
    const before = document.activeElement;
    const msgId = uid('dlg');
    let result = false;
    const cancel = h('button', { type: 'button', class: 'btn', text: 'Cancel', onclick: () => dlg.close() });
    const ok = h('button', {
      type: 'button', class: 'btn btn-danger', text: okLabel || 'OK',
      onclick: () => { result = true; dlg.close(); },
    });
    const dlg = h('dialog', { class: 'confirm', 'aria-labelledby': msgId },
      h('p', { id: msgId, text: message }),
      h('div', { class: 'actions' }, cancel, ok));
    dlg.addEventListener('close', () => {
      dlg.remove();
      if (before && typeof before.focus === 'function' && document.contains(before))
        before.focus();
      resolve(result);
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    cancel.focus();
  });
}

// Sets document.title to 'text · vigil' and returns the page's <h1>.
export function pageTitle(text) {
  document.title = `${text} · vigil`;
  return h('h1', { text });
}

// A small coloured label; kind: ok | warn | bad | info.
export function badge(text, kind) {
  return h('span', { class: `badge badge-${kind || 'info'}`, text });
}

// A link that app.js routes in the page (no reload).
export function link(href, text, attrs) {
  return h('a', Object.assign({ href }, attrs || {}), text);
}

const EVENT_KINDS = {
  added: 'ok', changed: 'warn', removed: 'bad', offline: 'bad', online: 'ok',
  agent: 'warn', clone: 'bad', registered: 'info',
};

// The badge for an event type (added, changed, removed, offline ...).
export function eventTypeBadge(type) {
  return badge(type || '?', EVENT_KINDS[type] || 'info');
}

const STATE_KINDS = { new: 'warn', acknowledged: 'info', acked: 'info', accepted: 'ok' };

// The badge for an event state (new, acknowledged, accepted).
export function stateBadge(state) {
  return badge(state || '?', STATE_KINDS[state] || 'info');
}

// The role=alert box for an error (an ApiError or any Error, or a string).
export function errorBox(err) {
  const msg = typeof err === 'string' ? err : (err && err.message) || 'Something went wrong.';
  return h('div', { class: 'alert', role: 'alert' }, msg);
}

// Puts an error box into slot (replacing its content), or clears it for null.
export function showError(slot, err) {
  if (!err) {
    slot.replaceChildren();
    return;
  }
  slot.replaceChildren(errorBox(err));
}

// The unified diff as one line per <span>: add, del, hunk, or meta for the
// file headers and "\ No newline" notes (used by the event page and the
// configuration comparison). label: the <pre>'s accessible name, if any.
export function diffView(text, label) {
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '')
    lines.pop();
  let inHunk = false;
  const spans = lines.map((line) => {
    let cls = null;
    if (line.startsWith('@@')) {
      cls = 'hunk';
      inHunk = true;
    } else if (!inHunk && (line.startsWith('---') || line.startsWith('+++'))) {
      cls = 'meta';
    } else if (line.startsWith('+')) {
      cls = 'add';
    } else if (line.startsWith('-')) {
      cls = 'del';
    } else if (line.startsWith('\\')) {
      cls = 'meta';
    }
    // One block per line (style.css): no newline inside, which copying
    // would double; an empty line keeps its height with a space.
    return h('span', { class: cls }, line || ' ');
  });
  return h('pre', { class: 'diff', tabindex: '0', 'aria-label': label }, spans);
}

// Loads rows with fetchRows() and shows them as table(columns, rows, opts)
// in box (aria-busy meanwhile); a failure goes to errorSlot as an alert.
// alive() false: the page was left, nothing is drawn. focusKey: the
// data-focus key of the control to focus afterwards (null or '': the
// table; undefined: the focus stays).
export async function reloadTable(box, errorSlot, fetchRows, columns, opts, alive, focusKey) {
  box.setAttribute('aria-busy', 'true');
  let rows;
  try {
    rows = await fetchRows();
  } catch (e) {
    if (!alive() || e.handled)
      return;
    box.setAttribute('aria-busy', 'false');
    errorSlot.replaceChildren(h('div', { class: 'alert', role: 'alert', text: e.message }));
    return;
  }
  if (!alive())
    return;
  const t = table(columns, rows, opts);
  t.tabIndex = -1;
  box.replaceChildren(t);
  box.setAttribute('aria-busy', 'false');
  if (focusKey !== undefined) {
    const target = focusKey && box.querySelector(`[data-focus="${focusKey}"]`);
    (target || t).focus();
  }
}

// A <div> that scrolls its table sideways on narrow screens.
export function scrollBox(...children) {
  return h('div', { class: 'scroll' }, children);
}

// Disables a button (or form's submit) while the promise of fn runs;
// resolves with fn's result.
export async function busyButton(button, fn) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}
