// SPDX-License-Identifier: GPL-3.0-or-later
// Credentials (administrators only): the user names and secrets proxy
// agents log in to proxied devices with. Secrets are write-only: the hub
// never sends them back, so an edit leaves a secret as it is unless a
// new one is typed.

import { api } from '../api.js';
import {
  h, fmtTime, toast, field, showFieldError, confirmDialog, pageTitle, showFormError, link, reloadTable,
} from '../ui.js';
import { listOf } from './devices.js';

// The secrets a credential may hold, as the API names them.
const SECRETS = [
  ['password', 'Password', 'For SSH password or keyboard-interactive login, Telnet, and Windows hosts (SMB), which need one.'],
  ['private_key', 'Private key', 'SSH: an OpenSSH or PEM private key (the whole text).'],
  ['passphrase', 'Key passphrase', 'When the private key is encrypted.'],
  ['enable_secret', 'Enable secret', 'Network devices: the enable password; Linux: the sudo password.'],
];

function secretInput(key) {
  if (key === 'private_key') {
    return h('textarea', { name: key, rows: '4', autocomplete: 'off', spellcheck: 'false',
      class: 'secret-text', maxlength: '65536' });
  }
  // new-password: the browser must not fill in the admin's own password.
  return h('input', { type: 'password', name: key, autocomplete: 'new-password', maxlength: '4096' });
}

