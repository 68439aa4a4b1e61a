// SPDX-License-Identifier: GPL-3.0-or-later
// One device: details, the merged policy it gets, its recent changes, and
// (admin) deleting it. A proxied device also shows how it is collected,
// its SSH host key (trusting a changed one, forgetting it) and, for a
// network device, its configuration versions, any two of which can be
// compared. Linux servers and Windows hosts show their merged policy.

import { api, query } from '../api.js';
import {
  h, clear, pageTitle, table, errorBox, fmtTime, timeAgo, link, eventTypeBadge, stateBadge,
  confirmDialog, toast, showError, badge, field,
  scrollBox,
} from '../ui.js';
import { statusBadge, isProxied, hostPort, proxiedType } from './devices.js';

const TYPE_LABELS = {
  network: 'network device (configuration)',
  linux: 'Linux server (files and system)',
  windows: 'Windows host (registry and files)',
};
const PROTOCOL_LABELS = { ssh: 'SSH', telnet: 'Telnet', smb: 'SMB' };

const HOST_KEY_STATES = {
  unknown: ['unknown', 'info'],
  trusted: ['trusted', 'ok'],
  changed: ['changed', 'bad'],
};

function section(id, title, ...body) {
  return h('section', { 'aria-labelledby': id, class: 'card' }, h('h2', { id, text: title, tabindex: '-1' }), body);
}

function list(items, mono) {
  if (!items || !items.length)
    return '—';
  return h('ul', null, items.map((x) => h('li', { class: mono ? 'mono' : null, text: x })));
}

function props(rows) {
  return h('dl', { class: 'props' }, rows.map(([k, v]) => [h('dt', { text: k }),
    h('dd', null, v === null || v === undefined || v === '' ? '—' : v)]));
}

function groupList(d) {
  return d.groups && d.groups.length
    ? h('ul', null, d.groups.map((g) => h('li', null, link(`/groups/${g.id}`, g.name))))
    : 'none';
}

function details(d) {
  if (isProxied(d)) {
    return props([
      ['Status', statusBadge(d)],
      ['Kind', 'proxied (collected by an agent over the network)'],
      ['Last contact', d.last_seen ? [timeAgo(d.last_seen), h('span', { class: 'muted', text: ` (${fmtTime(d.last_seen)})` })] : 'never'],
      ['Created', fmtTime(d.created)],
      ['Groups', groupList(d)],
    ]);
  }
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
    ['Groups', groupList(d)],
    ['Machine id', d.machine_id ? h('code', { text: d.machine_id }) : null],
    ['Agent id', d.agent_id !== undefined ? String(d.agent_id) : null],
  ];
  if (d.clone_of)
    rows.push(['Clone of', link(`/devices/${d.clone_of}`, `device ${d.clone_of}`)]);
  return props(rows);
}

function seconds(n) {
  if (!n)
    return null;
  if (n % 3600 === 0)
    return `every ${n / 3600} h (${n} s)`;
  if (n % 60 === 0)
    return `every ${n / 60} min (${n} s)`;
  return `every ${n} s`;
}

// How a proxied device is collected, and how the last collection went.
function collection(d) {
  const p = d.proxied || {};
  const type = proxiedType(d);
  const network = type === 'network';
  return props([
    ['Type', TYPE_LABELS[type]],
    ['Address', p.host ? h('span', { class: 'mono', text: hostPort(p) }) : null],
    ['Protocol', PROTOCOL_LABELS[p.protocol] || 'SSH'],
    network ? ['Profile', p.profile ? h('code', { text: p.profile }) : null] : null,
    ['Credential', p.credential || (p.credential_id ? `credential ${p.credential_id}` : null)],
    ['Collected by', p.proxy_id ? link(`/devices/${p.proxy_id}`, p.proxy || `device ${p.proxy_id}`) : null],
    ['Schedule', seconds(p.schedule)],
    p.protocol !== 'telnet' && p.protocol !== 'smb' ? ['Legacy SSH algorithms', p.legacy_ssh ? 'allowed' : 'not allowed'] : null,
    ['Last collection', p.last_collect
      ? [timeAgo(p.last_collect), h('span', { class: 'muted', text: ` (${fmtTime(p.last_collect)})` })] : 'never'],
    ['Last error', p.last_error ? h('span', { class: 'last-error', text: p.last_error }) : 'none'],
    network ? ['Configuration version', p.config_version ? String(p.config_version) : 'none yet'] : null,
  ].filter(Boolean));
}

function fingerprint(fp) {
  return fp ? h('code', { class: 'fingerprint', text: fp }) : null;
}

