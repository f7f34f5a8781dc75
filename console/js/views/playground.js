// views/playground.js - memox tried by hand with one of your keys: see what
// the tenant holds and pick a namespace and end user from it, write memories
// there, watch them become ready, list and delete them, search with a
// filter, erase the end user.
//
// memox takes a tenant's API key, not the user's token, and the server never
// shows a key's secret again: a key made in this page's life is remembered
// (key_secrets.js), any other is pasted.  The secret stays in memory.

import { request } from '../api.js';
import { h, replace, field, form, actionButton, section, table, when, confirmDialog, errorBox, errorText, uid } from '../ui.js';
import { secretOf, latestKey } from '../key_secrets.js';

const POLL_MS = 1000;
const POLL_MAX = 60;

// Metadata and filters are JSON typed by a person: checked here for a clear
// message, and sent as typed (see api.js, rawBody).
function jsonObjectText(text, name) {
	const trimmed = text.trim();
	if (trimmed === '')
		return null;
	let value;
	try {
		value = JSON.parse(trimmed);
	} catch (err) {
		throw Object.assign(new Error(`${name}: not valid JSON (${err.message})`), { field: name });
	}
	if (value === null || typeof value !== 'object' || Array.isArray(value))
		throw new Error(`${name}: must be a JSON object, like {"topic": "food"}`);
	return trimmed;
}

function bodyText(fields, raw) {
	const parts = Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
	for (const [k, text] of Object.entries(raw))
		if (text !== null)
			parts.push(`${JSON.stringify(k)}:${text}`);
	return `{${parts.join(',')}}`;
}

function keyChooser(state, onReady) {
	const wrap = h('div', {}, h('p', {}, 'Loading your keys…'));
	const load = async () => {
		const { tenants } = await request('GET', '/api/v1/tenants', { query: { limit: 100 } });
		if (!tenants.length) {
			replace(wrap, h('p', {}, 'Create a tenant and a key first: ', h('a', { href: '#/' }, 'your tenants'), '.'));
			return;
		}
		const latest = latestKey();
		const tenantField = field('Tenant', { name: 'tenant', options: tenants.map((t) => [t.id, t.name]), value: latest ? latest.tenantId : tenants[0].id });
		const keyField = field('Key', { name: 'keyId', options: [] });
		const secretField = field('Secret', { name: 'secret', type: 'password', autocomplete: 'off', hint: 'The agk_… secret shown when the key was made. It is kept in this page only.' });
		const fillKeys = async () => {
			const { keys } = await request('GET', '/api/v1/keys', { query: { tenantId: tenantField.input.value, limit: 100 } });
			const usable = keys.filter((k) => k.status === 'active');
			replace(keyField.input, usable.length
				? usable.map((k) => h('option', { value: k.id, selected: latest && latest.id === k.id }, `${k.name} (${k.prefix}…)`))
				: h('option', { value: '' }, 'No active key: make one on the tenant\'s keys page'));
			fillSecret();
		};
		// A remembered secret fills the field; one typed by the person stays.
		let filled = false;
		const fillSecret = () => {
			const known = secretOf(keyField.input.value);
			if (known || filled)
				secretField.input.value = known || '';
			filled = Boolean(known);
		};
		secretField.input.addEventListener('input', () => { filled = false; });
		tenantField.input.addEventListener('change', () => fillKeys().catch((err) => wrap.append(errorBox(err))));
		keyField.input.addEventListener('change', fillSecret);
		await fillKeys();
		replace(wrap, form([tenantField, keyField, secretField], 'Use this key', async (v) => {
			const secret = v.secret.trim();
			if (!/^agk_[A-Za-z0-9_-]{43}$/.test(secret))
				throw new Error('secret: an API key is agk_ and 43 letters, digits, - or _');
			const self = await request('GET', '/api/v1/keys/self', { apiKey: secret });
			if (self.keyId !== v.keyId)
				throw new Error('secret: this is the secret of another key');
			state.key = secret;
			state.keyLabel = keyField.input.selectedOptions[0].textContent;
			onReady();
		}));
	};
	wrap.ready = load();
	return wrap;
}

