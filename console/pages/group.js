// SPDX-License-Identifier: GPL-3.0-or-later
// One group: its members (admins add and remove devices) and its policy
// (admins edit it in a form kept in step with a raw JSON view).

import { api, query } from '../api.js';
import {
  h, clear, pageTitle, table, field, showFieldError, link, errorBox, showError, toast, confirmDialog,
  timeAgo, uid,
  scrollBox,
} from '../ui.js';
import { statusBadge } from './devices.js';

const LIST_FIELDS = [
  ['paths', 'Paths', 'Absolute paths to watch, one per line.'],
  ['include', 'Include', 'Patterns taken back in, one per line.'],
  ['exclude', 'Exclude', 'Patterns or paths left out, one per line.'],
  ['content', 'Content tracked', 'Absolute paths whose content is kept for diffs, one per line.'],
];
// Windows hosts collected over SMB (proxied devices of type windows);
// agents and Linux servers ignore these.
const WINDOWS_FIELDS = [
  ['registry', 'Registry keys', 'Keys to watch with their values and subkeys, one per line (HKLM\\… or HKU\\…).'],
  ['windows_files', 'Windows files', 'Files or folders to watch, one per line (C:\\…).'],
  ['windows_include', 'Windows include', 'Patterns over key and file paths, one per line (case-insensitive; * crosses \\): when given, only matching items are recorded.'],
  ['windows_exclude', 'Windows exclude', 'Patterns left out, one per line: a matching key or folder is not walked.'],
];
const REGISTRY_DEPTH_MAX = 64;
const COLLECTORS = [
  ['packages', 'Packages', 'dpkg or rpm'],
  ['services', 'Services', 'systemd units'],
  ['users', 'Users', 'passwd and shadow'],
  ['groups', 'Groups', 'group and gshadow'],
  ['ports', 'Ports', 'listening sockets'],
  ['sysctl', 'Sysctl', '/proc/sys'],
];
const HASHES = ['sha256', 'sha384', 'sha512'];
const MEMBER_PAGE = 1000;

function section(id, title, ...body) {
  return h('section', { 'aria-labelledby': id, class: 'card span-all' }, h('h2', { id, text: title }), body);
}