// The host key, its state and (admin) the buttons that change it.
// act(action, button) sends the action.
function hostKey(d, isAdmin, act) {
  const p = d.proxied || {};
  if (p.protocol === 'telnet')
    return h('p', { class: 'muted', text: 'Telnet has no host key: nothing proves the device is the one it claims to be.' });
  if (p.protocol === 'smb')
    return h('p', { class: 'muted', text: 'SMB has no host key: vigil records no fingerprint for this host.' });
  const state = HOST_KEY_STATES[p.host_key_state] ? p.host_key_state : 'unknown';
  const [label, kind] = HOST_KEY_STATES[state];
  const out = [];
  if (state === 'changed') {
    out.push(h('div', { class: 'warning', role: 'alert' },
      h('p', null, h('strong', { text: 'The device presented a different host key. ' }),
        'Collection is stopped until an administrator trusts the new key.'),
      h('p', { text: 'Trust it only when you know why it changed (the device was replaced, reinstalled or given a new key); otherwise someone may be intercepting the connection.' })));
  }
  out.push(props([
    ['State', badge(label, kind)],
    ['Trusted key', fingerprint(p.host_key) || 'none'],
    state === 'changed' ? ['Offered key', fingerprint(p.host_key_offered)] : null,
  ].filter(Boolean)));
  if (state === 'unknown')
    out.push(h('p', { class: 'muted', text: 'No key is recorded: the key the device presents at its next collection is trusted (trust on first use).' }));
  if (isAdmin && state !== 'unknown') {
    const buttons = [];
    if (state === 'changed' && p.host_key_offered) {
      const trust = h('button', { type: 'button', class: 'btn btn-primary', text: 'Trust new key' });
      trust.addEventListener('click', () => act('trust', trust,
        `Trust the new host key ${p.host_key_offered} of ${hostPort(p)}? Collection resumes with it.`, 'Trust new key'));
      buttons.push(trust);
    }
    const forget = h('button', { type: 'button', class: 'btn btn-danger', text: 'Forget key' });
    forget.addEventListener('click', () => act('forget', forget,
      `Forget the host key of ${hostPort(p)}? The key the device presents next is trusted without a question.`, 'Forget key'));
    buttons.push(forget);
    out.push(h('div', { class: 'actions' }, buttons));
  }
  return out;
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

export function fmtBytes(n) {
  if (n === null || n === undefined)
    return null;
  if (n < 1024)
    return `${n} B`;
  if (n < 1024 * 1024)
    return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function versionLabel(c) {
  return `Version ${c.version} (${fmtTime(c.time)})`;
}

// The versions table and the form that compares two of them.
function configs(id, rows, navigate) {
  if (!rows.length)
    return h('p', { class: 'muted', text: 'No configuration collected yet.' });
  const tbl = scrollBox(table([
    { key: 'version', label: 'Version', header: true,
      render: (c) => link(`/devices/${id}/configs/${c.version}`, `Version ${c.version}`) },
    { key: 'time', label: 'Collected', class: 'nowrap', render: (c) => [timeAgo(c.time), h('span', { class: 'muted', text: ` (${fmtTime(c.time)})` })] },
    { key: 'lines', label: 'Lines', numeric: true, render: (c) => (c.lines === undefined ? null : String(c.lines)) },
    { key: 'bytes', label: 'Size', numeric: true, render: (c) => fmtBytes(c.bytes) },
    { key: 'sha256', label: 'SHA-256', render: (c) => (c.sha256 ? h('code', { title: c.sha256, text: c.sha256.slice(0, 12) }) : null) },
    { key: 'changes', label: 'Changes', render: (c) => {
      const i = rows.indexOf(c);
      const prev = rows[i + 1];
      return prev
        ? link(`/devices/${id}/compare${query({ from: prev.version, to: c.version })}`, `From version ${prev.version}`,
          { 'aria-label': `Changes from version ${prev.version} to ${c.version}` })
        : h('span', { class: 'muted', text: 'first version' });
    } },
  ], rows, { caption: 'Configuration versions', captionHidden: true }));
  if (rows.length < 2)
    return tbl;
  return [tbl, compareForm(id, rows, rows[1].version, rows[0].version, false, navigate)];
}

// From, To and the view: Compare goes to /devices/ID/compare?from&to[&view].
export function compareForm(id, rows, from, to, full, navigate) {
  const sel = (name, value) => h('select', { name },
    rows.map((c) => h('option', { value: String(c.version), text: versionLabel(c), selected: String(c.version) === String(value) })));
  const fromSel = sel('from', from);
  const toSel = sel('to', to);
  const whole = h('input', { type: 'checkbox', name: 'view', checked: !!full });
  const go = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Compare' });
  const form = h('form', { class: 'filters compare-form', 'aria-label': 'Compare two versions' },
    field('From', fromSel), field('To', toSel),
    field('Whole document (volatile lines too)', whole),
    h('div', { class: 'actions' }, go));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    navigate(`/devices/${id}/compare${query({ from: fromSel.value, to: toSel.value, view: whole.checked ? 'full' : '' })}`,
      { focus: 'compare-result' });
  });
  return form;
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

  const proxied = isProxied(d);
  const network = proxied && proxiedType(d) === 'network';
  const policyBox = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted', text: 'Loading…' }));
  const eventsBox = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted', text: 'Loading…' }));
  const configBox = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted', text: 'Loading…' }));
  const detailsBox = h('div', null, details(d));
  const collectBox = h('div', null, proxied ? collection(d) : null);
  const keyBox = h('div');
  const keyErrors = h('div');
  const adminErrors = h('div');
  let adminPart = null;
  if (ctx.isAdmin) {
    const del = h('button', { type: 'button', class: 'btn btn-danger', text: 'Delete device' });
    del.addEventListener('click', async () => {
      const ok = await confirmDialog(proxied
        ? `Delete the device ${d.name}, its events, its configuration versions and its memberships? Its proxy stops collecting it. This cannot be undone.`
        : `Delete the device ${d.name}, its events and its memberships? Its agent stops being accepted and must register again. This cannot be undone.`,
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

  // Trust or forget the host key, then show the device as the hub
  // answers it; the focus goes to the section's heading (the button
  // pressed may be gone).
  async function hostKeyAction(action, button, question, okLabel) {
    if (!await confirmDialog(question, okLabel))
      return;
    showError(keyErrors, null);
    button.disabled = true;
    try {
      const nd = await api('POST', `/devices/${id}/host-key`, { action });
      if (!ctx.alive())
        return;
      d = nd && nd.id ? nd : await api('GET', `/devices/${id}`);
      if (!ctx.alive())
        return;
      drawProxied();
      toast(action === 'trust' ? 'The new host key is trusted; collection resumes.' : 'The host key is forgotten.', 'ok');
      const heading = document.getElementById('dev-hostkey');
      if (heading)
        heading.focus();
    } catch (e) {
      if (!ctx.alive() || e.handled)
        return;
      button.disabled = false;
      showError(keyErrors, e);
    }
  }

  function drawProxied() {
    clear(detailsBox, details(d));
    clear(collectBox, collection(d));
    clear(keyBox, hostKey(d, ctx.isAdmin, hostKeyAction));
  }
  if (proxied)
    drawProxied();

  const withPolicy = !network;
  clear(main,
    h('div', { class: 'page-head' }, pageTitle(d.name), adminPart),
    adminErrors,
    h('p', { class: 'subtitle' }, link('/devices', 'Back to the device list')),
    h('div', { class: 'grid' },
      section('dev-details', 'Details', detailsBox),
      proxied ? section('dev-collection', 'Collection', collectBox) : null,
      proxied ? section('dev-hostkey', 'Host key', keyErrors, keyBox) : null,
      withPolicy ? section('dev-policy', 'Policy', policyBox) : null,
      network
        ? h('section', { 'aria-labelledby': 'dev-configs', class: 'card span-all' },
          h('h2', { id: 'dev-configs', text: 'Configuration versions' }), configBox)
        : null,
      h('section', { 'aria-labelledby': 'dev-recent', class: 'card span-all' },
        h('h2', { id: 'dev-recent', text: 'Recent changes' }),
        eventsBox,
        h('p', null, link(`/events${query({ device: id })}`, 'All events of this device')))));

  const [pol, evs, cfg] = await Promise.allSettled([
    withPolicy ? api('GET', `/devices/${id}/policy`) : null,
    api('GET', `/events${query({ device: id, limit: 20 })}`),
    network ? api('GET', `/devices/${id}/configs`) : null,
  ]);
  if (!ctx.alive())
    return;
  if (withPolicy)
    clear(policyBox, pol.status === 'fulfilled' ? policyView(pol.value) : errorBox(pol.reason));
  clear(eventsBox, evs.status === 'fulfilled' ? recent(evs.value.events || []) : errorBox(evs.reason));
  if (network)
    clear(configBox, cfg.status === 'fulfilled' ? configs(id, (cfg.value && cfg.value.configs) || [], ctx.navigate) : errorBox(cfg.reason));
}
