// journey.test.mjs - a person's whole way through the console, in a real
// headless Chromium against the test stack: sign up, confirm the address
// with the mailed code, create a tenant, change its limits (and see a bad
// one refused), mint a key, write, search, delete and erase memories in the
// playground, visit usage, members and audit, rotate the key, reload and
// still be signed in, log out, log in again with an email code, be sent to
// the login when the session ends elsewhere, meet a 429; an admin suspends
// the tenant and the playground's next request is refused; sign in with
// Google and Apple (the stand-ins); log in by keyboard alone.  Every page
// gets an accessibility check (axe-core) and a screenshot
// (t/browser/artifacts/), and no page may ask anything of another host.

import { test as nodeTest, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, checkA11y, screenshot, latestMail, consoleUrl, watch, baseUrl } from './lib.mjs';

const email = `journey-${process.pid}-${Date.now()}@example.com`;
const password = 'a long journey password 7';
const tenantName = `journey tenant ${process.pid}`;
const browser = await launch();
after(() => browser.close());

const context = await browser.newContext();
const page = await context.newPage();
const pageErrors = watch(page);
// Every host the person's page asks anything of: the stack's own only.
const hosts = new Set();
page.on('request', (req) => hosts.add(new URL(req.url()).host));

// The steps build on each other: after one fails, the rest are reported as
// not run (the failure itself fails the file) rather than as a cascade of
// timeouts that hide the first cause.
let failed = null;
function test(name, fn) {
	nodeTest(name, async (t) => {
		if (failed) {
			t.skip(`not run: the step "${failed}" failed`);
			return;
		}
		try {
			await fn(t);
		} catch (err) {
			failed = name;
			// What the page showed, for the log and as a picture.
			await screenshot(page, 'failed-step').catch(() => {});
			const text = await page.locator('body').innerText().catch(() => '(no page)');
			t.diagnostic(`the page at ${page.url()} showed:\n${text}`);
			throw err;
		}
	});
}

// Each page of the journey: wait for its heading, check it, keep a picture.
async function visited(name, heading) {
	await page.getByRole('heading', { level: 1, name: heading }).waitFor();
	await checkA11y(page, name);
	await screenshot(page, name);
}

async function codeFor(to, purpose) {
	const mail = await latestMail(to, { after: purpose.since });
	const m = /code is (\d{6})/.exec(mail);
	assert.ok(m, `a mail with a code reached ${to}`);
	return m[1];
}

test('sign up and confirm the address with the mailed code', async () => {
	await page.goto(consoleUrl('#/register'));
	await visited('register', 'Create an account');
	const since = Date.now();
	await page.getByLabel('Email').fill(email);
	await page.getByLabel('Password').fill(password);
	await page.getByRole('button', { name: 'Sign up' }).click();
	await visited('account-unconfirmed', 'Your account');
	await page.getByLabel('Code').fill(await codeFor(email, { since }));
	await page.getByRole('button', { name: 'Confirm my address' }).click();
	await page.getByText('Your address is confirmed.').waitFor();
	await page.getByText(`${email} (confirmed)`).waitFor();
});

test('create a tenant and change its limits', async () => {
	await page.getByRole('link', { name: 'Tenants', exact: true }).click();
	await visited('tenants', 'Your tenants');
	await page.getByLabel('Name').fill(tenantName);
	await page.getByRole('button', { name: 'Create tenant' }).click();
	await visited('tenant-overview', new RegExp(tenantName));
	await page.getByRole('link', { name: 'Limits' }).click();
	await visited('tenant-limits', /Limits/);
	await page.getByLabel('Requests a second (qps)').fill('7');
	await page.getByLabel('Concurrency').fill('3');
	await page.getByRole('button', { name: 'Save limits' }).click();
	await page.getByText('The limits are saved').waitFor();
	await page.reload();
	await page.getByLabel('Requests a second (qps)').waitFor();
	assert.equal(await page.getByLabel('Requests a second (qps)').inputValue(), '7');
	assert.equal(await page.getByLabel('Concurrency').inputValue(), '3');
});