function lines(text) {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

function asLines(v) {
  if (Array.isArray(v))
    return v.map(String).join('\n');
  return v === undefined || v === null ? '' : String(v);
}

// ---- members ----

function membersPart(ctx, group, reloadGroup) {
  const box = h('div', { 'aria-live': 'polite' });
  const errors = h('div');
  const status = h('p', { role: 'status', class: 'vh' });
  let addForm = null;
  let select = null;

  if (ctx.isAdmin) {
    select = h('select', { id: 'member-add', name: 'device' });
    const addField = field('Device', select);
    const add = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Add device' });
    addForm = h('form', { class: 'filters', 'aria-label': 'Add a device to the group' }, addField, h('div', { class: 'actions' }, add));
    addForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      showFieldError(addField, null);
      if (!select.value) {
        showFieldError(addField, 'Choose a device to add.');
        select.focus();
        return;
      }
      const name = select.selectedOptions[0].textContent;
      add.disabled = true;
      try {
        await api('PUT', `/groups/${group.id}/devices/${select.value}`);
        status.textContent = `${name} added to ${group.name}.`;
        await load();
        reloadGroup();
        select.focus();
      } catch (e) {
        showFieldError(addField, e.message);
        select.focus();
      } finally {
        add.disabled = false;
      }
    });
  }

  async function remove(d, button) {
    const ok = await confirmDialog(`Take ${d.name} out of the group ${group.name}? The device stays; it no longer gets this group's policy.`, 'Remove');
    if (!ok)
      return;
    button.disabled = true;
    showError(errors, null);
    try {
      await api('DELETE', `/groups/${group.id}/devices/${d.id}`);
      status.textContent = `${d.name} removed from ${group.name}.`;
      await load();
      reloadGroup();
      (select || document.getElementById('main')).focus();
    } catch (e) {
      button.disabled = false;
      showError(errors, e);
    }
  }

  async function load() {
    let members, all;
    try {
      [members, all] = await Promise.all([
        api('GET', `/devices${query({ group: group.id, limit: MEMBER_PAGE })}`),
        ctx.isAdmin ? api('GET', `/devices${query({ limit: MEMBER_PAGE })}`) : null,
      ]);
    } catch (e) {
      if (ctx.alive())
        showError(errors, e);
      return;
    }
    if (!ctx.alive())
      return;
    showError(errors, null);
    const cols = [
      { key: 'name', label: 'Name', header: true, render: (d) => link(`/devices/${d.id}`, d.name) },
      { key: 'status', label: 'Status', render: statusBadge },
      { key: 'os', label: 'OS' },
      { key: 'last_seen', label: 'Last contact', class: 'nowrap', render: (d) => timeAgo(d.last_seen) },
    ];
    if (ctx.isAdmin) {
      cols.push({ key: 'actions', label: 'Actions', render: (d) => {
        const b = h('button', { type: 'button', class: 'btn btn-small btn-danger', text: 'Remove',
          'aria-label': `Remove ${d.name} from the group` });
        b.addEventListener('click', () => remove(d, b));
        return b;
      } });
    }
    clear(box,
      scrollBox(table(cols, members.devices, { caption: 'Members', captionHidden: true, empty: 'No devices in this group.' })),
      members.next !== null && members.next !== undefined
        ? h('p', null, link(`/devices${query({ group: group.id })}`, 'All members in the devices list'))
        : null);
    if (select) {
      const inGroup = new Set(members.devices.map((d) => d.id));
      const candidates = all.devices.filter((d) => !inGroup.has(d.id));
      clear(select, h('option', { value: '', text: candidates.length ? 'Choose a device…' : 'No other devices' }),
        candidates.map((d) => h('option', { value: String(d.id), text: d.name })));
    }
  }

  return { node: [status, addForm, errors, box], load };
}

// ---- policy ----

// The read-only view of a policy for users who cannot change it.
function policyReadOnly(gp) {
  const p = gp.policy || {};
  return [
    h('p', { class: 'muted', text: gp.version ? `Version ${gp.version}.` : 'No policy yet.' }),
    Object.keys(p).length
      ? h('pre', { class: 'json', tabindex: '0', 'aria-label': 'Policy (JSON)', text: JSON.stringify(p, null, 2) })
      : null,
  ];
}

