// SPDX-License-Identifier: GPL-3.0-or-later
// Account: who is signed in, until when, and changing one's own password.

import { api, setCsrf } from '../api.js';
import { h, fmtTime, fmtAgo, toast, field, showFieldError, pageTitle, showFormError } from '../ui.js';

const ROLE_NAMES = { admin: 'Administrator', readonly: 'Read-only' };
const MIN_PASSWORD = 12;

function detail(label, value) {
  return [h('dt', { text: label }), h('dd', null, value)];
}

function expiry(epoch) {
  return `${fmtTime(epoch)} (${fmtAgo(epoch)})`;
}

export async function render(main, ctx) {
  const session = ctx.session;
  const user = session.user;
  const expires = h('span', { text: expiry(session.expires) });

  main.append(pageTitle('Account'),
    h('section', { class: 'card', 'aria-labelledby': 'you-title' },
      h('h2', { id: 'you-title', text: 'You' }),
      h('dl', { class: 'props' },
        detail('User name', user.name),
        detail('Role', ROLE_NAMES[user.role] || user.role),
        detail('Session ends', [expires, h('span', { class: 'muted', text: ' at the latest, or earlier after a while without use' })]))));

  const current = h('input', { type: 'password', name: 'current', autocomplete: 'current-password', required: true });
  const fresh = h('input', { type: 'password', name: 'new', autocomplete: 'new-password', required: true });
  const repeat = h('input', { type: 'password', name: 'repeat', autocomplete: 'new-password', required: true });
  const fields = {
    old_password: field('Current password', current),
    new_password: field('New password', fresh, { hint: `At least ${MIN_PASSWORD} characters.` }),
    repeat: field('Repeat new password', repeat),
  };
  const formError = h('div', { class: 'form-error' });
  const done = h('div', { class: 'form-done', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Change password' });

  async function change(ev) {
    ev.preventDefault();
    formError.replaceChildren();
    done.replaceChildren();
    for (const f of Object.values(fields))
      showFieldError(f, null);
    let bad = null;
    const fail = (key, msg) => {
      showFieldError(fields[key], msg);
      bad = bad || fields[key].fieldInput;
    };
    if (!current.value)
      fail('old_password', 'Give your current password.');
    if (fresh.value.length < MIN_PASSWORD)
      fail('new_password', `The new password needs at least ${MIN_PASSWORD} characters.`);
    else if (repeat.value !== fresh.value)
      fail('repeat', 'The two new passwords differ.');
    if (bad) {
      bad.focus();
      return;
    }
    submit.disabled = true;
    try {
      const res = await api('PUT', '/users/me/password', { old_password: current.value, new_password: fresh.value });
      // The change ended every session of ours; the answer is the new one.
      setCsrf(res.csrf);
      session.csrf = res.csrf;
      session.expires = res.expires;
      expires.textContent = expiry(res.expires);
      form.reset();
      toast('Password changed.', 'ok');
      done.replaceChildren(h('p', { class: 'notice' },
        'Your password has been changed. Every other session of yours has been signed out; ',
        'this browser goes on with a new session.'));
    } catch (e) {
      if (e.handled)
        return;
      let key = e.field;
      if (!key && e.status === 403 && e.code === 'forbidden')
        key = 'old_password';
      else if (!key && e.status === 400 && /^new_password\b/.test(e.message))
        key = 'new_password';
      showFormError(fields, key, formError, e);
    } finally {
      submit.disabled = false;
    }
  }

  const form = h('form', { class: 'password-form form-narrow', novalidate: true, 'aria-labelledby': 'password-title', onsubmit: change },
    formError, fields.old_password, fields.new_password, fields.repeat, submit);
  main.append(h('section', { class: 'card' }, h('h2', { id: 'password-title', text: 'Change password' }), form, done));
}
