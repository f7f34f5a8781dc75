// views/keys.js - a tenant's API keys: create (the secret shown once),
// list, disable and enable, rotate with an overlap, delete.

import { request } from '../api.js';
import { h, replace, field, form, actionButton, section, table, when, confirmDialog, uid } from '../ui.js';
import { rememberSecret } from '../key_secrets.js';

const OVERLAPS = [
	[0, 'None: the old key stops now'],
	[300, '5 minutes'],
	[3600, '1 hour'],
	[86400, '1 day'],
];

// The secret, once: a read-only field to select, a copy button and a warning.
function secretPanel(key, heading) {
	rememberSecret(key);
	const id = uid('secret');
	const input = h('input', { id, type: 'text', readonly: true, value: key.key, class: 'secret', spellcheck: 'false' });
	const status = h('span', { role: 'status' });
	const copy = h('button', { type: 'button', onclick: async () => {
		try {
			await navigator.clipboard.writeText(key.key);
			status.textContent = 'Copied.';
		} catch {
			input.select();
			status.textContent = 'Select the key and copy it.';
		}
	} }, 'Copy');
	return h('div', { class: 'card secret-panel', role: 'region', 'aria-labelledby': `${id}-title` },
		h('h2', { id: `${id}-title` }, heading),
		h('p', { class: 'warning' }, 'Copy this key now. It is shown only once: the server keeps only its hash, so a lost key is replaced, not recovered.'),
		h('label', { for: id }, `Secret of ${key.name} (${key.prefix}…)`),
		h('div', { class: 'row' }, input, copy, status),
		h('p', {}, h('a', { href: '#/playground' }, 'Try it in the playground')));
}

function statusBadge(key) {
	const text = key.revokeAt && key.status === 'active' ? `active until ${when(key.revokeAt)}` : key.status;
	return h('span', { class: `badge ${key.status}` }, text);
}

function rotateControl(key, reveal) {
	const select = field(`Overlap for ${key.name}`, { name: 'overlapSeconds', options: OVERLAPS, value: 0 });
	select.classList.add('inline');
	const button = actionButton('Rotate', async () => {
		const overlap = Number(select.input.value);
		const text = overlap ? `Replace ${key.prefix}…? The old key keeps working for ${OVERLAPS.find(([s]) => s === overlap)[1]}.` : `Replace ${key.prefix}…? The old key stops within a second.`;
		if (!(await confirmDialog(text, 'Rotate')))
			return;
		const next = await request('POST', `/api/v1/keys/${key.id}/rotate`, { body: { overlapSeconds: overlap } });
		reveal(next, `The replacement of ${key.prefix}…`);
	}, { ariaLabel: `Rotate ${key.name} (${key.prefix})` });
	return h('div', { class: 'row' }, select, button);
}

export async function keysPane(tenant, ctx) {
	const canManage = tenant.role === 'owner' || tenant.role === 'admin';
	const wrap = h('div', {});
	const revealed = h('div', {});
	const list = h('div', {});
	const reload = async () => {
		const { keys } = await request('GET', '/api/v1/keys', { query: { tenantId: tenant.id, limit: 100 } });
		const working = (k) => k.status === 'active' || k.status === 'disabled';
		replace(list, table('API keys of this tenant', [
			['Name', (k) => k.name],
			['Prefix', (k) => h('code', {}, `${k.prefix}…`)],
			['Scopes', (k) => k.scopes.join(', ')],
			['Status', statusBadge],
			['Expires', (k) => when(k.expiresAt)],
			['Last used', (k) => when(k.lastUsedAt)],
			['Actions', (k) => !canManage || !working(k) ? '' : h('div', { class: 'actions' },
				k.status === 'active'
					? actionButton('Disable', async () => { await request('POST', `/api/v1/keys/${k.id}/disable`); await reload(); }, { ariaLabel: `Disable ${k.name} (${k.prefix})` })
					: actionButton('Enable', async () => { await request('POST', `/api/v1/keys/${k.id}/enable`); await reload(); }, { ariaLabel: `Enable ${k.name} (${k.prefix})` }),
				k.rotatedTo ? null : rotateControl(k, reveal),
				actionButton('Delete', async () => {
					if (!(await confirmDialog(`Delete the key ${k.name} (${k.prefix}…)? It stops within a second.`, 'Delete key')))
						return;
					await request('DELETE', `/api/v1/keys/${k.id}`);
					await reload();
				}, { className: 'danger', ariaLabel: `Delete ${k.name} (${k.prefix})` }))],
		], keys));
	};
	const reveal = async (key, heading) => {
		replace(revealed, secretPanel(key, heading));
		await reload();
		revealed.querySelector('input').focus();
	};
	await reload();
	if (!canManage) {
		wrap.append(h('p', {}, 'Members see the keys; owners and admins make and change them.'), list);
		return wrap;
	}
	const scopes = h('fieldset', {}, h('legend', {}, 'Scopes'),
		['memox:read', 'memox:write'].map((scope) => {
			const id = uid('scope');
			return h('div', { class: 'check' }, h('input', { id, type: 'checkbox', name: `scope:${scope}`, checked: true }), h('label', { for: id }, scope));
		}));
	wrap.append(revealed, section('Create a key', form([
		field('Name', { name: 'name', required: true, hint: 'What uses it, e.g. "notes backend".' }),
		scopes,
		field('Expires', { name: 'expiresAt', type: 'datetime-local', hint: 'Optional; in your local time.' }),
	], 'Create key', async (v, el) => {
		const chosen = ['memox:read', 'memox:write'].filter((s) => v[`scope:${s}`]);
		const body = { tenantId: tenant.id, name: v.name.trim(), scopes: chosen };
		if (v.expiresAt)
			body.expiresAt = new Date(v.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
		const key = await request('POST', '/api/v1/keys', { body });
		el.reset();
		await reveal(key, `New key ${key.name}`);
	})), section('Keys', list));
	return wrap;
}