function policyEditor(ctx, group, gp, onSaved) {
  let doc = gp.policy || {};
  let saved = JSON.stringify(doc);
  let version = gp.version || 0;
  const wrappers = {}; // policy key → field wrapper
  const inputs = {};

  for (const [key, label, hint] of LIST_FIELDS) {
    inputs[key] = h('textarea', { id: `pol-${key}`, name: key, rows: key === 'paths' ? '6' : '3', spellcheck: 'false',
      autocomplete: 'off' });
    wrappers[key] = field(label, inputs[key], { hint });
  }
  inputs.hash = h('select', { id: 'pol-hash', name: 'hash' }, h('option', { value: '', text: 'Not set' }),
    HASHES.map((x) => h('option', { value: x, text: x })));
  wrappers.hash = field('Hash', inputs.hash);
  inputs.realtime = h('input', { id: 'pol-realtime', name: 'realtime', type: 'checkbox' });
  wrappers.realtime = field('Realtime', inputs.realtime, { hint: 'Watch for changes as they happen, between scans.' });
  inputs.schedule = h('input', { id: 'pol-schedule', name: 'schedule', type: 'number', min: '60', max: '604800',
    step: '1', inputmode: 'numeric' });
  wrappers.schedule = field('Schedule (seconds)', inputs.schedule, { hint: 'Between full scans: 60 to 604800.' });
  inputs.max_hash_size = h('input', { id: 'pol-max-hash-size', name: 'max_hash_size', type: 'text', spellcheck: 'false',
    autocomplete: 'off', pattern: '[0-9]+[KMGT]?' });
  wrappers.max_hash_size = field('Max hash size', inputs.max_hash_size, { hint: 'Bytes, or a size such as 512M or 1G.' });

  for (const [key, label, hint] of WINDOWS_FIELDS) {
    inputs[key] = h('textarea', { id: `pol-${key.replace('_', '-')}`, name: key, rows: '3', spellcheck: 'false',
      autocomplete: 'off' });
    wrappers[key] = field(label, inputs[key], { hint });
  }
  inputs.registry_depth = h('input', { id: 'pol-registry-depth', name: 'registry_depth', type: 'number', min: '0',
    max: String(REGISTRY_DEPTH_MAX), step: '1', inputmode: 'numeric' });
  wrappers.registry_depth = field('Registry depth', inputs.registry_depth, {
    hint: `Levels of subkeys (and subfolders of Windows files) walked below each one, 0 to ${REGISTRY_DEPTH_MAX}; empty: 8.`,
  });
  const windowsSet = h('fieldset', { class: 'policy-windows' }, h('legend', { text: 'Windows hosts (over SMB)' }),
    h('p', { class: 'hint', text: 'For proxied Windows hosts only; agents and Linux servers ignore these settings.' }),
    h('div', { class: 'form-grid' },
      h('div', null, wrappers.registry, wrappers.registry_depth),
      h('div', null, wrappers.windows_files, wrappers.windows_include, wrappers.windows_exclude)));

  const collectorBoxes = {};
  const collectorWrappers = {};
  for (const [name, label, hint] of COLLECTORS) {
    collectorBoxes[name] = h('input', { id: `pol-system-${name}`, type: 'checkbox', name: 'system', value: name });
    collectorWrappers[name] = field(label, collectorBoxes[name], { hint });
  }
  const systemSet = h('fieldset', { id: 'pol-system' }, h('legend', { text: 'System collectors' }),
    h('div', { class: 'checks' }, Object.values(collectorWrappers)));
  const systemWrap = h('div', { class: 'field' }, systemSet, h('p', { class: 'field-error', id: 'pol-system-err', hidden: true }));
  systemWrap.fieldInput = systemSet;
  wrappers.system = systemWrap;

  inputs.commands = h('textarea', { id: 'pol-commands', name: 'commands', rows: '3', spellcheck: 'false', autocomplete: 'off' });
  wrappers.commands = field('Approved commands', inputs.commands, {
    hint: 'Command lines whose output agents track, one per line, each starting with an absolute path. ' +
      'An agent runs a line only when the same line is in its local approved-commands file.',
  });

  const raw = h('textarea', { id: 'pol-raw', name: 'raw', rows: '14', spellcheck: 'false', autocomplete: 'off', class: 'mono' });
  const rawWrap = field('Policy document (JSON)', raw, { hint: 'Edits here update the form, and the other way round.' });
  const rawDetails = h('details', null, h('summary', { text: 'Raw JSON' }), rawWrap);

  const status = h('p', { role: 'status', class: 'muted' });
  const errors = h('div');
  const save = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Save policy' });
  const discard = h('button', { type: 'button', class: 'btn', text: 'Discard changes' });

  function fillForm() {
    for (const [key] of LIST_FIELDS)
      inputs[key].value = asLines(doc[key]);
    inputs.commands.value = asLines(doc.commands);
    for (const [key] of WINDOWS_FIELDS)
      inputs[key].value = asLines(doc[key]);
    inputs.registry_depth.value = doc.registry_depth === undefined || doc.registry_depth === null
      ? '' : String(doc.registry_depth);
    inputs.hash.value = HASHES.includes(doc.hash) ? doc.hash : '';
    inputs.realtime.checked = doc.realtime === true;
    inputs.schedule.value = doc.schedule === undefined || doc.schedule === null ? '' : String(doc.schedule);
    inputs.max_hash_size.value = doc.max_hash_size === undefined || doc.max_hash_size === null ? '' : String(doc.max_hash_size);
    const sys = Array.isArray(doc.system) ? doc.system : [];
    for (const [name] of COLLECTORS)
      collectorBoxes[name].checked = sys.includes(name);
  }

  function fillRaw() {
    raw.value = JSON.stringify(doc, null, 2);
  }

  // The form → doc; keys the form does not know stay as they are.
  function readForm() {
    const next = Object.assign({}, doc);
    const setOrDrop = (k, v) => {
      if (v === undefined)
        delete next[k];
      else
        next[k] = v;
    };
    for (const [key] of LIST_FIELDS) {
      const l = lines(inputs[key].value);
      setOrDrop(key, l.length ? l : undefined);
    }
    const cmds = lines(inputs.commands.value);
    setOrDrop('commands', cmds.length ? cmds : undefined);
    for (const [key] of WINDOWS_FIELDS) {
      const l = lines(inputs[key].value);
      setOrDrop(key, l.length ? l : undefined);
    }
    // What is not a whole number goes as text: the hub says what is wrong.
    const depth = inputs.registry_depth.value.trim();
    setOrDrop('registry_depth', depth === '' ? undefined : (/^[0-9]+$/.test(depth) ? Number(depth) : depth));
    setOrDrop('hash', inputs.hash.value || (HASHES.includes(doc.hash) ? undefined : doc.hash));
    setOrDrop('realtime', inputs.realtime.checked ? true : (doc.realtime === false ? false : undefined));
    const sched = inputs.schedule.value.trim();
    setOrDrop('schedule', sched === '' ? undefined : (/^[0-9]+$/.test(sched) ? Number(sched) : sched));
    const mhs = inputs.max_hash_size.value.trim();
    setOrDrop('max_hash_size', mhs === '' ? undefined : (/^[0-9]+$/.test(mhs) && Number.isSafeInteger(Number(mhs)) ? Number(mhs) : mhs));
    const known = COLLECTORS.map(([n]) => n);
    const kept = (Array.isArray(doc.system) ? doc.system : []).filter((s) => !known.includes(s));
    const sys = known.filter((n) => collectorBoxes[n].checked).concat(kept);
    setOrDrop('system', sys.length ? sys : undefined);
    doc = next;
  }

  function clearErrors() {
    for (const w of Object.values(wrappers))
      showFieldError(w, null);
    for (const w of Object.values(collectorWrappers))
      showFieldError(w, null);
    showFieldError(rawWrap, null);
    showError(errors, null);
  }

  // The raw JSON box holds a JSON object (not text being fixed).
  function rawParses() {
    try {
      const v = JSON.parse(raw.value);
      return !!v && typeof v === 'object' && !Array.isArray(v);
    } catch (e) {
      return false;
    }
  }

  // Edits not saved: in the form, or JSON still being fixed in the box.
  function dirty() {
    return JSON.stringify(doc) !== saved || !rawParses();
  }

  // Closing or reloading the tab asks while there are unsaved edits.
  let unloadArmed = false;
  function onBeforeUnload(ev) {
    ev.preventDefault();
    ev.returnValue = '';
  }
  function armUnload(on) {
    if (on && !unloadArmed)
      window.addEventListener('beforeunload', onBeforeUnload);
    else if (!on && unloadArmed)
      window.removeEventListener('beforeunload', onBeforeUnload);
    unloadArmed = on;
  }

  function markDirty() {
    const d = dirty();
    status.textContent = d ? 'Unsaved changes.' : '';
    armUnload(d);
  }

  const formPart = h('div', { class: 'form-grid' },
    h('div', null, wrappers.paths, wrappers.include, wrappers.exclude, wrappers.content),
    h('div', null, wrappers.hash, wrappers.realtime, wrappers.schedule, wrappers.max_hash_size,
      wrappers.system, wrappers.commands),
    h('div', { class: 'span-all' }, windowsSet));
  // Form edits rewrite the raw JSON, unless it holds text being fixed
  // (marked invalid): that text stays, with its error.
  function formEdited(clearRawError) {
    readForm();
    if (raw.getAttribute('aria-invalid') !== 'true' || rawParses()) {
      fillRaw();
      if (clearRawError)
        showFieldError(rawWrap, null);
    }
    markDirty();
  }
  formPart.addEventListener('input', () => formEdited(true));
  formPart.addEventListener('change', () => formEdited(false));
  raw.addEventListener('input', () => {
    let parsed;
    try {
      parsed = JSON.parse(raw.value);
    } catch (e) {
      showFieldError(rawWrap, `Not valid JSON: ${e.message}`);
      markDirty();
      return;
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      showFieldError(rawWrap, 'The policy must be a JSON object.');
      markDirty();
      return;
    }
    showFieldError(rawWrap, null);
    doc = parsed;
    fillForm();
    markDirty();
  });

  // A 400's field ("paths[2]", "system.services", "system[1]") → the
  // wrapper that shows it; the raw JSON box for anything else.
  function wrapperFor(fieldName) {
    const m = /^([A-Za-z_]+)(?:\[(\d+)\]|\.([A-Za-z_]+))?/.exec(fieldName || '');
    if (!m)
      return null;
    const key = m[1];
    if (key === 'system') {
      const name = m[3] || (m[2] !== undefined && Array.isArray(doc.system) ? doc.system[Number(m[2])] : null);
      if (collectorWrappers[name])
        return collectorWrappers[name];
      // A name the checkboxes cannot show is fixed in the JSON.
      return m[2] !== undefined || m[3] ? null : wrappers.system;
    }
    return wrappers[key] || null;
  }

  const form = h('form', { novalidate: true, 'aria-label': 'Policy' },
    h('p', { class: 'muted', id: 'pol-version' }, version ? `Version ${version}.` : 'No policy yet.'),
    errors, formPart, rawDetails,
    h('div', { class: 'actions' }, save, discard, status));

  discard.addEventListener('click', () => {
    doc = JSON.parse(saved);
    clearErrors();
    fillForm();
    fillRaw();
    markDirty();
  });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors();
    if (raw.getAttribute('aria-invalid') === 'true' || (() => {
      try {
        JSON.parse(raw.value);
        return false;
      } catch (e) {
        return true;
      }
    })()) {
      rawDetails.open = true;
      showFieldError(rawWrap, 'Fix the JSON before saving.');
      raw.focus();
      return;
    }
    save.disabled = true;
    status.textContent = 'Saving…';
    try {
      const r = await api('PUT', `/groups/${group.id}/policy`, doc);
      doc = r.policy || {};
      saved = JSON.stringify(doc);
      version = r.version;
      fillForm();
      fillRaw();
      document.getElementById('pol-version').textContent = `Version ${version}.`;
      armUnload(false);
      status.textContent = `Policy saved: version ${version}.`;
      toast(`Policy of ${group.name} saved (version ${version}).`, 'ok');
      onSaved();
    } catch (e) {
      status.textContent = '';
      if (e.handled)
        return;
      let fieldName = e.field;
      if (!fieldName && e.status === 400 && /^[A-Za-z_]+(\[\d+\]|\.[A-Za-z_]+)?: /.test(e.message))
        fieldName = e.message.slice(0, e.message.indexOf(': '));
      const w = e.status === 400 ? wrapperFor(fieldName) : null;
      if (w) {
        showFieldError(w, e.message);
        const target = w.fieldInput;
        if (target === systemSet)
          collectorBoxes[COLLECTORS[0][0]].focus();
        else
          target.focus();
      } else if (e.status === 400) {
        rawDetails.open = true;
        showFieldError(rawWrap, e.message);
        raw.focus();
      } else {
        showError(errors, e);
        save.focus();
      }
    } finally {
      save.disabled = false;
    }
  });

  fillForm();
  fillRaw();
  return {
    node: form,
    canLeave: () => !dirty(),
    cleanup: () => armUnload(false),
  };
}

