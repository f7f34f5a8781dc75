/* redis_url.c - unit tests of REDIS_URL parsing. */
#include "redis.h"
#include "tap.h"

int main(void)
{
	struct redis_url u;
	ok(redis_url_parse("redis://127.0.0.1:6380/2", &u) == 0, "host, port, db");
	is_str(u.host, "127.0.0.1", "host");
	is_int(u.port, 6380, "port");
	is_int(u.db, 2, "db");
	ok(redis_url_parse("redis://:p%40ss@localhost", &u) == 0, "password only");
	is_str(u.password, "p@ss", "password is percent-decoded");
	is_int(u.port, 6379, "default port");
	ok(redis_url_parse("redis://app:pw@h:1/0", &u) == 0 && strcmp(u.user, "app") == 0, "user and password");
	ok(redis_url_parse("redis://h:0", &u) != 0, "port 0 refused");
	ok(redis_url_parse("redis://h:99999", &u) != 0, "port out of range refused");
	ok(redis_url_parse("redis://h/x", &u) != 0, "non-numeric db refused");
	ok(redis_url_parse("http://h", &u) != 0, "other scheme refused");
	ok(redis_url_parse("redis://", &u) != 0, "missing host refused");
	return done_testing();
}
