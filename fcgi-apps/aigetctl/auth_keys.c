/* auth_keys.c - `aigetctl auth rotate-signing-key`: a new current signing key.
 *
 * The previous key stays published (GET /api/v1/auth/jwks), so tokens it
 * signed keep verifying until they expire; older keys are retired.  Every
 * responder picks the new key up within SIGNING_KEYS_TTL_S seconds, or at
 * once when it meets a token with the new kid.  The private key is never printed. */
#include "auth_keys.h"

#include <stdio.h>
#include <string.h>

#include "signing_keys.h"

int auth_command(struct app_context *ctx, int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "rotate-signing-key") != 0) {
		fprintf(stderr, "usage: aigetctl auth rotate-signing-key\n");
		return 64;
	}
	char kid[33], err[256];
	if (signing_keys_rotate(ctx->db, kid, err, sizeof err) != 0) {
		fprintf(stderr, "aigetctl auth: %s\n", err);
		return 1;
	}
	printf("new signing key %s is current; the previous one still verifies its tokens\n", kid);
	return 0;
}