test('a bad limit is refused next to its field, and changes nothing', async () => {
	const burst = await page.getByLabel('Burst').inputValue();
	await page.getByLabel('Burst').fill('0');
	await page.getByLabel('Concurrency').fill('4');
	await page.getByRole('button', { name: 'Save limits' }).click();
	await page.locator('.field-error').filter({ hasText: /^Burst must be an integer/ }).waitFor();
	assert.equal(await page.getByLabel('Burst').getAttribute('aria-invalid'), 'true');
	await page.reload();
	await page.getByLabel('Burst').waitFor();
	assert.equal(await page.getByLabel('Burst').inputValue(), burst);
	assert.equal(await page.getByLabel('Concurrency').inputValue(), '3', 'the other field of the refused request is not saved either');
});

let secret;
test('mint a key: the secret is shown once', async () => {
	await page.getByRole('link', { name: 'API keys' }).click();
	await visited('tenant-keys', /API keys/);
	await page.getByLabel('Name').fill('journey key');
	await page.getByRole('button', { name: 'Create key' }).click();
	const field = page.getByLabel(/^Secret of journey key/);
	await field.waitFor();
	secret = await field.inputValue();
	assert.match(secret, /^agk_[A-Za-z0-9_-]{43}$/);
	await screenshot(page, 'tenant-key-secret');
	await checkA11y(page, 'tenant-key-secret');
});

test('write memories and search them in the playground', async () => {
	await page.getByRole('link', { name: 'Try it in the playground' }).click();
	await visited('playground-key', 'Memox playground');
	// The key made in this page's life is offered with its secret.
	assert.equal(await page.getByLabel('Secret').inputValue(), secret);
	await page.getByRole('button', { name: 'Use this key' }).click();
	await page.getByRole('button', { name: 'Write memory' }).waitFor();
	for (const [content, metadata] of [['Ada prefers green tea to coffee.', '{"topic": "food"}'], ['Ada walks her dog every morning.', '{"topic": "habits"}']]) {
		await page.getByLabel('Memory', { exact: true }).fill(content);
		await page.getByLabel('Metadata (JSON, optional)').fill(metadata);
		await page.getByRole('button', { name: 'Write memory' }).click();
		await page.getByRole('cell', { name: content, exact: true }).waitFor();
	}
	// The list refreshes itself until the worker has embedded both.
	await page.locator('.badge.ready').nth(1).waitFor({ timeout: 30000 });
	assert.equal(await page.locator('.badge.pending').count(), 0);
	await screenshot(page, 'playground-memories');
	await checkA11y(page, 'playground-memories');
	await page.getByLabel('Query').fill('green tea');
	await page.getByLabel('Filter (JSON, optional)').fill('{"topic": "food"}');
	await page.getByRole('button', { name: 'Search' }).click();
	const summary = page.getByText(/1 result · semantic · plan: (exact|index) · [\d.]+ ms/);
	await summary.waitFor();
	await page.getByRole('cell', { name: 'Ada prefers green tea to coffee.', exact: true }).last().waitFor();
	await screenshot(page, 'playground-search');
	// By words: "coffee" is in one memory only, and no model is used.
	await page.getByLabel('Filter (JSON, optional)').fill('');
	await page.getByLabel('Query').fill('coffee');
	await page.getByLabel('Ranking').selectOption('keyword');
	await page.getByRole('button', { name: 'Search' }).click();
	await page.getByText(/^1 result · keyword · plan: keyword · [\d.]+ ms$/).waitFor();
	await page.getByLabel('Ranking').selectOption('hybrid');
	await page.getByRole('button', { name: 'Search' }).click();
	await page.getByText(/results? · hybrid · plan: (exact|index) · [\d.]+ ms · model /).waitFor();
	assert.equal(await page.getByRole('table', { name: 'Search results, best first' }).getByRole('row').nth(1).getByRole('cell').nth(1).textContent(),
		'Ada prefers green tea to coffee.');
});

