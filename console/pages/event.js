// SPDX-License-Identifier: GPL-3.0-or-later
// One event: what changed (attributes before and after, the content diff,
// a registry value's type and data), who reviewed it, and for
// administrators acknowledging it and accepting it into the device's
// baseline.

import { api } from '../api.js';
import {
  h, fmtTime, toast, table, field, pageTitle, badge, link, eventTypeBadge, diffView, visuallyHidden,
} from '../ui.js';
import { stateBadge, eventTime } from './events.js';
import { fmtBytes } from './device.js';

const CHANGE_TYPES = new Set(['added', 'removed', 'changed']);
// The attributes in the order a person reads them; others follow by name.
const ATTR_ORDER = ['type', 'size', 'mode', 'uid', 'gid', 'user', 'group', 'mtime', 'ctime', 'inode', 'dev',
  'nlink', 'target', 'xattrs', 'acl', 'selinux', 'hash', 'hash_state'];
// Item kinds named in words where the API's name is terse.
const KIND_LABELS = { regkey: 'registry key', regvalue: 'registry value' };
// A value's data up to this many characters, on one line, is shown
// inline as "old → new"; longer or multi-line data gets a block each.
const INLINE_DATA_MAX = 120;
// An attribute value longer than this scrolls in its own box.
const LONG_VALUE = 400;

function show(value) {
  if (value === undefined)
    return '';
  if (value === null)
    return 'none';
  if (typeof value === 'object')
    return JSON.stringify(value);
  return String(value);
}

// The rows of the Attributes table: one per attribute in old or new, the
// properties of `props` one by one.
function attributeRows(ev, skipProps) {
  const before = ev.old || {};
  const after = ev.new || {};
  const listed = new Set(ev.changed || []);
  const isChange = ev.type === 'changed';
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  keys.delete('props');
  const ordered = ATTR_ORDER.filter((k) => keys.has(k))
    .concat([...keys].filter((k) => !ATTR_ORDER.includes(k)).sort());
  const rows = ordered.map((k) => ({
    name: k,
    before: show(before[k]),
    after: show(after[k]),
    changed: isChange && (listed.has(k) || show(before[k]) !== show(after[k])),
  }));
  const pb = before.props || {};
  const pa = after.props || {};
  const props = [...new Set([...Object.keys(pb), ...Object.keys(pa)])].filter((p) => !skipProps.has(p)).sort();
  for (const p of props) {
    rows.push({
      name: `props.${p}`,
      before: show(pb[p]),
      after: show(pa[p]),
      changed: isChange && show(pb[p]) !== show(pa[p]),
    });
  }
  return rows;
}

function attributesTable(ev, skipProps) {
  const rows = attributeRows(ev, skipProps);
  const value = (v) => {
    if (v === '')
      return '';
    if (v.length <= LONG_VALUE)
      return h('span', { class: 'attr-value', text: v });
    return h('div', { class: 'attr-value long', tabindex: '0', text: v });
  };
  const t = table([
    {
      key: 'name', label: 'Attribute', header: true,
      render: (r) => [r.name, r.changed ? [' ', badge('changed', 'warn')] : null],
    },
    { key: 'before', label: 'Before', render: (r) => value(r.before) },
    { key: 'after', label: 'After', render: (r) => value(r.after) },
  ], rows, { caption: 'Attributes before and after', captionHidden: true, class: 'attributes', empty: 'No attributes recorded.' });
  const trs = t.tBodies[0].rows;
  rows.forEach((r, i) => {
    if (r.changed && trs[i])
      trs[i].classList.add('changed');
  });
  return h('div', { class: 'scroll' }, t);
}

function detail(label, value) {
  return [h('dt', { text: label }), h('dd', null, value)];
}

// ---- registry values (Windows hosts) ----

