// main.js - the console's start and its router.
//
// config.json says where the API is ("" for this page's own origin) and
// which view the site opens on ("console", or "admin" on the admin host).
// Pages are addressed by the URL's fragment (#/tenants/<id>/keys), so that
// nginx serves one index.html and reloading keeps the place.

import { configure } from './api.js';
import * as session from './session.js';
import { h, replace, flash, errorBox } from './ui.js';
import * as accountViews from './views/account.js';
import * as tenantViews from './views/tenants.js';
import * as playground from './views/playground.js';
import * as admin from './views/admin.js';

const main = document.getElementById('main');
let startView = 'console';
let pendingMessage = null;

// [pattern, view, needs a signed-in user, needs the admin role]
const routes = [
	[/^\/login$/, accountViews.login, false],
	[/^\/register$/, accountViews.register, false],
	[/^\/forgot$/, accountViews.forgot, false],
	[/^\/$/, tenantViews.list, true],
	[/^\/tenants\/([0-9a-f-]{36})(?:\/([a-z]+))?$/, tenantViews.tenant, true],
	[/^\/playground$/, playground.view, true],
	[/^\/account$/, accountViews.account, true],
	[/^\/admin$/, admin.view, true, true],
	[/^\/admin\/tenants\/([0-9a-f-]{36})$/, admin.tenant, true, true],
];

// go(path, message): to a page, with a message to show there.
export function go(path, message) {
	if (message)
		pendingMessage = message;
	if (location.hash === `#${path}`)
		render();
	else
		location.hash = path;
}

function homePath() {
	const user = session.currentUser();
	return startView === 'admin' && user && user.role === 'admin' ? '/admin' : '/';
}

function navigation() {
	const nav = document.getElementById('nav');
	const user = session.currentUser();
	if (!user) {
		replace(nav, h('a', { href: '#/login' }, 'Log in'), h('a', { href: '#/register' }, 'Sign up'));
		return;
	}
	const here = location.hash.slice(1) || '/';
	const link = (path, text) => h('a', { href: `#${path}`, 'aria-current': here === path || (path !== '/' && here.startsWith(path)) ? 'page' : null }, text);
	replace(nav,
		link('/', 'Tenants'),
		link('/playground', 'Playground'),
		user.role === 'admin' ? link('/admin', 'Admin') : null,
		link('/account', 'Account'),
		h('button', { type: 'button', class: 'link', onclick: async () => {
			await session.logout().catch(() => {});
			pendingMessage = 'You are logged out.';
			go('/login');
		} }, 'Log out'));
}

async function render() {
	const path = location.hash.slice(1) || homePath();
	const user = session.currentUser();
	let match = null;
	let route = null;
	for (const candidate of routes) {
		match = candidate[0].exec(path);
		if (match) {
			route = candidate;
			break;
		}
	}
	navigation();
	if (!route) {
		go(homePath());
		return;
	}
	const [, view, needsUser, needsAdmin] = route;
	if (needsUser && !user) {
		accountViews.rememberDestination(path);
		go('/login');
		return;
	}
	if (!needsUser && user && path !== '/forgot') {
		go(homePath());
		return;
	}
	flash(pendingMessage);
	pendingMessage = null;
	if (needsAdmin && user.role !== 'admin') {
		replace(main, h('h1', {}, 'Admin'), h('p', { role: 'alert' }, 'This page is for the site\'s administrators.'));
		return;
	}
	replace(main, h('p', {}, 'Loading…'));
	try {
		await view(main, match.slice(1), { go, flash: (text) => flash(text) });
	} catch (err) {
		replace(main, h('h1', {}, 'Something went wrong'), errorBox(err));
	}
	const heading = main.querySelector('h1');
	if (heading) {
		heading.setAttribute('tabindex', '-1');
		heading.focus({ preventScroll: true });
	}
}

// The way back from Google or Apple: the auth area's callback routes send
// the browser here with ?provider=...&code=...&state=... (and Apple's name),
// or with the provider's error; /token then finishes the sign-in.  The query
// is dropped from the address at once, so that a reload does not replay it.
async function finishProviderSignIn() {
	const params = new URLSearchParams(location.search);
	const provider = params.get('provider');
	if (provider !== 'google' && provider !== 'apple')
		return;
	history.replaceState(null, '', location.pathname + location.hash);
	const label = provider === 'google' ? 'Google' : 'Apple';
	if (params.has('error')) {
		pendingMessage = params.get('error') === 'access_denied'
			? `Signing in with ${label} was cancelled.`
			: `${label} refused the sign-in (${params.get('error')}).`;
		return;
	}
	try {
		await session.finishProvider(provider, params.get('code'), params.get('state'), params.get('name'));
	} catch (err) {
		pendingMessage = `Signing in with ${label} failed: ${err.plain || err.message}`;
	}
}

async function start() {
	let config = { api: '', view: 'console' };
	try {
		const res = await fetch('config.json', { cache: 'no-store' });
		if (res.ok)
			config = { ...config, ...(await res.json()) };
	} catch {
		// The defaults serve the page from the API's own origin.
	}
	startView = config.view === 'admin' ? 'admin' : 'console';
	if (startView === 'admin')
		document.title = 'Aiget Dev admin';
	configure({
		api: config.api,
		refresh: session.refresh,
		onSignedOut: (message) => {
			session.forget();
			pendingMessage = message;
			accountViews.rememberDestination(location.hash.slice(1));
			go('/login');
		},
	});
	const hadSession = session.hadSession();
	await finishProviderSignIn();
	if (!session.currentUser()) {
		try {
			if (!(await session.refresh()) && hadSession)
				pendingMessage = 'Your session has ended. Please sign in again.';
		} catch (err) {
			pendingMessage = `Your session could not be restored: ${err.message}`;
		}
	}
	session.onUserChange(navigation);
	window.addEventListener('hashchange', render);
	render();
}

start();
