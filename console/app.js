// SPDX-License-Identifier: GPL-3.0-or-later
// The console's router and frame: session, header navigation, one page
// module per route (pages/NAME.js, export async function render(main, ctx)).
// render returns nothing, a cleanup function, or {cleanup, canLeave,
// leaveMessage}: while canLeave() returns false (unsaved work), leaving
// the page in the console asks first.

import { api, setCsrf, setUnauthorizedHandler } from './api.js';
import { h, clear, errorBox, pageTitle, confirmDialog } from './ui.js';

const ROUTES = [
  { path: '/signin', page: 'signin', anonymous: true },
  { path: '/', page: 'dashboard' },
  { path: '/devices', page: 'devices' },
  { path: '/devices/:id', page: 'device' },
  { path: '/devices/:id/configs/:version', page: 'config' },
  { path: '/devices/:id/compare', page: 'config' },
  { path: '/groups', page: 'groups' },
  { path: '/groups/:id', page: 'group' },
  { path: '/events', page: 'events' },
  { path: '/events/:id', page: 'event' },
  { path: '/credentials', page: 'credentials', admin: true },
  { path: '/users', page: 'users', admin: true },
  { path: '/settings', page: 'settings' },
  { path: '/account', page: 'account' },
];

const NAV = [
  { href: '/', label: 'Dashboard' },
  { href: '/devices', label: 'Devices' },
  { href: '/events', label: 'Events' },
  { href: '/groups', label: 'Groups' },
  { href: '/credentials', label: 'Credentials', admin: true },
  { href: '/users', label: 'Users', admin: true },
  { href: '/settings', label: 'Settings' },
  { href: '/account', label: 'Account' },
];

const main = document.getElementById('main');
const top = document.getElementById('top');

let session = null;         // {user:{id,name,role}, csrf, expires} while signed in
let sessionChecked = false; // GET /session has answered once

// The hub sets vigil_signed_in=1 (no secret) beside the HttpOnly session
// cookie; without it there is no session to ask about.
function hasSignedInCookie() {
  return document.cookie.split(';').some((c) => c.trim() === 'vigil_signed_in=1');
}

function clearSignedInCookie() {
  document.cookie = 'vigil_signed_in=; Max-Age=0; Path=/; Secure; SameSite=Strict';
}
let cleanup = null;         // what the current page returned
let leaveGuard = null;      // {canLeave, message} of the current page, or null
let asking = false;         // the leave question is open
let shownUrl = null;        // the address of the page on screen
let renderSeq = 0;          // to drop the results of a page left meanwhile
let currentPath = null;

function matchRoute(pathname) {
  const parts = pathname.split('/').filter(Boolean);
  for (const r of ROUTES) {
    const rp = r.path.split('/').filter(Boolean);
    if (rp.length !== parts.length)
      continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < rp.length; i++) {
      if (rp[i].startsWith(':')) {
        if (!/^[1-9][0-9]{0,15}$/.test(parts[i])) {
          ok = false;
          break;
        }
        params[rp[i].slice(1)] = parts[i];
      } else if (rp[i] !== parts[i]) {
        ok = false;
        break;
      }
    }
    if (ok)
      return { route: r, params };
  }
  return null;
}

// A local path to go to after signing in: same origin, not the API, not
// the sign-in page; '/' for anything else. Checked on the parsed URL, as
// the browser reads it (tabs and newlines dropped, \ read as /).
function safeNext(next) {
  if (!next)
    return '/';
  let u;
  try {
    u = new URL(next, location.origin);
  } catch (e) {
    return '/';
  }
  const p = u.pathname;
  if (u.origin !== location.origin || !p.startsWith('/') || p.startsWith('//') ||
      p === '/api' || p.startsWith('/api/') || p === '/signin' || p.startsWith('/signin/'))
    return '/';
  return p + u.search + u.hash;
}

function isAdmin() {
  return !!(session && session.user && session.user.role === 'admin');
}

function setSession(s) {
  session = s;
  sessionChecked = true;
  setCsrf(s ? s.csrf : '');
}

