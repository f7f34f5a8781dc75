// key_secrets.js - the secrets of keys made or rotated in this page's life.
//
// The server shows a key's secret once.  So that the playground can use a key
// just made without asking for it again, the secret is kept here, in this
// module's memory only: a reload forgets it, and the playground then asks
// for it to be pasted.

const secrets = new Map();
let latest = null;

export function rememberSecret(key) {
	secrets.set(key.id, key.key);
	latest = { id: key.id, tenantId: key.tenantId };
}

export function secretOf(keyId) {
	return secrets.get(keyId) || null;
}

export function latestKey() {
	return latest;
}
