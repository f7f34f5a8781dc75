// smoke.test.mjs - the console's page opens in the browser, under its own
// Content-Security-Policy, without errors and without serious
// accessibility violations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkA11y, launch, screenshot, url } from './lib.mjs';

test('the console opens', async (t) => {
	const { browser, page, errors } = await launch();
	t.after(() => browser.close());

	const res = await page.goto(url('/console/'));
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
});