function renderHeader(pathname) {
  const brand = h('a', { class: 'brand', href: '/' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), 'vigil');
  if (!session) {
    clear(top, h('div', { class: 'bar' }, brand));
    return;
  }
  const section = '/' + (pathname.split('/')[1] || '');
  const items = NAV.filter((n) => !n.admin || isAdmin()).map((n) => {
    const current = n.href === '/' ? pathname === '/' : section === n.href;
    return h('li', null, h('a', { href: n.href, 'aria-current': current ? 'page' : null, text: n.label }));
  });
  const signOut = h('button', { type: 'button', class: 'btn btn-quiet', text: 'Sign out', onclick: doSignOut });
  clear(top, h('div', { class: 'bar' },
    brand,
    h('nav', { 'aria-label': 'Main' }, h('ul', null, items)),
    h('div', { class: 'who' },
      h('span', { class: 'who-name', text: session.user.name }),
      h('span', { class: 'who-role', text: session.user.role }),
      signOut)));
}

async function doSignOut() {
  if (!await mayLeaveOrAsk())
    return;
  try {
    await api('DELETE', '/session');
  } catch (e) {
    // The session may be gone already; signed out either way.
  }
  clearSignedInCookie();
  setSession(null);
  redirect('/signin');
}

// The current page has no unsaved work (or says nothing about it).
function mayLeave() {
  if (!leaveGuard)
    return true;
  try {
    return leaveGuard.canLeave() !== false;
  } catch (e) {
    return true;
  }
}

// Resolves true when the page may be left: nothing unsaved, or the user
// chose to leave it. When the user stays, the address goes back to the
// page's own if Back or Forward changed it meanwhile.
async function mayLeaveOrAsk() {
  if (mayLeave())
    return true;
  if (asking)
    return false;
  asking = true;
  let ok = false;
  try {
    ok = await confirmDialog(leaveGuard.message || 'Leave without saving your changes?', 'Leave');
  } finally {
    asking = false;
  }
  if (!ok && shownUrl && location.pathname + location.search + location.hash !== shownUrl)
    history.pushState(null, '', shownUrl);
  return ok;
}

function go(url, opts) {
  if (opts.replace)
    history.replaceState(null, '', url);
  else
    history.pushState(null, '', url);
  route(opts);
}

// Goes to url (a path with an optional query) in the page.
// opts: replace (replace the history entry), focus (id of the element to
// focus after the page is drawn, e.g. the filter that changed; default the
// <main>), force (leave without asking, even with unsaved work).
export function navigate(url, opts) {
  opts = opts || {};
  if (opts.force || mayLeave()) {
    go(url, opts);
    return;
  }
  mayLeaveOrAsk().then((ok) => {
    if (ok)
      safeGo(url, opts);
  });
}

// go(), but an address the history refuses (it throws) goes to the
// dashboard instead of leaving a blank page or an unhandled error.
function safeGo(url, opts) {
  try {
    go(url, opts);
  } catch (e) {
    if (url !== '/')
      go('/', Object.assign({}, opts, { replace: true }));
  }
}

// The router's own moves: replace the address, never ask.
function redirect(url) {
  safeGo(url, { replace: true });
}

function notFound(container) {
  clear(container, pageTitle('Page not found'),
    h('p', null, 'There is no page at this address. ', h('a', { href: '/', text: 'Go to the dashboard' }), '.'));
}