export async function render(main, ctx) {
  main.append(pageTitle('Credentials'));
  if (!ctx.isAdmin) {
    main.append(h('p', { class: 'notice' }, 'Only administrators can manage credentials.'));
    return undefined;
  }

  let alive = true;
  let editing = null; // the credential the form edits, null: a new one
  const listError = h('div', { class: 'list-error' });
  const list = h('div', { class: 'scroll creds-list' });

  function reload(focusKey) {
    return reloadTable(list, listError, async () => listOf(await api('GET', '/credentials'), 'credentials'), columns,
      { caption: 'Credentials', empty: 'No credentials yet.' }, () => alive, focusKey);
  }

  function rowActions(c) {
    const edit = h('button', {
      type: 'button', class: 'btn', text: 'Edit', 'aria-label': `Edit ${c.name}`,
      dataset: { focus: `${c.id}:edit` },
      onclick: () => startEdit(c),
    });
    const del = h('button', {
      type: 'button', class: 'btn btn-danger', text: 'Delete', 'aria-label': `Delete ${c.name}`,
      dataset: { focus: `${c.id}:delete` },
      onclick: async () => {
        if (!await confirmDialog(`Delete the credential ${c.name}? Its secrets are gone for good.`, 'Delete'))
          return;
        listError.replaceChildren();
        try {
          await api('DELETE', `/credentials/${c.id}`);
          if (!alive)
            return;
          toast(`Credential ${c.name} deleted.`, 'ok');
          if (editing && editing.id === c.id)
            stopEdit();
          await reload(null);
        } catch (e) {
          if (!alive || e.handled)
            return;
          // In use by devices: the hub says by how many.
          listError.replaceChildren(h('div', { class: 'alert', role: 'alert', text: e.message }));
          del.focus();
        }
      },
    });
    return h('span', { class: 'row-actions' }, edit, ' ', del);
  }

  const columns = [
    { key: 'name', label: 'Name', header: true },
    { key: 'username', label: 'User name', render: (c) => h('span', { class: 'mono', text: c.username }) },
    { key: 'devices', label: 'Devices', numeric: true,
      render: (c) => (c.devices === undefined ? null : String(c.devices)) },
    { key: 'updated', label: 'Changed', class: 'nowrap', render: (c) => fmtTime(c.updated || c.created) },
    { key: 'actions', label: 'Actions', render: rowActions },
  ];

  // One form for a new credential and for editing one.
  const name = h('input', { type: 'text', name: 'name', autocomplete: 'off', maxlength: '255', required: true });
  const username = h('input', { type: 'text', name: 'username', autocomplete: 'off', maxlength: '255', required: true,
    spellcheck: 'false' });
  const secrets = Object.fromEntries(SECRETS.map(([key]) => [key, secretInput(key)]));
  const fields = {
    name: field('Name', name, { hint: 'How device forms list it, e.g. "core switches".' }),
    username: field('User name', username, { hint: 'The login on the devices; Windows: user, DOMAIN\\user or user@domain.' }),
  };
  const secretHints = {};
  // Editing only: remove a stored secret (sent as null).
  const removes = {};
  const removeFields = {};
  for (const [key, label, hint] of SECRETS) {
    fields[key] = field(label, secrets[key], { hint });
    secretHints[key] = fields[key].querySelector('.hint');
    removes[key] = h('input', { type: 'checkbox', name: `remove_${key}` });
    removes[key].addEventListener('change', () => {
      secrets[key].disabled = removes[key].checked;
    });
    removeFields[key] = field(`Remove the stored ${label.toLowerCase()}`, removes[key], { class: 'remove-secret' });
  }
  const formTitle = h('h2', { id: 'cred-form-title', text: 'New credential', tabindex: '-1' });
  const formNote = h('p', { class: 'hint' });
  const formError = h('div', { class: 'form-error' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Create credential' });
  const cancel = h('button', { type: 'button', class: 'btn', text: 'Cancel editing', hidden: true, onclick: () => stopEdit(true) });

  function clearErrors() {
    formError.replaceChildren();
    for (const f of Object.values(fields))
      showFieldError(f, null);
  }

  function setMode(c) {
    editing = c;
    form.reset();
    clearErrors();
    formTitle.textContent = c ? `Edit credential ${c.name}` : 'New credential';
    formNote.textContent = c
      ? 'The secrets are not shown: leave a secret empty to keep it as it is, or type a new one to replace it.'
      : 'Give at least a password or a private key. Secrets are stored encrypted and never shown again.';
    submit.textContent = c ? 'Save credential' : 'Create credential';
    cancel.hidden = !c;
    for (const [key, , hint] of SECRETS) {
      secretHints[key].textContent = c ? `${hint} Empty: keep the current one.` : hint;
      removeFields[key].hidden = !c;
      secrets[key].disabled = false;
    }
    if (c) {
      name.value = c.name;
      username.value = c.username || '';
    }
  }

  function startEdit(c) {
    setMode(c);
    formTitle.focus();
    formTitle.scrollIntoView({ block: 'nearest' });
  }

  function stopEdit(focusRow) {
    const was = editing;
    setMode(null);
    if (focusRow && was) {
      const b = list.querySelector(`[data-focus="${was.id}:edit"]`);
      if (b)
        b.focus();
    }
  }

  async function save(ev) {
    ev.preventDefault();
    clearErrors();
    let bad = null;
    if (!name.value.trim()) {
      showFieldError(fields.name, 'Enter a name.');
      bad = bad || name;
    }
    if (!username.value.trim()) {
      showFieldError(fields.username, 'Enter the user name the devices know.');
      bad = bad || username;
    }
    if (!editing && !secrets.password.value && !secrets.private_key.value) {
      showFieldError(fields.password, 'Give a password or a private key.');
      bad = bad || secrets.password;
    }
    const key = secrets.private_key.value;
    if (key && !key.trimStart().startsWith('-----BEGIN ')) {
      showFieldError(fields.private_key, 'Paste the whole key, from its "-----BEGIN" line to its "-----END" line.');
      bad = bad || secrets.private_key;
    }
    if (bad) {
      bad.focus();
      return;
    }
    const body = {};
    if (!editing || name.value.trim() !== editing.name)
      body.name = name.value.trim();
    if (!editing || username.value.trim() !== editing.username)
      body.username = username.value.trim();
    // Write-only: an empty secret is left out, so the hub keeps it.
    for (const [key] of SECRETS) {
      if (editing && removes[key].checked)
        body[key] = null;
      else if (secrets[key].value)
        body[key] = secrets[key].value;
    }
    submit.disabled = true;
    try {
      const was = editing;
      const c = was ? await api('PATCH', `/credentials/${was.id}`, body) : await api('POST', '/credentials', body);
      if (!alive)
        return;
      const shown = (c && c.name) || body.name || (was && was.name);
      setMode(null);
      toast(was ? `Credential ${shown} saved.` : `Credential ${shown} created.`, 'ok');
      await reload(was ? `${was.id}:edit` : undefined);
    } catch (e) {
      if (!alive || e.handled)
        return;
      const m = /^([a-z_]+):/.exec(e.message || '');
      showFormError(fields, e.field || (m && m[1]) || (e.status === 409 ? 'name' : null), formError, e);
    } finally {
      submit.disabled = false;
    }
  }

  const form = h('form', { class: 'cred-form form-narrow', novalidate: true, 'aria-labelledby': 'cred-form-title', onsubmit: save },
    formNote, formError, fields.name, fields.username, SECRETS.map(([key]) => [fields[key], removeFields[key]]),
    h('div', { class: 'actions' }, submit, cancel));
  setMode(null);

  main.append(
    h('p', { class: 'subtitle' }, 'Logins that proxy agents use for ', link('/devices?kind=proxied', 'proxied devices'),
      '. A proxy receives a credential only while it collects a device that uses it.'),
    listError, list,
    h('section', { class: 'card' }, formTitle, form));
  await reload();
  return () => {
    alive = false;
    form.reset();
  };
}