test('delete a memory, then erase the end user', async () => {
	await page.getByLabel('End user', { exact: true }).fill('user-2');
	await page.getByRole('button', { name: 'Switch scope' }).click();
	for (const content of ['Bob keeps bees.', 'Bob sails on Sundays.']) {
		await page.getByLabel('Memory', { exact: true }).fill(content);
		await page.getByRole('button', { name: 'Write memory' }).click();
		await page.getByRole('cell', { name: content, exact: true }).waitFor();
	}
	await page.getByRole('button', { name: 'Delete the memory "Bob keeps bees."' }).click();
	await page.getByRole('cell', { name: 'Bob keeps bees.', exact: true }).waitFor({ state: 'detached' });
	await page.getByRole('button', { name: 'Erase user-2' }).click();
	await page.getByRole('dialog').getByRole('button', { name: 'Erase' }).click();
	await page.getByText('Erased: 1 memory deleted.').waitFor({ timeout: 30000 });
	await page.getByRole('cell', { name: 'None yet.' }).waitFor();
	// The other end user's memories are untouched.
	await page.getByLabel('End user', { exact: true }).fill('user-1');
	await page.getByRole('button', { name: 'Switch scope' }).click();
	await page.getByRole('cell', { name: 'Ada prefers green tea to coffee.', exact: true }).waitFor();
});

test('what the tenant holds: its namespaces and end users, counted, and a scope picked from them', async () => {
	await page.getByLabel('Namespace', { exact: true }).fill('journal');
	await page.getByLabel('End user', { exact: true }).fill('user-3');
	await page.getByRole('button', { name: 'Switch scope' }).click();
	await page.getByLabel('Memory', { exact: true }).fill('Cleo keeps a diary.');
	await page.getByRole('button', { name: 'Write memory' }).click();
	await page.getByRole('cell', { name: 'Cleo keeps a diary.', exact: true }).waitFor();
	await page.getByRole('button', { name: 'Refresh the counts' }).click();
	const row = (name) => page.getByRole('row').filter({ has: page.getByRole('cell', { name, exact: true }) });
	await row('journal').waitFor();
	// playground holds user-1's two memories (user-2 was erased); journal, user-3's one.
	assert.deepEqual((await row('playground').getByRole('cell').allTextContents()).slice(0, 3), ['playground', '1', '2']);
	assert.deepEqual((await row('journal').getByRole('cell').allTextContents()).slice(0, 3), ['journal', '1', '1']);
	await row('user-3').waitFor();
	await page.getByRole('button', { name: 'Show end users of playground' }).click();
	await page.getByRole('button', { name: 'Use the end user user-1 in playground' }).click();
	await page.getByRole('cell', { name: 'Ada prefers green tea to coffee.', exact: true }).waitFor();
	assert.equal(await page.getByLabel('Namespace', { exact: true }).inputValue(), 'playground');
	assert.equal(await page.getByLabel('End user', { exact: true }).inputValue(), 'user-1');
	await screenshot(page, 'playground-holdings');
	await checkA11y(page, 'playground-holdings');
});

test('malformed metadata is refused before it is sent', async () => {
	await page.getByLabel('Memory', { exact: true }).fill('not written');
	await page.getByLabel('Metadata (JSON, optional)').fill('{"topic": ');
	await page.getByRole('button', { name: 'Write memory' }).click();
	await page.locator('.field-error').filter({ hasText: 'metadata: not valid JSON' }).waitFor();
	assert.equal(await page.getByRole('cell', { name: 'not written', exact: true }).count(), 0);
});

