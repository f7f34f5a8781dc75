/* password.c - the length and common-password rules, and libscrypt calls. */
#include "password.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libscrypt.h>

const struct password_params password_default_params = { 16384, 8, 1 };

static int compare_ci(const void *key, const void *entry)
{
	return strcasecmp(key, *(const char *const *)entry);
}

int password_check_policy(const char *password, char *why, size_t whylen)
{
	size_t n = strlen(password);
	if (n < PASSWORD_MIN_BYTES) {
		snprintf(why, whylen, "must be at least %d bytes", PASSWORD_MIN_BYTES);
		return -1;
	}
	if (n > PASSWORD_MAX_BYTES) {
		snprintf(why, whylen, "must be at most %d bytes", PASSWORD_MAX_BYTES);
		return -1;
	}
	/* The list is sorted lower-case; strcasecmp orders the same way for
	 * ASCII, and a non-ASCII password is not on it anyway. */
	if (bsearch(password, password_common_list, password_common_count, sizeof password_common_list[0],
		    compare_ci) != NULL) {
		snprintf(why, whylen, "is too common");
		return -1;
	}
	return 0;
}

int password_hash(const char *password, const struct password_params *params, char out[PASSWORD_HASH_MAX])
{
	return libscrypt_hash(out, password, params->n, params->r, params->p) > 0 ? 0 : -1;
}

/* libscrypt's MCF: "$s1$" then six hex digits: log2(N) << 16 | r << 8 | p. */
static int parse_params(const char *mcf, struct password_params *out)
{
	unsigned v;
	char tail;
	if (strncmp(mcf, "$s1$", 4) != 0 || sscanf(mcf + 4, "%6x%c", &v, &tail) != 2 || tail != '$')
		return -1;
	unsigned log2n = v >> 16;
	if (log2n == 0 || log2n > 30)
		return -1;
	out->n = 1u << log2n;
	out->r = (uint8_t)(v >> 8);
	out->p = (uint8_t)v;
	return 0;
}

int password_verify(const char *mcf, const char *password, const struct password_params *params, int *outdated)
{
	struct password_params found;
	char copy[PASSWORD_HASH_MAX];
	*outdated = 0;
	if (mcf == NULL || strlen(mcf) >= sizeof copy || parse_params(mcf, &found) != 0)
		return -1;
	/* libscrypt_check tokenises its argument in place. */
	memcpy(copy, mcf, strlen(mcf) + 1);
	int r = libscrypt_check(copy, password);
	if (r < 0)
		return -1;
	*outdated = found.n != params->n || found.r != params->r || found.p != params->p;
	return r > 0;
}

void password_verify_dummy(const char *password, const struct password_params *params)
{
	/* A hash of a random-looking constant at the current parameters,
	 * made once per process: verifying against it costs what a real
	 * verification costs. */
	static char dummy[PASSWORD_HASH_MAX];
	if (dummy[0] == '\0' && password_hash("aiget-dummy-password-for-timing", params, dummy) != 0)
		return;
	int outdated;
	password_verify(dummy, password, params, &outdated);
}
