// views/tenants.js - the caller's tenants and one tenant's pages: overview,
// keys, limits, usage, members and invitations, audit log.

import { request } from '../api.js';
import { h, replace, field, form, actionButton, section, table, when, confirmDialog, errorBox } from '../ui.js';
import { limitsForm, usageView } from '../limits.js';
import { keysPane } from './keys.js';

const TABS = [
	['overview', 'Overview'],
	['keys', 'API keys'],
	['limits', 'Limits'],
	['usage', 'Usage'],
	['members', 'Members'],
	['audit', 'Audit log'],
];

async function myInvitations(ctx) {
	const { invitations } = await request('GET', '/api/v1/tenants/invitations');
	if (!invitations.length)
		return null;
	return section('Invitations for you', table('Tenants you are invited to', [
		['Tenant', (i) => i.tenantName],
		['Role', (i) => i.role],
		['Expires', (i) => when(i.expiresAt)],
		['Actions', (i) => actionButton('Accept', async () => {
			const accepted = await request('POST', `/api/v1/tenants/invitations/${i.id}/accept`);
			ctx.go(`/tenants/${accepted.tenant.id}`);
		}, { ariaLabel: `Accept the invitation to ${i.tenantName}` })],
	], invitations));
}

export async function list(main, params, ctx) {
	const { tenants } = await request('GET', '/api/v1/tenants', { query: { limit: 100 } });
	let invitations = null;
	try {
		invitations = await myInvitations(ctx);
	} catch (err) {
		invitations = errorBox(err);
	}
	replace(main,
		h('h1', {}, 'Your tenants'),
		invitations,
		section('Tenants', table('Tenants you belong to', [
			['Name', (t) => h('a', { href: `#/tenants/${t.id}` }, t.name)],
			['Your role', (t) => t.role],
			['Status', (t) => h('span', { class: `badge ${t.status}` }, t.status)],
			['Created', (t) => when(t.createdAt)],
		], tenants)),
		section('Create a tenant', form([
			field('Name', { name: 'name', required: true, hint: 'A tenant holds API keys, limits and memories.' }),
		], 'Create tenant', async (v) => {
			const { tenant } = await request('POST', '/api/v1/tenants', { body: { name: v.name.trim() } });
			ctx.go(`/tenants/${tenant.id}`, `Tenant ${tenant.name} is created.`);
		})));
}

function overview(tenant, ctx) {
	const base = `/api/v1/tenants/${tenant.id}`;
	const canManage = tenant.role === 'owner' || tenant.role === 'admin';
	return h('div', {},
		h('dl', { class: 'facts' },
			h('dt', {}, 'Id'), h('dd', {}, h('code', {}, tenant.id)),
			h('dt', {}, 'Status'), h('dd', {}, h('span', { class: `badge ${tenant.status}` }, tenant.status)),
			h('dt', {}, 'Your role'), h('dd', {}, tenant.role),
			h('dt', {}, 'Created'), h('dd', {}, when(tenant.createdAt))),
		tenant.status === 'suspended' ? h('p', { class: 'warning' }, 'This tenant is suspended by the site\'s administrators: its keys are refused until it is resumed.') : null,
		canManage ? section('Rename', form([
			field('Name', { name: 'name', value: tenant.name, required: true }),
		], 'Rename', async (v) => {
			await request('PATCH', base, { body: { name: v.name.trim() } });
			ctx.go(`/tenants/${tenant.id}`, 'The tenant is renamed.');
		})) : null,
		tenant.role === 'owner' ? section('Delete', h('p', {}, 'Deleting a tenant stops its keys at once and erases its memories.'),
			actionButton('Delete this tenant', async () => {
				if (!(await confirmDialog(`Delete the tenant ${tenant.name}? Its keys stop and its memories are erased. This cannot be undone.`, 'Delete tenant')))
					return;
				await request('DELETE', base);
				ctx.go('/', `Tenant ${tenant.name} is deleted.`);
			}, { className: 'danger' })) : null);
}

async function limitsTab(tenant, ctx) {
	const path = `/api/v1/tenants/${tenant.id}/limits`;
	const current = await request('GET', path);
	const wrap = h('div', {});
	const show = (limits) => {
		const canEdit = tenant.role === 'owner' || tenant.role === 'admin';
		replace(wrap,
			h('p', {}, 'Limits apply to every request made with this tenant\'s API keys. They cannot go above the ceilings the site sets.'),
			canEdit
				? limitsForm(limits.limits, limits.ceilings, path, (saved) => { ctx.flash('The limits are saved; keys use them within a second.'); show(saved); })
				: table('Limits', [['Limit', (r) => r[0]], ['Value', (r) => r[1]]], Object.entries(limits.limits)),
			h('p', { class: 'muted' }, `Last changed: ${when(limits.updatedAt)}`));
	};
	show(current);
	return wrap;
}

async function usageTab(tenant) {
	const [usage, limits] = await Promise.all([
		request('GET', `/api/v1/tenants/${tenant.id}/usage`),
		request('GET', `/api/v1/tenants/${tenant.id}/limits`),
	]);
	return usageView(usage, limits.limits);
}

