// lib.test.mjs - lib.mjs's helpers can fail: checkA11y on a page with
// serious violations, latestMail when no mail comes; and latestMail finds
// the code of a real one-time code mail of the stack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkA11y, latestMail, launch, url } from './lib.mjs';

test('checkA11y refuses serious violations, naming them', async (t) => {
	const { browser, page } = await launch();
	t.after(() => browser.close());
	await page.goto(url('/console/'));
	await page.evaluate(() => {
		const img = document.createElement('img');
		img.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
		const button = document.createElement('button');
		document.getElementById('main').append(img, button);
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

test('latestMail finds the newest code mailed to an address', async () => {
	const email = `browser-lib-${process.pid}-${Date.now()}@example.com`;
	assert.equal((await post('/api/v1/auth/register', { email, password: `correct horse ${process.pid} staple` })).status, 201);
	const since = Date.now();
	assert.equal((await post('/api/v1/auth/otp/send', { email, purpose: 'login' })).status, 202);
	const mail = await latestMail(email, { since });
	assert.match(mail.code ?? '', /^\d{6}$/, 'a 6-digit code');
	assert.match(mail.text, new RegExp(`code is ${mail.code}`), 'the one the text names');
	assert.ok(mail.subject.length > 0, 'a subject');
	await assert.rejects(latestMail(email, { since: Date.now() + 60_000, timeout: 300 }), /no mail to/,
		'nothing newer: an error, not an old mail');
});
