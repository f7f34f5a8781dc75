// lib.mjs - what the console's browser tests share: a browser, the stack's
// address, accessibility checks, screenshots and the stack's mail.
//
// The tests drive Debian's chromium (/usr/bin/chromium, or AIGET_CHROMIUM)
// through playwright-core, which downloads no browser of its own, against
// the stack t/harness started (AIGET_TEST_URL; VAR is its state directory).
// t/6000-console-browser.t runs them for prove, e.g. one file:
//   AIGET_BROWSER_TESTS=t/browser/smoke.test.mjs t/harness t/6000-console-browser.t
// or by hand against a `make start` stack, after t/browser/setup:
//   AIGET_TEST_URL=http://127.0.0.1:8080 VAR=var node --test t/browser/smoke.test.mjs
//
// The page under test keeps its Content-Security-Policy: axe-core goes in
// through the DevTools protocol (page.evaluate), which the policy does not
// govern, rather than a <script> tag, which it refuses (script-src 'self'),
// or bypassCSP, which would hide the very violations a test should see.
import { createRequire } from 'node:module';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
export const artifacts = join(here, 'artifacts');

// The stack's origin, e.g. http://127.0.0.1:8080.
export function baseUrl() {
	const url = process.env.AIGET_TEST_URL;
	if (!url)
		throw new Error('AIGET_TEST_URL is not set: run t/harness t/6000-console-browser.t, '
			+ 'or name a running stack (AIGET_TEST_URL=http://127.0.0.1:8080 VAR=var)');
	return url.replace(/\/+$/, '');
}

// A path of the stack as a full URL: url('/api/v1/auth/health').
export function url(path = '/') {
	return baseUrl() + path;
}

// The console's page, with a route of its own: consoleUrl('#/login').
export function consoleUrl(hash = '') {
	return `${baseUrl()}/console/${hash}`;
}

// launch() -> a Playwright Browser: Debian's chromium, headless, with a
// profile of its own (no cookies, no storage); browser.newContext() makes
// each fresh context.  Close with `await browser.close()`
// (after(() => browser.close()) in a node:test file).
export async function launch() {
	return chromium.launch({
		executablePath: process.env.AIGET_CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
			'--disable-component-update', '--disable-sync', '--no-first-run'],
	});
}

// watch(page) -> an array that collects, as strings, what is always a bug
// of the page: uncaught exceptions ("uncaught: ...") and refusals by its
// Content-Security-Policy ("CSP: Refused to ...").  A test asserts it is
// empty at the end.
export function watch(page) {
	const errors = [];
	page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
	page.on('console', (m) => {
		if (m.type() === 'error' && /Content Security Policy/i.test(m.text()))
			errors.push(`CSP: ${m.text()}`);
	});
	return errors;
}

let axeSource;

// checkA11y(page, name) -> the violations of every impact (axe-core's
// objects).  Throws, listing each rule, its help URL and the elements,
// when any violation is serious or critical.
export async function checkA11y(page, name) {
	axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
	if (!(await page.evaluate(() => typeof window.axe === 'object')))
		await page.evaluate(axeSource);
	const violations = await page.evaluate(async () => {
		const r = await window.axe.run(document, { resultTypes: ['violations'] });
		return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
			nodes: v.nodes.map((n) => ({ target: n.target, summary: n.failureSummary })) }));
	});
	const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
	if (bad.length)
		throw new Error(`${name}: ${bad.length} serious or critical accessibility violation(s):\n`
			+ bad.map((v) => `  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n`
				+ v.nodes.map((n) => `    at ${n.target.join(' ')}: ${(n.summary || '').replace(/\n\s*/g, '; ')}\n`).join('')).join(''));
	return violations;
}

// screenshot(page, name) -> the path of t/browser/artifacts/<name>.png,
// the whole page.
export async function screenshot(page, name) {
	mkdirSync(artifacts, { recursive: true });
	const path = join(artifacts, `${String(name).replace(/[^A-Za-z0-9._-]+/g, '-')}.png`);
	await page.screenshot({ path, fullPage: true });
	return path;
}

// The stack's mail directory: MAIL_DIR of $VAR/aiget.env, else $VAR/mail.
function mailDir() {
	const v = process.env.VAR;
	if (!v)
		throw new Error('VAR is not set: the stack\'s state directory, where its mail is');
	try {
		const m = readFileSync(join(v, 'aiget.env'), 'utf8').match(/^MAIL_DIR=(.*)$/m);
		if (m && m[1].startsWith('/'))
			return m[1];
	} catch { /* no env file: the default */ }
	return join(v, 'mail');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// latestMail(to, {after, timeout}) -> the text of the newest mail to the
// address `to` written at or after `after` (a time in ms, Date.now() taken
// before the action that mails; default 0: any), with its quoted-printable
// soft line breaks undone.  Waits up to `timeout` ms (5000) for it, as the
// responders send after answering; throws when none comes.
export async function latestMail(to, { after = 0, timeout = 5000 } = {}) {
	const dir = mailDir();
	const deadline = Date.now() + timeout;
	const needle = to.toLowerCase();
	for (;;) {
		let names = [];
		try {
			names = readdirSync(dir).filter((n) => /^\d+-[0-9a-fA-F]+\.eml$/.test(n));
		} catch { /* not made yet */ }
		// <ms>-<random>.eml: the number orders them.
		names.sort((a, b) => parseInt(b, 10) - parseInt(a, 10));
		for (const n of names) {
			if (parseInt(n, 10) < after)
				break;
			const raw = readFileSync(join(dir, n), 'utf8');
			const rcpt = raw.split(/\r?\n\r?\n/, 1)[0].match(/^To: (.*)$/mi);
			if (rcpt && rcpt[1].toLowerCase().includes(needle))
				return raw.replace(/=\r?\n/g, '');
		}
		if (Date.now() > deadline)
			throw new Error(`no mail to ${to}${after ? ` since ${new Date(after).toISOString()}` : ''} in ${dir}`);
		await sleep(100);
	}
}

// latestCode(to, {after, timeout}) -> the 6-digit one-time code of that
// mail ("Your code is 123456."); throws when it has none.
export async function latestCode(to, options) {
	const text = await latestMail(to, options);
	const m = /code is (\d{6})\b/.exec(text);
	if (!m)
		throw new Error(`the newest mail to ${to} has no code:\n${text}`);
	return m[1];
}
