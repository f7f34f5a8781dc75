/* keys.c - fuzzes what the keys area reads from clients without a database: a key's shape, scope lists, expiresAt.
 *
 * The first byte picks what the rest is:
 *  0  a presented secret: api_key_well_formed() (which api_key_verify()
 *     asks before any lookup) takes exactly "agk_" and 43 characters;
 *  1  a scope list as the database's array_to_string() gives it:
 *     api_key_scopes_from_list() makes the bits of exactly the known names
 *     between commas;
 *  2  an expiresAt (shared/rfc3339.c rfc3339_parse): taken
 *     exactly when it is YYYY-MM-DDTHH:MM:SS, an optional fraction of 1-9
 *     digits and Z or +-HH:MM, of a real date (Feb 29 in leap years, a
 *     leap second), and then the epoch seconds a reference computes from
 *     days since 1970 (not timegm()).
 * Once at start: a key api_key_generate() makes is well-formed, base64url
 * of 32 bytes, and its prefix its first 12 characters. */
#include <string.h>

#include "../fcgi-apps/keys/keys.h"
#include "crypto.h"
#include "jwt.h"
#include "rfc3339.h"
#include "support/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init(NULL);
	char *secret, prefix[API_KEY_PREFIX_LEN + 1];
	unsigned char hash[CRYPTO_SHA256_LEN];
	FUZZ_CHECK(api_key_generate(fuzz_arena(), &secret, prefix, hash) == 0);
	FUZZ_CHECK(api_key_well_formed(secret) && strncmp(secret, prefix, API_KEY_PREFIX_LEN) == 0);
	size_t n;
	unsigned char *raw = jwt_b64url_decode(secret + 4, strlen(secret + 4), &n);
	FUZZ_CHECK(raw != NULL && n == 32);
	free(raw);
	fuzz_end();
	return 0;
}

static unsigned reference_scopes(const char *list)
{
	unsigned bits = 0;
	char buf[256];
	snprintf(buf, sizeof buf, "%s", list); /* the database's lists are short: longer ones are cut */
	for (const char *p = buf; *p;) {
		size_t n = strcspn(p, ",");
		if (n == 10 && strncmp(p, "memox:read", 10) == 0)
			bits |= API_KEY_SCOPE_MEMOX_READ;
		else if (n == 11 && strncmp(p, "memox:write", 11) == 0)
			bits |= API_KEY_SCOPE_MEMOX_WRITE;
		p += n + (p[n] == ',');
	}
	return bits;
}

static int num(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + s[i] - '0';
	}
	return v;
}

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant's). */
static long long days_from_civil(long long y, int m, int d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	long long yoe = y - era * 400;
	long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int reference_rfc3339(const char *s, long long *epoch)
{
	size_t len = strlen(s);
	if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
		return -1;
	int y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2), h = num(s + 11, 2), mi = num(s + 14, 2),
	    sec = num(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
		return -1;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (d > mdays[mo - 1] + (mo == 2 && leap))
		return -1;
	const char *p = s + 19;
	if (*p == '.') {
		size_t n = strspn(p + 1, "0123456789");
		if (n < 1 || n > 9)
			return -1;
		p += 1 + n;
	}
	long long offset = 0;
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		offset = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int oh = num(p + 1, 2), om = num(p + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -1;
		offset = (*p == '-' ? -1 : 1) * (oh * 3600LL + om * 60LL);
	} else {
		return -1;
	}
	*epoch = days_from_civil(y, mo, d) * 86400 + h * 3600LL + mi * 60LL + sec - offset;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned mode = data[0] % 3;
	data++;
	size--;
	const char *text = fuzz_take(&data, &size, '\0', NULL);
	switch (mode) {
	case 0: {
		int want = strlen(text) == 47 && strncmp(text, "agk_", 4) == 0;
		FUZZ_CHECK(api_key_well_formed(text) == want);
		break;
	}
	case 1:
		FUZZ_CHECK(api_key_scopes_from_list(text) == reference_scopes(text));
		break;
	default: {
		long long got = 0, want = 0;
		int rc = rfc3339_parse(text, &got), ref = reference_rfc3339(text, &want);
		if (rc != ref || (rc == 0 && got != want))
			fprintf(stderr, "\"%s\": %d %lld, the reference %d %lld\n", text, rc, got, ref, want);
		FUZZ_CHECK(rc == ref);
		FUZZ_CHECK(rc != 0 || got == want);
	}
	}
	fuzz_end();
	return 0;
}
