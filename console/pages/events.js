// SPDX-License-Identifier: GPL-3.0-or-later
// Events: a search over the hub's events with its filters kept in the URL
// (shareable, back and forward work), keyset paging, partial answers that
// can be continued, and CSV / JSON exports of the filtered view.

import { api, apiUrl } from '../api.js';
import { h, fmtTime, table, field, pageTitle, badge, link, eventTypeBadge } from '../ui.js';

const PAGE_SIZE = 100;
const DEVICE_LIMIT = 1000;
// The URL parameters that filter the events; they go to the API as they are.
const FILTERS = ['device', 'group', 'since', 'until', 'type', 'state', 'q'];
export const EVENT_TYPES = ['added', 'removed', 'changed', 'offline', 'online', 'agent', 'clone', 'registered'];
const STATES = [['new', 'New'], ['acked', 'Acknowledged'], ['accepted', 'Accepted']];
const STATE_KINDS = { new: 'warn', acknowledged: 'info', acked: 'info', accepted: 'ok' };

// The badge of an event's state (new, acknowledged, accepted).
export function stateBadge(state) {
  return badge(state || 'unknown', STATE_KINDS[state] || 'info');
}

// Epoch milliseconds of an RFC 3339 time with up to nanoseconds (Date
// parses at most milliseconds everywhere), or NaN.
export function rfc3339Ms(text) {
  if (typeof text !== 'string')
    return NaN;
  return Date.parse(text.replace(/(\.\d{3})\d+/, '$1'));
}

// A <time> for an event's RFC 3339 time, shown in local time.
export function eventTime(text) {
  const ms = rfc3339Ms(text);
  if (Number.isNaN(ms))
    return h('span', { text: text || '—' });
  return h('time', { datetime: text, text: fmtTime(ms / 1000) });
}

// Epoch milliseconds of a since/until URL value (epoch seconds or RFC 3339).
function paramMs(value) {
  if (/^\d+$/.test(value))
    return Number(value) * 1000;
  return rfc3339Ms(value);
}

function pad(n) {
  return String(n).padStart(2, '0');
}

// The value of a datetime-local input for epoch milliseconds (local time).
function localInputValue(ms) {
  const d = new Date(ms);
  let s = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (d.getSeconds())
    s += `:${pad(d.getSeconds())}`;
  return s;
}

// RFC 3339 in UTC, whole seconds, of a datetime-local value; '' when empty
// or invalid.
function inputToRfc3339(value) {
  if (!value)
    return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime()))
    return '';
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// The filters of the page's URL, as URLSearchParams in a fixed order.
function readFilters(query) {
  const f = new URLSearchParams();
  for (const k of FILTERS) {
    const v = (query.get(k) || '').trim();
    if (v)
      f.set(k, v);
  }
  return f;
}

// The stack of `before` cursors of the URL: one per page gone back.
function readStack(query) {
  return (query.get('before') || '').split(',').filter((c) => /^[1-9]\d*$/.test(c));
}

function eventsUrl(filters, stack) {
  const q = new URLSearchParams(filters);
  if (stack.length)
    q.set('before', stack.join(','));
  const s = q.toString();
  return s ? `/events?${s}` : '/events';
}

function exportUrl(format, filters) {
  const s = filters.toString();
  return apiUrl(`/events/export?format=${format}${s ? `&${s}` : ''}`);
}

function option(value, text, selected) {
  return h('option', { value, selected: value === selected }, text);
}

// The device list for the Device filter: up to DEVICE_LIMIT devices sorted
// by name, plus the selected one when it is not among them.
async function loadDevices(selected) {
  let devices = [];
  let more = false;
  try {
    const res = await api('GET', `/devices?limit=${DEVICE_LIMIT}`);
    devices = res.devices || [];
    more = res.next !== null && res.next !== undefined;
  } catch (e) {
    if (e.handled)
      throw e;
  }
  devices.sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id);
  if (selected && !devices.some((d) => String(d.id) === selected)) {
    let name = `Device ${selected}`;
    try {
      name = (await api('GET', `/devices/${encodeURIComponent(selected)}`)).name;
    } catch (e) {
      if (e.handled)
        throw e;
    }
    devices.unshift({ id: Number(selected), name });
  }
  return { devices, more };
}

