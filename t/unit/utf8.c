/* utf8.c - unit tests of shared/utf8.c: the well-formedness check and the scrub. */
#include "tap.h"
#include "utf8.h"

static const char *scrubbed(const char *in)
{
	static char buf[64];
	snprintf(buf, sizeof buf, "%s", in);
	utf8_scrub(buf);
	return buf;
}

int main(void)
{
	ok(utf8_valid((const unsigned char *)"caf\xc3\xa9", 5), "two-byte character");
	ok(utf8_valid((const unsigned char *)"\xf0\x9f\x98\x80", 4), "four-byte character");
	ok(!utf8_valid((const unsigned char *)"\xc3", 1), "cut short");
	ok(!utf8_valid((const unsigned char *)"\xc0\xaf", 2), "overlong");
	ok(!utf8_valid((const unsigned char *)"\xed\xa0\x80", 3), "surrogate");
	ok(!utf8_valid((const unsigned char *)"\xf4\x90\x80\x80", 4), "past U+10FFFF");
	ok(!utf8_valid((const unsigned char *)"\xff", 1), "not a lead byte");

	is_str(scrubbed("plain text"), "plain text", "ASCII stays");
	is_str(scrubbed("caf\xc3\xa9 \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xf0\x9f\x98\x80", "well-formed UTF-8 stays");
	is_str(scrubbed("field: aaa\xc3"), "field: aaa", "a character cut at the end is dropped");
	is_str(scrubbed("x\xf0\x9f\x98"), "x", "so is a four-byte one cut after three");
	is_str(scrubbed("method \xff\xfePOST"), "method ??POST", "other bytes that begin nothing become ?");
	is_str(scrubbed("a\xc3(b"), "a?(b", "a lead byte without its continuation too");
	is_str(scrubbed("\xed\xa0\x80x"), "???x", "a surrogate's bytes too");
	return done_testing();
}
