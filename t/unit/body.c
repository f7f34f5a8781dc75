/* body.c - unit tests of CONTENT_LENGTH parsing and strict JSON parsing. */
#include <stdlib.h>

#include "body.h"
#include "tap.h"

static int parses(const char *text)
{
	char err[256];
	struct json_object *o = body_json_parse(text, strlen(text), err, sizeof err);
	json_object_put(o);
	return o != NULL;
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
	free(deep);
	return done_testing();
}
