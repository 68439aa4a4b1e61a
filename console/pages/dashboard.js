// SPDX-License-Identifier: GPL-3.0-or-later
// Dashboard: device counts, changes over time, most-changed devices, the
// latest changes and the problems (GET /dashboard?days=N).

import { api } from '../api.js';
import {
  h, svg, clear, pageTitle, table, field, badge, eventTypeBadge, errorBox, fmtTime, timeAgo, uid,
  scrollBox,
} from '../ui.js';

const PERIODS = [[1, 'Last 24 hours'], [2, 'Last 2 days'], [7, 'Last 7 days'], [30, 'Last 30 days'], [90, 'Last 90 days']];
const REFRESH_MS = 60000;
const KINDS = ['added', 'changed', 'removed'];

function parseDays(q) {
  const n = Number(q.get('days'));
  return Number.isInteger(n) && n >= 1 && n <= 90 ? n : 7;
}

function section(id, title, wide, ...body) {
  return h('section', { class: wide ? 'card span-all' : 'card', 'aria-labelledby': id },
    h('h2', { id, tabindex: '-1', text: title }), body);
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

function deviceStats(d, problems) {
  const item = (label, value, href) => h('div', { class: 'stat' },
    h('dt', { text: label }),
    h('dd', null, href ? h('a', { href, text: String(value) }) : String(value)));
  return h('dl', { class: 'stats' },
    item('Total', d.devices.total, '/devices'),
    item('Online', d.devices.online, '/devices?status=online'),
    item('Offline', d.devices.offline, '/devices?status=offline'),
    item('Problems', problems, '#dash-problems'),
    item('Events stored', d.events.total.toLocaleString(), '/events'));
}

// The smallest 1, 2 or 5 × 10^k at or above n (at least 1).
function niceCeil(n) {
  if (n <= 1)
    return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) {
    if (m * p >= n)
      return m * p;
  }
  return 10 * p;
}

// 'YYYY-MM-DD HH:MM' of epoch seconds in UTC: the hub aligns the buckets
// to UTC days and hours, so local dates would name the wrong day.
function utcTime(t) {
  const d = new Date(Number(t) * 1000);
  if (Number.isNaN(d.getTime()))
    return '????-??-?? ??:??';
  const s = d.toISOString();
  return `${s.slice(0, 10)} ${s.slice(11, 16)}`;
}

function bucketLabel(t, bucket) {
  const s = utcTime(t);
  return bucket < 86400 ? s : s.slice(0, 10);
}

