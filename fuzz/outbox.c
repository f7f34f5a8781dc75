/* outbox.c - fuzzes the mail formatter (shared/outbox.c outbox_format) and the addresses it takes (shared/email.c).
 *
 * The input is From, To, Subject and the text, separated by NUL bytes.
 * Properties of a message outbox_format() makes:
 *  - CRLF ends every line and no CR or LF stands alone; header lines stay
 *    within 998 bytes, body lines within 76 (quoted-printable's);
 *  - exactly the headers it means, in order (From, To, Subject, Date,
 *    Message-ID, MIME-Version, Content-Type, Content-Transfer-Encoding), so
 *    no input injects one, and each folded line starts with a space;
 *  - the Subject, unfolded and its RFC 2047 words decoded, is the subject,
 *    each word at most 75 characters and whole UTF-8 by itself;
 *  - the body, quoted-printable decoded, is the text with its line ends as
 *    CRLF and one at its end; no line begins with "." or "From " as it
 *    stands.
 * And every address email_normalize() accepts (a sign-up's) can be mailed:
 * outbox_format() takes it as To. */
#include <string.h>

#include "email.h"
#include "outbox.h"
#include "support/fuzz.h"
#include "utf8.h"

struct text {
	char *p;
	size_t len;
};

static void add(struct text *t, const char *s, size_t n)
{
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decodes one word's base64 (padding allowed) into t; the word's bytes are
 * whole UTF-8 on their own. */
static void add_base64(struct text *t, const char *s, size_t n)
{
	size_t start = t->len;
	unsigned acc = 0;
	int bits = 0;
	FUZZ_CHECK(n % 4 == 0);
	for (size_t i = 0; i < n && s[i] != '='; i++) {
		int v = b64val(s[i]);
		FUZZ_CHECK(v >= 0);
		acc = acc << 6 | (unsigned)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			char c = (char)(acc >> bits & 0xff);
			add(t, &c, 1);
		}
	}
	FUZZ_CHECK(utf8_valid((const unsigned char *)t->p + start, t->len - start));
}

/* The Subject's value unfolded, encoded words decoded, into t. */
static void decode_subject(struct text *t, const char *v)
{
	if (strncmp(v, "=?UTF-8?B?", 10) != 0) {
		FUZZ_CHECK(strstr(v, "\r\n") == NULL);
		add(t, v, strlen(v));
		return;
	}
	for (const char *p = v; *p;) {
		FUZZ_CHECK(strncmp(p, "=?UTF-8?B?", 10) == 0);
		const char *end = strstr(p + 10, "?=");
		FUZZ_CHECK(end != NULL && end + 2 - p <= 75);
		add_base64(t, p + 10, (size_t)(end - p - 10));
		p = end + 2;
		if (strncmp(p, "\r\n ", 3) == 0)
			p += 3; /* whitespace between encoded words is no text */
		else
			FUZZ_CHECK(*p == '\0');
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* Quoted-printable to bytes, hard breaks as CRLF. */
static void decode_body(struct text *t, const char *b)
{
	while (*b) {
		const char *eol = strstr(b, "\r\n");
		FUZZ_CHECK(eol != NULL && eol - b <= 76);
		FUZZ_CHECK(*b != '.' && strncmp(b, "From ", 5) != 0);
		for (const char *p = b; p < eol; p++) {
			unsigned char c = (unsigned char)*p;
			if (c == '=') {
				if (p + 1 == eol)
					goto soft; /* a soft break: the line goes on */
				FUZZ_CHECK(hexval(p[1]) >= 0 && hexval(p[2]) >= 0);
				char d = (char)(hexval(p[1]) << 4 | hexval(p[2]));
				add(t, &d, 1);
				p += 2;
				continue;
			}
			FUZZ_CHECK((c >= 0x20 && c < 0x7f) || c == '\t');
			FUZZ_CHECK(!((c == ' ' || c == '\t') && p + 1 == eol));
			add(t, (const char *)p, 1);
		}
		add(t, "\r\n", 2);
soft:
		b = eol + 2;
	}
}

static void check_message(const char *msg, const char *subject, const char *text)
{
	static const char *const names[] = { "From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
					     "Content-Type", "Content-Transfer-Encoding" };
	size_t n = strlen(msg);
	for (size_t i = 0; i < n; i++) {
		if (msg[i] == '\r')
			FUZZ_CHECK(msg[i + 1] == '\n');
		if (msg[i] == '\n')
			FUZZ_CHECK(i > 0 && msg[i - 1] == '\r');
	}
	const char *body = strstr(msg, "\r\n\r\n");
	FUZZ_CHECK(body != NULL);
	body += 4;
	/* The headers, one after another, their continuations folded. */
	struct text subj = { malloc(n + 1), 0 };
	subj.p[0] = '\0';
	size_t h = 0;
	for (const char *p = msg; p < body - 2;) {
		const char *eol = strstr(p, "\r\n");
		FUZZ_CHECK(eol - p <= 998);
		FUZZ_CHECK(h < sizeof names / sizeof names[0]);
		size_t nl = strlen(names[h]);
		FUZZ_CHECK(strncmp(p, names[h], nl) == 0 && p[nl] == ':' && p[nl + 1] == ' ');
		const char *end = eol;
		while (end + 2 < body - 2 && end[2] == ' ')
			end = strstr(end + 2, "\r\n"); /* folded */
		if (h == 2) {
			char *value = arena_strndup(fuzz_arena(), p + nl + 2, (size_t)(end - p - nl - 2));
			decode_subject(&subj, value);
		}
		p = end + 2;
		h++;
	}
	FUZZ_CHECK(h == sizeof names / sizeof names[0]);
	FUZZ_CHECK(strcmp(subj.p, subject) == 0);
	free(subj.p);

	/* The text with its line ends as CRLF, and one at the end. */
	size_t tlen = strlen(text);
	struct text want = { malloc(2 * tlen + 3), 0 }, got = { malloc(n + 1), 0 };
	want.p[0] = got.p[0] = '\0';
	for (size_t i = 0; i < tlen; i++) {
		if (text[i] == '\r' || text[i] == '\n') {
			if (text[i] == '\r' && text[i + 1] == '\n')
				i++;
			add(&want, "\r\n", 2);
		} else {
			add(&want, text + i, 1);
		}
	}
	if (want.len > 0 && (want.len < 2 || strcmp(want.p + want.len - 2, "\r\n") != 0)) /* "": no line */
		add(&want, "\r\n", 2);
	decode_body(&got, body);
	FUZZ_CHECK(got.len == want.len && memcmp(got.p, want.p, want.len) == 0);
	free(want.p);
	free(got.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *from = fuzz_take(&data, &size, '\0', NULL);
	const char *to = fuzz_take(&data, &size, '\0', NULL);
	const char *subject = fuzz_take(&data, &size, '\0', NULL);
	const char *text = fuzz_take(&data, &size, '\0', NULL);
	char err[256] = "";
	char *msg = outbox_format(from, to, subject, text, err, sizeof err);
	if (msg == NULL)
		FUZZ_CHECK(err[0] != '\0');
	else
		check_message(msg, subject, text);
	free(msg);

	char normal[EMAIL_MAX + 1];
	if (email_normalize(to, normal) == 0) {
		msg = outbox_format("Aiget <no-reply@aiget.dev>", normal, "Your code", "123456", err, sizeof err);
		if (msg == NULL)
			fprintf(stderr, "email_normalize took \"%s\", outbox_format refused it: %s\n", normal, err);
		FUZZ_CHECK(msg != NULL);
		free(msg);
	}
	fuzz_end();
	return 0;
}
