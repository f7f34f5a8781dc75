/* body.c - unit tests of CONTENT_LENGTH parsing and strict JSON parsing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "tap.h"

static int parses(const char *text)
{
	char err[256];
	struct json_object *o = body_json_parse(text, strlen(text), err, sizeof err);
	json_object_put(o);
	return o != NULL;
}

static char last_err[320];

/* 1 when text is refused with want in its message, or accepted when want is NULL. */
static int refused(const struct json_limits *lim, const char *text, const char *want)
{
	struct json_object *o = body_json_parse_limited(text, strlen(text), lim, last_err, sizeof last_err);
	json_object_put(o);
	if (want == NULL)
		return o != NULL;
	if (o != NULL || strstr(last_err, want) == NULL) {
		printf("# got: %s\n", o ? "accepted" : last_err);
		return 0;
	}
	return 1;
}

int main(void)
{
	unsigned long long n = 0;
	ok(body_parse_length("0", &n) == 0 && n == 0, "zero");
	ok(body_parse_length("1048576", &n) == 0 && n == 1048576, "a number");
	ok(body_parse_length("18446744073709551615", &n) == 0, "the largest value");
	ok(body_parse_length("18446744073709551616", &n) != 0, "overflow refused");
	ok(body_parse_length("-1", &n) != 0, "sign refused");
	ok(body_parse_length("+1", &n) != 0, "plus refused");
	ok(body_parse_length(" 1", &n) != 0, "space refused");
	ok(body_parse_length("1e3", &n) != 0, "exponent refused");
	ok(body_parse_length("", &n) != 0, "empty refused");
	ok(body_parse_length(NULL, &n) != 0, "missing refused");

	ok(parses("{\"a\":1}"), "object");
	ok(parses(" {\"a\":[1,2,{\"b\":null}]} \n"), "nested with whitespace");
	ok(parses("{\"s\":\"caf\xc3\xa9\"}"), "valid UTF-8");
	ok(!parses("{\"s\":\"\xc3\x28\"}"), "invalid UTF-8 refused");
	ok(!parses("{\"s\":\"\xed\xa0\x80\"}"), "UTF-8 surrogate refused");
	ok(!parses("{\"a\":1} x"), "trailing characters refused");
	ok(!parses("{\"a\":1}{}"), "two documents refused");
	ok(!parses("{'a':1}"), "single quotes refused");
	ok(!parses("{\"a\":1,}"), "trailing comma refused");
	ok(!parses("{\"a\":"), "truncated refused");
	ok(!parses("{\"a\":NaN}"), "NaN refused");
	/* A number is a whole text only once the text ends: json-c waits for
	 * more digits unless told there are none (found by fuzz/json.c). */
	ok(parses("667"), "a bare number is JSON");
	ok(parses("-0.5e3"), "a bare number with fraction and exponent");
	ok(parses(" 12 "), "a bare number with whitespace");
	struct json_object *num = body_json_parse("667", 3, last_err, sizeof last_err);
	ok(json_object_is_type(num, json_type_int) && json_object_get_int64(num) == 667, "and its value is kept");
	json_object_put(num);
	ok(!parses("1 2"), "two numbers refused");
	/* json-c's null is NULL, which is no parse error (found by fuzz/json.c). */
	ok(body_json_parse(" null ", 6, last_err, sizeof last_err) == NULL, "null is no object");
	is_str(last_err, "request body must be a JSON object", "and the reason says so, not \"success\"");
	char nul[] = "{\"a\":\"x\0y\"}";
	char err[256];
	ok(body_json_parse(nul, sizeof nul - 1, err, sizeof err) == NULL, "embedded NUL refused");

	char *deep = malloc(20001);
	for (int i = 0; i < 10000; i++) {
		deep[i] = '[';
		deep[10000 + i] = ']';
	}
	deep[20000] = '\0';
	ok(!parses(deep), "nesting 10000 deep refused");
	/* 32 levels hold a value at the deepest one too; json-c counts that
	 * value as a level of its own (found by fuzz/json.c). */
	memset(deep, '[', 32);
	deep[32] = '1';
	memset(deep + 33, ']', 32);
	deep[65] = '\0';
	ok(parses(deep), "32 levels of arrays around a number accepted");
	memset(deep, '[', 33);
	deep[33] = '1';
	memset(deep + 34, ']', 33);
	deep[67] = '\0';
	const struct json_limits deep_lim = { 32, 0, 0, 0 };
	ok(refused(&deep_lim, deep, "nested too deeply"), "33 refused by json_check, in its own words");
	free(deep);

	/* The cost of a parse is bounded before it happens. */
	const struct json_limits lim = { 32, 10, 3, 1 };
	ok(refused(&lim, "{\"a\":[1,2,3,4,5,6,7,8,9]}", "too many values"), "values over the cap refused");
	ok(refused(&lim, "{\"a\":1,\"b\":2}", NULL), "values under the cap accepted");
	ok(refused(&lim, "{\"a\":[{},{}]}", "too many objects and arrays"), "containers over the cap refused");
	ok(refused(&lim, "{\"a\":[{}]}", NULL), "containers at the cap accepted");

	/* Numbers json-c or PostgreSQL would change are refused by their path. */
	const struct json_limits exact = { 32, 0, 0, 1 };
	ok(refused(&exact, "{\"m\":{\"n\":123456789012345678901234567890}}",
		   "m.n cannot be kept exactly: integer outside the 64-bit range"), "a 30-digit integer refused, named");
	ok(refused(&exact, "{\"a\":[1,{\"b\":[0,18446744073709551615]}]}", "a[1].b[1] cannot be kept exactly"),
	   "2^64-1 refused, its path through arrays named");
	ok(refused(&exact, "{\"x\":9223372036854775807,\"y\":-9223372036854775808}", NULL),
	   "the int64 extremes accepted");
	ok(refused(&exact, "{\"x\":9223372036854775808}", "x cannot be kept exactly"), "INT64_MAX + 1 refused");
	ok(refused(&exact, "{\"f\":1e1001}", "f cannot be kept exactly: number out of range"), "1e1001 refused");
	ok(refused(&exact, "{\"f\":-1e-400}", "f cannot be kept exactly"), "an underflow refused");
	ok(refused(&exact, "{\"f\":1.5e300,\"g\":0.1,\"h\":-0.0,\"i\":0e5000}", NULL),
	   "ordinary and zero doubles accepted");
	ok(parses("{\"f\":1e1001}"), "trusted text (providers, our stores) is not held to exact numbers");
	return done_testing();
}
