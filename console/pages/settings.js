// SPDX-License-Identifier: GPL-3.0-or-later
// Settings: what this hub is, how new agents get HubDetails.xml, and
// rotating the enrolment password.

import { api, apiUrl } from '../api.js';
import { h, confirmDialog, pageTitle, link } from '../ui.js';

function detail(label, value) {
  return [h('dt', { text: label }), h('dd', null, value)];
}

function days(n) {
  return n === 1 ? '1 day' : `${n} days`;
}

function hubSection(hub) {
  return h('section', { class: 'card', 'aria-labelledby': 'hub-title' },
    h('h2', { id: 'hub-title', text: 'Hub' }),
    h('dl', { class: 'props' },
      detail('Version', hub.version),
      detail('Certificate fingerprint (SHA-256)', h('code', { class: 'fingerprint', text: hub.fingerprint })),
      detail('Thumbprint agents pin', h('code', { class: 'fingerprint', text: hub.thumbprint })),
      detail('Address given to agents', h('code', { text: hub.url })),
      detail('Devices', String(hub.devices)),
      detail('Events', String(hub.events)),
      detail('Events kept for', days(hub.retention_days)),
      detail('Offline after', `the device's poll period plus ${hub.offline_grace} s`)));
}

function agentsSection(isAdmin) {
  const where = h('p', null,
    'A new agent needs the file HubDetails.xml: the hub\'s address, the enrolment account and the ',
    'certificate thumbprint it checks. Put it at ', h('code', { text: '/etc/vigil/HubDetails.xml' }),
    ' on the monitored host (mode 0600, owned by root) before starting vigil-agent; the agent registers ',
    'with it once and then uses its own credential.');
  const get = isAdmin
    ? h('p', null, link(apiUrl('/hub/hubdetails.xml'), 'Download HubDetails.xml', { download: 'HubDetails.xml' }),
      ' ', h('span', { class: 'muted', text: 'It holds the enrolment password: keep it where only administrators can read it.' }))
    : h('p', { class: 'muted', text: 'Ask an administrator for the file: it holds the enrolment password.' });
  return h('section', { class: 'card', 'aria-labelledby': 'agents-title' },
    h('h2', { id: 'agents-title', text: 'Agents' }), where, get);
}

function enrolmentSection(isAdmin) {
  const intro = h('p', null,
    'Agents register with the enrolment account, whose password is in every HubDetails.xml handed out. ',
    'Rotate it when the file has gone further than it should: agents already registered keep working, ',
    'new agents need the new file.');
  const section = h('section', { class: 'card', 'aria-labelledby': 'enrolment-title' },
    h('h2', { id: 'enrolment-title', text: 'Enrolment' }), intro);
  if (!isAdmin)
    return section;

  const result = h('div', { class: 'rotate-result', 'aria-live': 'polite' });
  const button = h('button', { type: 'button', class: 'btn btn-danger', text: 'Rotate enrolment password' });
  button.addEventListener('click', async () => {
    if (!await confirmDialog('Give the enrolment account a new password? New agents will need the new HubDetails.xml.',
      'Rotate'))
      return;
    result.replaceChildren();
    button.disabled = true;
    try {
      const cred = await api('POST', '/hub/enrolment');
      const heading = h('p', { tabindex: '-1' }, h('strong', { text: 'The new enrolment password' }),
        ` for the account ${cred.username}:`);
      result.replaceChildren(
        heading,
        h('p', null, h('code', { class: 'secret', text: cred.password })),
        h('p', { class: 'notice' },
          'It is shown only this once. The hub has written it into its HubDetails.xml: download the file again ',
          'for new agents. If the hub could not rewrite the file (its log says so), this is the only copy.'));
      heading.focus();
    } catch (e) {
      if (e.handled)
        return;
      result.replaceChildren(h('div', { class: 'alert', role: 'alert', text: e.message }));
    } finally {
      button.disabled = false;
    }
  });
  section.append(h('p', null, button), result);
  return section;
}

export async function render(main, ctx) {
  main.append(pageTitle('Settings'));
  const hub = await api('GET', '/hub');
  main.append(hubSection(hub), agentsSection(ctx.isAdmin), enrolmentSection(ctx.isAdmin));
}
