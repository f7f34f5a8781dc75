// smoke.test.mjs - the console's page opens in the browser, under its own
// Content-Security-Policy, without errors and without serious
// accessibility violations.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkA11y, consoleUrl, launch, screenshot, watch } from './lib.mjs';

const browser = await launch();
after(() => browser.close());

test('the console opens', async () => {
	const context = await browser.newContext();
	const page = await context.newPage();
	const errors = watch(page);

	const res = await page.goto(consoleUrl());
	assert.equal(res.status(), 200, 'GET /console/');
	assert.match(res.headers()['content-security-policy'] ?? '', /script-src 'self'/, 'with its policy');
	await page.waitForLoadState('networkidle');
	assert.equal(await page.title(), 'Aiget Dev console');

	await screenshot(page, 'smoke-console');
	await checkA11y(page, 'the console');
	assert.deepEqual(errors, [], 'no uncaught errors, nothing refused by the policy');

	// The policy is in force (the tests do not bypass it): an inline script does not run.
	const ran = await page.evaluate(() => {
		const s = document.createElement('script');
		s.textContent = 'window.inlineRan = true';
		document.head.append(s);
		return window.inlineRan === true;
	});
	assert.equal(ran, false, 'an inline script is refused');
	await context.close();
});
