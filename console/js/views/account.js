// views/account.js - signing up, in and out, and the account page
// (address confirmation, sessions, password).

import { request, apiUrl } from '../api.js';
import * as session from '../session.js';
import { h, replace, field, form, actionButton, section, table, when, confirmDialog, errorBox } from '../ui.js';

let destination = null;

// Where to go after signing in: the page the person was sent away from.
export function rememberDestination(path) {
	if (path && !/^\/(login|register|forgot)$/.test(path))
		destination = path;
}

function afterSignIn(ctx) {
	const next = destination || '/';
	destination = null;
	ctx.go(next);
}

async function providerButtons() {
	let providers = {};
	try {
		const res = await fetch(apiUrl('/api/v1/auth/providers'), { credentials: 'include' });
		if (res.ok)
			providers = await res.json();
	} catch {
		return null;
	}
	const names = { google: 'Google', apple: 'Apple' };
	const buttons = Object.keys(names).filter((p) => providers[p] === true).map((provider) =>
		actionButton(`Sign in with ${names[provider]}`, async () => {
			const start = await session.startProvider(provider);
			location.assign(start.authorizationUrl);
		}, { className: `provider ${provider}` }));
	return buttons.length ? h('div', { class: 'providers' }, h('p', {}, 'Or:'), buttons) : null;
}

function passwordForm(ctx, email) {
	return form([
		field('Email', { name: 'email', type: 'email', value: email, required: true, autocomplete: 'username' }),
		field('Password', { name: 'password', type: 'password', required: true, autocomplete: 'current-password' }),
	], 'Log in', async (v) => {
		await session.loginWithPassword(v.email.trim(), v.password);
		afterSignIn(ctx);
	});
}

function codeForm(ctx) {
	const wrap = h('div', {});
	const ask = form([
		field('Email', { name: 'email', type: 'email', required: true, autocomplete: 'username' }),
	], 'Email me a code', async (v) => {
		const email = v.email.trim();
		await session.sendCode(email, 'login');
		replace(wrap, h('p', { role: 'status' }, `If ${email} has an account, a 6-digit code is on its way. It works for 5 minutes.`),
			form([
				field('Code', { name: 'code', required: true, autocomplete: 'one-time-code', hint: 'The 6 digits from the mail.' }),
			], 'Log in with the code', async (c) => {
				await session.loginWithCode(email, c.code.trim());
				afterSignIn(ctx);
			}));
		wrap.querySelector('input').focus();
	});
	wrap.append(ask);
	return wrap;
}

export async function login(main, params, ctx) {
	const panel = h('div', {});
	const tabPassword = h('button', { type: 'button', 'aria-pressed': 'true' }, 'Password');
	const tabCode = h('button', { type: 'button', 'aria-pressed': 'false' }, 'Email code');
	const show = (which) => {
		tabPassword.setAttribute('aria-pressed', String(which === 'password'));
		tabCode.setAttribute('aria-pressed', String(which === 'code'));
		replace(panel, which === 'password' ? passwordForm(ctx, '') : codeForm(ctx));
	};
	tabPassword.addEventListener('click', () => show('password'));
	tabCode.addEventListener('click', () => show('code'));
	show('password');
	replace(main,
		h('h1', {}, 'Log in'),
		h('div', { class: 'card narrow' },
			h('div', { class: 'toggle', role: 'group', 'aria-label': 'How to log in' }, tabPassword, tabCode),
			panel,
			await providerButtons(),
			h('p', {}, h('a', { href: '#/register' }, 'Create an account'), ' · ', h('a', { href: '#/forgot' }, 'Forgot your password?'))));
}

export async function register(main, params, ctx) {
	replace(main,
		h('h1', {}, 'Create an account'),
		h('div', { class: 'card narrow' },
			form([
				field('Name', { name: 'name', autocomplete: 'name', hint: 'Optional.' }),
				field('Email', { name: 'email', type: 'email', required: true, autocomplete: 'email' }),
				field('Password', { name: 'password', type: 'password', required: true, autocomplete: 'new-password', hint: '8 to 128 characters, not a common one.' }),
			], 'Sign up', async (v) => {
				await session.register(v.email.trim(), v.password, v.name.trim());
				// The address proves nothing until its mail is read: ask for the code now.
				await session.sendCode(session.currentUser().email, 'verify_email');
				ctx.go('/account');
			}),
			await providerButtons(),
			h('p', {}, 'Already have one? ', h('a', { href: '#/login' }, 'Log in'))));
}

