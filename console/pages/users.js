// SPDX-License-Identifier: GPL-3.0-or-later
// Users (administrators only): roles, enabling and disabling, deleting, and
// creating console accounts.

import { api } from '../api.js';
import { h, fmtTime, toast, field, showFieldError, confirmDialog, pageTitle, badge, showFormError, reloadTable } from '../ui.js';

const ROLES = [['admin', 'Administrator'], ['readonly', 'Read-only'], ['enrol', 'Enrolment (agents)']];
const NAME_RE = /^[A-Za-z0-9._@-]{1,64}$/;
const MIN_PASSWORD = 12;

function roleSelect(user) {
  return h('select', { 'aria-label': `Role of ${user.name}` },
    ROLES.map(([v, text]) => h('option', { value: v, selected: v === user.role }, text)));
}

export async function render(main, ctx) {
  main.append(pageTitle('Users'));
  if (!ctx.isAdmin) {
    main.append(h('p', { class: 'notice' }, 'Only administrators can manage users.'));
    return undefined;
  }

  let alive = true;
  const me = ctx.session && ctx.session.user ? ctx.session.user.id : null;
  const listError = h('div', { class: 'list-error' });
  const list = h('div', { class: 'scroll users-list' });

  // Runs a change of one user, then reloads the list and puts the focus
  // back on the control with the same key (or on the table).
  async function change(focusKey, fn) {
    listError.replaceChildren();
    try {
      const msg = await fn();
      if (!alive || msg === null)
        return;
      toast(msg, 'ok');
    } catch (e) {
      if (!alive || e.handled)
        return;
      listError.replaceChildren(h('div', { class: 'alert', role: 'alert', text: e.message }));
    }
    await reload(focusKey);
  }

  function rowActions(u) {
    if (u.id === me)
      return h('span', { class: 'muted', text: 'You' });
    const toggle = h('button', {
      type: 'button', class: 'btn', text: u.disabled ? 'Enable' : 'Disable',
      dataset: { focus: `${u.id}:toggle` },
      onclick: () => change(`${u.id}:toggle`, async () => {
        await api('PATCH', `/users/${u.id}`, { disabled: !u.disabled });
        return u.disabled ? `${u.name} can sign in again.` : `${u.name} is disabled and signed out.`;
      }),
    });
    const del = h('button', {
      type: 'button', class: 'btn btn-danger', text: 'Delete',
      dataset: { focus: `${u.id}:delete` },
      onclick: () => change(null, async () => {
        if (!await confirmDialog(`Delete the user ${u.name}? Their sessions end at once.`, 'Delete'))
          return null;
        await api('DELETE', `/users/${u.id}`);
        return `${u.name} deleted.`;
      }),
    });
    return h('span', { class: 'row-actions' }, toggle, ' ', del);
  }

  // The select only chooses; "Save role" changes it (a closed select fires
  // "change" on every arrow key, and a new role signs the user out).
  function roleCell(u) {
    if (u.id === me)
      return ROLES.find(([v]) => v === u.role)?.[1] || u.role;
    const sel = roleSelect(u);
    sel.dataset.focus = `${u.id}:role`;
    const save = h('button', {
      type: 'button', class: 'btn', text: 'Save role', 'aria-label': `Save role of ${u.name}`, disabled: true,
      onclick: () => {
        if (sel.value === u.role)
          return;
        save.disabled = true;
        change(`${u.id}:role`, async () => {
          await api('PATCH', `/users/${u.id}`, { role: sel.value });
          return `${u.name} is now ${sel.options[sel.selectedIndex].text.toLowerCase()} and has been signed out.`;
        });
      },
    });
    const sync = () => {
      save.disabled = sel.value === u.role;
    };
    sel.addEventListener('change', sync);
    sel.addEventListener('input', sync);
    return h('span', { class: 'row-actions' }, sel, ' ', save);
  }

  const columns = [
    { key: 'name', label: 'User name', header: true },
    { key: 'role', label: 'Role', render: roleCell },
    { key: 'disabled', label: 'Status', render: (u) => (u.disabled ? badge('disabled', 'bad') : badge('enabled', 'ok')) },
    { key: 'created', label: 'Created', render: (u) => fmtTime(u.created) },
    { key: 'actions', label: 'Actions', render: rowActions },
  ];

  function reload(focusKey) {
    return reloadTable(list, listError, async () => (await api('GET', '/users')).users || [], columns,
      { caption: 'Users', empty: 'No users.' }, () => alive, focusKey);
  }

  // The new user form.
  const name = h('input', { type: 'text', name: 'name', autocomplete: 'off', maxlength: '64', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'new-password', required: true });
  const role = h('select', { name: 'role' },
    h('option', { value: 'readonly', selected: true }, 'Read-only'),
    h('option', { value: 'admin' }, 'Administrator'));
  const fields = {
    name: field('User name', name, { hint: 'Letters, digits and . _ @ - (up to 64).' }),
    password: field('Password', password, { hint: `At least ${MIN_PASSWORD} characters.` }),
    role: field('Role', role),
  };
  const formError = h('div', { class: 'form-error' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Create user' });

  async function create(ev) {
    ev.preventDefault();
    formError.replaceChildren();
    for (const f of Object.values(fields))
      showFieldError(f, null);
    let bad = null;
    if (!NAME_RE.test(name.value)) {
      showFieldError(fields.name, 'Give 1 to 64 letters, digits or . _ @ -.');
      bad = bad || name;
    }
    if (password.value.length < MIN_PASSWORD) {
      showFieldError(fields.password, `The password needs at least ${MIN_PASSWORD} characters.`);
      bad = bad || password;
    }
    if (bad) {
      bad.focus();
      return;
    }
    submit.disabled = true;
    try {
      const u = await api('POST', '/users', { name: name.value, password: password.value, role: role.value });
      if (!alive)
        return;
      form.reset();
      toast(`User ${u.name} created.`, 'ok');
      await reload();
    } catch (e) {
      if (!alive || e.handled)
        return;
      const key = e.field || (e.status === 409 ? 'name' : null);
      showFormError(fields, key, formError, e);
    } finally {
      submit.disabled = false;
    }
  }

  const form = h('form', { class: 'new-user form-narrow', novalidate: true, 'aria-labelledby': 'new-user-title', onsubmit: create },
    formError, fields.name, fields.password, fields.role, submit);

  main.append(listError, list,
    h('section', { class: 'card' }, h('h2', { id: 'new-user-title', text: 'New user' }), form));
  await reload();
  return () => {
    alive = false;
  };
}
