/* jwks.c - GET /jwks: the public halves of the published signing keys.
 *
 * Verifiers (our own responders, and anyone checking our tokens offline)
 * fetch this and follow rotations: the previous key stays listed until the
 * next rotation, so tokens it signed keep verifying until they expire. */
#include "auth.h"

#include "log.h"
#include "signing_keys.h"

void jwks_get(struct request *req)
{
	char err[256];
	/* Reloaded (at most every SIGNING_KEYS_MISS_S) rather than served from
	 * the minute-long cache: a key signs only once it is
	 * SIGNING_KEYS_ACTIVATE_S old, longer than that, so every answer lists
	 * every key that signs. */
	if (signing_keys_load(req->ctx->signing_keys, req->ctx->db, 1, err, sizeof err) != 0) {
		response_unavailable(req, "jwks", err);
		return;
	}
	/* Short enough that a rotation reaches caches well within a token's life. */
	response_header(req, "Cache-Control", "public, max-age=300");
	response_json(req, 200, signing_keys_jwks(req->ctx->signing_keys));
}
