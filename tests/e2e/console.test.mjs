// SPDX-License-Identifier: GPL-3.0-or-later
// The vigil web console end to end, as a person uses it: Debian's Chromium,
// headless, driven by playwright-core against a real hub (and a real agent
// watching VIGIL_E2E_WATCH_DIR), both started by
// tests/blackbox/test_console_e2e.sh, which passes everything below in the
// environment. Elements are found by their accessible names, as the
// console's contract names them. Each check prints "ok - NAME" or
// "not ok - NAME"; the last line is "N passed, N failed"; the exit status
// is 1 when a check failed.
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync, rmSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import https from 'node:https';
import { createHash } from 'node:crypto';

function need(name) {
  const v = process.env[name];
  if (v === undefined || v === '') {
    console.error(`console.test.mjs: ${name} is not set (run it through tests/blackbox/test_console_e2e.sh)`);
    process.exit(2);
  }
  return v;
}

const cfg = {
  url: need('VIGIL_E2E_URL').replace(/\/$/, ''),
  cert: need('VIGIL_E2E_CERT'),
  spki: need('VIGIL_E2E_SPKI'),
  fingerprint: need('VIGIL_E2E_FINGERPRINT'),
  admin: need('VIGIL_E2E_ADMIN_USER'),
  adminPassword: need('VIGIL_E2E_ADMIN_PASSWORD'),
  ro: need('VIGIL_E2E_READONLY_USER'),
  roPassword: need('VIGIL_E2E_READONLY_PASSWORD'),
  watchDir: need('VIGIL_E2E_WATCH_DIR'),
  deviceId: need('VIGIL_E2E_DEVICE_ID'),
  deviceName: need('VIGIL_E2E_DEVICE_NAME'),
  groupId: need('VIGIL_E2E_GROUP_ID'),
  groupName: need('VIGIL_E2E_GROUP_NAME'),
  proxyId: need('VIGIL_E2E_PROXY_ID'),
  proxyName: need('VIGIL_E2E_PROXY_NAME'),
  proxyToken: need('VIGIL_E2E_PROXY_TOKEN'),
  out: need('VIGIL_E2E_OUT'),
  chromium: process.env.VIGIL_E2E_CHROMIUM || '/usr/bin/chromium',
};

const DESKTOP = { width: 1280, height: 800 };
const NARROW = { width: 390, height: 844 };
const SHOTS = join(cfg.out, 'screenshots');
const DOWNLOADS = join(cfg.out, 'downloads');
const FAILURES = join(cfg.out, 'failures');
for (const d of [SHOTS, DOWNLOADS, FAILURES]) {
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
}

// ---------------------------------------------------------------------------
// Checks

let passed = 0;
let failed = 0;
const failedNames = new Set();
let current = null; // the page a failing check photographs

// check NAME FN [NEEDS]: runs FN; a throw fails the check. A check whose
// NEEDS (names of earlier checks) failed is not run and counts as failed,
// so one broken page costs its own checks, not the run's time.
async function check(name, fn, needs = []) {
  const broken = needs.filter((n) => failedNames.has(n));
  if (broken.length) {
    failed++;
    failedNames.add(name);
    console.log(`not ok - ${name} (not run: "${broken.join('", "')}" failed)`);
    return false;
  }
  try {
    await fn();
    passed++;
    console.log(`ok - ${name}`);
    return true;
  } catch (e) {
    failed++;
    failedNames.add(name);
    console.log(`not ok - ${name}`);
    const msg = String((e && e.message) || e).split('\n').slice(0, 12);
    for (const line of msg)
      console.log(`    ${line}`);
    if (current && !current.isClosed()) {
      const file = join(FAILURES, `${String(failed).padStart(2, '0')}-${slug(name)}.png`);
      try {
        await current.screenshot({ path: file });
        console.log(`    (screenshot: ${file}; at ${current.url()})`);
      } catch {
        // the page may be gone with the failure
      }
    }
    return false;
  }
}

function slug(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}

function assert(cond, msg) {
  if (!cond)
    throw new Error(msg);
}

function eq(got, want, what) {
  if (got !== want)
    throw new Error(`${what}: got ${JSON.stringify(got)}, wanted ${JSON.stringify(want)}`);
}

