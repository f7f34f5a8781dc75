/* json.c - fuzzes json_check() and body_json_parse_limited(), the parse of every request body.
 *
 * The first byte chooses the limits (depth, values, containers, exact
 * numbers), the rest is the text.  Properties, checked against json-c, the
 * second parser that then reads the text:
 *  - the two agree: json_check() accepts exactly when body_json_parse_limited()
 *    returns an object (json-c in strict mode takes all that json_check lets
 *    through, at the depth the API allows);
 *  - what is accepted is well-formed UTF-8 without a NUL, and within the
 *    limits, counted again on json-c's tree;
 *  - with exact numbers, json-c holds every number as written: doubles
 *    finite, and integers printed back as the same digits;
 *  - json-c's own serialisation of it passes json_check and parses back to
 *    an equal value;
 *  - a refusal says why, in a message that ends inside its buffer. */
#include <math.h>
#include <string.h>

#include "body.h"
#include "json_check.h"
#include "support/fuzz.h"
#include "utf8.h"

struct count {
	long values, containers;
	int depth;
	int exact;  /* doubles must be finite */
};

static void walk(struct json_object *v, int depth, struct count *c)
{
	c->values++;
	if (depth > c->depth && (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array)))
		c->depth = depth;
	if (json_object_is_type(v, json_type_object)) {
		c->containers++;
		json_object_object_foreach(v, key, child) {
			(void)key;
			walk(child, depth + 1, c);
		}
	} else if (json_object_is_type(v, json_type_array)) {
		c->containers++;
		for (size_t i = 0; i < json_object_array_length(v); i++)
			walk(json_object_array_get_idx(v, i), depth + 1, c);
	} else if (json_object_is_type(v, json_type_double) && c->exact) {
		FUZZ_CHECK(isfinite(json_object_get_double(v)));
	}
}

/* With exact numbers, every integer literal of text reads back as written:
 * json-c, given the literal alone, holds an int that prints as the same
 * digits (-0 aside, which is 0).  text is JSON (json_check said so), so a
 * number starts with '-' or a digit outside a string. */
static void integers_as_written(const char *text, size_t len)
{
	for (size_t i = 0; i < len;) {
		if (text[i] == '"') {
			for (i++; i < len && text[i] != '"'; i++)
				if (text[i] == '\\')
					i++;
			i++;
			continue;
		}
		if (text[i] != '-' && (text[i] < '0' || text[i] > '9')) {
			i++;
			continue;
		}
		size_t n = 0; /* text is not NUL-terminated: no strspn */
		while (i + n < len && strchr("-+0123456789.eE", text[i + n]) && text[i + n])
			n++;
		if (memchr(text + i, '.', n) == NULL && memchr(text + i, 'e', n) == NULL &&
		    memchr(text + i, 'E', n) == NULL) {
			char literal[32];
			FUZZ_CHECK(n < sizeof literal); /* no int64 has more digits */
			memcpy(literal, text + i, n);
			literal[n] = '\0';
			struct json_object *v = json_tokener_parse(literal);
			FUZZ_CHECK(json_object_is_type(v, json_type_int));
			const char *printed = json_object_to_json_string(v);
			FUZZ_CHECK(strcmp(printed, strcmp(literal, "-0") == 0 ? "0" : literal) == 0);
			json_object_put(v);
		}
		i += n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* Depths up to the API's 32 (body.c's JSON_MAX_DEPTH, which its json-c
	 * tokener is made with), small caps or none. */
	struct json_limits lim = {
		.max_depth = 1 + (data[0] & 31),
		.max_values = (data[0] & 0x20) ? 1 + (data[0] & 7) * 8 : 0,
		.max_containers = (data[0] & 0x40) ? 1 + ((data[0] >> 3) & 3) * 4 : 0,
		.exact_numbers = (data[0] & 0x80) != 0,
	};
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	char err[160], msg[400];
	memset(err, 'x', sizeof err);
	int rc = json_check(text, len, &lim, err, sizeof err);
	struct json_object *obj = body_json_parse_limited(text, len, &lim, msg, sizeof msg);
	if (rc != 0) {
		FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0');
		FUZZ_CHECK(obj == NULL);
		FUZZ_CHECK(strncmp(msg, "request body is not valid JSON: ", 32) == 0);
		return 0;
	}
	if (obj == NULL && strcmp(msg, "request body must be a JSON object") == 0) {
		/* The text null, which json-c holds as NULL. */
		size_t at = strspn(text, " \t\r\n");
		FUZZ_CHECK(at + 4 <= len && memcmp(text + at, "null", 4) == 0);
		return 0;
	}
	if (obj == NULL) {
		fprintf(stderr, "json_check accepted what json-c refused: %s\n", msg);
		FUZZ_CHECK(!"json-c parses what json_check accepts");
	}
	FUZZ_CHECK(memchr(text, '\0', len) == NULL);
	FUZZ_CHECK(utf8_valid((const unsigned char *)text, len));

	struct count c = { 0, 0, 0, lim.exact_numbers };
	walk(obj, 1, &c);
	FUZZ_CHECK(c.depth <= lim.max_depth);
	FUZZ_CHECK(lim.max_values == 0 || c.values <= lim.max_values);
	FUZZ_CHECK(lim.max_containers == 0 || c.containers <= lim.max_containers);
	if (lim.exact_numbers)
		integers_as_written(text, len);

	/* json-c's serialisation is JSON to us too, and means the same. */
	size_t olen;
	const char *out = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &olen);
	const struct json_limits open = { 32, 0, 0, 0 };
	char why[160];
	FUZZ_CHECK(json_check(out, olen, &open, why, sizeof why) == 0);
	struct json_object *again = body_json_parse(out, olen, msg, sizeof msg);
	FUZZ_CHECK(again != NULL);
	FUZZ_CHECK(json_object_equal(obj, again));
	json_object_put(again);
	json_object_put(obj);
	return 0;
}
