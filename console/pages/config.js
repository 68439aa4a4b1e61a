// SPDX-License-Identifier: GPL-3.0-or-later
// The configuration of a proxied device: one version
// (/devices/ID/configs/VERSION) or the difference between two
// (/devices/ID/compare?from=A&to=B[&view=full]). A configuration is what
// the device said: shown as text only, never as HTML.

import { api, query } from '../api.js';
import { h, clear, pageTitle, errorBox, fmtTime, link, diffView } from '../ui.js';
import { compareForm, fmtBytes, versionLabel } from './device.js';

const VERSION_RE = /^[1-9][0-9]{0,15}$/;

// The two views of a version: the whole normalised document, or only the
// lines that count (no volatile lines), which is what versions differ in.
function viewSwitch(base, current) {
  const item = (view, text) => h('li', null, link(`${base}${query({ view: view === 'significant' ? 'significant' : '' })}`, text,
    { 'aria-current': current === view ? 'page' : null, class: 'btn btn-small' }));
  return h('nav', { class: 'view-switch', 'aria-label': 'View' },
    h('ul', null, item('full', 'Whole document'), item('significant', 'Significant lines')));
}

async function device(id, main) {
  try {
    return await api('GET', `/devices/${id}`);
  } catch (e) {
    if (e.status === 404) {
      clear(main, pageTitle('Device not found'), errorBox(`There is no device ${id}; it may have been deleted.`),
        h('p', null, link('/devices', 'Back to the device list')));
      return null;
    }
    throw e;
  }
}

async function showVersion(main, ctx, d) {
  const id = ctx.params.id;
  const v = ctx.params.version;
  const view = ctx.query.get('view') === 'significant' ? 'significant' : 'full';
  const back = h('p', { class: 'subtitle' }, link(`/devices/${id}`, `Back to ${d.name}`));
  let c;
  try {
    c = await api('GET', `/devices/${id}/configs/${v}`);
  } catch (e) {
    if (e.status === 404) {
      clear(main, pageTitle(`Version ${v} of ${d.name}`), back,
        errorBox(`The device ${d.name} has no configuration version ${v}.`));
      return;
    }
    throw e;
  }
  if (!ctx.alive())
    return;
  const text = (view === 'significant' ? c.significant : c.text) || '';
  const prev = Number(v) > 1 ? Number(v) - 1 : null;
  clear(main, pageTitle(`Version ${v} of ${d.name}`), back,
    h('section', { class: 'card', 'aria-label': 'Version' },
      h('dl', { class: 'props' },
        h('dt', { text: 'Collected' }), h('dd', { text: fmtTime(c.time) }),
        h('dt', { text: 'Lines' }), h('dd', { text: c.lines === undefined ? '—' : String(c.lines) }),
        h('dt', { text: 'Size' }), h('dd', { text: fmtBytes(new TextEncoder().encode(text).length) }),
        h('dt', { text: 'SHA-256 (significant lines)' }), h('dd', null, h('code', { text: c.sha256 || '—' }))),
      prev ? h('p', null, link(`/devices/${id}/compare${query({ from: prev, to: v })}`, `Changes from version ${prev}`)) : null),
    viewSwitch(`/devices/${id}/configs/${v}`, view),
    text
      ? h('pre', { class: 'config', tabindex: '0', 'aria-label': `Configuration version ${v}`, text })
      : h('p', { class: 'muted', text: 'This view is empty.' }));
}

async function showCompare(main, ctx, d) {
  const id = ctx.params.id;
  const q = ctx.query;
  const full = q.get('view') === 'full';
  const title = pageTitle(`Compare configurations of ${d.name}`);
  const back = h('p', { class: 'subtitle' }, link(`/devices/${id}`, `Back to ${d.name}`));
  const result = h('section', { id: 'compare-result', tabindex: '-1', 'aria-labelledby': 'compare-title' });
  const formSlot = h('div');
  clear(main, title, back, formSlot, result);

  const list = await api('GET', `/devices/${id}/configs`);
  if (!ctx.alive())
    return;
  const rows = (list && list.configs) || [];
  if (rows.length < 2) {
    clear(result, h('p', { class: 'muted', text: 'There is nothing to compare: the device has fewer than two configuration versions.' }));
    return;
  }
  let from = q.get('from');
  let to = q.get('to');
  if (!VERSION_RE.test(from || '') || !VERSION_RE.test(to || '')) {
    from = String(rows[1].version);
    to = String(rows[0].version);
  }
  clear(formSlot, compareForm(id, rows, from, to, full, ctx.navigate));

  let cmp;
  try {
    cmp = await api('GET', `/devices/${id}/configs/compare${query({ from, to, view: full ? 'full' : '' })}`);
  } catch (e) {
    if (!ctx.alive() || e.handled)
      return;
    clear(result, errorBox(e));
    return;
  }
  if (!ctx.alive())
    return;
  const heading = h('h2', { id: 'compare-title', text: `Version ${from} → version ${to}` });
  const byVersion = new Map(rows.map((c) => [String(c.version), c]));
  const when = [byVersion.get(String(from)), byVersion.get(String(to))].filter(Boolean)
    .map((c) => versionLabel(c)).join(' and ');
  const parts = [heading,
    h('p', { class: 'muted', text: `${full ? 'Whole documents' : 'Significant lines (volatile lines left out)'}: ${when}.` })];
  if (!cmp.diff) {
    parts.push(h('p', { class: 'notice', text: from === to ? 'This is the same version twice.' : 'No difference.' }));
  } else {
    parts.push(diffView(cmp.diff, `Differences from version ${from} to version ${to}`));
    if (cmp.truncated)
      parts.push(h('p', { class: 'notice' }, 'The diff is incomplete: a size limit cut it short (its last line says why).'));
  }
  clear(result, parts);
}

export async function render(main, ctx) {
  const d = await device(ctx.params.id, main);
  if (!d || !ctx.alive())
    return;
  if (ctx.params.version)
    await showVersion(main, ctx, d);
  else
    await showCompare(main, ctx, d);
}