// A value's data as its side of the event records it: the text, or, for
// data too long to keep as text, its size and SHA-256. label names the
// block for screen readers.
function dataBlock(p, label) {
  if (typeof p.data === 'string') {
    if (p.data === '')
      return h('span', { class: 'muted', text: '(empty)' });
    return h('pre', { class: 'value-data', tabindex: '0', 'aria-label': label, text: p.data });
  }
  if (typeof p.data_sha256 === 'string') {
    const size = /^[0-9]+$/.test(p.size || '') ? fmtBytes(Number(p.size)) : null;
    return h('span', { class: 'value-digest' },
      `Too long to keep as text${size ? ` (${size})` : ''}; SHA-256 `,
      h('code', { class: 'digest', text: p.data_sha256 }));
  }
  return h('span', { class: 'muted', text: 'not recorded' });
}

function inlineData(p) {
  return typeof p.data === 'string' && p.data.length <= INLINE_DATA_MAX && !/[\r\n]/.test(p.data);
}

function inlineValue(text) {
  return text === '' ? h('span', { class: 'muted', text: '(empty)' }) : h('code', { class: 'value-inline', text });
}

// "before → after", read as "before, changed to after".
function arrow(before, after) {
  return [before, h('span', { 'aria-hidden': 'true', text: ' → ' }), visuallyHidden(', changed to '), after];
}

// The Value section of a registry value's event: its type and data, both
// sides of a change.
function registryValue(ev) {
  const before = (ev.old && ev.old.props) || null;
  const after = (ev.new && ev.new.props) || null;
  const items = [];
  const typeOf = (p) => (p && p.type ? p.type : '?');
  if (before && after && typeOf(before) !== typeOf(after))
    items.push(detail('Type', arrow(h('code', { text: typeOf(before) }), h('code', { text: typeOf(after) }))));
  else
    items.push(detail('Type', h('code', { text: typeOf(after || before) })));
  if (before && after) {
    const same = before.data === after.data && before.data_sha256 === after.data_sha256;
    if (same)
      items.push(detail('Data', dataBlock(after, 'Data')));
    else if (inlineData(before) && inlineData(after))
      items.push(detail('Data', arrow(inlineValue(before.data), inlineValue(after.data))));
    else
      items.push(detail('Data before', dataBlock(before, 'Data before')), detail('Data after', dataBlock(after, 'Data after')));
  } else if (after || before) {
    items.push(detail('Data', dataBlock(after || before, 'Data')));
  }
  return h('dl', { class: 'props registry-value' }, items);
}

function summary(ev) {
  const items = [
    detail('Device', link(`/devices/${ev.device_id}`, ev.device)),
  ];
  if (ev.path)
    items.push(detail('Path', h('code', { class: 'event-path', text: ev.path })));
  if (ev.kind)
    items.push(detail('Kind', KIND_LABELS[ev.kind] || ev.kind));
  items.push(detail('Happened', [eventTime(ev.time),
    ev.origin !== 'hub' ? [' ', h('span', { class: 'muted', text: "(the device's clock)" })] : null]));
  items.push(detail('Received', fmtTime(ev.received)));
  items.push(detail('Origin', ev.origin));
  if (ev.seq !== null && ev.seq !== undefined)
    items.push(detail('Agent sequence', String(ev.seq)));
  return h('dl', { class: 'props' }, items);
}

function reviewInfo(ev) {
  const out = [];
  if (ev.ack_by || ev.ack_at) {
    out.push(h('p', null, `Acknowledged by ${ev.ack_by || 'unknown'} at ${fmtTime(ev.ack_at)}.`));
    if (ev.comment)
      out.push(h('blockquote', { class: 'comment' }, h('p', { text: ev.comment })));
  }
  if (ev.accepted_by || ev.accepted_at)
    out.push(h('p', null, `Accepted into the baseline by ${ev.accepted_by || 'unknown'} at ${fmtTime(ev.accepted_at)}.`));
  if (!out.length)
    out.push(h('p', null, 'Nobody has reviewed this event yet.'));
  return out;
}

