// SPDX-License-Identifier: GPL-3.0-or-later
// Sign-in page: POST /session, then on to the page asked for.

import { api } from '../api.js';
import { h, clear, field, pageTitle, showError } from '../ui.js';

export async function render(main, ctx) {
  const user = h('input', { id: 'signin-user', name: 'username', type: 'text', autocomplete: 'username',
    autocapitalize: 'none', spellcheck: 'false', required: true, maxlength: '64' });
  const pass = h('input', { id: 'signin-pass', name: 'password', type: 'password', autocomplete: 'current-password',
    required: true });
  const errors = h('div');
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Sign in' });
  const notice = ctx.query.get('expired') === '1'
    ? h('p', { class: 'notice', role: 'status', text: 'Your session has expired. Sign in again.' })
    : null;

  const form = h('form', { class: 'signin', novalidate: true },
    pageTitle('Sign in to vigil'),
    notice,
    errors,
    field('User name', user),
    field('Password', pass),
    submit);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(errors, null);
    if (!user.value || !pass.value) {
      showError(errors, 'Enter your user name and password.');
      (user.value ? pass : user).focus();
      return;
    }
    submit.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const s = await api('POST', '/session', { username: user.value, password: pass.value });
      pass.value = '';
      ctx.signedIn({ user: s.user, csrf: s.csrf, expires: s.expires });
    } catch (e) {
      let msg = e.message;
      if (e.status === 429 && e.retryAfter > 0) {
        const wait = e.retryAfter < 120 ? `${e.retryAfter} s` : `${Math.ceil(e.retryAfter / 60)} min`;
        msg = `${e.message.replace(/\.$/, "")}. Try again in ${wait}.`;
      }
      showError(errors, msg);
      pass.value = '';
      pass.focus();
    } finally {
      submit.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });

  clear(main, form);
}
