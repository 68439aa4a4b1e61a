// SPDX-License-Identifier: GPL-3.0-or-later
// Devices list: filters kept in the URL query, paged with after / next;
// admins add proxied devices (collected by an agent over SSH or Telnet,
// or over SMB for Windows hosts) here.

import { api, query } from '../api.js';
import {
  h, clear, pageTitle, table, field, badge, errorBox, timeAgo, link, scrollBox, showFieldError,
  showFormError, toast,
} from '../ui.js';

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
const FILTERS = ['group', 'kind', 'status', 'os', 'seen', 'q'];
const KINDS = [['', 'Any kind'], ['agent', 'Agent'], ['proxied', 'Proxied']];
const SCHEDULE_MIN = 10;
const SCHEDULE_MAX = 604800;
const DEFAULT_PORTS = { ssh: 22, telnet: 23, smb: 445 };
// What a proxied device's type is called in lists and on its page.
const PROXIED_TYPES = { network: 'network', linux: 'Linux', windows: 'Windows' };

// The page's query (URL) → the API's query.
function apiQuery(q) {
  const p = { limit: PAGE };
  for (const k of ['group', 'kind', 'status', 'os', 'q', 'after'])
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

// A list answer of the hub: the array itself or {KEY: [...]}.
export function listOf(answer, key) {
  if (Array.isArray(answer))
    return answer;
  return (answer && Array.isArray(answer[key])) ? answer[key] : [];
}

export function isProxied(d) {
  return d.kind === 'proxied';
}

// The type of a proxied device: 'network', 'linux' or 'windows' (a type
// this console does not know is shown as a network device, whose page
// shows the least).
export function proxiedType(d) {
  const t = (d && d.proxied && d.proxied.type) || 'network';
  return PROXIED_TYPES[t] ? t : 'network';
}

// The Kind column: "agent", or "proxied" with the device's type.
function kindCell(d) {
  if (!isProxied(d))
    return d.kind || 'agent';
  return `proxied (${PROXIED_TYPES[proxiedType(d)]})`;
}

// 'host:port' of a proxied device, brackets around an IPv6 address.
export function hostPort(p) {
  if (!p || !p.host)
    return '';
  const host = p.host.includes(':') ? `[${p.host}]` : p.host;
  return p.port ? `${host}:${p.port}` : host;
}

function addresses(d) {
  if (isProxied(d))
    return d.proxied && d.proxied.host ? h('span', { class: 'mono', text: hostPort(d.proxied) }) : null;
  const ips = d.ips || [];
  if (!ips.length)
    return null;
  return h('span', { class: 'mono', title: ips.join(', ') }, ips.slice(0, 2).join(', '), ips.length > 2 ? ` +${ips.length - 2}` : '');
}

// The agent column: the agent's version, or for a proxied device the
// agent that collects it.
function agentCell(d) {
  if (!isProxied(d))
    return d.agent_version;
  const p = d.proxied || {};
  if (!p.proxy_id)
    return null;
  return ['via ', link(`/devices/${p.proxy_id}`, p.proxy || `device ${p.proxy_id}`)];
}

function option(value, text, selected) {
  return h('option', { value: String(value), text, selected: !!selected });
}

// The "Add proxied device" form (admins). groups: the hub's groups;
// done(device) is called with the device the hub created.
function proxiedForm(groups, done) {
  const name = h('input', { name: 'name', type: 'text', required: true, maxlength: '255', autocomplete: 'off' });
  const type = h('select', { name: 'type' }, option('network', 'Network device (configuration)'),
    option('linux', 'Linux server (files and system, over SSH)'),
    option('windows', 'Windows host (registry and files, over SMB)'));
  const host = h('input', { name: 'host', type: 'text', required: true, maxlength: '255', autocomplete: 'off',
    spellcheck: 'false' });
  const smb = option('smb', 'SMB');
  const protocol = h('select', { name: 'protocol' }, option('ssh', 'SSH'), option('telnet', 'Telnet'), smb);
  const port = h('input', { name: 'port', type: 'number', min: '1', max: '65535', inputmode: 'numeric',
    placeholder: String(DEFAULT_PORTS.ssh) });
  const profile = h('select', { name: 'profile' }, option('', 'Loading…'));
  const credential = h('select', { name: 'credential_id' }, option('', 'Loading…'));
  const proxy = h('select', { name: 'proxy_id' }, option('', 'Loading…'));
  const schedule = h('input', { name: 'schedule', type: 'number', min: String(SCHEDULE_MIN), max: String(SCHEDULE_MAX),
    value: '3600', inputmode: 'numeric' });
  const legacy = h('input', { name: 'legacy_ssh', type: 'checkbox' });
  const groupBoxes = groups.map((g) => h('input', { type: 'checkbox', name: 'groups', value: String(g.id) }));

  const fields = {
    name: field('Device name', name, { hint: 'How the console names this device.' }),
    type: field('Type', type),
    host: field('Host', host, { hint: 'Address or name, as the proxy agent reaches it.' }),
    protocol: field('Protocol', protocol),
    port: field('Port', port, { hint: 'Empty: 22 for SSH, 23 for Telnet, 445 for SMB.' }),
    profile: field('Profile', profile, { hint: 'How to talk to this kind of device (dist/profiles).' }),
    credential_id: field('Credential', credential, { hint: 'Windows hosts: one with a password.' }),
    proxy_id: field('Proxy agent', proxy, { hint: 'The agent that connects to the device and collects it.' }),
    schedule: field('Schedule (seconds)', schedule, { hint: `Time between collections, ${SCHEDULE_MIN} to ${SCHEDULE_MAX}.` }),
    legacy_ssh: field('Allow legacy SSH algorithms', legacy,
      { hint: 'For old devices only: SHA-1 key exchange, ssh-rsa host keys, CBC ciphers.' }),
  };
  const groupSet = groups.length
    ? h('fieldset', null, h('legend', { text: 'Groups' }),
      h('div', { class: 'checks' }, groupBoxes.map((b, i) => field(groups[i].name, b))))
    : null;

  // Linux servers are reached over SSH, Windows hosts over SMB (and
  // nothing else over SMB); neither has a profile.
  function syncType() {
    const windows = type.value === 'windows';
    if (type.value === 'linux')
      protocol.value = 'ssh';
    else if (windows)
      protocol.value = 'smb';
    else if (protocol.value === 'smb')
      protocol.value = 'ssh';
    smb.disabled = !windows;
    smb.hidden = !windows;
    protocol.disabled = type.value !== 'network';
    fields.profile.hidden = type.value !== 'network';
    port.placeholder = String(DEFAULT_PORTS[protocol.value]);
    legacy.disabled = protocol.value !== 'ssh';
    fields.legacy_ssh.hidden = windows;
  }
  type.addEventListener('change', syncType);
  protocol.addEventListener('change', syncType);

  const formError = h('div', { class: 'form-error' });
  const notes = h('div');
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Add device' });
  const cancel = h('button', { type: 'button', class: 'btn', text: 'Cancel' });
  const form = h('form', { class: 'card proxied-form', novalidate: true, hidden: true, 'aria-labelledby': 'proxied-title' },
    h('h2', { id: 'proxied-title', text: 'Add proxied device' }),
    h('p', { class: 'hint', text: 'A device without an agent of its own: a proxy agent collects it over SSH or Telnet, or a Windows host over SMB.' }),
    notes, formError,
    h('div', { class: 'form-grid' }, fields.name, fields.type, fields.host, fields.protocol, fields.port,
      fields.profile, fields.credential_id, fields.proxy_id, fields.schedule),
    fields.legacy_ssh, groupSet,
    h('div', { class: 'actions' }, submit, cancel));

  let loaded = false;
  // The choices come from the hub when the form first opens.
  async function load() {
    if (loaded)
      return;
    loaded = true;
    const [pr, cr, ag] = await Promise.allSettled([
      api('GET', '/profiles'),
      api('GET', '/credentials'),
      api('GET', `/devices${query({ kind: 'agent', limit: 1000 })}`),
    ]);
    const problems = [];
    const fill = (sel, res, key, label, text, empty) => {
      sel.replaceChildren();
      if (res.status !== 'fulfilled') {
        sel.append(option('', `${label} could not be loaded`));
        if (!res.reason.handled)
          problems.push(errorBox(`${label}: ${res.reason.message}`));
        return;
      }
      const rows = listOf(res.value, key);
      if (!rows.length) {
        sel.append(option('', empty[0]));
        problems.push(h('p', { class: 'notice' }, empty[1]));
        return;
      }
      sel.append(option('', 'Choose…'));
      for (const r of rows)
        sel.append(option(key === 'profiles' ? r.name : r.id, text(r)));
    };
    fill(profile, pr, 'profiles', 'The profiles', (p) => (p.description ? `${p.name} (${p.description})` : p.name),
      ['No profile', 'The hub has no device profile: see profiles_dir in hub.conf.']);
    fill(credential, cr, 'credentials', 'The credentials', (c) => `${c.name} (${c.username})`,
      ['No credential', h('span', null, 'There is no credential yet: ', link('/credentials', 'add one'), ' first.')]);
    fill(proxy, ag, 'devices', 'The agents', (a) => a.name,
      ['No agent', 'There is no agent to act as proxy: install and register vigil-agent on a host that reaches the device.']);
    clear(notes, problems);
  }

  function reset() {
    form.reset();
    for (const f of Object.values(fields))
      showFieldError(f, null);
    formError.replaceChildren();
    syncType();
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    formError.replaceChildren();
    for (const f of Object.values(fields))
      showFieldError(f, null);
    const bad = [];
    const need = (key, ok, msg) => {
      if (!ok) {
        showFieldError(fields[key], msg);
        bad.push(fields[key].fieldInput);
      }
    };
    const network = type.value === 'network';
    const portNum = port.value.trim() === '' ? null : Number(port.value);
    const sched = Number(schedule.value);
    need('name', name.value.trim() !== '', 'Enter a name for the device.');
    need('host', host.value.trim() !== '', 'Enter the address of the device.');
    need('port', portNum === null || (Number.isInteger(portNum) && portNum >= 1 && portNum <= 65535),
      'Give a port from 1 to 65535, or leave it empty.');
    if (network)
      need('profile', profile.value !== '', 'Choose the profile of the device.');
    need('credential_id', credential.value !== '', 'Choose the credential to log in with.');
    need('proxy_id', proxy.value !== '', 'Choose the agent that collects the device.');
    need('schedule', Number.isInteger(sched) && sched >= SCHEDULE_MIN && sched <= SCHEDULE_MAX,
      `Give a number of seconds from ${SCHEDULE_MIN} to ${SCHEDULE_MAX}.`);
    if (bad.length) {
      bad[0].focus();
      return;
    }
    const body = {
      name: name.value.trim(),
      type: type.value,
      host: host.value.trim(),
      protocol: protocol.value,
      credential_id: Number(credential.value),
      proxy_id: Number(proxy.value),
      schedule: sched,
      groups: groupBoxes.filter((b) => b.checked).map((b) => Number(b.value)),
    };
    // SMB has no SSH algorithms to allow: Windows hosts send no legacy_ssh.
    if (protocol.value !== 'smb')
      body.legacy_ssh = protocol.value === 'ssh' && legacy.checked;
    if (portNum !== null)
      body.port = portNum;
    if (network)
      body.profile = profile.value;
    submit.disabled = true;
    try {
      const dev = await api('POST', '/devices', body);
      reset();
      done(dev);
    } catch (e) {
      if (e.handled)
        return;
      // The hub names a field in "field", or at the start of its message.
      const m = /^([a-z_]+):/.exec(e.message || '');
      showFormError(fields, e.field || (m && m[1]) || (e.status === 409 ? 'name' : null), formError, e);
    } finally {
      submit.disabled = false;
    }
  });

  syncType();
  return { form, load, reset, cancel, first: name };
}

