// api.js - every call the console makes to the API goes through request().
//
// The access token lives only in this module's memory: a reload loses it, and
// session.js gets a new one from the refresh cookie (HttpOnly, so no script
// here can read it).  A 401 on a route that takes the user's token is
// answered by one refresh and one retry; when the refresh fails too, the
// session is over and the signed-out handler sends the person to the login
// page with a message.  Errors come back as ApiError, built from the API's
// error object ({"error": {"code", "message", "requestId"}}).

let apiBase = '';
let accessToken = null;
let refreshing = null;
let refresher = async () => false;
let signedOut = () => {};

export class ApiError extends Error {
	constructor(status, error, retryAfter) {
		super(error && error.message ? error.message : `the server answered ${status}`);
		this.status = status;
		this.code = error && error.code ? error.code : 'unavailable';
		this.requestId = error && error.requestId ? error.requestId : null;
		this.retryAfter = retryAfter;
	}

	// What the page shows: the API's own message, which is written to be
	// shown, plus when to retry for a 429 or 503.
	get plain() {
		let text = this.message.charAt(0).toUpperCase() + this.message.slice(1);
		if (!/[.!?]$/.test(text))
			text += '.';
		if (this.retryAfter != null && (this.status === 429 || this.status === 503))
			text += ` Try again in ${this.retryAfter} second${this.retryAfter === 1 ? '' : 's'}.`;
		return text;
	}
}

export function configure({ api, refresh, onSignedOut }) {
	apiBase = (api || '').replace(/\/+$/, '');
	refresher = refresh;
	signedOut = onSignedOut;
}

export function setAccessToken(token) {
	accessToken = token;
}

export function hasAccessToken() {
	return accessToken !== null;
}

export function apiUrl(path) {
	return apiBase + path;
}

function withQuery(path, query) {
	if (!query)
		return path;
	const params = new URLSearchParams();
	for (const [name, value] of Object.entries(query))
		if (value !== undefined && value !== null && value !== '')
			params.set(name, String(value));
	const text = params.toString();
	return text ? `${path}?${text}` : path;
}

async function send(method, path, { body, rawBody, query, apiKey, headers = {} }) {
	const init = { method, credentials: 'include', headers: { ...headers } };
	if (body !== undefined || rawBody !== undefined) {
		init.headers['Content-Type'] = 'application/json';
		init.body = rawBody !== undefined ? rawBody : JSON.stringify(body);
	}
	const token = apiKey || accessToken;
	if (token)
		init.headers.Authorization = `Bearer ${token}`;
	let res;
	try {
		res = await fetch(apiUrl(withQuery(path, query)), init);
	} catch {
		throw new ApiError(0, { code: 'unavailable', message: 'the server cannot be reached; check your connection' }, null);
	}
	if (res.status === 204)
		return { status: 204, body: null };
	let data = null;
	try {
		data = await res.json();
	} catch {
		data = null;
	}
	if (!res.ok) {
		const retry = res.headers.get('Retry-After');
		throw new ApiError(res.status, data && data.error, retry === null ? null : Number(retry));
	}
	return { status: res.status, body: data };
}

// One refresh at a time: concurrent 401s wait for the same one.
export function refreshOnce() {
	if (!refreshing)
		refreshing = refresher().finally(() => { refreshing = null; });
	return refreshing;
}

// request(method, path, {body, rawBody, query, apiKey, headers, retryOn401})
// -> parsed body.  apiKey calls memox with a tenant's key instead of the
// user's token; rawBody is JSON text sent as written, so that numbers typed
// by a person reach the API as typed (JSON.stringify would round 2^63).
export async function request(method, path, options = {}) {
	const userCall = !options.apiKey && options.retryOn401 !== false;
	try {
		return (await send(method, path, options)).body;
	} catch (err) {
		if (!(err instanceof ApiError) || err.status !== 401 || !userCall || !accessToken)
			throw err;
	}
	if (!(await refreshOnce())) {
		signedOut('Your session has ended. Please sign in again.');
		throw new ApiError(401, { code: 'unauthorized', message: 'your session has ended' }, null);
	}
	return (await send(method, path, options)).body;
}