function memoriesPane(state) {
	const wrap = h('div', {});
	let timer = null;
	let polls = 0;
	const refresh = async () => {
		clearTimeout(timer);
		const page = await request('GET', '/api/v1/memox/memories', { apiKey: state.key, query: { namespace: state.namespace, externalUserId: state.user, limit: 50 } });
		const pending = page.memories.some((m) => m.status === 'pending');
		replace(wrap,
			h('div', { class: 'row' }, actionButton('Refresh', refresh), pending ? h('span', { class: 'muted', role: 'status' }, 'Embedding… the list refreshes itself.') : null),
			table(`Memories of ${state.user} in ${state.namespace}`, [
				['Content', (m) => m.content],
				['Metadata', (m) => h('code', {}, JSON.stringify(m.metadata))],
				['Status', (m) => h('span', { class: `badge ${m.status}` }, m.status)],
				['Written', (m) => when(m.createdAt)],
				['Actions', (m) => actionButton('Delete', async () => {
					await request('DELETE', `/api/v1/memox/memories/${m.id}`, { apiKey: state.key });
					await refresh();
				}, { ariaLabel: `Delete the memory "${m.content.slice(0, 40)}"` })],
			], page.memories));
		if (pending && polls < POLL_MAX) {
			polls += 1;
			timer = setTimeout(() => refresh().catch((err) => wrap.append(errorBox(err))), POLL_MS);
		}
	};
	wrap.refresh = () => { polls = 0; return refresh(); };
	return wrap;
}

function writeForm(state, memories) {
	return form([
		field('Memory', { name: 'content', type: 'textarea', required: true, placeholder: 'Ada prefers green tea to coffee.' }),
		field('Metadata (JSON, optional)', { name: 'metadata', type: 'textarea', rows: 2, placeholder: '{"topic": "food"}' }),
	], 'Write memory', async (v, el) => {
		const metadata = jsonObjectText(v.metadata, 'metadata');
		const written = await request('POST', '/api/v1/memox/memories', {
			apiKey: state.key,
			rawBody: bodyText({ namespace: state.namespace, externalUserId: state.user, content: v.content }, { metadata }),
		});
		el.reset();
		state.flash(written.duplicate ? 'That memory was there already.' : 'Written; it is searchable once it is ready.');
		await memories.refresh();
	});
}

function searchForm(state) {
	const results = h('div', {});
	const el = form([
		field('Query', { name: 'query', required: true }),
		field('Ranking', { name: 'mode', value: 'semantic', options: [['semantic', 'By meaning (semantic)'], ['keyword', 'By words (keyword)'], ['hybrid', 'Both (hybrid)']] }),
		field('Results (topK)', { name: 'topK', type: 'number', min: 1, max: 100, value: 5 }),
		field('Filter (JSON, optional)', { name: 'filter', type: 'textarea', rows: 2, placeholder: '{"topic": "food"}' }),
	], 'Search', async (v) => {
		const filter = jsonObjectText(v.filter, 'filter');
		const topK = v.topK.trim() === '' ? undefined : Number(v.topK);
		const answer = await request('POST', '/api/v1/memox/search', {
			apiKey: state.key,
			rawBody: bodyText({ namespace: state.namespace, externalUserId: state.user, query: v.query, topK, mode: v.mode }, { filter }),
		});
		const model = answer.model ? ` · model ${answer.model}` : '';
		replace(results,
			h('p', { role: 'status' }, `${answer.results.length} result${answer.results.length === 1 ? '' : 's'} · ${answer.mode} · plan: ${answer.searchMode} · ${answer.tookMs} ms${model}`),
			table('Search results, best first', [
				['Score', (r) => r.score.toFixed(answer.mode === 'hybrid' ? 5 : 3)],
				['Content', (r) => r.content],
				['Status', (r) => r.status],
				['Metadata', (r) => h('code', {}, JSON.stringify(r.metadata))],
			], answer.results));
	});
	return h('div', {}, el, results);
}

function eraseButton(state, memories) {
	const status = h('p', { role: 'status' });
	const button = actionButton(`Erase ${state.user}`, async () => {
		if (!(await confirmDialog(`Erase every memory of ${state.user} in ${state.namespace}?`, 'Erase')))
			return;
		let erasure = await request('DELETE', '/api/v1/memox/memories', { apiKey: state.key, query: { namespace: state.namespace, externalUserId: state.user } });
		for (let i = 0; erasure.status !== 'done' && i < POLL_MAX; i++) {
			status.textContent = `Erasing… (${erasure.status})`;
			await new Promise((resolve) => setTimeout(resolve, POLL_MS));
			erasure = await request('GET', `/api/v1/memox/erasures/${erasure.id}`, { apiKey: state.key });
		}
		status.textContent = erasure.status === 'done' ? `Erased: ${erasure.deleted} ${erasure.deleted === 1 ? 'memory' : 'memories'} deleted.` : `The erasure is ${erasure.status}; it goes on in the background.`;
		await memories.refresh();
	}, { className: 'danger' });
	return h('div', {}, button, status);
}