export async function render(main, ctx) {
  const q = ctx.query;
  const group = h('select', { id: 'dev-group', name: 'group' }, h('option', { value: '', text: 'Any group' }));
  const kind = h('select', { id: 'dev-kind', name: 'kind' },
    KINDS.map(([v, t]) => h('option', { value: v, text: t, selected: (q.get('kind') || '') === v })));
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
    field('Name', name), field('Group', group), field('Kind', kind), field('Status', status), field('OS', os),
    field('Last contact', seen),
    h('div', { class: 'actions' }, apply, filtered ? h('a', { class: 'btn', href: '/devices', text: 'Clear filters' }) : null));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const next = query({ q: name.value.trim(), group: group.value, kind: kind.value, status: status.value,
      os: os.value.trim(), seen: seen.value });
    ctx.navigate(`/devices${next}`, { focus: 'dev-apply' });
  });

  const live = h('p', { role: 'status', class: 'muted' });
  const errors = h('div');
  const results = h('div');
  const addSlot = h('div');
  const head = h('div', { class: 'page-head' }, pageTitle('Devices'));
  clear(main, head, addSlot, form, errors, live, results);

  const [groupsRes, devRes] = await Promise.allSettled([
    api('GET', '/groups'),
    api('GET', `/devices${query(apiQuery(q))}`),
  ]);
  if (!ctx.alive())
    return;

  const groups = groupsRes.status === 'fulfilled' ? groupsRes.value.groups || [] : [];
  if (groupsRes.status === 'fulfilled') {
    for (const g of groups)
      group.appendChild(h('option', { value: String(g.id), text: g.name, selected: q.get('group') === String(g.id) }));
  } else if (q.get('group')) {
    group.appendChild(h('option', { value: q.get('group'), text: `Group ${q.get('group')}`, selected: true }));
  }

  if (ctx.isAdmin) {
    const open = h('button', { type: 'button', class: 'btn btn-primary', text: 'Add proxied device', 'aria-expanded': 'false' });
    const add = proxiedForm(groups, (dev) => {
      toast(`Device ${dev.name} added.`, 'ok');
      ctx.navigate(`/devices/${dev.id}`);
    });
    const show = (on) => {
      add.form.hidden = !on;
      open.setAttribute('aria-expanded', String(on));
    };
    open.addEventListener('click', () => {
      show(add.form.hidden);
      if (!add.form.hidden) {
        add.first.focus();
        add.load();
      }
    });
    add.cancel.addEventListener('click', () => {
      add.reset();
      show(false);
      open.focus();
    });
    head.append(h('div', { class: 'actions' }, open));
    clear(addSlot, add.form);
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
    { key: 'kind', label: 'Kind', render: kindCell },
    { key: 'status', label: 'Status', render: statusBadge },
    { key: 'os', label: 'OS' },
    { key: 'last_seen', label: 'Last contact', class: 'nowrap', render: (d) => timeAgo(d.last_seen) },
    { key: 'groups', label: 'Groups', render: (d) => (d.groups || []).length
      ? (d.groups || []).map((g, i) => [i ? ', ' : '', link(`/groups/${g.id}`, g.name)]) : null },
    { key: 'ips', label: 'Addresses', render: addresses },
    { key: 'agent_version', label: 'Agent', render: agentCell },
  ], devices, { caption: 'Devices', captionHidden: true, empty: filtered ? 'No device matches these filters.' : 'No devices yet.' }));

  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' },
    after ? h('a', { class: 'btn', href: `/devices${query(Object.assign(Object.fromEntries(q), { after: '' }))}`, text: 'First page' }) : null,
    next !== null && next !== undefined
      ? h('a', { class: 'btn', href: `/devices${query(Object.assign(Object.fromEntries(q), { after: String(next) }))}`, text: 'Next page' })
      : null);
  clear(results, tbl, pager.childNodes.length ? pager : null);
}
