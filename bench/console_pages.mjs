// SPDX-License-Identifier: GPL-3.0-or-later
// Page loads of the vigil console in Chromium, for bench/console-bench.
//
// Environment: CONSOLE_URL (https://127.0.0.1:PORT), CONSOLE_USER,
// CONSOLE_PASSWORD, RUNS, PLAYWRIGHT_CORE (the package's folder),
// CHROMIUM (the browser), CONSOLE_PAGES: JSON [{name, path, wait: [CSS
// selectors]}]. Signs in once through the sign-in page, then loads each
// page RUNS times (a full navigation each time, the browser's cache kept,
// as when a user opens a link) and prints, per page, the time from
// navigation start until the h1 is in the DOM and until every selector
// of `wait` matches (the page's data rendered), as p50, p95 and max;
// with CONSOLE_RESULTS, the same as JSON into that file.
// A MutationObserver installed before any page script records the first
// moment each selector matches, on the page's own clock
// (performance.now(), 0 = navigation start).
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE);

const base = process.env.CONSOLE_URL;
const runs = Number(process.env.RUNS || 10);
const pages = JSON.parse(process.env.CONSOLE_PAGES);
const selectors = [...new Set(['main h1', ...pages.flatMap((p) => p.wait)])];
const results = [];

function watch(sels) {
	const seen = {};
	window.__benchSeen = seen;
	const check = () => {
		for (const s of sels) {
			if (seen[s] === undefined && document.querySelector(s))
				seen[s] = performance.now();
		}
	};
	new MutationObserver(check).observe(document, {
		childList: true, subtree: true, attributes: true,
		characterData: true,
	});
}

function pct(v, p) {
	const s = [...v].sort((a, b) => a - b);
	return s[Math.max(1, Math.ceil((s.length * p) / 100)) - 1];
}

const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM,
	args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
let rc = 0;
try {
	const context = await browser.newContext({
		ignoreHTTPSErrors: true,
		viewport: { width: 1280, height: 900 },
	});
	await context.addInitScript(watch, selectors);
	const page = await context.newPage();
	const errors = [];
	page.on('console', (m) => {
		if (m.type() === 'error') errors.push(m.text());
	});
	page.on('pageerror', (e) => errors.push(String(e)));

	await page.goto(base + '/signin');
	await page.getByLabel('User name').fill(process.env.CONSOLE_USER);
	await page.getByLabel('Password').fill(process.env.CONSOLE_PASSWORD);
	await page.getByRole('button', { name: 'Sign in' }).click();
	await page.getByRole('heading', { level: 1, name: 'Dashboard' })
		.waitFor({ timeout: 30000 });
	// The app's GET /session before signing in answers 401 by design.
	errors.length = 0;

	const row = (cells) => console.log(cells.map(([v, w]) =>
		(w < 0 ? String(v).padEnd(-w) : String(v).padStart(w))).join(' '));
	const widths = [-26, 16, 9, 9, 9, 7, 8, -8];
	const line = (vals) => row(vals.map((v, i) => [v, widths[i] || 0]));
	line(['page', 'h1 p50/p95 ms', 'p50 ms', 'p95 ms', 'max ms', 'target',
		'tgt/p95', 'result', 'drawn when']);
	for (const p of pages) {
		const h1 = [];
		const ready = [];
		const want = ['main h1', ...p.wait];
		for (let i = 0; i < runs; i++) {
			await page.goto(base + p.path, { waitUntil: 'commit' });
			try {
				await page.waitForFunction(
					(w) => w.every((s) =>
						window.__benchSeen &&
						window.__benchSeen[s] !== undefined),
					want, { timeout: 30000, polling: 20 });
			} catch (e) {
				const seen = await page.evaluate(() =>
					window.__benchSeen || {});
				throw new Error(`${p.name} (${p.path}): after 30 s ` +
					'still no ' + want.filter((s) =>
						seen[s] === undefined).join(', '));
			}
			const seen = await page.evaluate(() => window.__benchSeen);
			h1.push(seen['main h1']);
			ready.push(Math.max(...want.map((s) => seen[s])));
		}
		const p95 = pct(ready, 95);
		results.push({ name: p.name, path: p.path, p50: pct(ready, 50), p95,
			max: Math.max(...ready) });
		line([p.name, `${pct(h1, 50).toFixed(0)}/${pct(h1, 95).toFixed(0)}`,
			pct(ready, 50).toFixed(0), p95.toFixed(0),
			Math.max(...ready).toFixed(0), '300',
			`${(300 / p95).toFixed(1)}x`, p95 < 300 ? 'met' : 'NOT met',
			p.wait.join(' + ')]);
	}
	if (process.env.CONSOLE_RESULTS)
		writeFileSync(process.env.CONSOLE_RESULTS, JSON.stringify(results));
	if (errors.length) {
		console.log('browser console errors after sign-in: %d, first: %s',
			errors.length, errors[0]);
	}
} catch (e) {
	console.error(String(e && e.stack || e));
	rc = 1;
} finally {
	await browser.close();
}
process.exit(rc);