async function poll(what, seconds, fn, every = 250) {
  const end = Date.now() + seconds * 1000;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v)
        return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(`${what} (waited ${seconds} s)${last ? `: ${last.message.split('\n')[0]}` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

// ---------------------------------------------------------------------------
// The browser console: every error and warning, and every uncaught
// exception, of every page, fails the run. The only messages allowed are
// Chromium's own "Failed to load resource" lines for answers the test
// expects to be errors (a wrong password's 401, the 403s of forced
// requests, the 401 of an ended session), each named by status and API
// path and allowed only during its own step. A visitor without a session
// causes no request that fails: the console asks GET /session only when
// the hub's vigil_signed_in cookie says there is a session to ask about.

const consoleProblems = [];
const allowed = [];

async function allowing(status, path, why, fn) {
  const rule = { status, path, why };
  allowed.push(rule);
  try {
    return await fn();
  } finally {
    // Chromium reports a failed load a moment after the answer.
    await new Promise((r) => setTimeout(r, 300));
    allowed.splice(allowed.indexOf(rule), 1);
  }
}

function watch(page, who) {
  page.on('console', (msg) => {
    const type = msg.type();
    if (type !== 'error' && type !== 'warning')
      return;
    const text = msg.text();
    const loc = msg.location() || {};
    const m = /^Failed to load resource: the server responded with a status of (\d+)/.exec(text);
    if (m && loc.url) {
      const status = Number(m[1]);
      let path = '';
      try {
        path = new URL(loc.url).pathname;
      } catch {
        // not a URL: not allowed
      }
      if (allowed.some((a) => a.status === status && a.path.test(path)))
        return;
    }
    consoleProblems.push(`${who}: console ${type}: ${text}${loc.url ? ` (${loc.url}:${loc.lineNumber})` : ''} on ${page.url()}`);
  });
  page.on('pageerror', (err) => {
    consoleProblems.push(`${who}: uncaught ${err.name || 'error'}: ${err.message} on ${page.url()}`);
  });
}

// ---------------------------------------------------------------------------
// The hub's API from outside the browser (to end a session server-side),
// trusting only the hub's certificate.

const hubCa = readFileSync(cfg.cert);

function hubRequest(method, path, { token, body } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(`${cfg.url}/api/v1${path}`);
    const headers = {};
    if (token)
      headers.Authorization = `Bearer ${token}`;
    let data;
    if (body !== undefined) {
      data = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
    const req = https.request({
      host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers, ca: hubCa, timeout: 15000,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    if (data)
      req.write(data);
    req.end();
  });
}

// An API request made by the page itself, with its cookie and (for unsafe
// methods) the CSRF token of its session, as a script in the page could.
async function pageApi(page, method, path, body) {
  return page.evaluate(async ({ method, path, body }) => {
    const headers = { Accept: 'application/json' };
    if (method !== 'GET') {
      const s = await fetch('/api/v1/session', { credentials: 'same-origin' });
      const csrf = s.ok ? (await s.json()).csrf : '';
      headers['X-CSRF-Token'] = csrf;
    }
    let data;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      data = JSON.stringify(body);
    }
    const r = await fetch(`/api/v1${path}`, { method, headers, body: data, credentials: 'same-origin' });
    const text = await r.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: r.status, json, text };
  }, { method, path, body });
}

// ---------------------------------------------------------------------------
// Page helpers

const h1 = (page, name) => page.getByRole('heading', { level: 1, name, exact: true });
const h2 = (page, name) => page.getByRole('heading', { level: 2, name, exact: true });
const nav = (page) => page.getByRole('navigation', { name: 'Main' });
const navLink = (page, name) => nav(page).getByRole('link', { name, exact: true });

// The page has finished loading: its h1 is NAME and <main> is not busy.
async function loaded(page, name) {
  await h1(page, name).waitFor({ state: 'visible' });
  await page.locator('main#main:not([aria-busy="true"])').waitFor({ state: 'attached' });
}

async function go(page, path, name) {
  await page.goto(cfg.url + path);
  await loaded(page, name);
}

async function shot(page, name, size) {
  await page.screenshot({ path: join(SHOTS, `${name}-${size.width}x${size.height}.png`) });
}

async function mustSee(locator, what) {
  try {
    await locator.first().waitFor({ state: 'visible', timeout: 5000 });
  } catch {
    throw new Error(`not shown: ${what}`);
  }
}

// The named control is not in the page at all (nor hidden in it).
async function absent(page, role, name) {
  const n = await page.getByRole(role, { name, exact: true, includeHidden: true }).count();
  if (n !== 0)
    throw new Error(`${role} "${name}" is rendered (${n}) for a read-only user`);
}

async function signIn(page, user, password) {
  await page.getByLabel('User name', { exact: true }).fill(user);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

async function confirmIfAsked(page) {
  const dlg = page.locator('dialog[open]');
  try {
    await dlg.waitFor({ state: 'visible', timeout: 1500 });
  } catch {
    return;
  }
  await dlg.getByRole('button').filter({ hasNotText: /^\s*cancel\s*$/i }).last().click();
}

// RFC 4180: fields in double quotes may hold commas, quotes ("") and
// line breaks.
function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n')
        i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else {
      cell += c;
    }
  }
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

async function download(page, linkName, file) {
  const link = page.getByRole('link', { name: linkName, exact: true });
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }), link.click()]);
  const failure = await dl.failure();
  assert(!failure, `${linkName}: the download failed: ${failure}`);
  const path = join(DOWNLOADS, file);
  await dl.saveAs(path);
  return { path, suggested: dl.suggestedFilename(), text: readFileSync(path, 'utf8'), href: await link.getAttribute('href') };
}

// ---------------------------------------------------------------------------
// The run

const browser = await chromium.launch({
  executablePath: cfg.chromium,
  args: [`--ignore-certificate-errors-spki-list=${cfg.spki}`],
});
const ctxOpts = { viewport: DESKTOP, acceptDownloads: true, locale: 'en-GB' };
const MARK = `e2e change ${Date.now()}`;
const NOTES = join(cfg.watchDir, 'notes.txt');
const state = {
  eventId: null, newGroupId: null, newGroupName: `e2e-group-${process.pid}`, proxiedId: null, credId: null,
  winCredId: null, winKeyCredId: null, winGroupId: null, winId: null, winEvents: {},
};
const PAGES = [
  // name, path, h1 (filled in once known)
  ['dashboard', '/', 'Dashboard'],
  ['devices', '/devices', 'Devices'],
  ['device', `/devices/${cfg.deviceId}`, cfg.deviceName],
  ['events', '/events', 'Events'],
  ['event', null, null],
  ['groups', '/groups', 'Groups'],
  ['group', `/groups/${cfg.groupId}`, cfg.groupName],
  ['users', '/users', 'Users'],
  ['settings', '/settings', 'Settings'],
  ['account', '/account', 'Account'],
  ['credentials', '/credentials', 'Credentials'],
  ['proxied-device', null, null],
  ['config-compare', null, null],
  ['windows-device', null, null],
  ['windows-event', null, null],
];
const PAGE_INDEX = Object.fromEntries(PAGES.map((p, i) => [p[0], i]));

// The proxied device of the run and what its proxy reports.
const PROXIED = {
  name: `e2e-switch-${process.pid}`,
  host: '192.0.2.10',
  cred: `e2e-cred-${process.pid}`,
  user: 'netops',
  secret: `e2e-device-secret-${Date.now()}`,
  fp1: 'SHA256:q8mVb0t3pJ1KxZ4yF7nR2wA9cE5hL6sD0gU3iO8kT1Y',
  fp2: 'SHA256:Zk4pX0aQ7rV2mB9nC5tW1yE8uI3oP6sD2fG0hJ4lK7M',
  oldLine: ' description uplink to core-1',
  newLine: ' description uplink to core-2',
  // Hostile text a device could send: shown as text, never as markup.
  banner: 'banner motd <img src=x onerror="window.e2eOwned=1">',
};

// The Windows host of the run (proxied, over SMB), its group and the
// changes its proxy reports.
const WINDOWS = {
  name: `e2e-win-${process.pid}`,
  host: '192.0.2.20',
  cred: `e2e-win-cred-${process.pid}`,
  user: 'EXAMPLE\\auditor',
  secret: `e2e-win-secret-${Date.now()}`,
  group: `e2e-windows-${process.pid}`,
  keys: ['HKLM\\SOFTWARE\\Vigil E2E', 'HKU\\.DEFAULT\\Control Panel\\Desktop'],
  files: ['C:\\Windows\\win.ini', 'C:\\ProgramData\\Vigil E2E'],
  exclude: ['*\\Cache\\*'],
  badKey: 'HKCU\\Software\\Vigil E2E',
  key: 'HKLM\\SOFTWARE\\Vigil E2E',
  value: 'HKLM\\SOFTWARE\\Vigil E2E\\Banner',
  oldData: 'Welcome to the e2e host',
  // Hostile text a host could hold: shown as text, never as markup.
  newData: 'Authorised use only <img src=x onerror="window.e2eOwned=2">',
  listValue: 'HKLM\\SOFTWARE\\Vigil E2E\\Paths',
  file: 'C:\\Windows\\win.ini',
  error: 'logon failure for EXAMPLE\\auditor at 192.0.2.20:445',
};
// A REG_MULTI_SZ text of about 15 KB (400 lines), and the digest that
// stands for its grown data, too long to keep as text.
const LIST_OLD = Array.from({ length: 400 }, (_, i) => `C:\\Program Files\\Vigil E2E\\lib${i}.dll`).join('\n');
const LIST_NEW_SHA = createHash('sha256').update(`${LIST_OLD}\n(grown)`).digest('hex');

// A configuration as the proxy sends it (normalised document; here its
// significant view is the same text).
function deviceConfig(description) {
  const text = ['=== show running-config ===', `hostname ${PROXIED.name}`, 'interface GigabitEthernet0/1',
    description, ' no shutdown', PROXIED.banner, 'end', ''].join('\n');
  return { text, sha256: createHash('sha256').update(text).digest('hex'), lines: 6 };
}

// POST /agent/proxied/ID/result as the proxy agent (id: the network
// device of the run unless given).
async function proxyResult(body, id = state.proxiedId) {
  const r = await hubRequest('POST', `/agent/proxied/${id}/result`, { token: cfg.proxyToken, body });
  let json = null;
  try {
    json = JSON.parse(r.text);
  } catch {
    // not JSON
  }
  return { status: r.status, json, text: r.text };
}

try {
  const admin = await browser.newContext(ctxOpts);
  admin.setDefaultTimeout(8000);
  const page = await admin.newPage();
  watch(page, 'admin');
  current = page;

  // --- sign in ---
  await check('the console redirects a visitor without a session to the sign-in page', async () => {
    await page.goto(`${cfg.url}/`);
    await loaded(page, 'Sign in to vigil');
    eq(new URL(page.url()).pathname, '/signin', 'path');
    await shot(page, 'signin', DESKTOP);
  });
  await check('the sign-in form has labelled fields and a "Sign in" button', async () => {
    await mustSee(page.getByLabel('User name', { exact: true }), 'field "User name"');
    await mustSee(page.getByLabel('Password', { exact: true }), 'field "Password"');
    await mustSee(page.getByRole('button', { name: 'Sign in', exact: true }), 'button "Sign in"');
    eq(await page.getByLabel('Password', { exact: true }).getAttribute('type'), 'password', 'type of the Password field');
  }, ['the console redirects a visitor without a session to the sign-in page']);
  await check('a wrong password is refused with "wrong user name or password"', async () => {
    await allowing(401, /^\/api\/v1\/session$/, 'the wrong password', async () => {
      await signIn(page, cfg.admin, `${cfg.adminPassword}-wrong`);
      const alert = page.getByRole('alert').filter({ hasText: /wrong user name or password/i });
      await mustSee(alert, 'an alert saying "wrong user name or password"');
    });
    eq(new URL(page.url()).pathname, '/signin', 'still on the sign-in page: path');
  }, ['the sign-in form has labelled fields and a "Sign in" button']);
  await check('the admin signs in and lands on the dashboard', async () => {
    await signIn(page, cfg.admin, cfg.adminPassword);
    await loaded(page, 'Dashboard');
    eq(new URL(page.url()).pathname, '/', 'path');
  }, ['the sign-in form has labelled fields and a "Sign in" button']);
  const SIGNED_IN = ['the admin signs in and lands on the dashboard'];

  // --- dashboard and navigation ---
  await check('the dashboard has its sections', async () => {
    for (const s of ['Devices', 'Changes over time', 'Most-changed devices', 'Latest changes', 'Problems'])
      await mustSee(h2(page, s), `h2 "${s}"`);
    await shot(page, 'dashboard', DESKTOP);
  }, SIGNED_IN);
  await check('the dashboard labels its day buckets in UTC, whatever the browser\'s time zone', async () => {
    // Los Angeles is 7 or 8 hours behind UTC: a bucket starting at UTC
    // midnight is still the day before there.
    const la = await browser.newContext({ ...ctxOpts, timezoneId: 'America/Los_Angeles', storageState: await admin.storageState() });
    try {
      const lp = await la.newPage();
      watch(lp, 'admin in Los Angeles');
      await go(lp, '/', 'Dashboard');
      const d = await pageApi(lp, 'GET', '/dashboard?days=7');
      eq(d.status, 200, 'GET /dashboard');
      eq(d.json.changes.bucket, 86400, 'bucket');
      const want = d.json.changes.points.map((p) => new Date(p.t * 1000).toISOString().slice(0, 10));
      assert(want.length, 'no points');
      const t = lp.getByRole('table', { name: /^Changes per day \(UTC\)/ });
      eq(await t.getByRole('columnheader').first().innerText(), 'Day (UTC)', 'first column');
      const got = await t.locator('tbody th').allInnerTexts();
      eq(JSON.stringify(got), JSON.stringify(want), 'the day labels');
      await mustSee(lp.getByRole('img', { name: /^Changes per day \(UTC\)/ }), 'the chart named "Changes per day (UTC)"');
    } finally {
      await la.close();
    }
  }, SIGNED_IN);
  await check('the sign-in page\'s "next" goes only to a page of the console', async () => {
    // A tab is dropped when the address is parsed: "/\t/evil.example" is
    // "//evil.example", another site.
    await go(page, '/signin?next=%2F%09%2Fevil.example', 'Dashboard');
    eq(new URL(page.url()).href, `${cfg.url}/`, 'address');
    await go(page, '/signin?next=%2Fdevices%3Fstatus%3Donline', 'Devices');
    const u = new URL(page.url());
    eq(u.pathname + u.search, '/devices?status=online', 'address');
    await go(page, '/', 'Dashboard');
  }, SIGNED_IN);
  await check('the main navigation has every page, the user and "Sign out"', async () => {
    for (const l of ['Dashboard', 'Devices', 'Events', 'Groups', 'Credentials', 'Users', 'Settings', 'Account'])
      await mustSee(navLink(page, l), `nav link "${l}"`);
    eq(await navLink(page, 'Dashboard').getAttribute('aria-current'), 'page', 'aria-current of the Dashboard link');
    await mustSee(page.locator('header').getByText(cfg.admin, { exact: true }), `the user name "${cfg.admin}" in the header`);
    await mustSee(page.getByRole('button', { name: 'Sign out', exact: true }), 'button "Sign out"');
  }, SIGNED_IN);

  // --- devices: the agent's device is there ---
  await check("the devices list shows the agent's device", async () => {
    await navLink(page, 'Devices').click();
    await loaded(page, 'Devices');
    eq(new URL(page.url()).pathname, '/devices', 'path');
    eq(await navLink(page, 'Devices').getAttribute('aria-current'), 'page', 'aria-current of the Devices link');
    for (const l of ['Group', 'Status', 'OS', 'Last contact', 'Name'])
      await mustSee(page.getByLabel(l, { exact: true }), `filter "${l}"`);
    const table = page.getByRole('table', { name: 'Devices' });
    await mustSee(table, 'table "Devices"');
    await mustSee(table.getByRole('link', { name: cfg.deviceName, exact: true }), `a link "${cfg.deviceName}"`);
    await shot(page, 'devices', DESKTOP);
  }, SIGNED_IN);
  await check('the Name filter narrows the devices list', async () => {
    const table = page.getByRole('table', { name: 'Devices' });
    await page.getByLabel('Name', { exact: true }).fill('no-such-device-e2e');
    await page.getByLabel('Name', { exact: true }).press('Enter');
    await poll('the device link disappears', 10, async () =>
      (await table.getByRole('link', { name: cfg.deviceName, exact: true }).count()) === 0);
    await page.getByLabel('Name', { exact: true }).fill(cfg.deviceName.slice(0, 4));
    await page.getByLabel('Name', { exact: true }).press('Enter');
    await mustSee(table.getByRole('link', { name: cfg.deviceName, exact: true }), 'the device again');
  }, ["the devices list shows the agent's device"]);
  await check("the device page shows the device's details, policy and changes", async () => {
    await page.getByRole('table', { name: 'Devices' }).getByRole('link', { name: cfg.deviceName, exact: true }).click();
    await loaded(page, cfg.deviceName);
    eq(new URL(page.url()).pathname, `/devices/${cfg.deviceId}`, 'path');
    for (const s of ['Details', 'Policy', 'Recent changes'])
      await mustSee(h2(page, s), `h2 "${s}"`);
    await mustSee(page.getByRole('main').getByText(cfg.watchDir).first(), `the watched folder ${cfg.watchDir} in the policy`);
    await mustSee(page.getByRole('button', { name: 'Delete device', exact: true }), 'button "Delete device"');
    await shot(page, 'device', DESKTOP);
  }, ["the devices list shows the agent's device"]);

  // --- a change in the watched folder reaches the events list ---
  appendFileSync(NOTES, `${MARK}\n`);
  await check('a change in the watched folder appears in the events list', async () => {
    await navLink(page, 'Events').click();
    await loaded(page, 'Events');
    for (const l of ['Device', 'Group', 'From', 'To', 'Type', 'State', 'Path contains'])
      await mustSee(page.getByLabel(l, { exact: true }), `filter "${l}"`);
    await page.getByLabel('Path contains', { exact: true }).fill('notes.txt');
    const table = page.getByRole('table', { name: 'Events' });
    const link = table.getByRole('link', { name: NOTES });
    await poll(`a row for ${NOTES}`, 40, async () => {
      if (await link.count())
        return true;
      await page.getByRole('button', { name: 'Apply', exact: true }).click();
      await page.locator('main#main:not([aria-busy="true"])').waitFor({ state: 'attached' });
      return (await link.count()) > 0;
    }, 1500);
    const href = await link.first().getAttribute('href');
    const m = /^\/events\/(\d+)$/.exec(href || '');
    assert(m, `the path links to /events/<id>, not ${href}`);
    state.eventId = m[1];
    PAGES[4][1] = `/events/${state.eventId}`;
    PAGES[4][2] = `Event ${state.eventId}`;
    const q = new URL(page.url()).searchParams;
    eq(q.get('q'), 'notes.txt', 'the filter "q" in the URL');
    await shot(page, 'events', DESKTOP);
  }, SIGNED_IN);
  const HAVE_EVENT = ['a change in the watched folder appears in the events list'];

  await check('the event page shows the attributes and the diff of the change', async () => {
    await page.getByRole('table', { name: 'Events' }).getByRole('link', { name: NOTES }).first().click();
    await loaded(page, `Event ${state.eventId}`);
    await mustSee(h2(page, 'Attributes'), 'h2 "Attributes"');
    for (const c of ['Attribute', 'Before', 'After'])
      await mustSee(page.getByRole('columnheader', { name: c, exact: true }), `column "${c}"`);
    assert(await page.locator('main tr.changed').count() > 0, 'no attribute row has the class "changed"');
    await mustSee(h2(page, 'Diff'), 'h2 "Diff"');
    await mustSee(page.locator('pre.diff span.add').filter({ hasText: MARK }), `an added line "${MARK}" in pre.diff`);
    await mustSee(page.locator('pre.diff span.hunk'), 'a hunk line in pre.diff');
    await mustSee(page.getByRole('main').getByText(NOTES).first(), 'the path');
    await shot(page, 'event', DESKTOP);
  }, HAVE_EVENT);
  await check('"Accept into baseline" accepts the event (shown, and in the hub)', async () => {
    await mustSee(page.getByRole('button', { name: 'Acknowledge', exact: true }), 'button "Acknowledge"');
    await mustSee(page.getByLabel('Comment', { exact: true }), 'field "Comment"');
    await page.getByRole('button', { name: 'Accept into baseline', exact: true }).click();
    await confirmIfAsked(page);
    await mustSee(page.getByRole('main').getByText(/^\s*accepted\s*$/i), 'the state "accepted"');
    const r = await pageApi(page, 'GET', `/events/${state.eventId}`);
    eq(r.status, 200, `GET /events/${state.eventId}`);
    eq(r.json && r.json.state, 'accepted', 'the state the hub has');
  }, HAVE_EVENT);

  // --- filters (kept in the URL; back works) ---
  await check('filters by state and path: only the accepted change, kept in the URL', async () => {
    await go(page, '/events', 'Events');
    await page.getByLabel('State', { exact: true }).selectOption('accepted');
    await page.getByLabel('Type', { exact: true }).selectOption('changed');
    await page.getByLabel('Path contains', { exact: true }).fill('notes.txt');
    await page.getByRole('button', { name: 'Apply', exact: true }).click();
    await poll('the URL keeps the filters', 10, async () => {
      const q = new URL(page.url()).searchParams;
      return q.get('state') === 'accepted' && q.get('type') === 'changed' && q.get('q') === 'notes.txt';
    });
    const table = page.getByRole('table', { name: 'Events' });
    await mustSee(table.getByRole('link', { name: NOTES }), 'the accepted event');
    const hrefs = await table.locator('a[href^="/events/"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert(hrefs.includes(`/events/${state.eventId}`), `the rows ${hrefs.join(' ')} miss /events/${state.eventId}`);
    const paths = await table.locator('a[href^="/events/"]').allInnerTexts();
    assert(paths.every((p) => p.includes('notes.txt')), `a row does not match "notes.txt": ${paths.join(', ')}`);
  }, HAVE_EVENT);
  await check('a filter matching nothing empties the list, and Back restores the previous one', async () => {
    const table = page.getByRole('table', { name: 'Events' });
    await page.getByLabel('Path contains', { exact: true }).fill('no-such-path-e2e');
    await page.getByRole('button', { name: 'Apply', exact: true }).click();
    await poll('no event rows', 10, async () => (await page.locator('main a[href^="/events/"]').count()) === 0);
    await page.goBack();
    await poll('the URL has q=notes.txt again', 10, async () => new URL(page.url()).searchParams.get('q') === 'notes.txt');
    await mustSee(table.getByRole('link', { name: NOTES }), 'the accepted event after Back');
    eq(await page.getByLabel('Path contains', { exact: true }).inputValue(), 'notes.txt', 'the "Path contains" field after Back');
  }, ['filters by state and path: only the accepted change, kept in the URL']);

  // --- export ---
  const CSV_HEADER = 'id,time,received,device_id,device,type,origin,kind,path,changed,state,message';
  await check('"Export CSV" downloads the filtered events as CSV', async () => {
    const d = await download(page, 'Export CSV', 'events.csv');
    const href = new URL(d.href, cfg.url);
    eq(href.pathname, '/api/v1/events/export', 'the link\'s path');
    eq(href.searchParams.get('format'), 'csv', 'format');
    eq(href.searchParams.get('q'), 'notes.txt', 'the link keeps the filter q');
    eq(href.searchParams.get('state'), 'accepted', 'the link keeps the filter state');
    assert(/^vigil-events-\d{8}-\d{6}\.csv$/.test(d.suggested), `file name ${d.suggested}`);
    const rows = parseCsv(d.text);
    eq(rows[0].join(','), CSV_HEADER, 'the header');
    const body = rows.slice(1).filter((r) => r.length > 1);
    assert(body.length >= 1, 'no event in the CSV');
    const cols = Object.fromEntries(rows[0].map((c, i) => [c, i]));
    for (const r of body) {
      eq(r.length, rows[0].length, `cells in row ${r[0]}`);
      assert(r[cols.path].includes('notes.txt'), `row ${r[0]} has path ${r[cols.path]}`);
      eq(r[cols.state], 'accepted', `state of row ${r[0]}`);
    }
    const mine = body.find((r) => r[cols.id] === state.eventId);
    assert(mine, `event ${state.eventId} is not in the CSV`);
    eq(mine[cols.path], NOTES, 'its path');
    eq(mine[cols.type], 'changed', 'its type');
    eq(mine[cols.device_id], String(cfg.deviceId), 'its device_id');
    eq(mine[cols.device], cfg.deviceName, 'its device');
  }, ['filters by state and path: only the accepted change, kept in the URL']);
  await check('"Export JSON" downloads the same events as JSON', async () => {
    const d = await download(page, 'Export JSON', 'events.json');
    const href = new URL(d.href, cfg.url);
    eq(href.searchParams.get('format'), 'json', 'format');
    assert(/^vigil-events-\d{8}-\d{6}\.json$/.test(d.suggested), `file name ${d.suggested}`);
    const list = JSON.parse(d.text);
    assert(Array.isArray(list) && list.length >= 1, 'not a non-empty array');
    for (const e of list) {
      assert(String(e.path).includes('notes.txt'), `event ${e.id} has path ${e.path}`);
      eq(e.state, 'accepted', `state of event ${e.id}`);
    }
    const mine = list.find((e) => String(e.id) === state.eventId);
    assert(mine, `event ${state.eventId} is not in the JSON`);
    eq(mine.path, NOTES, 'its path');
    eq(mine.type, 'changed', 'its type');
    eq(String(mine.device_id), String(cfg.deviceId), 'its device_id');
  }, ['filters by state and path: only the accepted change, kept in the URL']);

  // --- the dashboard lists the change ---
  await check('the dashboard lists the change among the latest', async () => {
    await navLink(page, 'Dashboard').click();
    await loaded(page, 'Dashboard');
    await mustSee(page.getByRole('main').getByText(NOTES).first(), `${NOTES} on the dashboard`);
  }, HAVE_EVENT);

  // --- groups and the policy editor ---
  await check('the groups page lists the group and creates a new one', async () => {
    await navLink(page, 'Groups').click();
    await loaded(page, 'Groups');
    await mustSee(page.getByRole('main').getByRole('link', { name: cfg.groupName, exact: true }), `the group "${cfg.groupName}"`);
    await shot(page, 'groups', DESKTOP);
    const newBtn = page.getByRole('button', { name: 'New group', exact: true });
    if (await newBtn.count())
      await newBtn.click();
    await page.getByLabel('Group name', { exact: true }).fill(state.newGroupName);
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const r = await poll('the hub has the new group', 10, async () => {
      const g = await pageApi(page, 'GET', '/groups');
      const list = (g.json && (g.json.groups || g.json)) || [];
      return list.find((x) => x.name === state.newGroupName);
    });
    state.newGroupId = r.id;
  }, SIGNED_IN);
  await check('the group page shows members and the policy editor', async () => {
    await go(page, `/groups/${cfg.groupId}`, cfg.groupName);
    await mustSee(h2(page, 'Members'), 'h2 "Members"');
    await mustSee(h2(page, 'Policy'), 'h2 "Policy"');
    await mustSee(page.getByRole('main').getByText(cfg.deviceName).first(), 'the device among the members');
    for (const l of ['Paths', 'Include', 'Exclude', 'Content tracked', 'Hash', 'Realtime', 'Schedule (seconds)',
      'Max hash size', 'Approved commands'])
      await mustSee(page.getByLabel(l, { exact: true }), `policy field "${l}"`);
    eq(await page.getByLabel('Realtime', { exact: true }).isChecked(), true, 'Realtime checked');
    const paths = await page.getByLabel('Paths', { exact: true }).inputValue();
    assert(paths.split('\n').includes(cfg.watchDir), `Paths holds ${JSON.stringify(paths)}`);
    await mustSee(page.getByText('Raw JSON', { exact: true }), 'the "Raw JSON" disclosure');
    await mustSee(page.getByRole('button', { name: 'Save policy', exact: true }), 'button "Save policy"');
    await shot(page, 'group', DESKTOP);
  }, SIGNED_IN);
  await check('a policy error from the hub is shown next to its field', async () => {
    assert(state.newGroupId, 'no new group');
    await go(page, `/groups/${state.newGroupId}`, state.newGroupName);
    const paths = page.getByLabel('Paths', { exact: true });
    await paths.fill('relative/path');
    await allowing(400, /^\/api\/v1\/groups\/\d+\/policy$/, 'the invalid policy', async () => {
      await page.getByRole('button', { name: 'Save policy', exact: true }).click();
      await poll('Paths is marked aria-invalid="true"', 10, async () => (await paths.getAttribute('aria-invalid')) === 'true');
    });
    // The message is what describes the field, shown just below it.
    const ids = ((await paths.getAttribute('aria-describedby')) || '').split(/\s+/).filter(Boolean);
    assert(ids.length, 'Paths has no aria-describedby');
    let message = null;
    for (const id of ids) {
      const el = page.locator(`[id="${id}"]`);
      if (await el.isVisible() && /must be an absolute path/i.test(await el.innerText()))
        message = el;
    }
    assert(message, 'no visible element describing Paths says the hub\'s "must be an absolute path"');
    const fb = await paths.boundingBox();
    const mb = await message.boundingBox();
    assert(fb && mb && mb.y >= fb.y && mb.y - (fb.y + fb.height) < 80,
      `the message (y ${mb && mb.y}) is not next to the Paths field (y ${fb && fb.y}, height ${fb && fb.height})`);
  }, ['the groups page lists the group and creates a new one']);
  await check('a valid policy saves, clears the error and reaches the hub', async () => {
    const paths = page.getByLabel('Paths', { exact: true });
    await paths.fill('/srv/e2e-one\n/srv/e2e-two');
    await page.getByRole('button', { name: 'Save policy', exact: true }).click();
    await poll('aria-invalid cleared', 10, async () => (await paths.getAttribute('aria-invalid')) !== 'true');
    const r = await poll('the hub has the policy', 10, async () => {
      const p = await pageApi(page, 'GET', `/groups/${state.newGroupId}/policy`);
      const pol = p.json && (p.json.policy || p.json);
      return p.status === 200 && pol && JSON.stringify(pol.paths) === JSON.stringify(['/srv/e2e-one', '/srv/e2e-two']) && pol;
    });
    assert(r, 'policy');
  }, ['a policy error from the hub is shown next to its field']);
  await check('leaving the group page with an unsaved policy asks first', async () => {
    // Reached in the page, so that Back stays in it.
    await navLink(page, 'Groups').click();
    await loaded(page, 'Groups');
    await page.getByRole('main').getByRole('link', { name: state.newGroupName, exact: true }).click();
    await loaded(page, state.newGroupName);
    const here = new URL(page.url()).pathname;
    eq(here, `/groups/${state.newGroupId}`, 'path');
    const paths = page.getByLabel('Paths', { exact: true });
    await paths.fill('/srv/e2e-unsaved');
    const dlg = page.getByRole('dialog', { name: 'Leave without saving the policy?' });
    // A link: Cancel stays, with the edit.
    await navLink(page, 'Devices').click();
    await mustSee(dlg, 'the question "Leave without saving the policy?"');
    await dlg.getByRole('button', { name: 'Cancel', exact: true }).click();
    eq(new URL(page.url()).pathname, here, 'path after Cancel');
    eq(await paths.inputValue(), '/srv/e2e-unsaved', 'Paths after Cancel');
    // Back: Cancel puts the group page's address back.
    await page.goBack();
    await mustSee(dlg, 'the question after Back');
    await dlg.getByRole('button', { name: 'Cancel', exact: true }).click();
    await poll('the address is the group page again', 5, async () => new URL(page.url()).pathname === here);
    eq(await paths.inputValue(), '/srv/e2e-unsaved', 'Paths after Back and Cancel');
    // Invalid raw JSON is not overwritten by a form edit.
    await page.getByText('Raw JSON', { exact: true }).click();
    const raw = page.getByLabel('Policy document (JSON)', { exact: true });
    await raw.fill('{"paths": [');
    await poll('the raw JSON is marked invalid', 5, async () => (await raw.getAttribute('aria-invalid')) === 'true');
    await paths.fill('/srv/e2e-other');
    eq(await raw.inputValue(), '{"paths": [', 'the raw JSON after a form edit');
    // Reloading the tab asks too (the browser's own question).
    let asked = null;
    page.once('dialog', (d) => {
      asked = d.type();
      d.accept();
    });
    await page.reload();
    await loaded(page, state.newGroupName);
    eq(asked, 'beforeunload', 'the dialog on reload');
    // Saved, or back to the saved version: the browser asks nothing.
    eq(await paths.inputValue(), '/srv/e2e-one\n/srv/e2e-two', 'Paths after the reload');
    await paths.fill('/srv/e2e-unsaved');
    await page.getByRole('button', { name: 'Discard changes', exact: true }).click();
    eq(await page.evaluate(() => {
      const ev = new Event('beforeunload', { cancelable: true });
      window.dispatchEvent(ev);
      return ev.defaultPrevented;
    }), false, 'beforeunload cancelled after "Discard changes"');
    // The link again, with an edit: Leave goes, unsaved.
    await paths.fill('/srv/e2e-unsaved');
    await navLink(page, 'Devices').click();
    await dlg.getByRole('button', { name: 'Leave', exact: true }).click();
    await loaded(page, 'Devices');
    const p = await pageApi(page, 'GET', `/groups/${state.newGroupId}/policy`);
    eq(JSON.stringify(p.json.policy.paths), JSON.stringify(['/srv/e2e-one', '/srv/e2e-two']), 'the saved paths');
  }, ['a valid policy saves, clears the error and reaches the hub']);

  // --- users, settings, account ---
  await check('the users page lists the users and creates one', async () => {
    await navLink(page, 'Users').click();
    await loaded(page, 'Users');
    const table = page.getByRole('table', { name: 'Users' });
    await mustSee(table.getByText(cfg.ro, { exact: true }), `user "${cfg.ro}"`);
    await shot(page, 'users', DESKTOP);
    const form = page.getByRole('main');
    await form.getByLabel('User name', { exact: true }).fill('e2e-viewer');
    await form.getByLabel('Password', { exact: true }).fill('a long e2e passphrase 42');
    await form.getByLabel('Role', { exact: true }).selectOption('readonly');
    await page.getByRole('button', { name: 'Create user', exact: true }).click();
    await mustSee(table.getByText('e2e-viewer', { exact: true }), 'the new user in the table');
  }, SIGNED_IN);
  await check('a role changes only with "Save role": arrow keys on the role select send nothing', async () => {
    const roleOf = async (name) => {
      const r = await pageApi(page, 'GET', '/users');
      const u = ((r.json && r.json.users) || []).find((x) => x.name === name);
      assert(u, `no user ${name} at the hub`);
      return u.role;
    };
    const patches = [];
    const onRequest = (req) => {
      if (req.method() === 'PATCH' && /\/api\/v1\/users\//.test(new URL(req.url()).pathname))
        patches.push(req.url());
    };
    page.on('request', onRequest);
    try {
      const sel = page.getByRole('combobox', { name: 'Role of e2e-viewer', exact: true });
      const save = page.getByRole('button', { name: 'Save role of e2e-viewer', exact: true });
      eq(await sel.inputValue(), 'readonly', 'the role shown');
      eq(await save.isDisabled(), true, '"Save role" disabled before a change');
      await sel.focus();
      await page.keyboard.press('ArrowUp'); // Read-only → Administrator
      eq(await sel.inputValue(), 'admin', 'the role shown after ArrowUp');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowUp');
      await new Promise((r) => setTimeout(r, 500));
      eq(patches.length, 0, 'PATCH requests sent by the arrow keys');
      eq(await roleOf('e2e-viewer'), 'readonly', 'the role at the hub after the arrow keys');
      eq(await save.isDisabled(), false, '"Save role" disabled after a change');
      await save.click();
      await poll('the hub has the new role', 10, async () => (await roleOf('e2e-viewer')) === 'admin');
      eq(patches.length, 1, 'PATCH requests after "Save role"');
      await poll('the row shows the saved role with "Save role" disabled', 5, async () =>
        (await sel.inputValue()) === 'admin' && await save.isDisabled());
    } finally {
      page.off('request', onRequest);
    }
  }, ['the users page lists the users and creates one']);
  await check('the settings page shows the hub, its fingerprint and the enrolment controls', async () => {
    await navLink(page, 'Settings').click();
    await loaded(page, 'Settings');
    for (const s of ['Hub', 'Agents', 'Enrolment'])
      await mustSee(h2(page, s), `h2 "${s}"`);
    const codes = await page.locator('main code').allInnerTexts();
    const norm = (s) => s.replace(/[^0-9a-f]/gi, '').toUpperCase();
    assert(codes.some((c) => norm(c) === norm(cfg.fingerprint)),
      `no <code> holds the fingerprint ${cfg.fingerprint} (found: ${codes.join(' | ')})`);
    const dl = page.getByRole('link', { name: 'Download HubDetails.xml', exact: true });
    await mustSee(dl, 'link "Download HubDetails.xml"');
    await mustSee(page.getByRole('button', { name: 'Rotate enrolment password', exact: true }), 'button "Rotate enrolment password"');
    await shot(page, 'settings', DESKTOP);
  }, SIGNED_IN);
  await check('the account page has the password change form', async () => {
    await navLink(page, 'Account').click();
    await loaded(page, 'Account');
    for (const l of ['Current password', 'New password', 'Repeat new password'])
      await mustSee(page.getByLabel(l, { exact: true }), `field "${l}"`);
    await mustSee(page.getByRole('button', { name: 'Change password', exact: true }), 'button "Change password"');
    await shot(page, 'account', DESKTOP);
  }, SIGNED_IN);

  // --- proxied devices: a credential, a device, its versions, its host key ---
  await check('the credentials page creates a credential and never shows its secret again', async () => {
    await navLink(page, 'Credentials').click();
    await loaded(page, 'Credentials');
    const main = page.getByRole('main');
    await main.getByLabel('Name', { exact: true }).fill(PROXIED.cred);
    await main.getByLabel('User name', { exact: true }).fill('nobody');
    await main.getByLabel('Password', { exact: true }).fill(PROXIED.secret);
    await page.getByRole('button', { name: 'Create credential', exact: true }).click();
    const table = page.getByRole('table', { name: 'Credentials' });
    await mustSee(table.getByRole('rowheader', { name: PROXIED.cred, exact: true }), `credential "${PROXIED.cred}" in the table`);
    eq(await main.getByLabel('Password', { exact: true }).inputValue(), '', 'the Password field after saving');
    const r = await pageApi(page, 'GET', '/credentials');
    eq(r.status, 200, 'GET /credentials');
    assert(!r.text.includes(PROXIED.secret), 'the secret is in the answer of GET /credentials');
    const list = Array.isArray(r.json) ? r.json : r.json.credentials;
    const c = list.find((x) => x.name === PROXIED.cred);
    assert(c, `no credential ${PROXIED.cred} at the hub`);
    state.credId = c.id;
    assert(!(await page.content()).includes(PROXIED.secret), 'the secret is in the page');
    await shot(page, 'credentials', DESKTOP);
  }, SIGNED_IN);
  const HAVE_CRED = ['the credentials page creates a credential and never shows its secret again'];
  await check('editing a credential with the secrets left empty keeps them (write-only)', async () => {
    const bodies = [];
    const onRequest = (req) => {
      if (req.method() === 'PATCH' && /\/api\/v1\/credentials\/\d+$/.test(new URL(req.url()).pathname))
        bodies.push(req.postData() || '');
    };
    page.on('request', onRequest);
    try {
      await page.getByRole('button', { name: `Edit ${PROXIED.cred}`, exact: true }).click();
      await mustSee(h2(page, `Edit credential ${PROXIED.cred}`), 'the edit form');
      const main = page.getByRole('main');
      eq(await main.getByLabel('Password', { exact: true }).inputValue(), '', 'the Password field when editing');
      eq(await main.getByLabel('User name', { exact: true }).inputValue(), 'nobody', 'the User name field when editing');
      await main.getByLabel('User name', { exact: true }).fill(PROXIED.user);
      await page.getByRole('button', { name: 'Save credential', exact: true }).click();
      const table = page.getByRole('table', { name: 'Credentials' });
      await mustSee(table.getByText(PROXIED.user, { exact: true }), `the new user name "${PROXIED.user}"`);
    } finally {
      page.off('request', onRequest);
    }
    eq(bodies.length, 1, 'PATCH requests');
    const sent = JSON.parse(bodies[0]);
    eq(JSON.stringify(Object.keys(sent).sort()), JSON.stringify(['username']), 'the fields of the PATCH');
    const r = await pageApi(page, 'GET', `/credentials/${state.credId}`);
    eq(r.status, 200, 'GET /credentials/ID');
    eq(r.json.username, PROXIED.user, 'the user name at the hub');
    assert(!r.text.includes(PROXIED.secret), 'the secret is in the answer');
  }, HAVE_CRED);

  await check('an admin adds a proxied device with "Add proxied device"', async () => {
    await go(page, '/devices', 'Devices');
    await page.getByRole('button', { name: 'Add proxied device', exact: true }).click();
    const form = page.getByRole('form', { name: 'Add proxied device' });
    await mustSee(form, 'the form "Add proxied device"');
    await form.getByLabel('Device name', { exact: true }).fill(PROXIED.name);
    await form.getByLabel('Type', { exact: true }).selectOption('network');
    await form.getByLabel('Host', { exact: true }).fill(PROXIED.host);
    await form.getByLabel('Protocol', { exact: true }).selectOption('ssh');
    const profile = form.getByLabel('Profile', { exact: true });
    await poll('the profiles are loaded', 10, async () => (await profile.locator('option[value="ios"]').count()) === 1);
    await profile.selectOption('ios');
    await form.getByLabel('Credential', { exact: true }).selectOption(String(state.credId));
    await form.getByLabel('Proxy agent', { exact: true }).selectOption(String(cfg.proxyId));
    await form.getByLabel('Schedule (seconds)', { exact: true }).fill('600');
    await shot(page, 'devices-add-proxied', DESKTOP);
    await form.getByRole('button', { name: 'Add device', exact: true }).click();
    await loaded(page, PROXIED.name);
    const m = /^\/devices\/(\d+)$/.exec(new URL(page.url()).pathname);
    assert(m, `the console went to ${page.url()}, not to the new device's page`);
    state.proxiedId = m[1];
    PAGES[PAGE_INDEX['proxied-device']][1] = `/devices/${state.proxiedId}`;
    PAGES[PAGE_INDEX['proxied-device']][2] = PROXIED.name;
    const d = await pageApi(page, 'GET', `/devices/${state.proxiedId}`);
    eq(d.json.kind, 'proxied', 'kind at the hub');
    eq(d.json.proxied.host, PROXIED.host, 'host at the hub');
    eq(d.json.proxied.port, 22, 'the default port');
    eq(d.json.proxied.schedule, 600, 'schedule at the hub');
    eq(String(d.json.proxied.proxy_id), String(cfg.proxyId), 'proxy at the hub');
  }, HAVE_CRED);
  const HAVE_PROXIED = ['an admin adds a proxied device with "Add proxied device"'];

  await check('the devices list shows the proxied device with kind "proxied", and the Kind filter works', async () => {
    await go(page, '/devices', 'Devices');
    const table = page.getByRole('table', { name: 'Devices' });
    const row = table.getByRole('row').filter({ has: page.getByRole('link', { name: PROXIED.name, exact: true }) });
    await mustSee(row, `a row for ${PROXIED.name}`);
    await mustSee(row.getByRole('cell', { name: 'proxied (network)', exact: true }), 'the kind "proxied (network)" in its row');
    await mustSee(row.getByText(PROXIED.host), `its address ${PROXIED.host}`);
    await mustSee(row.getByRole('link', { name: cfg.proxyName, exact: true }), `its proxy ${cfg.proxyName}`);
    await page.getByLabel('Kind', { exact: true }).selectOption('proxied');
    await page.getByRole('button', { name: 'Apply', exact: true }).click();
    await poll('the agent device disappears', 10, async () =>
      (await table.getByRole('link', { name: cfg.deviceName, exact: true }).count()) === 0);
    eq(new URL(page.url()).searchParams.get('kind'), 'proxied', 'the filter "kind" in the URL');
    await mustSee(table.getByRole('link', { name: PROXIED.name, exact: true }), 'the proxied device, filtered');
    await page.getByLabel('Kind', { exact: true }).selectOption('agent');
    await page.getByRole('button', { name: 'Apply', exact: true }).click();
    await mustSee(table.getByRole('link', { name: cfg.deviceName, exact: true }), 'the agent device, filtered');
    eq(await table.getByRole('link', { name: PROXIED.name, exact: true }).count(), 0, 'proxied devices among agents');
  }, HAVE_PROXIED);

  await check('the proxied device page shows how it is collected and the host key "unknown"', async () => {
    await go(page, `/devices/${state.proxiedId}`, PROXIED.name);
    for (const s of ['Details', 'Collection', 'Host key', 'Configuration versions', 'Recent changes'])
      await mustSee(h2(page, s), `h2 "${s}"`);
    const key = page.getByRole('region', { name: 'Host key' });
    await mustSee(key.getByText('unknown', { exact: true }), 'the state "unknown"');
    const coll = page.getByRole('region', { name: 'Collection' });
    await mustSee(coll.getByText(`${PROXIED.host}:22`, { exact: true }), 'the address');
    await mustSee(coll.getByText('ios', { exact: true }), 'the profile');
    await mustSee(coll.getByText(PROXIED.cred, { exact: true }), 'the credential');
    await mustSee(coll.getByRole('link', { name: cfg.proxyName, exact: true }), 'the proxy');
    await mustSee(page.getByText('No configuration collected yet.', { exact: true }), 'no versions yet');
    await shot(page, 'proxied-device-new', DESKTOP);
  }, HAVE_PROXIED);

  await check('two collections posted by the proxy show as two versions, and Compare shows the changed line', async () => {
    const v1 = deviceConfig(PROXIED.oldLine);
    const v2 = deviceConfig(PROXIED.newLine);
    const base = { status: 'ok', time: new Date().toISOString(), host_key: PROXIED.fp1 };
    let r = await proxyResult({ ...base, sha256: v1.sha256, config: v1.text, significant: v1.text, lines: v1.lines });
    eq(r.status, 200, `first result (${r.text})`);
    eq(r.json.version, 1, 'version after the first result');
    r = await proxyResult({ ...base, time: new Date().toISOString(), sha256: v2.sha256, config: v2.text, significant: v2.text, lines: v2.lines });
    eq(r.status, 200, `second result (${r.text})`);
    eq(r.json.version, 2, 'version after the second result');
    eq(Number(r.json.changed), 1, '"changed" of the second result');
    await go(page, `/devices/${state.proxiedId}`, PROXIED.name);
    const versions = page.getByRole('table', { name: 'Configuration versions' });
    await mustSee(versions.getByRole('link', { name: 'Version 1', exact: true }), 'link "Version 1"');
    await mustSee(versions.getByRole('link', { name: 'Version 2', exact: true }), 'link "Version 2"');
    await mustSee(page.getByRole('region', { name: 'Host key' }).getByText('trusted', { exact: true }), 'the key trusted on first use');
    await shot(page, 'proxied-device-versions', DESKTOP);
    const form = page.getByRole('form', { name: 'Compare two versions' });
    eq(await form.getByLabel('From', { exact: true }).inputValue(), '1', 'From');
    eq(await form.getByLabel('To', { exact: true }).inputValue(), '2', 'To');
    await form.getByRole('button', { name: 'Compare', exact: true }).click();
    await loaded(page, `Compare configurations of ${PROXIED.name}`);
    const u = new URL(page.url());
    eq(u.pathname + u.search, `/devices/${state.proxiedId}/compare?from=1&to=2`, 'address');
    await mustSee(page.locator('pre.diff span.del').filter({ hasText: PROXIED.oldLine.trim() }), `a removed line "${PROXIED.oldLine}"`);
    await mustSee(page.locator('pre.diff span.add').filter({ hasText: PROXIED.newLine.trim() }), `an added line "${PROXIED.newLine}"`);
    eq(await page.locator('pre.diff span.add, pre.diff span.del').count(), 2, 'changed lines in the diff');
    PAGES[PAGE_INDEX['config-compare']][1] = u.pathname + u.search;
    PAGES[PAGE_INDEX['config-compare']][2] = `Compare configurations of ${PROXIED.name}`;
    await shot(page, 'config-compare', DESKTOP);
  }, HAVE_PROXIED);
  const HAVE_VERSIONS = ['two collections posted by the proxy show as two versions, and Compare shows the changed line'];

  await check('a version shows the configuration as text: the hostile banner is not markup', async () => {
    await go(page, `/devices/${state.proxiedId}/configs/2`, `Version 2 of ${PROXIED.name}`);
    const pre = page.locator('main pre.config');
    await mustSee(pre, 'the configuration');
    const text = await pre.innerText();
    assert(text.includes(PROXIED.newLine.trim()), 'the new line is not in the text');
    assert(text.includes(PROXIED.banner), 'the banner is not shown literally');
    eq(await page.locator('main img').count(), 0, 'img elements in the page');
    eq(await page.evaluate(() => window.e2eOwned === undefined), true, 'the banner\'s script did not run');
    await page.getByRole('link', { name: 'Changes from version 1', exact: true }).click();
    await loaded(page, `Compare configurations of ${PROXIED.name}`);
    await mustSee(page.locator('pre.diff span.add').filter({ hasText: PROXIED.newLine.trim() }), 'the added line');
  }, HAVE_VERSIONS);

  await check('a changed host key is a warning with both fingerprints; "Trust new key" trusts it', async () => {
    const r = await proxyResult({ status: 'hostkey_changed', time: new Date().toISOString(), host_key: PROXIED.fp2,
      code: 'hostkey', message: `host key of ${PROXIED.host}:22 changed` });
    eq(r.status, 200, `hostkey_changed result (${r.text})`);
    assert(r.json.host_key_state === 'changed' || r.json.host_key_state === 2,
      `host_key_state in the answer: ${JSON.stringify(r.json.host_key_state)}`);
    await go(page, `/devices/${state.proxiedId}`, PROXIED.name);
    const key = page.getByRole('region', { name: 'Host key' });
    const warning = key.getByRole('alert').filter({ hasText: /different host key/i });
    await mustSee(warning, 'the warning');
    await mustSee(key.getByText('changed', { exact: true }), 'the state "changed"');
    await mustSee(key.getByText(PROXIED.fp1, { exact: true }), 'the trusted fingerprint');
    await mustSee(key.getByText(PROXIED.fp2, { exact: true }), 'the offered fingerprint');
    await shot(page, 'proxied-device-hostkey-changed', DESKTOP);
    await key.getByRole('button', { name: 'Trust new key', exact: true }).click();
    await confirmIfAsked(page);
    await mustSee(key.getByText('trusted', { exact: true }), 'the state "trusted"');
    await mustSee(key.getByText(PROXIED.fp2, { exact: true }), 'the new trusted fingerprint');
    eq(await key.getByRole('alert').count(), 0, 'warnings after trusting');
    eq(await key.getByText(PROXIED.fp1, { exact: true }).count(), 0, 'the old fingerprint after trusting');
    const d = await pageApi(page, 'GET', `/devices/${state.proxiedId}`);
    eq(d.json.proxied.host_key_state, 'trusted', 'host_key_state at the hub');
    eq(d.json.proxied.host_key, PROXIED.fp2, 'host_key at the hub');
  }, HAVE_VERSIONS);

  await check('a credential in use is not deleted: the hub\'s reason is shown', async () => {
    await go(page, '/credentials', 'Credentials');
    // The hub refuses with 400 (or 409): either is allowed in the console.
    const inUse = /^\/api\/v1\/credentials\/\d+$/;
    await allowing(400, inUse, 'deleting a credential in use', () => allowing(409, inUse, 'deleting a credential in use', async () => {
      await page.getByRole('button', { name: `Delete ${PROXIED.cred}`, exact: true }).click();
      await confirmIfAsked(page);
      await mustSee(page.getByRole('alert').filter({ hasText: /used by 1 device/i }), 'an alert saying it is used by 1 device');
    }));
    await mustSee(page.getByRole('table', { name: 'Credentials' }).getByRole('rowheader', { name: PROXIED.cred, exact: true }),
      'the credential still listed');
  }, HAVE_PROXIED);

  // --- a Windows host over SMB: credential, device, policy, changes ---
  await check('Windows: a credential with a password is created for the host', async () => {
    await go(page, '/credentials', 'Credentials');
    const main = page.getByRole('main');
    await main.getByLabel('Name', { exact: true }).fill(WINDOWS.cred);
    await main.getByLabel('User name', { exact: true }).fill(WINDOWS.user);
    await main.getByLabel('Password', { exact: true }).fill(WINDOWS.secret);
    await page.getByRole('button', { name: 'Create credential', exact: true }).click();
    const table = page.getByRole('table', { name: 'Credentials' });
    await mustSee(table.getByRole('rowheader', { name: WINDOWS.cred, exact: true }), `credential "${WINDOWS.cred}" in the table`);
    await mustSee(table.getByText(WINDOWS.user, { exact: true }), `its user name ${WINDOWS.user}`);
    const r = await pageApi(page, 'GET', '/credentials');
    const list = Array.isArray(r.json) ? r.json : r.json.credentials;
    const c = list.find((x) => x.name === WINDOWS.cred);
    assert(c, `no credential ${WINDOWS.cred} at the hub`);
    assert(!r.text.includes(WINDOWS.secret), 'the secret is in the answer of GET /credentials');
    state.winCredId = c.id;
    // One with only a key, which a Windows host cannot log in with.
    const k = await pageApi(page, 'POST', '/credentials', { name: `${WINDOWS.cred}-key`, username: 'auditor',
      private_key: '-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n-----END OPENSSH PRIVATE KEY-----\n' });
    assert(k.status === 201 || k.status === 200, `POST /credentials (key only): ${k.status} ${k.text}`);
    state.winKeyCredId = k.json.id;
    const g = await pageApi(page, 'POST', '/groups', { name: WINDOWS.group });
    assert(g.status === 201 || g.status === 200, `POST /groups: ${g.status} ${g.text}`);
    state.winGroupId = g.json.id;
  }, SIGNED_IN);
  const HAVE_WIN_CRED = ['Windows: a credential with a password is created for the host'];

  await check('Windows: the add-device form offers a Windows host over SMB, port 445, without profile or legacy SSH; a key-only credential is refused', async () => {
    await go(page, '/devices', 'Devices');
    await page.getByRole('button', { name: 'Add proxied device', exact: true }).click();
    const form = page.getByRole('form', { name: 'Add proxied device' });
    await mustSee(form, 'the form "Add proxied device"');
    const protocol = form.getByLabel('Protocol', { exact: true });
    const port = form.getByLabel('Port', { exact: true });
    // SMB is there only for Windows hosts.
    eq(await protocol.locator('option[value="smb"]:not([disabled])').count(), 0, 'SMB offered for a network device');
    await form.getByLabel('Type', { exact: true }).selectOption('windows');
    eq(await protocol.inputValue(), 'smb', 'the protocol of a Windows host');
    eq(await protocol.isDisabled(), true, 'the Protocol choice disabled');
    eq(await port.getAttribute('placeholder'), '445', 'the default port shown');
    eq(await form.getByLabel('Profile', { exact: true }).isVisible(), false, 'the Profile field visible');
    eq(await form.getByLabel('Allow legacy SSH algorithms', { exact: true }).isVisible(), false,
      'the legacy SSH choice visible');
    await form.getByLabel('Device name', { exact: true }).fill(WINDOWS.name);
    await form.getByLabel('Host', { exact: true }).fill(WINDOWS.host);
    const cred = form.getByLabel('Credential', { exact: true });
    await poll('the credentials are loaded', 10, async () =>
      (await cred.locator(`option[value="${state.winCredId}"]`).count()) === 1);
    await cred.selectOption(String(state.winKeyCredId));
    await form.getByLabel('Proxy agent', { exact: true }).selectOption(String(cfg.proxyId));
    await form.getByLabel('Schedule (seconds)', { exact: true }).fill('900');
    await form.getByLabel(WINDOWS.group, { exact: true }).check();
    const bodies = [];
    const onRequest = (req) => {
      if (req.method() === 'POST' && new URL(req.url()).pathname === '/api/v1/devices')
        bodies.push(JSON.parse(req.postData() || '{}'));
    };
    page.on('request', onRequest);
    try {
      // A credential without a password: the hub's reason, next to it.
      await allowing(400, /^\/api\/v1\/devices$/, 'a Windows host with a key-only credential', async () => {
        await form.getByRole('button', { name: 'Add device', exact: true }).click();
        await poll('Credential is marked aria-invalid="true"', 10, async () => (await cred.getAttribute('aria-invalid')) === 'true');
      });
      const err = form.locator('.field-error:visible');
      eq(await err.count(), 1, 'field errors shown');
      assert(/^credential_id: .*password/.test(await err.innerText()), `the error says: ${await err.innerText()}`);
      eq(await err.getAttribute('id'), `${await cred.getAttribute('id')}-err`, 'the field the error belongs to');
      await cred.selectOption(String(state.winCredId));
      await shot(page, 'devices-add-windows', DESKTOP);
      await form.getByRole('button', { name: 'Add device', exact: true }).click();
      await loaded(page, WINDOWS.name);
    } finally {
      page.off('request', onRequest);
    }
    eq(bodies.length, 2, 'POST /devices requests');
    eq(bodies[1].type, 'windows', 'the type sent');
    eq(bodies[1].protocol, 'smb', 'the protocol sent');
    assert(!('profile' in bodies[1]) && !('legacy_ssh' in bodies[1]),
      `a profile or legacy_ssh sent for a Windows host: ${JSON.stringify(bodies[1])}`);
    const m = /^\/devices\/(\d+)$/.exec(new URL(page.url()).pathname);
    assert(m, `the console went to ${page.url()}, not to the new device's page`);
    state.winId = m[1];
    PAGES[PAGE_INDEX['windows-device']][1] = `/devices/${state.winId}`;
    PAGES[PAGE_INDEX['windows-device']][2] = WINDOWS.name;
    const d = await pageApi(page, 'GET', `/devices/${state.winId}`);
    eq(d.json.proxied.type, 'windows', 'type at the hub');
    eq(d.json.proxied.protocol, 'smb', 'protocol at the hub');
    eq(d.json.proxied.port, 445, 'the default port at the hub');
    eq(d.json.proxied.schedule, 900, 'schedule at the hub');
    assert(!d.json.proxied.profile, `a profile at the hub: ${d.json.proxied.profile}`);
    assert((d.json.groups || []).some((x) => String(x.id) === String(state.winGroupId)), 'the device is not in its group');
  }, HAVE_WIN_CRED);
  const HAVE_WIN = ['Windows: the add-device form offers a Windows host over SMB, port 445, without profile or legacy SSH; a key-only credential is refused'];

  await check('Windows: the devices list shows the host as "proxied (Windows)" at host:445, also under the Kind filter', async () => {
    await go(page, '/devices?kind=proxied', 'Devices');
    const table = page.getByRole('table', { name: 'Devices' });
    const row = table.getByRole('row').filter({ has: page.getByRole('link', { name: WINDOWS.name, exact: true }) });
    await mustSee(row, `a row for ${WINDOWS.name}`);
    await mustSee(row.getByRole('cell', { name: 'proxied (Windows)', exact: true }), 'the kind "proxied (Windows)"');
    await mustSee(row.getByText(`${WINDOWS.host}:445`, { exact: true }), `its address ${WINDOWS.host}:445`);
    await mustSee(row.getByRole('link', { name: cfg.proxyName, exact: true }), `its proxy ${cfg.proxyName}`);
    eq(await page.getByLabel('Kind', { exact: true }).inputValue(), 'proxied', 'the Kind filter');
  }, HAVE_WIN);

  await check('Windows: the device page shows type, host:445, SMB, the last collection and the last error; no profile, no host key', async () => {
    // What the proxy reports: a failed logon, then a good collection (a
    // Windows host sends neither a configuration nor a host key).
    let r = await proxyResult({ status: 'error', time: new Date().toISOString(), code: 'auth', message: WINDOWS.error },
      state.winId);
    eq(r.status, 200, `error result (${r.text})`);
    await go(page, `/devices/${state.winId}`, WINDOWS.name);
    for (const s of ['Details', 'Collection', 'Host key', 'Policy', 'Recent changes'])
      await mustSee(h2(page, s), `h2 "${s}"`);
    eq(await h2(page, 'Configuration versions').count(), 0, 'a "Configuration versions" section');
    const coll = page.getByRole('region', { name: 'Collection' });
    await mustSee(coll.getByText('Windows host (registry and files)', { exact: true }), 'the type');
    await mustSee(coll.getByText(`${WINDOWS.host}:445`, { exact: true }), 'the address');
    await mustSee(coll.getByText('SMB', { exact: true }), 'the protocol');
    await mustSee(coll.getByText(WINDOWS.cred, { exact: true }), 'the credential');
    await mustSee(coll.getByRole('link', { name: cfg.proxyName, exact: true }), 'the proxy');
    await mustSee(coll.getByText(WINDOWS.error, { exact: true }), 'the last error');
    for (const t of ['Profile', 'Legacy SSH algorithms', 'Configuration version'])
      eq(await coll.getByText(t, { exact: true }).count(), 0, `a row "${t}"`);
    const key = page.getByRole('region', { name: 'Host key' });
    await mustSee(key.getByText(/^SMB has no host key/), 'the note that SMB has no host key');
    eq(await key.getByRole('button').count(), 0, 'host key buttons');
    await shot(page, 'windows-device-error', DESKTOP);
    r = await proxyResult({ status: 'ok', time: new Date().toISOString() }, state.winId);
    eq(r.status, 200, `ok result (${r.text})`);
    await go(page, `/devices/${state.winId}`, WINDOWS.name);
    const lastError = coll.locator('dt', { hasText: 'Last error' }).locator('xpath=following-sibling::dd[1]');
    eq((await lastError.innerText()).trim(), 'none', 'the last error after a good collection');
    const lastCollect = coll.locator('dt', { hasText: 'Last collection' }).locator('xpath=following-sibling::dd[1]');
    assert(!/^never$/.test((await lastCollect.innerText()).trim()), 'the last collection is "never"');
  }, HAVE_WIN);

  await check('Windows: the policy editor takes registry keys, depth and Windows files, with the hub\'s errors next to the fields', async () => {
    await go(page, `/groups/${state.winGroupId}`, WINDOWS.group);
    const registry = page.getByLabel('Registry keys', { exact: true });
    const depth = page.getByLabel('Registry depth', { exact: true });
    const files = page.getByLabel('Windows files', { exact: true });
    await mustSee(page.getByRole('group', { name: 'Windows hosts (over SMB)' }), 'the fieldset "Windows hosts (over SMB)"');
    for (const l of ['Windows include', 'Windows exclude'])
      await mustSee(page.getByLabel(l, { exact: true }), `policy field "${l}"`);
    // An error of the hub is shown next to the field it names.
    const shownNextTo = async (input, what) => {
      await poll(`${what} is marked aria-invalid="true"`, 10, async () => (await input.getAttribute('aria-invalid')) === 'true');
      const ids = ((await input.getAttribute('aria-describedby')) || '').split(/\s+/).filter(Boolean);
      let msg = null;
      for (const id of ids) {
        const el = page.locator(`[id="${id}"].field-error`);
        if (await el.count() && await el.isVisible())
          msg = el;
      }
      assert(msg, `no visible error describes ${what}`);
      const text = (await msg.innerText()).trim();
      assert(text.length > 0, `the error of ${what} is empty`);
      const fb = await input.boundingBox();
      const mb = await msg.boundingBox();
      assert(fb && mb && mb.y >= fb.y && mb.y - (fb.y + fb.height) < 80,
        `the message of ${what} (y ${mb && mb.y}) is not next to it (y ${fb && fb.y}, height ${fb && fb.height})`);
      return text;
    };
    const policyPath = /^\/api\/v1\/groups\/\d+\/policy$/;
    await registry.fill([WINDOWS.keys[0], WINDOWS.badKey].join('\n'));
    await allowing(400, policyPath, 'a registry key of no known hive', async () => {
      await page.getByRole('button', { name: 'Save policy', exact: true }).click();
      const text = await shownNextTo(registry, 'Registry keys');
      assert(/registry\[1\]/.test(text), `the error does not name registry[1]: ${text}`);
    });
    await registry.fill(WINDOWS.keys.join('\n'));
    await depth.fill('65');
    await allowing(400, policyPath, 'a registry depth out of range', async () => {
      await page.getByRole('button', { name: 'Save policy', exact: true }).click();
      const text = await shownNextTo(depth, 'Registry depth');
      assert(/registry_depth/.test(text), `the error does not name registry_depth: ${text}`);
    });
    await depth.fill('3');
    await files.fill(WINDOWS.files.join('\n'));
    await page.getByLabel('Windows exclude', { exact: true }).fill(WINDOWS.exclude.join('\n'));
    await page.getByRole('button', { name: 'Save policy', exact: true }).click();
    await poll('the errors are cleared', 10, async () =>
      (await registry.getAttribute('aria-invalid')) !== 'true' && (await depth.getAttribute('aria-invalid')) !== 'true');
    const pol = await poll('the hub has the policy', 10, async () => {
      const p = await pageApi(page, 'GET', `/groups/${state.winGroupId}/policy`);
      const v = p.json && (p.json.policy || p.json);
      return p.status === 200 && v && Array.isArray(v.registry) && v;
    });
    eq(JSON.stringify([...pol.registry].sort()), JSON.stringify([...WINDOWS.keys].sort()), 'registry at the hub');
    eq(pol.registry_depth, 3, 'registry_depth at the hub');
    eq(JSON.stringify([...pol.windows_files].sort()), JSON.stringify([...WINDOWS.files].sort()), 'windows_files at the hub');
    eq(JSON.stringify(pol.windows_exclude), JSON.stringify(WINDOWS.exclude), 'windows_exclude at the hub');
    // The raw JSON shows the same document.
    const raw = JSON.parse(await page.getByLabel('Policy document (JSON)', { exact: true }).inputValue());
    eq(raw.registry_depth, 3, 'registry_depth in the raw JSON');
    await shot(page, 'group-windows', DESKTOP);
    // The host's page shows its merged policy, and its proxy gets it.
    await go(page, `/devices/${state.winId}`, WINDOWS.name);
    await mustSee(page.getByRole('region', { name: 'Policy' }).getByText(WINDOWS.group, { exact: true }), 'the group in the policy');
    await mustSee(page.getByRole('region', { name: 'Policy' }).locator('pre.json').filter({ hasText: '"registry_depth": 3' }),
      'registry_depth in the merged policy');
    const pr = await hubRequest('POST', '/agent/poll', { token: cfg.proxyToken, body: { device_id: Number(cfg.proxyId) } });
    eq(pr.status, 200, `the proxy's poll (${pr.text.slice(0, 200)})`);
    const mine = (JSON.parse(pr.text).proxied || []).find((x) => String(x.id) === String(state.winId));
    assert(mine, 'the Windows host is not in the proxy\'s list');
    eq(mine.type, 'windows', 'its type in the proxy\'s list');
    eq(JSON.stringify([...((mine.policy || {}).registry || [])].sort()), JSON.stringify([...WINDOWS.keys].sort()),
      'the registry keys the proxy gets');
  }, HAVE_WIN);

  await check('Windows: a changed registry value shows its type and old → new data, as text', async () => {
    const now = new Date().toISOString();
    const events = [
      { id: 1, time: now, origin: 'scan', change: { change: 'changed', kind: 'regvalue', path: WINDOWS.value, changed: ['props'],
        old: { props: { type: 'REG_SZ', data: WINDOWS.oldData } }, new: { props: { type: 'REG_SZ', data: WINDOWS.newData } } } },
      { id: 2, time: now, origin: 'scan', change: { change: 'changed', kind: 'regvalue', path: WINDOWS.listValue,
        changed: ['props'], old: { props: { type: 'REG_MULTI_SZ', data: LIST_OLD } },
        new: { props: { type: 'REG_MULTI_SZ', data_sha256: LIST_NEW_SHA, size: '40960' } } } },
      { id: 3, time: now, origin: 'scan', change: { change: 'added', kind: 'regkey', path: `${WINDOWS.key}\\Sub`,
        new: { props: { security: 'O:BAG:SYD:(A;;KA;;;BA)(A;;KR;;;BU)' } } } },
      { id: 4, time: now, origin: 'scan', change: { change: 'changed', kind: 'file', path: WINDOWS.file,
        changed: ['size', 'mtime', 'hash'],
        old: { type: 'file', size: 92, mtime: '2026-11-20T08:00:00Z', hash: `sha256:${'a'.repeat(64)}`,
          props: { attributes: 'A', created: '2026-01-01T00:00:00Z' } },
        new: { type: 'file', size: 120, mtime: '2026-11-26T08:00:00Z', hash: `sha256:${'b'.repeat(64)}`,
          props: { attributes: 'A', created: '2026-01-01T00:00:00Z' } } } },
    ];
    const r = await hubRequest('POST', '/agent/events', { token: cfg.proxyToken, body: { device_id: Number(state.winId), events } });
    eq(r.status, 200, `POST /agent/events as the proxy (${r.text.slice(0, 300)})`);
    eq(JSON.parse(r.text).stored, events.length, 'events stored');
    await go(page, `/events?device=${state.winId}`, 'Events');
    const table = page.getByRole('table', { name: 'Events' });
    for (const path of [WINDOWS.value, WINDOWS.listValue, `${WINDOWS.key}\\Sub`, WINDOWS.file])
      await mustSee(table.getByRole('link', { name: path, exact: true }), `a row for ${path}`);
    for (const path of [WINDOWS.value, WINDOWS.listValue, WINDOWS.file]) {
      const href = await table.getByRole('link', { name: path, exact: true }).getAttribute('href');
      const m = /^\/events\/(\d+)$/.exec(href || '');
      assert(m, `the path links to /events/<id>, not ${href}`);
      state.winEvents[path] = m[1];
    }
    await shot(page, 'events-windows', DESKTOP);
    await table.getByRole('link', { name: WINDOWS.value, exact: true }).click();
    const id = state.winEvents[WINDOWS.value];
    await loaded(page, `Event ${id}`);
    await mustSee(page.getByRole('main').locator('code.event-path').filter({ hasText: WINDOWS.value }), 'the path');
    await mustSee(page.getByText('registry value', { exact: true }), 'the kind "registry value"');
    const value = page.getByRole('region', { name: 'Value' });
    await mustSee(value, 'the section "Value"');
    await mustSee(value.getByText('REG_SZ', { exact: true }), 'the type REG_SZ');
    const data = value.locator('dt', { hasText: /^Data$/ }).locator('xpath=following-sibling::dd[1]');
    // Seen as "old → new"; a screen reader hears "old, changed to new".
    eq(JSON.stringify(await data.locator('code').allInnerTexts()), JSON.stringify([WINDOWS.oldData, WINDOWS.newData]),
      'the old and the new data, in this order');
    eq((await data.locator('[aria-hidden="true"]').innerText()).trim(), '→', 'the arrow between them');
    eq((await data.locator('.vh').textContent()).trim(), ', changed to', 'what a screen reader hears between them');
    eq(await page.locator('main img').count(), 0, 'img elements in the page');
    eq(await page.evaluate(() => window.e2eOwned === undefined), true, 'the data\'s script did not run');
    // The table lists the other properties; the data is in its section.
    const attrs = page.getByRole('table', { name: 'Attributes before and after' });
    await mustSee(attrs.getByRole('rowheader', { name: 'props.type' }), 'the row props.type');
    eq(await attrs.getByRole('rowheader', { name: /^props\.data/ }).count(), 0, 'props.data rows in the table');
    await shot(page, 'event-regvalue', DESKTOP);
  }, HAVE_WIN);
  const HAVE_WIN_EVENTS = ['Windows: a changed registry value shows its type and old → new data, as text'];

  await check('Windows: a value grown too long for text shows the old text in a bounded box and the new size and SHA-256', async () => {
    const id = state.winEvents[WINDOWS.listValue];
    await go(page, `/events/${id}`, `Event ${id}`);
    PAGES[PAGE_INDEX['windows-event']][1] = `/events/${id}`;
    PAGES[PAGE_INDEX['windows-event']][2] = `Event ${id}`;
    const value = page.getByRole('region', { name: 'Value' });
    await mustSee(value.getByText('REG_MULTI_SZ', { exact: true }), 'the type REG_MULTI_SZ');
    const before = value.locator('pre[aria-label="Data before"]');
    await mustSee(before, 'the old data in a block');
    eq(await before.first().innerText(), LIST_OLD, 'the old data, whole and line by line');
    const box = await before.first().boundingBox();
    assert(box && box.height < 420, `the old data's box is ${box && box.height} px high`);
    const after = value.locator('dt', { hasText: /^Data after$/ }).locator('xpath=following-sibling::dd[1]');
    const text = (await after.innerText()).replace(/\s+/g, ' ');
    assert(text.includes('Too long to keep as text (40.0 KiB)'), `the new data says: ${text}`);
    await mustSee(after.locator('code').filter({ hasText: LIST_NEW_SHA }), 'the SHA-256 of the new data');
    await shot(page, 'event-regvalue-long', DESKTOP);
  }, HAVE_WIN_EVENTS);

  await check('Windows: a changed file shows its path, attributes and properties', async () => {
    const id = state.winEvents[WINDOWS.file];
    await go(page, `/events/${id}`, `Event ${id}`);
    await mustSee(page.getByRole('main').locator('code.event-path').filter({ hasText: WINDOWS.file }), 'the path');
    eq(await page.getByRole('region', { name: 'Value' }).count(), 0, 'a "Value" section for a file');
    const attrs = page.getByRole('table', { name: 'Attributes before and after' });
    for (const a of ['size', 'mtime', 'hash', 'props.attributes', 'props.created'])
      await mustSee(attrs.getByRole('rowheader', { name: new RegExp(`^${a.replace('.', '\\.')}\\b`) }), `the row ${a}`);
    const size = attrs.getByRole('row').filter({ has: page.getByRole('rowheader', { name: /^size\b/ }) });
    await mustSee(size.getByText('92', { exact: true }), 'the old size');
    await mustSee(size.getByText('120', { exact: true }), 'the new size');
  }, HAVE_WIN_EVENTS);

  // --- the narrow viewport: every page, no sideways scrolling ---
  await page.setViewportSize(NARROW);
  for (const [name, path, title] of PAGES) {
    await check(`narrow ${NARROW.width}x${NARROW.height}: ${name} page renders without sideways scrolling`, async () => {
      assert(path, 'its address is not known');
      await go(page, path, title);
      await shot(page, name, NARROW);
      const { sw, iw } = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, iw: window.innerWidth }));
      assert(sw <= iw, `the page is ${sw} px wide in a ${iw} px window`);
    }, SIGNED_IN);
  }

  // --- sign out ---
  await check('"Sign out" ends the session and shows the sign-in page', async () => {
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await loaded(page, 'Sign in to vigil');
    eq(new URL(page.url()).pathname, '/signin', 'path');
    await shot(page, 'signin', NARROW);
    await page.goto(`${cfg.url}/events`);
    await loaded(page, 'Sign in to vigil');
    const r = await allowing(401, /^\/api\/v1\/session$/, 'asking for the ended session',
      () => pageApi(page, 'GET', '/session'));
    eq(r.status, 401, 'GET /session after signing out');
  }, SIGNED_IN);

  // --- session expiry: the session ended on the hub, the next action lands
  // on the sign-in page with the expired message ---
  await page.setViewportSize(DESKTOP);
  await check('an ended session sends the next action to the sign-in page with the expired message', async () => {
    await page.goto(`${cfg.url}/signin`);
    await loaded(page, 'Sign in to vigil');
    await signIn(page, cfg.admin, cfg.adminPassword);
    await loaded(page, 'Dashboard');
    const cookie = (await admin.cookies(cfg.url)).find((c) => c.name === 'vigil_session');
    assert(cookie, 'no vigil_session cookie');
    const del = await hubRequest('DELETE', '/session', { token: cookie.value });
    assert(del.status >= 200 && del.status < 300, `DELETE /session on the hub: ${del.status} ${del.text}`);
    await allowing(401, /^\/api\/v1\//, 'the ended session', async () => {
      await navLink(page, 'Devices').click();
      await loaded(page, 'Sign in to vigil');
    });
    const u = new URL(page.url());
    eq(u.pathname, '/signin', 'path');
    eq(u.searchParams.get('expired'), '1', 'the query "expired"');
    await mustSee(page.getByText('Your session has expired. Sign in again.', { exact: true }), 'the expired message');
  }, SIGNED_IN);
  await admin.close();

  // --- the keyboard alone: sign in and reach the events page ---
  const kctx = await browser.newContext(ctxOpts);
  kctx.setDefaultTimeout(8000);
  const kp = await kctx.newPage();
  watch(kp, 'keyboard');
  current = kp;
  const focused = () => kp.evaluate(() => {
    const a = document.activeElement;
    if (!a)
      return { tag: '', text: '', label: '' };
    const lab = a.id ? document.querySelector(`label[for="${a.id}"]`) : null;
    return {
      tag: a.tagName.toLowerCase(),
      id: a.id,
      text: (a.textContent || '').trim(),
      label: (lab ? lab.textContent : (a.getAttribute('aria-label') || '')).trim(),
      inNav: !!a.closest('nav[aria-label="Main"]'),
      inMain: !!a.closest('main'),
      ring: (() => {
        const s = getComputedStyle(a);
        return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
      })(),
    };
  });
  // Tab (or Shift+Tab, back) until PRED holds for the focused element.
  async function tabTo(what, pred, max = 40, key = 'Tab') {
    for (let i = 0; i < max; i++) {
      await kp.keyboard.press(key);
      const f = await focused();
      if (pred(f))
        return f;
    }
    throw new Error(`${what} not reached with ${max} presses of ${key}`);
  }
  await check('keyboard: the sign-in page has a "Skip to content" link to the main content', async () => {
    await kp.goto(`${cfg.url}/signin`);
    await loaded(kp, 'Sign in to vigil');
    eq(await kp.getByRole('link', { name: 'Skip to content', exact: true }).getAttribute('href'), '#main', 'its href');
  });
  await check('keyboard: Tab and Enter sign in', async () => {
    await tabTo('the User name field', (f) => f.label === 'User name');
    await kp.keyboard.type(cfg.admin);
    await tabTo('the Password field', (f) => f.label === 'Password', 1);
    await kp.keyboard.type(cfg.adminPassword);
    await kp.keyboard.press('Enter');
    await loaded(kp, 'Dashboard');
  }, ['keyboard: the sign-in page has a "Skip to content" link to the main content']);
  await check('keyboard: Shift+Tab to the "Events" link (with a visible focus ring), Enter opens Events and focuses the main content', async () => {
    // The page focuses <main> on arrival; the navigation is before it.
    const f = await tabTo('the nav link "Events"', (x) => x.inNav && x.tag === 'a' && x.text === 'Events', 40, 'Shift+Tab');
    assert(f.ring, 'the focused link shows no focus ring (outline or box-shadow)');
    await kp.keyboard.press('Enter');
    await loaded(kp, 'Events');
    eq(new URL(kp.url()).pathname, '/events', 'path');
    await poll('the focus moves to the main content', 5, async () => {
      const g = await focused();
      return g.tag === 'main' || (g.inMain && g.tag === 'h1');
    });
  }, ['keyboard: Tab and Enter sign in']);
  await kctx.close();

  // --- a read-only user: no admin control, and the API says 403 ---
  const rctx = await browser.newContext(ctxOpts);
  rctx.setDefaultTimeout(8000);
  const rp = await rctx.newPage();
  watch(rp, 'read-only');
  current = rp;
  await check('the read-only user signs in', async () => {
    await rp.goto(`${cfg.url}/signin`);
    await loaded(rp, 'Sign in to vigil');
    await signIn(rp, cfg.ro, cfg.roPassword);
    await loaded(rp, 'Dashboard');
  });
  const RO = ['the read-only user signs in'];
  await check('read-only: no "Users" in the navigation', async () => {
    await mustSee(navLink(rp, 'Events'), 'nav link "Events"');
    eq(await navLink(rp, 'Users').count(), 0, 'links "Users" in the navigation');
    await mustSee(rp.locator('header').getByText(/readonly|read-only/i), 'the role in the header');
  }, RO);
  await check('read-only: no "Credentials" in the navigation; the page is refused', async () => {
    eq(await navLink(rp, 'Credentials').count(), 0, 'links "Credentials" in the navigation');
    await rp.goto(`${cfg.url}/credentials`);
    await rp.locator('main#main:not([aria-busy="true"]) h1').waitFor();
    await absent(rp, 'button', 'Create credential');
    eq(await rp.getByRole('table', { name: 'Credentials' }).count(), 0, 'credential tables');
  }, RO);
  await check('read-only: the proxied device page has no "Trust new key" or "Forget key"', async () => {
    assert(state.proxiedId, 'no proxied device');
    await go(rp, `/devices/${state.proxiedId}`, PROXIED.name);
    await mustSee(h2(rp, 'Host key'), 'h2 "Host key"');
    await absent(rp, 'button', 'Trust new key');
    await absent(rp, 'button', 'Forget key');
    await absent(rp, 'button', 'Delete device');
    await go(rp, '/devices', 'Devices');
    await absent(rp, 'button', 'Add proxied device');
  }, RO);
  await check('read-only: the device page has no "Delete device"', async () => {
    await go(rp, `/devices/${cfg.deviceId}`, cfg.deviceName);
    await absent(rp, 'button', 'Delete device');
  }, RO);
  await check('read-only: the event page has no accept, acknowledge or comment', async () => {
    assert(state.eventId, 'no event id');
    await go(rp, `/events/${state.eventId}`, `Event ${state.eventId}`);
    await mustSee(h2(rp, 'Diff'), 'h2 "Diff"');
    await absent(rp, 'button', 'Accept into baseline');
    await absent(rp, 'button', 'Acknowledge');
    await absent(rp, 'textbox', 'Comment');
  }, RO);
  await check('read-only: the groups pages have no create form and no policy editor controls', async () => {
    await go(rp, '/groups', 'Groups');
    await absent(rp, 'button', 'New group');
    await absent(rp, 'button', 'Create');
    await absent(rp, 'textbox', 'Group name');
    await go(rp, `/groups/${cfg.groupId}`, cfg.groupName);
    await mustSee(h2(rp, 'Policy'), 'h2 "Policy"');
    await absent(rp, 'button', 'Save policy');
    const editable = await rp.locator('main textarea:not([readonly]):not([disabled]), main input:not([readonly]):not([disabled]):not([type="hidden"])').count();
    eq(editable, 0, 'editable fields on the group page');
  }, RO);
  await check('read-only: the settings page has no rotation and no HubDetails.xml link', async () => {
    await go(rp, '/settings', 'Settings');
    await absent(rp, 'button', 'Rotate enrolment password');
    await absent(rp, 'link', 'Download HubDetails.xml');
  }, RO);
  await check('read-only: /users offers no user management', async () => {
    await rp.goto(`${cfg.url}/users`);
    await rp.locator('main#main:not([aria-busy="true"]) h1').waitFor();
    await absent(rp, 'button', 'Create user');
    await absent(rp, 'button', 'Delete');
    await absent(rp, 'button', 'Disable');
  }, RO);
  await check('read-only: forced requests from the page get 403', async () => {
    await allowing(403, /^\/api\/v1\//, 'forced requests of a read-only user', async () => {
      const tries = [
        ['POST', '/groups', { name: 'forced-by-readonly' }],
        ['PUT', `/groups/${cfg.groupId}/policy`, { paths: ['/'] }],
        ['DELETE', `/devices/${cfg.deviceId}`],
        ['POST', `/events/${state.eventId || 1}/ack`, { comment: 'forced' }],
        ['POST', '/hub/enrolment', {}],
        ['GET', '/credentials'],
        ['POST', '/credentials', { name: 'forced-by-readonly', username: 'x', password: 'y' }],
        ['POST', `/devices/${state.proxiedId || 1}/host-key`, { action: 'forget' }],
      ];
      for (const [m, p, b] of tries) {
        const r = await pageApi(rp, m, p, b);
        eq(r.status, 403, `${m} ${p}`);
      }
    });
    const g = await pageApi(rp, 'GET', '/groups');
    const list = (g.json && (g.json.groups || g.json)) || [];
    assert(!list.some((x) => x.name === 'forced-by-readonly'), 'the forced group exists');
  }, RO);
  await rctx.close();
} catch (e) {
  failed++;
  console.log(`not ok - the run stopped: ${e && e.stack ? e.stack.split('\n').slice(0, 6).join('\n    ') : e}`);
} finally {
  await check('no errors or warnings in the browser console during the whole run', async () => {
    assert(consoleProblems.length === 0, `${consoleProblems.length} message(s):\n${consoleProblems.slice(0, 20).join('\n')}`);
  });
  await browser.close();
}

console.log(`# screenshots in ${SHOTS}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