// A stacked bar chart of added / changed / removed per bucket, hand-drawn
// in SVG, with a title, a description and a table of the numbers for
// screen readers.
function changesChart(changes, days, width) {
  const points = changes.points || [];
  const bucket = changes.bucket || 86400;
  const W = width, H = width < 500 ? 200 : 220, L = 40, R = 8, T = 10, B = 28;
  const pw = W - L - R, ph = H - T - B;
  const totals = { added: 0, changed: 0, removed: 0 };
  let max = 0, peak = null;
  for (const p of points) {
    const sum = (p.added || 0) + (p.changed || 0) + (p.removed || 0);
    for (const k of KINDS)
      totals[k] += p[k] || 0;
    if (sum > max) {
      max = sum;
      peak = p;
    }
  }
  const step = niceCeil(max / 4);
  const top = step * 4;
  const unit = bucket < 86400 ? 'hour' : 'day';
  const titleId = uid('chart-t'), descId = uid('chart-d');
  const all = totals.added + totals.changed + totals.removed;
  const desc = `Changes per ${unit} (UTC) over the last ${plural(days, 'day', 'days')}: ` +
    `${totals.added} added, ${totals.changed} changed, ${totals.removed} removed` +
    (peak ? `; the busiest ${unit} was ${bucketLabel(peak.t, bucket)} UTC with ${max}.` : '.') +
    ' The table that follows has the numbers.';

  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`,
    preserveAspectRatio: 'xMidYMid meet' },
  svg('title', { id: titleId, text: `Changes per ${unit} (UTC)` }),
  svg('desc', { id: descId, text: desc }));

  for (let i = 0; i <= 4; i++) {
    const v = step * i;
    const y = T + ph - (ph * v) / top;
    root.appendChild(svg('line', { class: i === 0 ? 'axis' : 'grid-line', x1: L, x2: W - R, y1: y, y2: y }));
    root.appendChild(svg('text', { x: L - 6, y: y + 4, 'text-anchor': 'end', text: String(v) }));
  }

  const n = Math.max(points.length, 1);
  const slot = pw / n;
  const bw = Math.max(1, slot * 0.72);
  const labelEvery = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(pw / 64))));
  points.forEach((p, i) => {
    const x = L + i * slot + (slot - bw) / 2;
    const g = svg('g', { class: 'bucket' });
    const label = `${bucketLabel(p.t, bucket)}: ${p.added || 0} added, ${p.changed || 0} changed, ${p.removed || 0} removed`;
    g.appendChild(svg('title', { text: label }));
    g.appendChild(svg('rect', { class: 'hit', x: L + i * slot, y: T, width: slot, height: ph }));
    let y = T + ph;
    for (const k of KINDS) {
      const v = p[k] || 0;
      if (!v)
        continue;
      const bh = (ph * v) / top;
      y -= bh;
      g.appendChild(svg('rect', { class: `bar-${k}`, x, y, width: bw, height: Math.max(bh, 0.5) }));
    }
    root.appendChild(g);
    if (i % labelEvery === 0) {
      const s = utcTime(p.t);
      const text = bucket < 86400 ? (s.slice(11, 13) === '00' || i === 0 ? s.slice(5, 10) : s.slice(11, 16)) : s.slice(5, 10);
      // The first label stays clear of the "UTC" left of the axis.
      const cx = i === 0 ? Math.max(L + slot / 2, L + 16) : L + i * slot + slot / 2;
      root.appendChild(svg('text', { x: cx, y: H - 10, 'text-anchor': 'middle', text }));
    }
  });
  // The time axis is in UTC: said left of its first label.
  root.appendChild(svg('text', { x: L - 6, y: H - 10, 'text-anchor': 'end', text: 'UTC' }));
  if (points.length === 0)
    root.appendChild(svg('text', { x: L + pw / 2, y: T + ph / 2, 'text-anchor': 'middle', text: 'No data' }));

  const legend = h('ul', { class: 'legend', 'aria-hidden': 'true' },
    KINDS.map((k) => h('li', null, h('span', { class: `swatch swatch-${k}` }), `${k} (${totals[k]})`)));

  const numbers = table([
    { key: 't', label: unit === 'hour' ? 'Hour (UTC)' : 'Day (UTC)', header: true, render: (p) => bucketLabel(p.t, bucket) },
    { key: 'added', label: 'Added', numeric: true, render: (p) => String(p.added || 0) },
    { key: 'changed', label: 'Changed', numeric: true, render: (p) => String(p.changed || 0) },
    { key: 'removed', label: 'Removed', numeric: true, render: (p) => String(p.removed || 0) },
  ], points, { caption: `Changes per ${unit} (UTC), ${all} in all` });

  return [h('div', { class: 'chart' }, root), legend, h('div', { class: 'vh' }, numbers)];
}

function topDevices(list) {
  return scrollBox(table([
    { key: 'name', label: 'Device', header: true, render: (d) => h('a', { href: `/devices/${d.id}`, text: d.name }) },
    { key: 'changes', label: 'Changes', numeric: true,
      render: (d) => h('a', { href: `/events?device=${d.id}`, 'aria-label': `${d.changes} changes on ${d.name}`, text: String(d.changes) }) },
  ], list, { caption: 'Most-changed devices', captionHidden: true, empty: 'No changes in this period.' }));
}

function latest(list) {
  return scrollBox(table([
    { key: 'time', label: 'Time', class: 'nowrap', render: (e) => timeAgo(e.time) },
    { key: 'device', label: 'Device', render: (e) => h('a', { href: `/devices/${e.device_id}`, text: e.device }) },
    { key: 'type', label: 'Type', render: (e) => eventTypeBadge(e.type) },
    { key: 'path', label: 'Path', class: 'path',
      render: (e) => h('a', { href: `/events/${e.id}` }, e.path || h('span', { class: 'msg', text: e.message || `Event ${e.id}` })) },
  ], list, { caption: 'Latest changes', captionHidden: true, empty: 'No events yet.' }));
}

const PROBLEM_KINDS = { offline: 'bad', clone: 'bad', agent: 'warn' };

function problems(list) {
  if (!list.length)
    return h('p', { class: 'muted', text: 'No problems.' });
  return h('ul', { class: 'plain' }, list.map((p) => h('li', { class: 'problem' },
    badge(p.type, PROBLEM_KINDS[p.type] || 'info'),
    h('a', { href: `/devices/${p.device_id}`, text: p.device }),
    h('span', { text: p.message || '' }),
    p.time ? h('span', { class: 'muted' }, timeAgo(p.time)) : null,
    p.event_id ? h('a', { href: `/events/${p.event_id}`, text: 'View event' }) : null)));
}

export async function render(main, ctx) {
  const days = parseDays(ctx.query);
  const period = h('select', { id: 'dash-days', name: 'days' },
    PERIODS.map(([n, label]) => h('option', { value: String(n), selected: n === days, text: label })));
  period.addEventListener('change', () => {
    ctx.navigate(period.value === '7' ? '/' : `/?days=${period.value}`, { focus: 'dash-days' });
  });
  const refresh = h('button', { type: 'button', class: 'btn', text: 'Refresh' });
  const status = h('p', { class: 'vh', role: 'status' });
  const body = h('div');

  clear(main,
    h('div', { class: 'page-head' }, pageTitle('Dashboard'),
      h('div', { class: 'actions' }, field('Period', period, { class: 'field-inline' }), refresh)),
    status, body);

  async function load(announce) {
    let d;
    try {
      d = await api('GET', `/dashboard?days=${days}`);
    } catch (e) {
      if (ctx.alive())
        clear(body, errorBox(e));
      return;
    }
    if (!ctx.alive())
      return;
    const probs = d.problems || [];
    clear(body, h('div', { class: 'grid' },
      section('dash-devices', 'Devices', true, deviceStats(d, probs.length)),
      section('dash-changes', 'Changes over time', true, changesChart(d.changes || { points: [] }, days,
        Math.round(Math.max(280, Math.min(1400, body.clientWidth - 34))))),
      section('dash-top', 'Most-changed devices', false, topDevices(d.top_devices || [])),
      section('dash-latest', 'Latest changes', false, latest(d.latest || []),
        h('p', null, h('a', { href: '/events', text: 'Search the event list' }))),
      section('dash-problems', 'Problems', true, problems(probs))));
    if (announce)
      status.textContent = `Dashboard updated at ${fmtTime(Date.now() / 1000).slice(11)}.`;
  }

  refresh.addEventListener('click', async () => {
    refresh.disabled = true;
    await load(true);
    refresh.disabled = false;
  });

  await load(false);
  const timer = setInterval(() => {
    // Not while the user works in it: redrawing would lose the focus.
    if (!document.hidden && !body.contains(document.activeElement))
      load(false);
  }, REFRESH_MS);
  return () => clearInterval(timer);
}
