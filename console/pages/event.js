// SPDX-License-Identifier: GPL-3.0-or-later
// One event: what changed (attributes before and after, the content diff),
// who reviewed it, and for administrators acknowledging it and accepting
// it into the device's baseline.

import { api } from '../api.js';
import { h, fmtTime, toast, table, field, pageTitle, badge, link, eventTypeBadge, diffView } from '../ui.js';
import { stateBadge, eventTime } from './events.js';

const CHANGE_TYPES = new Set(['added', 'removed', 'changed']);
// The attributes in the order a person reads them; others follow by name.
const ATTR_ORDER = ['type', 'size', 'mode', 'uid', 'gid', 'user', 'group', 'mtime', 'ctime', 'inode', 'dev',
  'nlink', 'target', 'xattrs', 'acl', 'selinux', 'hash', 'hash_state'];

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
function attributeRows(ev) {
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
  const props = [...new Set([...Object.keys(pb), ...Object.keys(pa)])].sort();
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

function attributesTable(ev) {
  const rows = attributeRows(ev);
  const value = (v) => (v === '' ? '' : h('span', { class: 'attr-value', text: v }));
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

function summary(ev) {
  const items = [
    detail('Device', link(`/devices/${ev.device_id}`, ev.device)),
  ];
  if (ev.path)
    items.push(detail('Path', h('code', { class: 'event-path', text: ev.path })));
  if (ev.kind)
    items.push(detail('Kind', ev.kind));
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

    if (isChange || ev.old || ev.new) {
      parts.push(h('section', { 'aria-labelledby': 'attributes-title' },
        h('h2', { id: 'attributes-title', text: 'Attributes' }), attributesTable(ev)));
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
