/* utf8.c - the one UTF-8 well-formedness check (request bodies have their own
 * in json_check.c, which also walks JSON), and the scrub of text for clients. */
#include "utf8.h"

#include <string.h>

/* The length of the well-formed sequence at s[0..n), or 0; *cut is set
 * when the bytes there begin one that n ends too soon. */
static size_t sequence(const unsigned char *s, size_t n, int *cut)
{
	unsigned c = s[0];
	size_t len;
	unsigned min;
	*cut = 0;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		len = 2, min = 0x80, c &= 0x1f;
	else if ((c & 0xf0) == 0xe0)
		len = 3, min = 0x800, c &= 0x0f;
	else if ((c & 0xf8) == 0xf0)
		len = 4, min = 0x10000, c &= 0x07;
	else
		return 0;
	for (size_t k = 1; k < len; k++) {
		if (k >= n) {
			*cut = 1;
			return 0;
		}
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[k] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return len;
}

int utf8_valid(const unsigned char *s, size_t n)
{
	int cut;
	for (size_t i = 0, len; i < n; i += len)
		if ((len = sequence(s + i, n - i, &cut)) == 0)
			return 0;
	return 1;
}

void utf8_scrub(char *text)
{
	unsigned char *s = (unsigned char *)text;
	size_t n = strlen(text);
	int cut;
	for (size_t i = 0; i < n;) {
		size_t len = sequence(s + i, n - i, &cut);
		if (len > 0) {
			i += len;
		} else if (cut) {
			s[i] = '\0';
			break;
		} else {
			s[i++] = '?';
		}
	}
}