// What the key's tenant holds (GET /namespaces, GET /users?namespace=): the
// first page of each, as a summary and as choices for the scope form's
// inputs (a <datalist>, so a new namespace or end user can still be typed).
// A failure here is said in the pane, not as an alert: the playground works
// without it, and the alerts stay the refusals of what the person asked for.
function holdingsPane(state, inputs, choose) {
	const wrap = h('div', {});
	const lists = inputs.map((input) => {
		const list = h('datalist', { id: uid('choices') });
		input.setAttribute('list', list.id);
		input.after(list);
		return list;
	});
	const users = h('div', {});
	const showUsers = async (namespace) => {
		const page = await request('GET', '/api/v1/memox/users', { apiKey: state.key, query: { namespace, limit: 50 } });
		if (namespace === state.namespace)
			replace(lists[1], page.users.map((u) => h('option', { value: u.externalUserId })));
		// Said in words when empty: the memories table's "None yet." stays the only one.
		if (!page.users.length) {
			replace(users, h('p', {}, `No end user holds memories in ${namespace} yet.`));
			return;
		}
		replace(users, table(`End users in ${namespace}${page.nextCursor ? ' (the first 50)' : ''}`, [
			['End user', (u) => u.externalUserId],
			['Memories', (u) => String(u.memories)],
			['Last write', (u) => when(u.lastWriteAt)],
			['Actions', (u) => actionButton('Use', async () => choose(namespace, u.externalUserId),
				{ ariaLabel: `Use the end user ${u.externalUserId} in ${namespace}` })],
		], page.users));
	};
	const load = async () => {
		const page = await request('GET', '/api/v1/memox/namespaces', { apiKey: state.key, query: { limit: 50 } });
		replace(lists[0], page.namespaces.map((n) => h('option', { value: n.namespace })));
		replace(wrap,
			h('div', { class: 'row' }, actionButton('Refresh the counts', () => wrap.refresh())),
			!page.namespaces.length ? h('p', {}, 'The tenant holds no memories yet.') : table(`Namespaces${page.nextCursor ? ' (the first 50)' : ''}`, [
				['Namespace', (n) => n.namespace],
				['End users', (n) => String(n.users)],
				['Memories', (n) => String(n.memories)],
				['Last write', (n) => when(n.lastWriteAt)],
				['Actions', (n) => actionButton('Show end users', () => showUsers(n.namespace),
					{ ariaLabel: `Show end users of ${n.namespace}` })],
			], page.namespaces),
			users);
		await showUsers(state.namespace);
	};
	wrap.refresh = () => load().catch((err) => wrap.append(h('p', { class: 'muted' }, `The counts could not be read: ${errorText(err)}`)));
	return wrap;
}

export async function view(main, params, ctx) {
	const state = { key: null, keyLabel: '', namespace: 'playground', user: 'user-1', flash: ctx.flash };
	const work = h('div', {});
	const showWork = () => {
		const memories = memoriesPane(state);
		const namespaceField = field('Namespace', { name: 'namespace', value: state.namespace, required: true });
		const userField = field('End user', { name: 'user', value: state.user, required: true, hint: 'Your application\'s own id for its user.' });
		const switchTo = (namespace, user) => {
			state.namespace = namespace;
			state.user = user;
			showWork();
		};
		const scopeForm = form([namespaceField, userField], 'Switch scope', async (v) => switchTo(v.namespace.trim(), v.user.trim()),
			{ className: 'grid-form' });
		const holdings = holdingsPane(state, [namespaceField.input, userField.input], switchTo);
		replace(work,
			h('p', {}, `Using ${state.keyLabel}. `, h('button', { type: 'button', class: 'link', onclick: () => ctx.go('/playground') }, 'Use another key')),
			section('Scope', scopeForm),
			section('What the tenant holds', holdings),
			section('Write', writeForm(state, memories)),
			section('Memories', memories),
			section('Search', searchForm(state)),
			section('Erase the end user', eraseButton(state, memories)));
		memories.refresh().catch((err) => memories.append(errorBox(err)));
		holdings.refresh();
	};
	const chooser = keyChooser(state, showWork);
	replace(main, h('h1', {}, 'Memox playground'), section('Key', chooser), work);
	await chooser.ready;
}
