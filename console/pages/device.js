// SPDX-License-Identifier: GPL-3.0-or-later
// One device: details, the merged policy it gets, its recent changes, and
// (admin) deleting it.

import { api, query } from '../api.js';
import {
  h, clear, pageTitle, table, errorBox, fmtTime, timeAgo, link, eventTypeBadge, stateBadge,
  confirmDialog, toast, showError,
  scrollBox,
} from '../ui.js';
import { statusBadge } from './devices.js';

function section(id, title, ...body) {
  return h('section', { 'aria-labelledby': id, class: 'card' }, h('h2', { id, text: title }), body);
}

function list(items, mono) {
  if (!items || !items.length)
    return '—';
  return h('ul', null, items.map((x) => h('li', { class: mono ? 'mono' : null, text: x })));
}

function details(d) {
  const rows = [
    ['Status', statusBadge(d)],
    ['Host name', d.hostname],
    ['OS', d.os],
    ['IP addresses', list(d.ips, true)],
    ['MAC addresses', list(d.macs, true)],
    ['Registered from', d.peer ? h('span', { class: 'mono', text: d.peer }) : null],
    ['Agent version', d.agent_version],
    ['Last poll', d.last_seen ? [timeAgo(d.last_seen), h('span', { class: 'muted', text: ` (${fmtTime(d.last_seen)})` })] : 'never'],
    ['Poll period', d.poll_period ? `${d.poll_period} s` : null],
    ['Created', fmtTime(d.created)],
    ['Groups', d.groups && d.groups.length
      ? h('ul', null, d.groups.map((g) => h('li', null, link(`/groups/${g.id}`, g.name))))
      : 'none'],
    ['Machine id', d.machine_id ? h('code', { text: d.machine_id }) : null],
    ['Agent id', d.agent_id !== undefined ? String(d.agent_id) : null],
  ];
  if (d.clone_of)
    rows.push(['Clone of', link(`/devices/${d.clone_of}`, `device ${d.clone_of}`)]);
  return h('dl', { class: 'props' }, rows.map(([k, v]) => [h('dt', { text: k }),
    h('dd', null, v === null || v === undefined || v === '' ? '—' : v)]));
}

function policyView(p) {
  const pol = p.policy || {};
  const groups = p.groups || [];
  return [
    h('p', null,
      groups.length
        ? ['From ', groups.map((g, i) => [i ? ', ' : '', link(`/groups/${g.id}`, g.name),
          h('span', { class: 'muted', text: ` (v${g.version})` })]), '.']
        : 'This device is in no group with a policy; it watches nothing the hub asks for.'),
    p.version ? h('p', { class: 'muted' }, 'Version ', h('code', { text: p.version })) : null,
    Object.keys(pol).length
      ? h('pre', { class: 'json', tabindex: '0', 'aria-label': 'Merged policy (JSON)', text: JSON.stringify(pol, null, 2) })
      : h('p', { class: 'muted', text: 'Empty policy.' }),
  ];
}

function recent(events) {
  return scrollBox(table([
    { key: 'time', label: 'Time', class: 'nowrap', render: (e) => timeAgo(e.time) },
    { key: 'type', label: 'Type', render: (e) => eventTypeBadge(e.type) },
    { key: 'path', label: 'Path', class: 'path', render: (e) => link(`/events/${e.id}`, e.path || h('span', { class: 'msg', text: e.message || `Event ${e.id}` })) },
    { key: 'state', label: 'State', render: (e) => stateBadge(e.state) },
  ], events, { caption: 'Recent changes', captionHidden: true, empty: 'No events from this device yet.' }));
}

export async function render(main, ctx) {
  const id = ctx.params.id;
  let d;
  try {
    d = await api('GET', `/devices/${id}`);
  } catch (e) {
    if (e.status === 404) {
      clear(main, pageTitle('Device not found'), errorBox(`There is no device ${id}; it may have been deleted.`),
        h('p', null, link('/devices', 'Back to the device list')));
      return;
    }
    throw e;
  }
  if (!ctx.alive())
    return;

  const policyBox = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted', text: 'Loading…' }));
  const eventsBox = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted', text: 'Loading…' }));
  const adminErrors = h('div');
  let adminPart = null;
  if (ctx.isAdmin) {
    const del = h('button', { type: 'button', class: 'btn btn-danger', text: 'Delete device' });
    del.addEventListener('click', async () => {
      const ok = await confirmDialog(
        `Delete the device ${d.name}, its events and its memberships? Its agent stops being accepted and must register again. This cannot be undone.`,
        'Delete device');
      if (!ok)
        return;
      del.disabled = true;
      del.textContent = 'Deleting…';
      showError(adminErrors, null);
      try {
        await api('DELETE', `/devices/${id}`);
        toast(`Device ${d.name} deleted.`, 'ok');
        ctx.navigate('/devices');
      } catch (e) {
        del.disabled = false;
        del.textContent = 'Delete device';
        showError(adminErrors, e);
        del.focus();
      }
    });
    adminPart = h('div', { class: 'actions' }, del);
  }

  clear(main,
    h('div', { class: 'page-head' }, pageTitle(d.name), adminPart),
    adminErrors,
    h('p', { class: 'subtitle' }, link('/devices', 'Back to the device list')),
    h('div', { class: 'grid' },
      section('dev-details', 'Details', details(d)),
      section('dev-policy', 'Policy', policyBox),
      h('section', { 'aria-labelledby': 'dev-recent', class: 'card span-all' },
        h('h2', { id: 'dev-recent', text: 'Recent changes' }),
        eventsBox,
        h('p', null, link(`/events${query({ device: id })}`, 'All events of this device')))));

  const [pol, evs] = await Promise.allSettled([
    api('GET', `/devices/${id}/policy`),
    api('GET', `/events${query({ device: id, limit: 20 })}`),
  ]);
  if (!ctx.alive())
    return;
  clear(policyBox, pol.status === 'fulfilled' ? policyView(pol.value) : errorBox(pol.reason));
  clear(eventsBox, evs.status === 'fulfilled' ? recent(evs.value.events || []) : errorBox(evs.reason));
}
