// session.js - who is signed in, and the calls that sign in and out.
//
// A sign-in answers a token pair; the browser keeps the refresh token as the
// HttpOnly aiget_refresh cookie, and the access token stays in api.js's
// memory.  A reload restores the session by spending the cookie
// (/auth/refresh).  The only thing kept in sessionStorage is a flag that a
// session existed, so that a reload after it ended can say so; no token is
// ever written where a script could read it back.

import { request, setAccessToken, refreshOnce } from './api.js';

const SIGNED_IN_FLAG = 'aiget.signedIn';
let user = null;
let renewTimer = null;
const listeners = new Set();

export function currentUser() {
	return user;
}

export function onUserChange(listener) {
	listeners.add(listener);
}

function setUser(next) {
	user = next;
	for (const listener of listeners)
		listener(user);
}

function scheduleRenewal(expiresIn) {
	clearTimeout(renewTimer);
	// Well before the access token expires, so that a request never meets
	// an expired one; a failure here is left to the next request's 401.
	const delay = Math.max(30, expiresIn * 0.8) * 1000;
	renewTimer = setTimeout(() => { refreshOnce(); }, delay);
}

function signedIn(pair) {
	setAccessToken(pair.accessToken);
	scheduleRenewal(pair.expiresIn);
	sessionStorage.setItem(SIGNED_IN_FLAG, '1');
	setUser(pair.user);
	return pair.user;
}

export function forget() {
	clearTimeout(renewTimer);
	setAccessToken(null);
	sessionStorage.removeItem(SIGNED_IN_FLAG);
	setUser(null);
}

export function hadSession() {
	return sessionStorage.getItem(SIGNED_IN_FLAG) === '1';
}

// The refresher api.js calls on a 401: true when a new pair came back.
export async function refresh() {
	try {
		signedIn(await request('POST', '/api/v1/auth/refresh', { retryOn401: false }));
		return true;
	} catch (err) {
		if (err.status === 401) {
			forget();
			return false;
		}
		throw err;
	}
}

export async function register(email, password, name) {
	return signedIn(await request('POST', '/api/v1/auth/register', { body: { email, password, name: name || null } }));
}

export async function loginWithPassword(email, password) {
	return signedIn(await request('POST', '/api/v1/auth/login', { body: { email, password } }));
}

export async function sendCode(email, purpose) {
	return request('POST', '/api/v1/auth/otp/send', { body: { email, purpose } });
}

export async function loginWithCode(email, code) {
	return signedIn(await request('POST', '/api/v1/auth/otp/verify', { body: { email, code, purpose: 'login' } }));
}

// Confirming one's own address while signed in: the access token goes with
// the code, so the account keeps its password and sessions.
export async function verifyEmail(code) {
	await request('POST', '/api/v1/auth/otp/verify', { body: { email: user.email, code, purpose: 'verify_email' } });
	setUser({ ...user, emailVerified: true });
}

export async function resetPassword(email, code, newPassword) {
	return request('POST', '/api/v1/auth/password/reset', { body: { email, code, newPassword } });
}

export async function changePassword(currentPassword, newPassword) {
	return request('POST', '/api/v1/auth/password/change', { body: { currentPassword, newPassword } });
}

export async function finishProvider(provider, code, state, name) {
	const body = name ? { code, state, name } : { code, state };
	return signedIn(await request('POST', `/api/v1/auth/${provider}/token`, { body }));
}

export async function startProvider(provider) {
	return request('POST', `/api/v1/auth/${provider}/start`);
}

export async function logout() {
	try {
		await request('POST', '/api/v1/auth/logout', { retryOn401: false });
	} finally {
		forget();
	}
}