async function membersTab(tenant, ctx) {
	const base = `/api/v1/tenants/${tenant.id}`;
	const canManage = tenant.role === 'owner' || tenant.role === 'admin';
	const reload = (message) => ctx.go(`/tenants/${tenant.id}/members`, message);
	const { members } = await request('GET', `${base}/members`, { query: { limit: 100 } });
	const invitations = canManage ? (await request('GET', `${base}/invitations`, { query: { limit: 100 } })).invitations : [];
	const roles = tenant.role === 'owner' ? ['member', 'admin', 'owner'] : ['member', 'admin'];
	const roleCell = (m) => {
		if (!canManage)
			return m.role;
		const select = field(`Role of ${m.email}`, { name: 'role', options: roles, value: m.role });
		select.classList.add('inline');
		select.input.addEventListener('change', async () => {
			try {
				await request('PATCH', `${base}/members/${m.userId}`, { body: { role: select.input.value } });
				ctx.flash(`${m.email} is now ${select.input.value}.`);
			} catch (err) {
				select.after(errorBox(err));
				select.input.value = m.role;
			}
		});
		return select;
	};
	return h('div', {},
		table('Members', [
			['Email', (m) => m.email],
			['Name', (m) => m.name || '—'],
			['Role', roleCell],
			['Joined', (m) => when(m.joinedAt)],
			['Actions', (m) => canManage ? actionButton('Remove', async () => {
				if (!(await confirmDialog(`Remove ${m.email} from ${tenant.name}?`, 'Remove')))
					return;
				await request('DELETE', `${base}/members/${m.userId}`);
				reload();
			}, { ariaLabel: `Remove ${m.email}` }) : ''],
		], members),
		canManage ? section('Invite someone', form([
			field('Email', { name: 'email', type: 'email', required: true }),
			field('Role', { name: 'role', options: roles, value: 'member' }),
		], 'Send invitation', async (v) => {
			await request('POST', `${base}/members`, { body: { email: v.email.trim(), role: v.role } });
			reload(`An invitation is on its way to ${v.email.trim()}.`);
		})) : null,
		canManage ? section('Open invitations', table('Invitations not yet accepted', [
			['Email', (i) => i.email],
			['Role', (i) => i.role],
			['Status', (i) => i.status],
			['Expires', (i) => when(i.expiresAt)],
			['Actions', (i) => actionButton('Revoke', async () => {
				await request('DELETE', `${base}/invitations/${i.id}`);
				reload();
			}, { ariaLabel: `Revoke the invitation of ${i.email}` })],
		], invitations)) : null);
}

// The audit log, a page at a time ("Older entries" follows nextCursor).
export function auditPane(path) {
	const wrap = h('div', {});
	const rows = h('tbody', {});
	const more = h('div', {});
	const load = async (cursor) => {
		const page = await request('GET', path, { query: { limit: 25, cursor } });
		for (const e of page.entries)
			rows.append(h('tr', {},
				h('td', {}, when(e.at)),
				h('td', {}, e.actorEmail || e.actorId || 'system'),
				h('td', {}, h('code', {}, e.action)),
				h('td', {}, e.target || '—'),
				h('td', {}, e.detail ? h('code', {}, JSON.stringify(e.detail)) : '—')));
		if (!rows.children.length)
			rows.append(h('tr', {}, h('td', { colspan: 5 }, 'Nothing recorded yet.')));
		replace(more, page.nextCursor ? actionButton('Older entries', () => load(page.nextCursor)) : null);
	};
	wrap.append(h('table', {},
		h('caption', {}, 'What was done, newest first'),
		h('thead', {}, h('tr', {}, ['When', 'Who', 'Action', 'Target', 'Detail'].map((t) => h('th', { scope: 'col' }, t)))),
		rows), more);
	wrap.ready = load(null);
	return wrap;
}

export async function tenant(main, [id, tab = 'overview'], ctx) {
	const { tenant: t } = await request('GET', `/api/v1/tenants/${id}`);
	const tabs = h('nav', { class: 'tabs', 'aria-label': 'Tenant' },
		TABS.map(([name, label]) => h('a', { href: `#/tenants/${id}/${name}`, 'aria-current': name === tab ? 'page' : null }, label)));
	const label = (TABS.find(([name]) => name === tab) || TABS[0])[1];
	let body;
	try {
		switch (tab) {
		case 'keys': body = await keysPane(t, ctx); break;
		case 'limits': body = await limitsTab(t, ctx); break;
		case 'usage': body = await usageTab(t); break;
		case 'members': body = await membersTab(t, ctx); break;
		case 'audit': body = auditPane(`/api/v1/tenants/${id}/audit`); await body.ready; break;
		default: body = overview(t, ctx);
		}
	} catch (err) {
		body = errorBox(err);
	}
	replace(main, h('h1', {}, t.name, h('span', { class: 'subtitle' }, ` — ${label}`)), tabs, body);
}