async function loadGroups() {
  try {
    const res = await api('GET', '/groups');
    return (res.groups || []).slice().sort((a, b) => a.name.localeCompare(b.name));
  } catch (e) {
    if (e.handled)
      throw e;
    return [];
  }
}

function filterForm(ctx, filters, devices, moreDevices, groups) {
  const cur = (k) => filters.get(k) || '';
  const device = h('select', { name: 'device' }, option('', 'All devices', cur('device')),
    devices.map((d) => option(String(d.id), d.name, cur('device'))));
  const group = h('select', { name: 'group' }, option('', 'All groups', cur('group')),
    groups.map((g) => option(String(g.id), g.name, cur('group'))));
  const dateInput = (k) => {
    const ms = cur(k) ? paramMs(cur(k)) : NaN;
    return h('input', { type: 'datetime-local', name: k, step: '1', value: Number.isNaN(ms) ? '' : localInputValue(ms) });
  };
  const since = dateInput('since');
  const until = dateInput('until');
  const type = h('select', { name: 'type' }, option('', 'All types', cur('type')),
    EVENT_TYPES.map((t) => option(t, t, cur('type'))));
  const state = h('select', { name: 'state' }, option('', 'Any state', cur('state')),
    STATES.map(([v, text]) => option(v, text, cur('state'))));
  const q = h('input', { type: 'search', name: 'q', value: cur('q'), maxlength: '255', autocomplete: 'off' });

  const onsubmit = (ev) => {
    ev.preventDefault();
    const f = new URLSearchParams();
    const put = (k, v) => {
      if (v)
        f.set(k, v);
    };
    put('device', device.value);
    put('group', group.value);
    put('since', inputToRfc3339(since.value));
    put('until', inputToRfc3339(until.value));
    put('type', type.value);
    put('state', state.value);
    put('q', q.value.trim());
    ctx.navigate(eventsUrl(f, []));
  };

  return h('form', { class: 'filters', role: 'search', 'aria-label': 'Event filters', onsubmit },
    field('Device', device, moreDevices ? { hint: `The first ${DEVICE_LIMIT} devices` } : null),
    field('Group', group),
    field('From', since),
    field('To', until),
    field('Type', type),
    field('State', state),
    field('Path contains', q),
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', text: 'Apply' }),
      link('/events', 'Clear filters')));
}

const COLUMNS = [
  { key: 'time', label: 'Time', class: 'nowrap', render: (e) => eventTime(e.time) },
  { key: 'device', label: 'Device', render: (e) => link(`/devices/${e.device_id}`, e.device) },
  { key: 'type', label: 'Type', render: (e) => eventTypeBadge(e.type) },
  {
    key: 'path', label: 'Path',
    render: (e) => (e.path
      ? link(`/events/${e.id}`, e.path, { class: 'event-path' })
      : link(`/events/${e.id}`, e.message || `Event ${e.id}`)),
  },
  { key: 'changed', label: 'Changed', render: (e) => (e.changed || []).join(', ') },
  { key: 'state', label: 'State', render: (e) => stateBadge(e.state) },
];