async function route(opts) {
  opts = opts || {};
  const seq = ++renderSeq;
  const pathname = location.pathname;
  const query = new URLSearchParams(location.search);
  const samePage = pathname === currentPath;
  currentPath = pathname;
  shownUrl = pathname + location.search + location.hash;

  if (!sessionChecked && !hasSignedInCookie()) {
    // No session cookie was set: nothing to ask the hub.
    setSession(null);
  } else if (!sessionChecked) {
    main.setAttribute('aria-busy', 'true');
    try {
      setSession(await api('GET', '/session'));
    } catch (e) {
      if (e.status === 401) {
        clearSignedInCookie();
        setSession(null);
      } else {
        main.removeAttribute('aria-busy');
        clear(main, pageTitle('vigil'), errorBox(e),
          h('button', { type: 'button', class: 'btn', text: 'Try again', onclick: () => route() }));
        return;
      }
    }
    if (seq !== renderSeq)
      return;
  }

  const m = matchRoute(pathname);
  if (m && !m.route.anonymous && !session) {
    const here = pathname + location.search;
    redirect(here === '/' ? '/signin' : `/signin?next=${encodeURIComponent(here)}`);
    return;
  }
  if (m && m.route.page === 'signin' && session) {
    redirect(safeNext(query.get('next')));
    return;
  }

  if (cleanup) {
    try {
      cleanup();
    } catch (e) {
      // A page that fails to tidy up must not stop the next one.
    }
    cleanup = null;
  }
  leaveGuard = null;
  renderHeader(pathname);
  main.replaceChildren();
  main.setAttribute('aria-busy', 'true');
  if (!samePage || !opts.focus)
    window.scrollTo(0, 0);
  if (!opts.focus)
    main.focus({ preventScroll: true });

  const ctx = {
    params: m ? m.params : {},
    query,
    session,
    navigate,
    isAdmin: isAdmin(),
    // Sign-in: keeps the new session and goes on.
    signedIn(s) {
      setSession(s);
      redirect(safeNext(query.get('next')));
    },
    // False once the user has gone to another page.
    alive: () => seq === renderSeq,
  };

  try {
    if (!m) {
      notFound(main);
    } else if (m.route.admin && !ctx.isAdmin) {
      clear(main, pageTitle('Not allowed'), errorBox('Only administrators can see this page.'));
    } else {
      const mod = await import(`./pages/${m.route.page}.js`);
      if (seq !== renderSeq)
        return;
      const ret = await mod.render(main, ctx);
      const done = typeof ret === 'function' ? ret
        : (ret && typeof ret.cleanup === 'function' ? ret.cleanup : null);
      if (seq !== renderSeq) {
        if (done)
          done();
        return;
      }
      cleanup = done;
      if (ret && typeof ret.canLeave === 'function')
        leaveGuard = { canLeave: ret.canLeave, message: ret.leaveMessage };
    }
  } catch (e) {
    if (seq !== renderSeq)
      return;
    if (!e.handled) {
      if (!main.querySelector('h1'))
        main.prepend(pageTitle('Error'));
      main.append(errorBox(e));
    }
  } finally {
    if (seq === renderSeq)
      main.removeAttribute('aria-busy');
  }
  if (seq === renderSeq && opts.focus) {
    const el = document.getElementById(opts.focus);
    (el || main).focus({ preventScroll: !!el });
  }
}

setUnauthorizedHandler(() => {
  if (!session)
    return;
  clearSignedInCookie();
  setSession(null);
  redirect('/signin?expired=1');
});

// In-page links: same origin, not /api/, no download, plain left click.
document.addEventListener('click', (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey)
    return;
  const a = ev.target.closest && ev.target.closest('a[href]');
  if (!a || a.hasAttribute('download') || (a.target && a.target !== '_self'))
    return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/'))
    return;
  if (/\.[A-Za-z0-9]+$/.test(url.pathname))
    return; // an asset, not a page
  ev.preventDefault();
  if (url.pathname === location.pathname && url.search === location.search && url.hash) {
    const target = document.getElementById(decodeURIComponent(url.hash.slice(1)));
    if (target) {
      target.focus();
      target.scrollIntoView();
    }
    return;
  }
  navigate(url.pathname + url.search);
});

// Back and Forward: the address has changed already; with unsaved work
// on the page, ask, and put the page's address back if the user stays.
window.addEventListener('popstate', () => {
  if (asking)
    return; // a question is open; staying restores the address
  if (mayLeave()) {
    route();
    return;
  }
  mayLeaveOrAsk().then((ok) => {
    if (ok)
      route();
  });
});

route();
