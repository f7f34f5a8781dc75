// views/admin.js - the back office, for accounts with the admin role: find
// tenants and users, suspend and resume, limits and ceilings, usage, audit.

import { request } from '../api.js';
import { h, replace, field, form, actionButton, section, table, when, errorBox } from '../ui.js';
import { limitsForm, usageView } from '../limits.js';
import { auditPane } from './tenants.js';

function tenantFinder() {
	const results = h('div', {});
	const search = async ({ query, status }) => {
		const page = await request('GET', '/api/v1/admin/tenants', { query: { query: query.trim(), status, limit: 50 } });
		replace(results, table('Tenants found', [
			['Name', (t) => h('a', { href: `#/admin/tenants/${t.id}` }, t.name)],
			['Status', (t) => h('span', { class: `badge ${t.status}` }, t.status)],
			['Members', (t) => t.memberCount],
			['Created', (t) => when(t.createdAt)],
		], page.tenants));
	};
	const el = form([
		field('Name or id', { name: 'query' }),
		field('Status', { name: 'status', options: [['', 'any'], 'active', 'suspended', 'deleted'] }),
	], 'Find tenants', search, { className: 'grid-form' });
	search({ query: '', status: '' }).catch((err) => results.append(errorBox(err)));
	return h('div', {}, el, results);
}

function userFinder() {
	const results = h('div', {});
	const search = async ({ query }) => {
		const page = await request('GET', '/api/v1/admin/users', { query: { query: query.trim(), limit: 50 } });
		replace(results, table('Users found', [
			['Email', (u) => u.email],
			['Confirmed', (u) => (u.emailVerified ? 'yes' : 'no')],
			['Name', (u) => u.name || '—'],
			['Role', (u) => u.role],
			['Tenants', (u) => u.tenantCount],
			['Since', (u) => when(u.createdAt)],
		], page.users));
	};
	return h('div', {}, form([field('Email or name', { name: 'query' })], 'Find users', search, { className: 'grid-form' }), results);
}

export async function view(main) {
	replace(main, h('h1', {}, 'Admin'), section('Tenants', tenantFinder()), section('Users', userFinder()));
}

export async function tenant(main, [id], ctx) {
	const base = `/api/v1/admin/tenants/${id}`;
	const [{ tenant: t }, limits, ceilings, usage] = await Promise.all([
		request('GET', base),
		request('GET', `${base}/limits`),
		request('GET', `${base}/ceilings`),
		request('GET', `${base}/usage`).catch((err) => err),
	]);
	const reload = (message) => ctx.go(`/admin/tenants/${id}`, message);
	const audit = auditPane(`${base}/audit`);
	const toggle = t.status === 'active'
		? actionButton('Suspend', async () => { await request('POST', `${base}/suspend`); reload(`${t.name} is suspended; its keys are refused within a second.`); }, { className: 'danger' })
		: t.status === 'suspended'
			? actionButton('Resume', async () => { await request('POST', `${base}/resume`); reload(`${t.name} is resumed.`); })
			: null;
	replace(main,
		h('h1', {}, t.name, h('span', { class: 'subtitle' }, ' — admin')),
		h('p', {}, h('a', { href: '#/admin' }, '← All tenants')),
		h('dl', { class: 'facts' },
			h('dt', {}, 'Id'), h('dd', {}, h('code', {}, t.id)),
			h('dt', {}, 'Status'), h('dd', {}, h('span', { class: `badge ${t.status}` }, t.status)),
			h('dt', {}, 'Members'), h('dd', {}, t.memberCount),
			h('dt', {}, 'Created'), h('dd', {}, when(t.createdAt)),
			h('dt', {}, 'Suspended'), h('dd', {}, when(t.suspendedAt))),
		toggle,
		section('Limits', limitsForm(limits.limits, ceilings.ceilings, `${base}/limits`, () => { reload('The limits are saved.'); })),
		section('Ceilings', h('p', {}, 'The most the tenant\'s own owners may set.'),
			limitsForm(ceilings.ceilings, null, `${base}/ceilings`, () => { reload('The ceilings are saved.'); }, 'Save ceilings')),
		section('Usage', usage instanceof Error ? errorBox(usage) : usageView(usage, limits.limits)),
		section('Audit log', audit));
	await audit.ready;
}
