/* json_check.c - recursive-descent JSON grammar and UTF-8 check, no allocation. */
#include "json_check.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where the scan is, level by level, so that an error can name the field. */
struct frame {
	const unsigned char *key; /* an object's current key, quotes excluded */
	size_t key_len;
	long index;               /* an array's current element; -1 in objects */
};

struct scan {
	const unsigned char *p, *end;
	const struct json_limits *lim;
	int depth;
	long values, containers;
	const char *why;
	char field[JSON_CHECK_FIELD_MAX]; /* the path of a number refused, "" otherwise */
	struct frame frames[JSON_CHECK_DEPTH_MAX];
};

static int fail(struct scan *s, const char *why)
{
	if (s->why == NULL)
		s->why = why;
	return -1;
}

static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int literal(struct scan *s, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return fail(s, "unexpected character");
	s->p += n;
	return 0;
}

/* One UTF-8 sequence starting at s->p (a byte >= 0x80): well-formed, shortest
 * form, no surrogates, at most U+10FFFF (RFC 3629). */
static int utf8_sequence(struct scan *s)
{
	const unsigned char *p = s->p;
	size_t left = (size_t)(s->end - p);
	unsigned c = p[0];
	if (c >= 0xc2 && c <= 0xdf && left >= 2 && (p[1] & 0xc0) == 0x80) {
		s->p += 2;
		return 0;
	}
	if (c >= 0xe0 && c <= 0xef && left >= 3 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80) {
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0))
			return fail(s, "invalid UTF-8");
		s->p += 3;
		return 0;
	}
	if (c >= 0xf0 && c <= 0xf4 && left >= 4 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80 &&
	    (p[3] & 0xc0) == 0x80) {
		if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))
			return fail(s, "invalid UTF-8");
		s->p += 4;
		return 0;
	}
	return fail(s, "invalid UTF-8");
}

static int hex4(struct scan *s, unsigned *out)
{
	if (s->end - s->p < 4)
		return fail(s, "bad \\u escape");
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned char c = s->p[i];
		v <<= 4;
		if (c >= '0' && c <= '9') v |= c - '0';
		else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
		else return fail(s, "bad \\u escape");
	}
	s->p += 4;
	*out = v;
	return 0;
}

/* The path of the value being scanned, as a client wrote it: a.b[3].c. */
static void name_field(struct scan *s)
{
	size_t n = 0;
	s->field[0] = '\0';
	for (int i = 0; i < s->depth && n < sizeof s->field - 1; i++) {
		const struct frame *f = &s->frames[i];
		int w = f->index >= 0 ? snprintf(s->field + n, sizeof s->field - n, "[%ld]", f->index)
				      : snprintf(s->field + n, sizeof s->field - n, "%s%.*s", n ? "." : "",
						 f->key_len > 64 ? 64 : (int)f->key_len, (const char *)f->key);
		if (w < 0)
			break;
		n += (size_t)w;
	}
	if (n >= sizeof s->field)
		n = sizeof s->field - 1;
	s->field[n] = '\0';
}

static int string(struct scan *s)
{
	s->p++; /* the opening quote */
	while (s->p < s->end) {
		unsigned char c = *s->p;
		if (c == '"') {
			s->p++;
			return 0;
		}
		if (c < 0x20)
			return fail(s, "control character in string");
		if (c >= 0x80) {
			if (utf8_sequence(s) != 0)
				return -1;
			continue;
		}
		s->p++;
		if (c != '\\')
			continue;
		if (s->p >= s->end)
			break;
		c = *s->p++;
		if (strchr("\"\\/bfnrt", c) && c)
			continue;
		if (c != 'u')
			return fail(s, "bad escape in string");
		unsigned u;
		if (hex4(s, &u) != 0)
			return -1;
		if (u == 0)
			return fail(s, "\\u0000 is not allowed");
		if (u >= 0xdc00 && u <= 0xdfff)
			return fail(s, "unpaired surrogate escape");
		if (u >= 0xd800 && u <= 0xdbff) {
			unsigned lo;
			if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
				return fail(s, "unpaired surrogate escape");
			s->p += 2;
			if (hex4(s, &lo) != 0)
				return -1;
			if (lo < 0xdc00 || lo > 0xdfff)
				return fail(s, "unpaired surrogate escape");
		}
	}
	return fail(s, "unterminated string");
}

