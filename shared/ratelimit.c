/* ratelimit.c - the fixed-window Lua script. */
#include "ratelimit.h"

#include <stdio.h>
#include <string.h>

static struct redis_script fixed_window = {
	"local n = redis.call('INCR', KEYS[1])\n"
	"local ttl = redis.call('TTL', KEYS[1])\n"
	"if n == 1 or ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end\n"
	"return {n, ttl}\n",
	"",
};

enum ratelimit_result ratelimit_hit(struct redis *r, const char *key, int limit, int window_s,
				    int *retry_after, char *err, size_t errlen)
{
	*retry_after = 0;
	char window[12];
	snprintf(window, sizeof window, "%d", window_s);
	const char *args[] = { key, window };
	redisReply *rep = redis_script_run(r, &fixed_window, 1, 2, args, err, errlen);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER || rep->element[1]->type != REDIS_REPLY_INTEGER) {
		if (rep && rep->type == REDIS_REPLY_ERROR)
			snprintf(err, errlen, "%s", rep->str);
		freeReplyObject(rep);
		return RATELIMIT_ERROR;
	}
	long long count = rep->element[0]->integer, ttl = rep->element[1]->integer;
	freeReplyObject(rep);
	if (count <= limit)
		return RATELIMIT_OK;
	*retry_after = ttl > 0 ? (int)ttl : 1;
	return RATELIMIT_LIMITED;
}