test('the tenant\'s other pages: usage with its chart, members and an invitation, the audit log', async () => {
	await page.getByRole('link', { name: 'Tenants', exact: true }).click();
	await page.getByRole('link', { name: tenantName }).click();
	await page.getByRole('link', { name: 'Usage' }).click();
	await visited('tenant-usage', /Usage/);
	await page.getByRole('img', { name: /^Usage in \d{4}-\d{2}/ }).waitFor();
	await page.getByText(/Requests to memox/).waitFor();
	await page.getByRole('link', { name: 'Members' }).click();
	await visited('tenant-members', /Members/);
	await page.getByRole('cell', { name: email, exact: true }).waitFor();
	const invitee = `invitee-${process.pid}@example.com`;
	await page.getByLabel('Email').fill(invitee);
	await page.getByRole('button', { name: 'Send invitation' }).click();
	await page.getByText(`An invitation is on its way to ${invitee}.`).waitFor();
	await page.getByRole('cell', { name: invitee, exact: true }).waitFor();
	await page.getByRole('link', { name: 'Audit log' }).click();
	await visited('tenant-audit', /Audit log/);
	for (const action of ['tenant.create', 'limits.set', 'key.create', 'invitation.create'])
		await page.getByRole('cell', { name: action, exact: true }).first().waitFor();
});

test('the password reset page, signed out', async () => {
	const other = await browser.newContext();
	const signedOut = await other.newPage();
	await signedOut.goto(consoleUrl('#/forgot'));
	await signedOut.getByRole('heading', { level: 1, name: 'Reset your password' }).waitFor();
	await checkA11y(signedOut, 'forgot');
	await screenshot(signedOut, 'forgot');
	await other.close();
});

test('rotate the key: a new secret, and the old key stops', async () => {
	await page.getByRole('link', { name: 'Tenants', exact: true }).click();
	await page.getByRole('link', { name: tenantName }).click();
	await page.getByRole('link', { name: 'API keys' }).click();
	await page.getByRole('button', { name: /^Rotate journey key/ }).click();
	await page.getByRole('dialog').getByRole('button', { name: 'Rotate' }).click();
	const field = page.getByLabel(/^Secret of journey key/);
	await field.waitFor();
	const next = await field.inputValue();
	assert.match(next, /^agk_/);
	assert.notEqual(next, secret);
	await page.getByText(/revoked/).first().waitFor();
	await screenshot(page, 'tenant-key-rotated');
	secret = next;
});

test('a reload keeps the person signed in, by the refresh cookie alone', async () => {
	await page.reload();
	await visited('tenant-keys-reloaded', /API keys/);
	const storage = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie }));
	assert.doesNotMatch(storage, /agk_|eyJ/, 'no key or token in any storage a script can read');
	const cookies = await context.cookies();
	const refresh = cookies.find((c) => c.name === 'aiget_refresh');
	assert.ok(refresh && refresh.httpOnly, 'the refresh cookie is HttpOnly');
});

test('log out, then log in again with an email code', async () => {
	await page.getByRole('button', { name: 'Log out' }).click();
	await visited('login', 'Log in');
	await page.getByText('You are logged out.').waitFor();
	await page.reload();
	await page.getByRole('heading', { name: 'Log in' }).waitFor();
	await page.getByRole('button', { name: 'Email code' }).click();
	const since = Date.now();
	await page.getByLabel('Email').fill(email);
	await page.getByRole('button', { name: 'Email me a code' }).click();
	await page.getByLabel('Code').fill(await codeFor(email, { since }));
	await page.getByRole('button', { name: 'Log in with the code' }).click();
	await visited('tenants-again', 'Your tenants');
	await page.getByRole('link', { name: tenantName }).waitFor();
});

test('a session ended elsewhere sends the page to the login, with a message', async () => {
	const other = await browser.newContext();
	const elsewhere = await other.newPage();
	await elsewhere.goto(consoleUrl('#/login'));
	await elsewhere.getByLabel('Email').fill(email);
	await elsewhere.getByLabel('Password').fill(password);
	await elsewhere.getByRole('button', { name: 'Log in', exact: true }).click();
	await elsewhere.getByRole('heading', { level: 1, name: 'Your tenants' }).waitFor();
	await elsewhere.getByRole('link', { name: 'Account' }).click();
	await elsewhere.getByRole('button', { name: 'Log out everywhere' }).click();
	await elsewhere.getByRole('dialog').getByRole('button', { name: 'Log out everywhere' }).click();
	await elsewhere.getByRole('heading', { name: 'Log in' }).waitFor();
	await other.close();

	await page.getByRole('link', { name: 'Account' }).click();
	await visited('login-session-ended', 'Log in');
	await page.getByText('Your session has ended. Please sign in again.').waitFor();
	await page.getByLabel('Email').fill(email);
	await page.getByLabel('Password').fill(password);
	await page.getByRole('button', { name: 'Log in', exact: true }).click();
	// Back where the person was sent away from.
	await visited('account', 'Your account');
});