// ---- page ----

export async function render(main, ctx) {
  const id = ctx.params.id;
  let group, gp;
  try {
    [group, gp] = await Promise.all([api('GET', `/groups/${id}`), api('GET', `/groups/${id}/policy`)]);
  } catch (e) {
    if (e.status === 404) {
      clear(main, pageTitle('Group not found'), errorBox(`There is no group ${id}; it may have been deleted.`),
        h('p', null, link('/groups', 'Back to the group list')));
      return;
    }
    throw e;
  }
  if (!ctx.alive())
    return;

  const summary = h('p', { class: 'subtitle' });
  function showSummary() {
    clear(summary, link('/groups', 'Back to the group list'), ` · ${group.devices} ${group.devices === 1 ? 'device' : 'devices'}` +
      ` · policy ${group.policy_version ? `version ${group.policy_version}` : 'not set'}`);
  }
  async function reloadGroup() {
    try {
      group = await api('GET', `/groups/${id}`);
      if (ctx.alive())
        showSummary();
    } catch (e) {
      // The summary keeps its old numbers; the action itself succeeded.
    }
  }
  showSummary();

  const title = pageTitle(group.name);
  let adminPart = null;
  if (ctx.isAdmin) {
    const newName = h('input', { id: 'group-rename', name: 'name', type: 'text', value: group.name, maxlength: '255', required: true });
    const nameField = field('New name', newName);
    const rename = h('button', { type: 'submit', class: 'btn', text: 'Rename' });
    const del = h('button', { type: 'button', class: 'btn btn-danger', text: 'Delete group' });
    const renameForm = h('form', { class: 'filters' }, nameField, h('div', { class: 'actions' }, rename, del));
    renameForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      showFieldError(nameField, null);
      const v = newName.value.trim();
      if (!v) {
        showFieldError(nameField, 'Enter a name.');
        newName.focus();
        return;
      }
      rename.disabled = true;
      try {
        group = await api('PATCH', `/groups/${id}`, { name: v });
        title.textContent = group.name;
        document.title = `${group.name} · vigil`;
        toast(`Group renamed to ${group.name}.`, 'ok');
      } catch (e) {
        showFieldError(nameField, e.message);
        newName.focus();
      } finally {
        rename.disabled = false;
      }
    });
    del.addEventListener('click', async () => {
      const ok = await confirmDialog(`Delete the group ${group.name}? Its devices stay, but no longer get its policy.`, 'Delete group');
      if (!ok)
        return;
      del.disabled = true;
      try {
        await api('DELETE', `/groups/${id}`);
        toast(`Group ${group.name} deleted.`, 'ok');
        ctx.navigate('/groups', { force: true });
      } catch (e) {
        del.disabled = false;
        showFieldError(nameField, e.message);
        del.focus();
      }
    });
    adminPart = h('details', { class: 'card' }, h('summary', { text: 'Rename or delete the group' }), renameForm);
  }

  const members = membersPart(ctx, group, reloadGroup);
  const editor = ctx.isAdmin ? policyEditor(ctx, group, gp, reloadGroup) : null;
  const policy = editor ? editor.node : policyReadOnly(gp);
  const policyId = uid('policy-h');
  clear(main,
    title, summary,
    h('div', { class: 'grid' },
      section('group-members', 'Members', members.node),
      h('section', { 'aria-labelledby': policyId, class: 'card span-all' }, h('h2', { id: policyId, text: 'Policy' }), policy),
      adminPart ? h('div', { class: 'span-all' }, adminPart) : null));
  const ret = editor ? { cleanup: editor.cleanup, canLeave: editor.canLeave, leaveMessage: 'Leave without saving the policy?' } : undefined;
  try {
    await members.load();
  } catch (e) {
    if (ret)
      ret.cleanup();
    throw e;
  }
  return ret;
}
