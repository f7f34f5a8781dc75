/* id_token.c - fuzzes what the auth area makes of a Google or Apple ID token's claims (oauth_identity_from_claims).
 *
 * The signature is jwt.c's and jwks.c's to fuzz; this is the step after it,
 * run on claims a provider signed but a client may partly choose (its name,
 * its email, the nonce it sent).  The first byte picks the provider; then a
 * line, the nonce the client sent; then the claims as JSON.  The providers'
 * configuration is the test stack's (t/harness).  Properties, against a
 * reference written here: the identity is accepted exactly when the issuer
 * is the provider's (Google's also without https://), the authorized party
 * one of our client ids (needed with several audiences), the token's nonce
 * exactly the client's (its SHA-256 in hex for Apple), the subject under 256
 * bytes and the email verified (true, or "true") and valid; then the
 * identity holds that subject, the email normalised (and valid for mail
 * too), and the name when under 257 bytes, else none. */
#include <string.h>

#include "../fcgi-apps/auth/auth.h"
#include "crypto.h"
#include "body.h"
#include "email.h"
#include "support/fuzz.h"

static const char *const env[] = {
	"GOOGLE_CLIENT_IDS=web-1.apps.googleusercontent.com, ios-1.apps.googleusercontent.com",
	"APPLE_CLIENT_IDS=test.aiget.web,test.aiget.app",
	NULL,
};
static const char *const google_ids[] = { "web-1.apps.googleusercontent.com", "ios-1.apps.googleusercontent.com" };
static const char *const apple_ids[] = { "test.aiget.web", "test.aiget.app" };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init(env);
	return 0;
}

static const char *str(struct json_object *c, const char *name)
{
	struct json_object *v;
	return json_object_object_get_ex(c, name, &v) && json_object_is_type(v, json_type_string)
		? json_object_get_string(v) : NULL;
}

static int ours(int apple, const char *id)
{
	const char *const *ids = apple ? apple_ids : google_ids;
	return id && (strcmp(id, ids[0]) == 0 || strcmp(id, ids[1]) == 0);
}

static int reference_ok(int apple, struct json_object *c, const char *nonce)
{
	const char *iss = str(c, "iss"), *tnonce = str(c, "nonce"), *sub = str(c, "sub"), *email = str(c, "email");
	struct json_object *azp, *aud, *ev;
	char normal[EMAIL_MAX + 1];
	if (!iss || strcmp(iss, apple ? "https://appleid.apple.com" : "https://accounts.google.com") != 0) {
		if (apple || !iss || strcmp(iss, "accounts.google.com") != 0)
			return 0;
	}
	if (json_object_object_get_ex(c, "azp", &azp)) {
		if (!json_object_is_type(azp, json_type_string) || !ours(apple, json_object_get_string(azp)))
			return 0;
	} else if (json_object_object_get_ex(c, "aud", &aud) && json_object_is_type(aud, json_type_array) &&
		   json_object_array_length(aud) > 1) {
		return 0;
	}
	char want[65];
	if (apple) {
		unsigned char d[CRYPTO_SHA256_LEN];
		crypto_sha256(nonce, strlen(nonce), d);
		crypto_hex(d, sizeof d, want);
		nonce = want;
	}
	if (!tnonce || strcmp(tnonce, nonce) != 0)
		return 0;
	if (!sub || strlen(sub) >= 256)
		return 0;
	int verified = json_object_object_get_ex(c, "email_verified", &ev) &&
		       (json_object_is_type(ev, json_type_boolean) ? json_object_get_boolean(ev)
			: str(c, "email_verified") && strcmp(str(c, "email_verified"), "true") == 0);
	return email && verified && email_normalize(email, normal) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int apple = data[0] & 1;
	data++;
	size--;
	size_t nlen;
	const char *nonce = fuzz_take(&data, &size, '\n', &nlen);
	char why[256];
	struct json_object *claims = body_json_parse((const char *)data, size, why, sizeof why);
	/* The nonce is a JSON string of the client's (at most 256 bytes, no NUL);
	 * the claims, a JWT payload: an object. */
	if (claims == NULL || !json_object_is_type(claims, json_type_object) || strlen(nonce) != nlen || nlen > 256 ||
	    nlen == 0) {
		json_object_put(claims);
		return 0;
	}
	struct request *req = fuzz_request(NULL, 0, NULL, 0);
	struct oauth_identity id;
	memset(&id, 'x', sizeof id);
	const char *got = oauth_identity_from_claims(req, apple ? OAUTH_APPLE : OAUTH_GOOGLE, claims, nonce, &id);
	int want = reference_ok(apple, claims, nonce);
	if ((got == NULL) != want)
		fprintf(stderr, "oauth says %s, the reference %s\n", got ? got : "ok", want ? "ok" : "no");
	FUZZ_CHECK((got == NULL) == want);
	if (got == NULL) {
		char normal[EMAIL_MAX + 1];
		FUZZ_CHECK(strcmp(id.sub, str(claims, "sub")) == 0);
		FUZZ_CHECK(email_normalize(str(claims, "email"), normal) == 0 && strcmp(id.email, normal) == 0);
		const char *name = str(claims, "name");
		FUZZ_CHECK(strcmp(id.name, name && strlen(name) <= 256 ? name : "") == 0);
	}
	json_object_put(claims);
	fuzz_end();
	return 0;
}
