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
	ok(redis_url_parse("redis://:pa/ss@h/3", &u) == 0 && strcmp(u.password, "pa/ss") == 0 && u.db == 3,
	   "an unencoded / in the password");
	is_int(u.nsentinels, 0, "a plain URL names no sentinels");

	/* Sentinel sets */
	ok(redis_url_parse("redis+sentinel://:pw@10.0.0.1:26380,s2:x/mymaster/1", &u) != 0, "a bad port refused");
	ok(redis_url_parse("redis+sentinel://:p%40w@10.0.0.1:26380,s2/mymaster/1", &u) == 0, "sentinels, master, db");
	is_int(u.nsentinels, 2, "two sentinels");
	is_str(u.sentinels[0].host, "10.0.0.1", "first sentinel's host");
	is_int(u.sentinels[0].port, 26380, "first sentinel's port");
	is_str(u.sentinels[1].host, "s2", "second sentinel's host");
	is_int(u.sentinels[1].port, 26379, "the sentinel port by default");
	is_str(u.master, "mymaster", "master name");
	is_int(u.db, 1, "db");
	is_str(u.password, "p@w", "the data servers' password");
	is_str(u.host, "", "no server until the sentinels are asked");
	ok(redis_url_parse("redis+sentinel://s1/m", &u) == 0 && u.db == 0 && u.password[0] == '\0', "db 0, no password");
	ok(redis_url_parse("redis+sentinel://s1:1,s2:2/m?sentinel_password=s%26p&sentinel_user=sen", &u) == 0,
	   "the sentinels' own credentials");
	is_str(u.sentinel_password, "s&p", "sentinel password decoded");
	is_str(u.sentinel_user, "sen", "sentinel user");
	ok(redis_url_parse("redis+sentinel://s1/m?sentinel_pasword=x", &u) != 0, "a misspelt option refused");
	ok(redis_url_parse("redis+sentinel://s1", &u) != 0, "no master name refused");
	ok(redis_url_parse("redis+sentinel://s1/", &u) != 0, "an empty master name refused");
	ok(redis_url_parse("redis+sentinel://s1,/m", &u) != 0, "an empty sentinel refused");
	ok(redis_url_parse("redis+sentinel:///m", &u) != 0, "no sentinel refused");
	ok(redis_url_parse("redis+sentinel://a,b,c,d,e,f,g,h,i/m", &u) != 0, "more than eight sentinels refused");
	ok(redis_url_parse("redis+sentinel://s1:0/m", &u) != 0, "sentinel port 0 refused");
	ok(redis_url_parse("redis+sentinel://s1/m/x", &u) != 0, "non-numeric db refused");
	return done_testing();
}