export async function render(main, ctx) {
  const id = ctx.params.id;
  let alive = true;
  const content = h('div', { class: 'event' });
  main.append(pageTitle(`Event ${id}`), content);

  // Shows ev; focusReview puts the keyboard on the Review heading (after
  // an action, whose button may be gone).
  function draw(ev, focusReview) {
    const isChange = CHANGE_TYPES.has(ev.type);
    const parts = [h('section', { class: 'card event-summary', 'aria-label': 'Summary' },
      h('p', { class: 'event-badges' }, eventTypeBadge(ev.type), ' ', stateBadge(ev.state)),
      ev.message ? h('p', { class: 'event-message' }, ev.message) : null,
      summary(ev))];

    // A registry value's data has a section of its own: a long text does
    // not fit a table cell.
    const isValue = ev.kind === 'regvalue' && !!((ev.old && ev.old.props) || (ev.new && ev.new.props));
    if (isValue) {
      parts.push(h('section', { 'aria-labelledby': 'value-title' },
        h('h2', { id: 'value-title', text: 'Value' }), registryValue(ev)));
    }
    if (isChange || ev.old || ev.new) {
      parts.push(h('section', { 'aria-labelledby': 'attributes-title' },
        h('h2', { id: 'attributes-title', text: 'Attributes' }),
        attributesTable(ev, isValue ? new Set(['data']) : new Set())));
    }
    // A diff is there only for content-tracked text; a changed file
    // without one says why there is none.
    if (ev.diff || (ev.type === 'changed' && ev.kind === 'file')) {
      const diff = [h('h2', { id: 'diff-title', text: 'Diff' })];
      if (ev.diff) {
        diff.push(diffView(ev.diff));
        if (ev.diff_truncated)
          diff.push(h('p', { class: 'notice' }, 'The diff is incomplete: a size limit cut it short (its last line says why).'));
      } else {
        diff.push(h('p', { class: 'muted' }, 'No diff: the content of this file is not tracked, or it is not text.'));
      }
      parts.push(h('section', { 'aria-labelledby': 'diff-title' }, diff));
    }

    const reviewHeading = h('h2', { id: 'review-title', text: 'Review', tabindex: '-1' });
    parts.push(h('section', { class: 'card', 'aria-labelledby': 'review-title' },
      reviewHeading, reviewInfo(ev), ctx.isAdmin ? actions(ev, isChange) : null));
    content.replaceChildren(...parts);
    if (focusReview)
      reviewHeading.focus();
  }

  async function act(button, path, body, done) {
    const slot = button.closest('.event-actions').querySelector('.action-error');
    slot.replaceChildren();
    button.disabled = true;
    try {
      await api('POST', path, body);
      const ev = await api('GET', `/events/${id}`);
      if (!alive)
        return;
      draw(ev, true);
      toast(done, 'ok');
    } catch (e) {
      if (!alive || e.handled)
        return;
      button.disabled = false;
      slot.replaceChildren(h('div', { class: 'alert', role: 'alert', text: e.message }));
    }
  }

  function actions(ev, isChange) {
    const comment = h('textarea', { name: 'comment', rows: '3', maxlength: '4096' });
    const ackButton = h('button', { type: 'submit', class: 'btn', text: 'Acknowledge' });
    const ackForm = h('form', {
      class: 'ack-form',
      onsubmit: (e) => {
        e.preventDefault();
        act(ackButton, `/events/${id}/ack`, { comment: comment.value }, `Event ${id} acknowledged.`);
      },
    }, field('Comment', comment, { hint: 'Optional: why it was expected, a ticket number …' }), ackButton);

    let accept = null;
    if (isChange && ev.state !== 'accepted') {
      accept = h('div', { class: 'accept' },
        h('p', { class: 'hint', text: 'The item as it is after this change becomes its expected state on the hub.' }));
      const acceptButton = h('button', {
        type: 'button', class: 'btn btn-primary', text: 'Accept into baseline',
        onclick: () => act(acceptButton, `/events/${id}/accept`, {}, `Event ${id} accepted into the baseline.`),
      });
      accept.prepend(acceptButton);
    }
    return h('div', { class: 'event-actions' }, h('div', { class: 'action-error' }), accept, ackForm);
  }

  const ev = await api('GET', `/events/${id}`);
  draw(ev, false);
  return () => {
    alive = false;
  };
}