test('on a phone-width screen nothing is wider than the screen', async () => {
	await page.setViewportSize({ width: 390, height: 844 });
	for (const [hash, heading, name, ready] of [['#/', 'Your tenants', 'phone-tenants', 'Create tenant'], ['#/playground', 'Memox playground', 'phone-playground', 'Use this key']]) {
		await page.goto(consoleUrl(hash));
		await page.getByRole('heading', { level: 1, name: heading }).waitFor();
		await page.getByRole('button', { name: ready }).waitFor();
		const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
		assert.ok(overflow <= 0, `${name}: the page is ${overflow}px wider than the screen`);
		await screenshot(page, name);
	}
	await page.setViewportSize({ width: 1280, height: 800 });
});

// The tenant's limits page, from anywhere: qps and burst set and saved.
async function setRate(qps, burst) {
	await page.getByRole('link', { name: 'Tenants', exact: true }).click();
	await page.getByRole('link', { name: tenantName }).click();
	await page.getByRole('link', { name: 'Limits' }).click();
	await page.getByLabel('Requests a second (qps)').fill(String(qps));
	await page.getByLabel('Burst').fill(String(burst));
	await page.getByRole('button', { name: 'Save limits' }).click();
	await page.getByText('The limits are saved').waitFor();
}

// The playground with the journey's key, its secret pasted.
async function playgroundWithKey() {
	await page.getByRole('link', { name: 'Playground' }).click();
	// The tenant page's tabs are labelled Tenant too, until the playground replaces it.
	await page.getByRole('heading', { level: 1, name: 'Memox playground' }).waitFor();
	await page.getByRole('combobox', { name: 'Tenant' }).selectOption({ label: tenantName });
	await page.getByLabel('Secret').fill(secret);
	await page.getByRole('button', { name: 'Use this key' }).click();
	await page.getByRole('button', { name: 'Search' }).waitFor();
}

test('over the tenant\'s rate limit, the playground says when to retry', async () => {
	await setRate(1, 1);
	await playgroundWithKey();
	await page.getByLabel('Query').fill('tea');
	// The key's check and the list took the bucket's one token: searches
	// now meet the limit within a second or two.
	const refusal = page.getByRole('alert').filter({ hasText: /Try again in \d+ seconds?\./ });
	for (let i = 0; i < 5 && !(await refusal.count()); i++)
		await page.getByRole('button', { name: 'Search' }).click();
	await refusal.waitFor({ timeout: 5000 });
	await screenshot(page, 'playground-rate-limited');
	// Back to roomy limits for what follows.
	await setRate(20, 50);
});

