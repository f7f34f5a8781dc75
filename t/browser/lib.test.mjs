// lib.test.mjs - lib.mjs's helpers can fail: checkA11y on a page with
// serious violations, latestMail when no mail comes; and latestMail and
// latestCode find a real one-time code mail of the stack.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkA11y, consoleUrl, latestCode, latestMail, launch, url } from './lib.mjs';

const browser = await launch();
after(() => browser.close());

test('checkA11y refuses serious violations, naming them', async () => {
	const page = await (await browser.newContext()).newPage();
	await page.goto(consoleUrl());
	await page.evaluate(() => {
		const img = document.createElement('img');
		img.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
		const button = document.createElement('button');
		document.body.append(img, button);
	});
	await assert.rejects(checkA11y(page, 'a broken page'),
		(e) => /a broken page: \d+ serious or critical/.test(e.message) && /image-alt/.test(e.message)
			&& /button-name/.test(e.message));
});

// The API as a client without a browser calls it; each call its own address.
let calls = 0;
async function post(path, body) {
	return fetch(url(path), { method: 'POST', body: JSON.stringify(body), headers: {
		'Content-Type': 'application/json', 'X-Forwarded-For': `2001:db8::6000:${(process.pid % 65536).toString(16)}:${++calls}` } });
}

test('latestMail and latestCode find the newest code mailed to an address', async () => {
	const email = `browser-lib-${process.pid}-${Date.now()}@example.com`;
	assert.equal((await post('/api/v1/auth/register', { email, password: `correct horse ${process.pid} staple` })).status, 201);
	const since = Date.now();
	assert.equal((await post('/api/v1/auth/otp/send', { email, purpose: 'login' })).status, 202);
	const text = await latestMail(email, { after: since });
	assert.equal(typeof text, 'string');
	assert.match(text, /^To: .*browser-lib-/m, 'the mail to that address');
	const code = await latestCode(email, { after: since });
	assert.match(code, /^\d{6}$/, 'a 6-digit code');
	assert.match(text, new RegExp(`code is ${code}`), 'the one the text names');
	await assert.rejects(latestMail(email, { after: Date.now() + 60_000, timeout: 300 }), /no mail to/,
		'nothing newer: an error, not an old mail');
});