static int digits(struct scan *s)
{
	const unsigned char *start = s->p;
	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > start ? 0 : fail(s, "bad number");
}

/* A number json-c and PostgreSQL keep as written: an integer within 64
 * bits (json-c saturates others without a word), anything else finite and,
 * unless zero, not so small that it becomes zero. */
static int number_is_exact(const unsigned char *start, const unsigned char *end, int integer)
{
	char text[400];
	size_t len = (size_t)(end - start);
	if (len >= sizeof text)
		return 0; /* more digits than a double or an int64 can carry */
	memcpy(text, start, len);
	text[len] = '\0';
	char *stop;
	errno = 0;
	if (integer) {
		(void)strtoimax(text, &stop, 10);
		return errno == 0;
	}
	double d = strtod(text, &stop);
	if (errno == ERANGE || !isfinite(d))
		return 0;
	return 1;
}

static int number(struct scan *s)
{
	const unsigned char *start = s->p;
	int integer = 1;
	if (*s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (digits(s) != 0)
		return -1;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		integer = 0;
		if (digits(s) != 0)
			return -1;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		integer = 0;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (digits(s) != 0)
			return -1;
	}
	if (s->lim->exact_numbers && !number_is_exact(start, s->p, integer)) {
		name_field(s);
		s->p = start;
		return fail(s, integer ? "integer outside the 64-bit range" : "number out of range");
	}
	return 0;
}

static int value(struct scan *s);

static int container(struct scan *s, unsigned char close, int is_object)
{
	if (++s->depth > s->lim->max_depth || s->depth > JSON_CHECK_DEPTH_MAX)
		return fail(s, "nested too deeply");
	if (s->lim->max_containers > 0 && ++s->containers > s->lim->max_containers)
		return fail(s, "too many objects and arrays");
	struct frame *f = &s->frames[s->depth - 1];
	f->key = NULL;
	f->key_len = 0;
	f->index = is_object ? -1 : 0;
	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		s->depth--;
		return 0;
	}
	for (;;) {
		skip_ws(s);
		if (is_object) {
			if (s->p >= s->end || *s->p != '"')
				return fail(s, "expected a string key");
			f->key = s->p + 1;
			if (string(s) != 0)
				return -1;
			f->key_len = (size_t)(s->p - 1 - f->key);
			skip_ws(s);
			if (s->p >= s->end || *s->p != ':')
				return fail(s, "expected ':'");
			s->p++;
		}
		if (value(s) != 0)
			return -1;
		skip_ws(s);
		if (s->p < s->end && *s->p == ',') {
			s->p++;
			if (!is_object)
				f->index++;
			continue;
		}
		if (s->p < s->end && *s->p == close) {
			s->p++;
			s->depth--;
			return 0;
		}
		return fail(s, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int value(struct scan *s)
{
	skip_ws(s);
	if (s->p >= s->end)
		return fail(s, "unexpected end of input");
	if (s->lim->max_values > 0 && ++s->values > s->lim->max_values)
		return fail(s, "too many values");
	switch (*s->p) {
	case '{': return container(s, '}', 1);
	case '[': return container(s, ']', 0);
	case '"': return string(s);
	case 't': return literal(s, "true");
	case 'f': return literal(s, "false");
	case 'n': return literal(s, "null");
	default:
		if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
			return number(s);
		return fail(s, "unexpected character");
	}
}

int json_check(const char *text, size_t len, const struct json_limits *lim, char *err, size_t errlen)
{
	/* The scan is on the stack and large only by its frames (1.5 KiB). */
	struct scan s;
	s.p = (const unsigned char *)text;
	s.end = s.p + len;
	s.lim = lim;
	s.depth = 0;
	s.values = s.containers = 0;
	s.why = NULL;
	s.field[0] = '\0';
	if (value(&s) == 0) {
		skip_ws(&s);
		if (s.p == s.end)
			return 0;
		fail(&s, "trailing characters");
	}
	if (s.field[0])
		snprintf(err, errlen, "%s cannot be kept exactly: %s", s.field, s.why);
	else if (s.why && strncmp(s.why, "too many", 8) == 0)
		snprintf(err, errlen, "%s (the limits are %ld values and %ld objects and arrays)", s.why,
			 lim->max_values, lim->max_containers);
	else
		snprintf(err, errlen, "%s at byte %zu", s.why, (size_t)(s.p - (const unsigned char *)text));
	return -1;
}