test('an admin suspends the tenant; the playground\'s next request shows the refusal', async () => {
	await playgroundWithKey();
	await page.getByLabel('Query').fill('green tea');
	await page.getByRole('button', { name: 'Search' }).click();
	await page.getByText(/\d+ results? · semantic · plan/).waitFor();

	const adminContext = await browser.newContext();
	const admin = await adminContext.newPage();
	await admin.goto(consoleUrl('#/login'));
	await admin.getByLabel('Email').fill(process.env.ADMIN_EMAIL);
	await admin.getByLabel('Password').fill(process.env.ADMIN_PASSWORD);
	await admin.getByRole('button', { name: 'Log in', exact: true }).click();
	await admin.getByRole('heading', { level: 1, name: 'Your tenants' }).waitFor();
	await admin.getByRole('link', { name: 'Admin' }).click();
	await admin.getByRole('heading', { level: 1, name: 'Admin' }).waitFor();
	await checkA11y(admin, 'admin');
	await screenshot(admin, 'admin');
	await admin.getByLabel('Name or id').fill(tenantName);
	await admin.getByRole('button', { name: 'Find tenants' }).click();
	await admin.getByRole('link', { name: tenantName }).click();
	await admin.getByRole('heading', { level: 1, name: new RegExp(tenantName) }).waitFor();
	await checkA11y(admin, 'admin-tenant');
	await screenshot(admin, 'admin-tenant');
	await admin.getByRole('button', { name: 'Suspend' }).click();
	await admin.getByText('is suspended').waitFor();
	await adminContext.close();
	// A suspension stops the tenant's keys everywhere within a second (tag keys, cut-off).
	await new Promise((resolve) => setTimeout(resolve, 1100));

	await page.getByLabel('Query').fill('green tea');
	await page.getByRole('button', { name: 'Search' }).click();
	const refusal = page.getByRole('alert').filter({ hasText: /suspended/i });
	await refusal.waitFor({ timeout: 5000 });
	await screenshot(page, 'playground-refused');
});

// The stand-in providers sign in whoever login_hint names (a real one asks
// the person): the browser's way to the authorization URL gets one added.
async function signInWith(label, who) {
	const other = await browser.newContext();
	await other.route((url) => url.pathname === '/authorize', (route) => {
		const url = new URL(route.request().url());
		url.searchParams.set('login_hint', who);
		route.continue({ url: url.toString() });
	});
	const p = await other.newPage();
	const errors = watch(p);
	await p.goto(consoleUrl('#/login'));
	await p.getByRole('button', { name: `Sign in with ${label}` }).click();
	await p.getByRole('heading', { level: 1, name: 'Your tenants' }).waitFor();
	await p.getByRole('link', { name: 'Account' }).click();
	await p.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();
	const facts = await p.locator('dl.facts').innerText();
	assert.equal(new URL(p.url()).search, '', 'the code and state are gone from the address');
	await other.close();
	pageErrors.push(...errors);
	return facts;
}

test('sign in with Google and with Apple, the buttons the server offers', async () => {
	const google = `google-${process.pid}@example.com`;
	let facts = await signInWith('Google', google);
	assert.ok(facts.includes(`${google} (confirmed)`), `a confirmed Google account: ${facts}`);
	const apple = `apple-${process.pid}@example.com`;
	facts = await signInWith('Apple', apple);
	assert.ok(facts.includes(`${apple} (confirmed)`), `a confirmed Apple account: ${facts}`);
	// Apple tells the name on the first sign-in only, in its form post.
	assert.match(facts, /Name\s+Test apple-/);
});

test('keyboard alone: log in with Tab, typing and Enter', async () => {
	const other = await browser.newContext();
	const p = await other.newPage();
	await p.goto(consoleUrl('#/login'));
	await p.getByRole('heading', { level: 1, name: 'Log in' }).waitFor();
	// From the top of the page: the skip link, then the header's links,
	// then the form, in reading order.
	const focused = async () => p.evaluate(() => {
		const el = document.activeElement;
		return el.labels && el.labels[0] ? el.labels[0].textContent : el.textContent.trim();
	});
	const seen = [];
	for (let i = 0; i < 12 && !seen.includes('Email'); i++) {
		await p.keyboard.press('Tab');
		seen.push(await focused());
	}
	assert.ok(seen.includes('Email'), `Tab reaches the email field: ${seen.join(' → ')}`);
	assert.ok(seen.indexOf('Skip to content') < seen.indexOf('Email'), 'after the skip link');
	await p.keyboard.type(email);
	await p.keyboard.press('Tab');
	assert.equal(await focused(), 'Password', 'Tab goes on to the password');
	await p.keyboard.type(password);
	await p.keyboard.press('Enter');
	await p.getByRole('heading', { level: 1, name: 'Your tenants' }).waitFor();
	await other.close();
});

test('no script error or refused resource on any page, and no request to another host', () => {
	assert.deepEqual(pageErrors, []);
	assert.deepEqual([...hosts], [new URL(baseUrl()).host]);
});
