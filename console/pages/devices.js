// SPDX-License-Identifier: GPL-3.0-or-later
// Devices list: filters kept in the URL query, paged with after / next.

import { api, query } from '../api.js';
import { h, clear, pageTitle, table, field, badge, errorBox, timeAgo, link, scrollBox } from '../ui.js';

const PAGE = 50;
// Last-contact choices: URL value → [label, API parameter, seconds ago].
const CONTACT = {
  '1h': ['Within the last hour', 'seen_after', 3600],
  '24h': ['Within the last 24 hours', 'seen_after', 86400],
  '7d': ['Within the last 7 days', 'seen_after', 7 * 86400],
  'not-1h': ['Not in the last hour', 'seen_before', 3600],
  'not-24h': ['Not in the last 24 hours', 'seen_before', 86400],
  'not-7d': ['Not in the last 7 days', 'seen_before', 7 * 86400],
};
const FILTERS = ['group', 'status', 'os', 'seen', 'q'];

// The page's query (URL) → the API's query.
function apiQuery(q) {
  const p = { limit: PAGE };
  for (const k of ['group', 'status', 'os', 'q', 'after'])
    if (q.get(k))
      p[k] = q.get(k);
  const c = CONTACT[q.get('seen')];
  if (c)
    p[c[1]] = Math.floor(Date.now() / 1000) - c[2];
  return p;
}

export function statusBadge(d) {
  if (d.last_seen === null || d.last_seen === undefined)
    return badge('never seen', 'info');
  return d.online ? badge('online', 'ok') : badge('offline', 'bad');
}

function addresses(d) {
  const ips = d.ips || [];
  if (!ips.length)
    return null;
  return h('span', { class: 'mono', title: ips.join(', ') }, ips.slice(0, 2).join(', '), ips.length > 2 ? ` +${ips.length - 2}` : '');
}

export async function render(main, ctx) {
  const q = ctx.query;
  const group = h('select', { id: 'dev-group', name: 'group' }, h('option', { value: '', text: 'Any group' }));
  const status = h('select', { id: 'dev-status', name: 'status' },
    [['', 'Any status'], ['online', 'Online'], ['offline', 'Offline']].map(([v, t]) =>
      h('option', { value: v, text: t, selected: q.get('status') === v })));
  const os = h('input', { id: 'dev-os', name: 'os', type: 'search', value: q.get('os') || '', maxlength: '255' });
  const seen = h('select', { id: 'dev-seen', name: 'seen' }, h('option', { value: '', text: 'Any time' }),
    Object.entries(CONTACT).map(([v, c]) => h('option', { value: v, text: c[0], selected: q.get('seen') === v })));
  const name = h('input', { id: 'dev-name', name: 'q', type: 'search', value: q.get('q') || '', maxlength: '255',
    autocomplete: 'off' });
  const apply = h('button', { id: 'dev-apply', type: 'submit', class: 'btn btn-primary', text: 'Apply' });
  const filtered = FILTERS.some((k) => q.get(k));
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter devices' },
    field('Name', name), field('Group', group), field('Status', status), field('OS', os),
    field('Last contact', seen),
    h('div', { class: 'actions' }, apply, filtered ? h('a', { class: 'btn', href: '/devices', text: 'Clear filters' }) : null));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const next = query({ q: name.value.trim(), group: group.value, status: status.value, os: os.value.trim(), seen: seen.value });
    ctx.navigate(`/devices${next}`, { focus: 'dev-apply' });
  });

  const live = h('p', { role: 'status', class: 'muted' });
  const errors = h('div');
  const results = h('div');
  clear(main, pageTitle('Devices'), form, errors, live, results);

  const [groupsRes, devRes] = await Promise.allSettled([
    api('GET', '/groups'),
    api('GET', `/devices${query(apiQuery(q))}`),
  ]);
  if (!ctx.alive())
    return;

  if (groupsRes.status === 'fulfilled') {
    for (const g of groupsRes.value.groups || [])
      group.appendChild(h('option', { value: String(g.id), text: g.name, selected: q.get('group') === String(g.id) }));
  } else if (q.get('group')) {
    group.appendChild(h('option', { value: q.get('group'), text: `Group ${q.get('group')}`, selected: true }));
  }
  const errs = [groupsRes, devRes].filter((r) => r.status === 'rejected' && !r.reason.handled);
  if (errs.length)
    clear(errors, errs.map((r) => errorBox(r.reason)));
  if (devRes.status !== 'fulfilled') {
    live.textContent = 'The devices could not be loaded.';
    return;
  }

  const { devices, next } = devRes.value;
  const after = q.get('after');
  live.textContent = devices.length === 0
    ? (filtered ? 'No device matches these filters.' : 'No devices yet.')
    : `Showing ${devices.length} ${devices.length === 1 ? 'device' : 'devices'}${after || next ? ' on this page' : ''}.`;

  const tbl = scrollBox(table([
    { key: 'name', label: 'Name', header: true, render: (d) => link(`/devices/${d.id}`, d.name) },
    { key: 'status', label: 'Status', render: statusBadge },
    { key: 'os', label: 'OS' },
    { key: 'last_seen', label: 'Last contact', class: 'nowrap', render: (d) => timeAgo(d.last_seen) },
    { key: 'groups', label: 'Groups', render: (d) => (d.groups || []).length
      ? (d.groups || []).map((g, i) => [i ? ', ' : '', link(`/groups/${g.id}`, g.name)]) : null },
    { key: 'ips', label: 'Addresses', render: addresses },
    { key: 'agent_version', label: 'Agent' },
  ], devices, { caption: 'Devices', captionHidden: true, empty: filtered ? 'No device matches these filters.' : 'No devices yet.' }));

  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' },
    after ? h('a', { class: 'btn', href: `/devices${query(Object.assign(Object.fromEntries(q), { after: '' }))}`, text: 'First page' }) : null,
    next !== null && next !== undefined
      ? h('a', { class: 'btn', href: `/devices${query(Object.assign(Object.fromEntries(q), { after: String(next) }))}`, text: 'Next page' })
      : null);
  clear(results, tbl, pager.childNodes.length ? pager : null);
}