export async function forgot(main) {
	const wrap = h('div', { class: 'card narrow' });
	wrap.append(form([
		field('Email', { name: 'email', type: 'email', required: true, autocomplete: 'username' }),
	], 'Email me a reset code', async (v) => {
		const email = v.email.trim();
		await session.sendCode(email, 'reset_password');
		replace(wrap, h('p', { role: 'status' }, `If ${email} has an account, a code is on its way.`),
			form([
				field('Code', { name: 'code', required: true, autocomplete: 'one-time-code' }),
				field('New password', { name: 'newPassword', type: 'password', required: true, autocomplete: 'new-password' }),
			], 'Set the new password', async (c) => {
				await session.resetPassword(email, c.code.trim(), c.newPassword);
				replace(wrap, h('p', { role: 'status' }, 'Your password is changed, and every session has ended. '), h('a', { href: '#/login' }, 'Log in'));
			}));
	}));
	replace(main, h('h1', {}, 'Reset your password'), wrap);
}

function verifySection(ctx) {
	const user = session.currentUser();
	if (user.emailVerified)
		return null;
	const body = h('div', {});
	const codeForm = form([
		field('Code', { name: 'code', required: true, autocomplete: 'one-time-code', hint: `The 6 digits mailed to ${user.email}.` }),
	], 'Confirm my address', async (v) => {
		await session.verifyEmail(v.code.trim());
		ctx.go('/account', 'Your address is confirmed.');
	});
	body.append(h('p', {}, 'Your address is not confirmed yet. Until it is, anyone who proves they read its mail can take this account over.'),
		codeForm,
		actionButton('Send a new code', async () => {
			await session.sendCode(user.email, 'verify_email');
			ctx.flash(`A new code is on its way to ${user.email}.`);
		}));
	return section('Confirm your email address', body);
}

async function sessionsSection(ctx) {
	const { sessions } = await request('GET', '/api/v1/auth/sessions');
	const end = (s) => actionButton(s.current ? 'Log out here' : 'End', async () => {
		await request('DELETE', `/api/v1/auth/sessions/${s.id}`);
		if (s.current) {
			session.forget();
			ctx.go('/login');
			return;
		}
		ctx.go('/account');
	}, { ariaLabel: `${s.current ? 'Log out here' : 'End'}: the session from ${s.userAgent || 'an unknown browser'}, last used ${when(s.lastUsedAt)}` });
	return section('Sessions',
		table('Where you are signed in', [
			['Browser', (s) => [s.userAgent || 'unknown', s.current ? h('strong', {}, ' (this one)') : '']],
			['Address', (s) => s.ip],
			['Last used', (s) => when(s.lastUsedAt)],
			['Expires', (s) => when(s.expiresAt)],
			['Actions', end],
		], sessions),
		actionButton('Log out everywhere', async () => {
			if (!(await confirmDialog('End every session, this one included?', 'Log out everywhere')))
				return;
			await request('DELETE', '/api/v1/auth/sessions');
			session.forget();
			ctx.go('/login');
		}, { className: 'danger' }));
}

function passwordSection(ctx) {
	return section('Change your password', form([
		field('Current password', { name: 'currentPassword', type: 'password', required: true, autocomplete: 'current-password' }),
		field('New password', { name: 'newPassword', type: 'password', required: true, autocomplete: 'new-password' }),
	], 'Change password', async (v, el) => {
		await request('POST', '/api/v1/auth/password/change', { body: v });
		el.reset();
		ctx.flash('Your password is changed; your other sessions have ended.');
	}));
}

export async function account(main, params, ctx) {
	const user = session.currentUser();
	let sessions;
	try {
		sessions = await sessionsSection(ctx);
	} catch (err) {
		sessions = section('Sessions', errorBox(err));
	}
	replace(main,
		h('h1', {}, 'Your account'),
		h('dl', { class: 'facts' },
			h('dt', {}, 'Email'), h('dd', {}, user.email, user.emailVerified ? ' (confirmed)' : ' (not confirmed)'),
			h('dt', {}, 'Name'), h('dd', {}, user.name || '—'),
			h('dt', {}, 'Role'), h('dd', {}, user.role),
			h('dt', {}, 'Member since'), h('dd', {}, when(user.createdAt))),
		verifySection(ctx),
		sessions,
		passwordSection(ctx));
}
