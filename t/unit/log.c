/* log.c - unit tests of log escaping and level parsing. */
#include "log.h"
#include "tap.h"

int main(void)
{
	char buf[64];
	is_str(log_escape(buf, sizeof buf, "plain text"), "plain text", "plain text unchanged");
	is_str(log_escape(buf, sizeof buf, "a\nb\rc\td"), "a\\nb\\rc\\td", "newline, CR and tab escaped");
	is_str(log_escape(buf, sizeof buf, "x\x1b[31my\x7f"), "x\\x1b[31my\\x7f", "ESC and DEL escaped");
	is_str(log_escape(buf, sizeof buf, "back\\slash"), "back\\\\slash", "backslash escaped");
	char small[5];
	is_str(log_escape(small, sizeof small, "ab\ncd"), "ab\\n", "truncation never splits an escape");

	enum log_level l;
	ok(log_level_parse("debug", &l) == 0 && l == LOG_LEVEL_DEBUG, "debug");
	ok(log_level_parse("error", &l) == 0 && l == LOG_LEVEL_ERROR, "error");
	ok(log_level_parse("loud", &l) != 0, "unknown level refused");
	return done_testing();
}
