// SPDX-License-Identifier: GPL-3.0-or-later
// The one place the console talks to the hub's REST API (/api/v1).

const PREFIX = '/api/v1';

let csrfToken = '';
let unauthorizedHandler = null;

// An error answer of the hub ({error, message, field}), or a network fault
// (status 0, code 'network').
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message || code || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code || '';
    this.field = field || null;
  }
}

// The session's CSRF token, sent as X-CSRF-Token on every unsafe method.
export function setCsrf(token) {
  csrfToken = token || '';
}

// Called (once per failing request) when a request other than POST /session
// is answered 401: the session has ended. app.js routes to the sign-in page.
export function setUnauthorizedHandler(fn) {
  unauthorizedHandler = fn;
}

export function onUnauthorized() {
  if (unauthorizedHandler)
    unauthorizedHandler();
}

// '/api/v1' + path: for plain links (exports, hubdetails.xml).
export function apiUrl(path) {
  return PREFIX + path;
}

// Builds '?a=1&b=2' from an object or URLSearchParams, leaving out empty
// values; '' when nothing is left.
export function query(params) {
  const q = new URLSearchParams();
  const entries = params instanceof URLSearchParams ? params.entries() : Object.entries(params || {});
  for (const [k, v] of entries) {
    if (v === undefined || v === null || v === '')
      continue;
    q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

// Sends one request; resolves with the parsed JSON answer (null for 204 or
// an empty body) or rejects with an ApiError.
export async function api(method, path, body) {
  method = method.toUpperCase();
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken)
    headers['X-CSRF-Token'] = csrfToken;

  let resp;
  try {
    resp = await fetch(PREFIX + path, init);
  } catch (e) {
    throw new ApiError(0, 'network', 'The hub cannot be reached. Check the connection and try again.');
  }

  let data = null;
  const text = resp.status === 204 ? '' : await resp.text().catch(() => '');
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      if (resp.ok)
        throw new ApiError(resp.status, 'bad_answer', 'The hub sent an answer that is not JSON.');
    }
  }

  if (resp.ok)
    return data;

  const err = new ApiError(resp.status,
    data && data.error, data && data.message ? data.message : `The hub answered ${resp.status} ${resp.statusText}.`,
    data && data.field);
  const retry = resp.headers.get('Retry-After');
  if (retry)
    err.retryAfter = Number(retry);
  if (resp.status === 401 && !(method === 'POST' && path === '/session')) {
    err.handled = true;
    onUnauthorized();
  }
  throw err;
}