export async function render(main, ctx) {
  let alive = true;
  const filters = readFilters(ctx.query);
  const stack = readStack(ctx.query);

  const status = h('p', { class: 'results-status', role: 'status', 'aria-live': 'polite' });
  const results = h('div', { class: 'results', 'aria-busy': 'true', tabindex: '-1' });
  const exportCsv = link(exportUrl('csv', filters), 'Export CSV', { download: true });
  const exportJson = link(exportUrl('json', filters), 'Export JSON', { download: true });
  const formSlot = h('div', { class: 'filters-slot' });
  main.append(pageTitle('Events'), formSlot,
    h('div', { class: 'results-bar' }, status, h('p', { class: 'exports' }, exportCsv, ' ', exportJson)),
    results);

  const rows = [];
  let next = null;
  let partial = false;
  let searchedTo = null;

  function fetchPage(before) {
    const q = new URLSearchParams(filters);
    if (before)
      q.set('before', before);
    q.set('limit', String(PAGE_SIZE));
    return api('GET', `/events?${q}`);
  }

  function take(res) {
    rows.push(...(res.events || []));
    next = res.next === undefined ? null : res.next;
    partial = res.partial === true;
    searchedTo = res.searched_to === undefined ? null : res.searched_to;
  }

  function go(newStack) {
    ctx.navigate(eventsUrl(filters, newStack));
  }

  // Renders the rows; firstNew: the index of the first row a continued
  // search added (undefined on the first answer).
  function show(firstNew) {
    const n = rows.length;
    const word = n === 1 ? 'event' : 'events';
    if (n === 0)
      status.textContent = partial ? 'No events found yet.' : 'No events match these filters.';
    else
      status.textContent = `${n} ${word}${stack.length ? ' on this page' : ''}${partial ? ' found so far' : ''}.`;

    const parts = [];
    if (n > 0) {
      const t = table(COLUMNS, rows, { caption: 'Events' });
      parts.push(h('div', { class: 'scroll' }, t));
    } else if (!partial) {
      parts.push(h('p', { class: 'empty-state' },
        filters.toString() ? 'No events match these filters. ' : 'No events yet. ',
        filters.toString() ? link('/events', 'Clear the filters') : null));
    }

    let keep = null;
    if (partial && next !== null) {
      keep = h('button', { type: 'button', class: 'btn', text: 'Keep searching', onclick: keepSearching });
      parts.push(h('p', { class: 'partial' },
        searchedTo !== null ? `Searched back to ${fmtTime(searchedTo)}. ` : 'The search stopped early. ',
        keep));
    }

    const newer = h('button', { type: 'button', class: 'btn', text: 'Newer', disabled: stack.length === 0 });
    newer.addEventListener('click', () => go(stack.slice(0, -1)));
    const older = h('button', { type: 'button', class: 'btn', text: 'Older', disabled: next === null });
    older.addEventListener('click', () => go(stack.concat(String(next))));
    if (stack.length || next !== null)
      parts.push(h('nav', { class: 'pager', 'aria-label': 'Pages' }, newer, ' ', older));

    results.replaceChildren(...parts);
    results.setAttribute('aria-busy', 'false');
    if (firstNew !== undefined) {
      // After "Keep searching" the keyboard stays on it while the search
      // goes on, else moves to the first event it found.
      const row = firstNew < n ? results.querySelectorAll('tbody tr')[firstNew] : null;
      const target = keep || (row && row.querySelector('a[href^="/events/"]')) || (older.disabled ? newer : older);
      if (target.isConnected && !target.disabled)
        target.focus();
      else
        results.focus();
    }
  }

  async function keepSearching(ev) {
    const button = ev.currentTarget;
    button.disabled = true;
    results.setAttribute('aria-busy', 'true');
    status.textContent = 'Searching…';
    try {
      const res = await fetchPage(String(next));
      if (!alive)
        return;
      const firstNew = rows.length;
      take(res);
      show(firstNew);
    } catch (e) {
      if (!alive || e.handled)
        return;
      button.disabled = false;
      results.setAttribute('aria-busy', 'false');
      status.textContent = '';
      const old = results.querySelector(':scope > .alert');
      if (old)
        old.remove();
      results.prepend(h('div', { class: 'alert', role: 'alert', text: e.message }));
    }
  }

  const [lists, page] = await Promise.all([
    Promise.all([loadDevices(filters.get('device')), loadGroups()]),
    fetchPage(stack[stack.length - 1]).then((res) => ({ res }), (err) => ({ err })),
  ]);
  const [{ devices, more }, groups] = lists;
  formSlot.replaceWith(filterForm(ctx, filters, devices, more, groups));
  if (page.err) {
    if (page.err.handled)
      return () => {};
    results.setAttribute('aria-busy', 'false');
    results.replaceChildren(h('div', { class: 'alert', role: 'alert', text: page.err.message }));
  } else {
    take(page.res);
    show();
  }
  return () => {
    alive = false;
  };
}
