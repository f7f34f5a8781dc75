/* email.c - trim, split at the last '@', check both halves, lower-case the domain. */
#include "email.h"

#include <string.h>

static int local_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL;
}

static int domain_ok(const char *d, size_t n)
{
	size_t label = 0;
	int labels = 0;
	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = i < n ? (unsigned char)d[i] : '.';
		if (c == '.') {
			if (label == 0 || label > 63 || d[i - 1] == '-' || d[i - label] == '-')
				return 0;
			label = 0;
			labels++;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
		label++;
	}
	return labels >= 2; /* a dot in the domain: no bare "localhost" */
}

int email_normalize(const char *in, char out[EMAIL_MAX + 1])
{
	while (*in == ' ' || *in == '\t' || *in == '\r' || *in == '\n')
		in++;
	size_t n = strlen(in);
	while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\t' || in[n - 1] == '\r' || in[n - 1] == '\n'))
		n--;
	if (n == 0 || n > EMAIL_MAX)
		return -1;
	const char *at = memrchr(in, '@', n);
	if (at == NULL)
		return -1;
	size_t llen = (size_t)(at - in), dlen = n - llen - 1;
	if (llen == 0 || llen > 64 || in[0] == '.' || in[llen - 1] == '.')
		return -1;
	for (size_t i = 0; i < llen; i++)
		if (!local_char_ok((unsigned char)in[i]) || (in[i] == '.' && in[i + 1] == '.'))
			return -1;
	if (!domain_ok(at + 1, dlen))
		return -1;
	memcpy(out, in, n);
	out[n] = '\0';
	for (size_t i = llen + 1; i < n; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
	return 0;
}
