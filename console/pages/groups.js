// SPDX-License-Identifier: GPL-3.0-or-later
// Groups list; admins create groups here.

import { api } from '../api.js';
import { h, clear, pageTitle, table, field, link, showError, showFieldError, toast, scrollBox } from '../ui.js';

function groupsTable(groups) {
  return scrollBox(table([
    { key: 'name', label: 'Name', header: true, render: (g) => link(`/groups/${g.id}`, g.name, { id: `group-link-${g.id}` }) },
    { key: 'devices', label: 'Devices', numeric: true,
      render: (g) => link(`/devices?group=${g.id}`, String(g.devices), { 'aria-label': `${g.devices} ${g.devices === 1 ? 'member' : 'members'}` }) },
    { key: 'policy_version', label: 'Policy version', numeric: true,
      render: (g) => (g.policy_version ? String(g.policy_version) : h('span', { class: 'muted', text: 'no policy' })) },
  ], groups, { caption: 'Groups', captionHidden: true, empty: 'No groups yet.' }));
}

export async function render(main, ctx) {
  const listBox = h('div');
  const errors = h('div');
  let createPart = null;

  if (ctx.isAdmin) {
    const name = h('input', { id: 'group-new-name', name: 'name', type: 'text', required: true, maxlength: '255',
      autocomplete: 'off' });
    const nameField = field('Group name', name);
    const create = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Create' });
    const cancel = h('button', { type: 'button', class: 'btn', text: 'Cancel' });
    const form = h('form', { class: 'card form-narrow', hidden: true, 'aria-label': 'New group' },
      nameField, h('div', { class: 'actions' }, create, cancel));
    const open = h('button', { type: 'button', class: 'btn btn-primary', text: 'New group', 'aria-expanded': 'false' });
    open.addEventListener('click', () => {
      form.hidden = !form.hidden;
      open.setAttribute('aria-expanded', String(!form.hidden));
      if (!form.hidden)
        name.focus();
    });
    cancel.addEventListener('click', () => {
      form.hidden = true;
      open.setAttribute('aria-expanded', 'false');
      showFieldError(nameField, null);
      name.value = '';
      open.focus();
    });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      showFieldError(nameField, null);
      const value = name.value.trim();
      if (!value) {
        showFieldError(nameField, 'Enter a name for the group.');
        name.focus();
        return;
      }
      create.disabled = true;
      try {
        const g = await api('POST', '/groups', { name: value });
        name.value = '';
        form.hidden = true;
        open.setAttribute('aria-expanded', 'false');
        toast(`Group ${g.name} created.`, 'ok');
        await load();
        const a = document.getElementById(`group-link-${g.id}`);
        (a || open).focus();
      } catch (e) {
        showFieldError(nameField, e.message);
        name.focus();
      } finally {
        create.disabled = false;
      }
    });
    createPart = [h('div', { class: 'actions' }, open), form];
  }

  async function load() {
    try {
      const r = await api('GET', '/groups');
      if (ctx.alive()) {
        showError(errors, null);
        clear(listBox, groupsTable(r.groups || []));
      }
    } catch (e) {
      if (ctx.alive())
        showError(errors, e);
    }
  }

  clear(main, h('div', { class: 'page-head' }, pageTitle('Groups')), createPart, errors, listBox);
  await load();
}
