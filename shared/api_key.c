/* api_key.c - key secrets, the three-level lookup, and invalidation.
 *
 * Levels: a per-process cache (entries live one second, and are dropped at
 * once when an invalidation arrives on API_KEY_CHANNEL), a Redis copy shared
 * by all processes (API_KEY_REDIS_TTL_S), and the database.  Invalidation
 * writes a short-lived "stale" tombstone over the Redis copy rather than
 * deleting it: copies are filled with SET NX, so a process that read the
 * database just before a change committed cannot put the old state back.
 * Expiry and rotation deadlines travel with the copy and are checked at each
 * use.
 *
 * A digest the database does not know is cached the same way, as "absent",
 * at both levels and for as long: otherwise an unknown key would cost a
 * database lookup on every request while a disabled, expired or deleted one
 * (the same 401) is answered from a cache, and the time of the answer would
 * tell whoever holds an old secret that it was once a real key.  Absence
 * needs no invalidation: a key's secret is made by api_key_generate() from
 * 256 random bits just before its row, so no one can have asked for its
 * digest earlier.  A flood of random keys costs Redis one short-lived
 * string per key (API_KEY_REDIS_TTL_S), as a flood of real ones does. */
#include "api_key.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "pg.h"
#include "redis.h"

#define PROCESS_TTL_S 1
#define PROCESS_MAX 128
#define API_KEY_REDIS_TTL_S 30
#define TOMBSTONE_TTL_S 5
#define SUB_RETRY_S 5
#define LAST_USED_DEBOUNCE_S 60

/* What the database says of a key, as cached; absent: it has no such key. */
struct record {
	int absent;
	struct api_key_info info;
	char key_status[12], tenant_status[12];
	long long expires, revoke;        /* epoch seconds, 0 = never */
	long long lim[5];                 /* the tenant's own limits, 0 = default */
};

static struct {
	unsigned char hash[CRYPTO_SHA256_LEN];
	struct record rec;
	time_t loaded;
	int used;
} cache[PROCESS_MAX];

static redisContext *sub;
static time_t sub_tried;

static const struct pg_statement st_lookup = {
	"api_key_lookup",
	"SELECT k.id, k.tenant_id, array_to_string(k.scopes, ','), k.status,"
	" coalesce(floor(extract(epoch FROM k.expires_at))::bigint, 0), coalesce(floor(extract(epoch FROM k.revoke_at))::bigint, 0),"
	" t.status, coalesce(l.qps, 0), coalesce(l.burst, 0), coalesce(l.concurrency, 0),"
	" coalesce(l.monthly_requests, 0), coalesce(l.max_memories, 0)"
	" FROM api_keys k JOIN tenants t ON t.id = k.tenant_id LEFT JOIN tenant_limits l ON l.tenant_id = k.tenant_id"
	" WHERE k.key_hash = decode($1, 'hex')",
	1, 1, PG_PRIMARY,
};
static const struct pg_statement st_tenant_keys = {
	"api_key_tenant_keys",
	"SELECT encode(key_hash, 'hex') FROM api_keys WHERE tenant_id = $1::uuid",
	1, 1, PG_PRIMARY,
};
static const struct pg_statement st_last_used = {
	"api_key_last_used", "UPDATE api_keys SET last_used_at = now() WHERE id = $1::uuid", 1, 1, PG_PRIMARY,
};

static const char *const code_names[API_KEY__MAX] = {
	"VALID", "NOT_FOUND", "DISABLED", "EXPIRED", "FORBIDDEN", "RATE_LIMITED", "USAGE_EXCEEDED", "UNAVAILABLE",
};

static const struct { const char *name; unsigned bit; } scope_names[] = {
	{ "memox:read", API_KEY_SCOPE_MEMOX_READ }, { "memox:write", API_KEY_SCOPE_MEMOX_WRITE },
};

const char *api_key_code_name(enum api_key_code c)
{
	return c < API_KEY__MAX ? code_names[c] : "UNAVAILABLE";
}

int api_key_well_formed(const char *secret)
{
	return strlen(secret) == strlen(API_KEY_PREFIX) + 43 &&
	       strncmp(secret, API_KEY_PREFIX, strlen(API_KEY_PREFIX)) == 0;
}

unsigned api_key_scope_parse(const char *name)
{
	for (size_t i = 0; i < sizeof scope_names / sizeof scope_names[0]; i++)
		if (strcmp(scope_names[i].name, name) == 0)
			return scope_names[i].bit;
	return 0;
}

struct json_object *api_key_scopes_json(unsigned scopes)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; i < sizeof scope_names / sizeof scope_names[0]; i++)
		if (scopes & scope_names[i].bit)
			json_object_array_add(a, json_object_new_string(scope_names[i].name));
	return a;
}

unsigned api_key_scopes_from_list(const char *list)
{
	unsigned bits = 0;
	char buf[256];
	snprintf(buf, sizeof buf, "%s", list);
	for (char *save = NULL, *s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save))
		bits |= api_key_scope_parse(s);
	return bits;
}

void api_key_default_limits(const struct config *cfg, struct tenant_limits *l)
{
	l->qps = cfg->tenant_default_qps;
	l->burst = cfg->tenant_default_burst;
	l->concurrency = cfg->tenant_default_concurrency;
	l->monthly_requests = cfg->tenant_default_monthly;
	l->max_memories = cfg->tenant_default_max_memories;
}

int api_key_generate(struct arena *a, char **secret, char prefix[API_KEY_PREFIX_LEN + 1],
		     unsigned char hash[CRYPTO_SHA256_LEN])
{
	char *body = crypto_random_token(a, 32);
	if (body == NULL)
		return -1;
	*secret = arena_printf(a, "%s%s", API_KEY_PREFIX, body);
	memcpy(prefix, *secret, API_KEY_PREFIX_LEN);
	prefix[API_KEY_PREFIX_LEN] = '\0';
	crypto_sha256(*secret, strlen(*secret), hash);
	return 0;
}

/* ------------------------------------------------------- invalidations */

static void evict(const char *what)
{
	if (strncmp(what, "key:", 4) == 0 && strlen(what) == 4 + 2 * CRYPTO_SHA256_LEN) {
		char hex[2 * CRYPTO_SHA256_LEN + 1];
		for (int i = 0; i < PROCESS_MAX; i++) {
			if (!cache[i].used)
				continue;
			crypto_hex(cache[i].hash, CRYPTO_SHA256_LEN, hex);
			if (strcmp(hex, what + 4) == 0)
				cache[i].used = 0;
		}
	} else if (strncmp(what, "tenant:", 7) == 0) {
		for (int i = 0; i < PROCESS_MAX; i++)
			if (cache[i].used && strcmp(cache[i].rec.info.tenant_id, what + 7) == 0)
				cache[i].used = 0;
	} else {
		memset(cache, 0, sizeof cache);
	}
}

static void sub_drop(void)
{
	if (sub)
		redisFree(sub);
	sub = NULL;
	memset(cache, 0, sizeof cache); /* messages may have been missed */
}

/* A subscriber connection of our own: it is only ever read without waiting,
 * before a lookup, so a child blocked in accept costs it nothing. */
static void sub_connect(struct app_context *ctx)
{
	time_t now = time(NULL);
	if (now - sub_tried < SUB_RETRY_S)
		return;
	sub_tried = now;
	struct redis_url u;
	if (redis_url_parse(ctx->cfg.redis_url, &u) != 0)
		return;
	/* The master the sentinels name, with a Sentinel URL: after a failover
	 * Sentinel closes this connection with the others, and the next
	 * lookup subscribes again on the new master. */
	char err[256];
	sub = redis_connect_url(&u, 300, err, sizeof err);
	memset(u.password, 0, sizeof u.password);
	memset(u.sentinel_password, 0, sizeof u.sentinel_password);
	if (sub == NULL) {
		memset(cache, 0, sizeof cache);
		return;
	}
	redisReply *r = redisCommand(sub, "SUBSCRIBE %s", API_KEY_CHANNEL);
	int ok = r && r->type == REDIS_REPLY_ARRAY;
	freeReplyObject(r);
	memset(cache, 0, sizeof cache);
	if (!ok) {
		sub_drop();
		log_warn("apikey: cannot subscribe to invalidations; the process cache is off until it can");
	}
}

/* Applies every invalidation waiting on the subscriber socket. */
static void drain(struct app_context *ctx)
{
	if (sub == NULL)
		sub_connect(ctx);
	if (sub == NULL)
		return;
	struct pollfd p = { sub->fd, POLLIN, 0 };
	while (poll(&p, 1, 0) == 1) {
		if (p.revents & (POLLERR | POLLHUP | POLLNVAL) || redisBufferRead(sub) != REDIS_OK) {
			sub_drop();
			return;
		}
		void *reply;
		while (redisGetReplyFromReader(sub, &reply) == REDIS_OK && reply) {
			redisReply *m = reply;
			if (m->type == REDIS_REPLY_ARRAY && m->elements == 3 && m->element[2]->type == REDIS_REPLY_STRING)
				evict(m->element[2]->str);
			freeReplyObject(m);
		}
	}
}

static int publish_and_tombstone(struct app_context *ctx, const char *message, const char *const *hexes, int n)
{
	char err[256];
	int rc = 0;
	for (int i = 0; i < n; i++) {
		redisReply *r = redis_command(ctx->redis, err, sizeof err, "SET apikey:%s stale EX %d", hexes[i],
					      TOMBSTONE_TTL_S);
		rc |= r == NULL ? -1 : 0;
		freeReplyObject(r);
	}
	redisReply *r = redis_command(ctx->redis, err, sizeof err, "PUBLISH %s %s", API_KEY_CHANNEL, message);
	rc |= r == NULL ? -1 : 0;
	freeReplyObject(r);
	evict(message);
	if (rc)
		log_error("apikey: invalidation %s incomplete: %s", message, err);
	return rc;
}

int api_key_invalidate_key(struct app_context *ctx, const unsigned char hash[CRYPTO_SHA256_LEN])
{
	char hex[2 * CRYPTO_SHA256_LEN + 1], msg[80];
	crypto_hex(hash, CRYPTO_SHA256_LEN, hex);
	snprintf(msg, sizeof msg, "key:%s", hex);
	const char *hexes[] = { hex };
	return publish_and_tombstone(ctx, msg, hexes, 1);
}

int api_key_invalidate_tenant(struct app_context *ctx, const char *tenant_id)
{
	char err[256], msg[64];
	const char *params[] = { tenant_id };
	PGresult *r = pg_exec(ctx->db, &st_tenant_keys, params, err, sizeof err);
	if (r == NULL) {
		log_error("apikey: tenant %s keys: %s", tenant_id, err);
		return -1;
	}
	int n = PQntuples(r);
	const char **hexes = calloc((size_t)n + 1, sizeof *hexes);
	for (int i = 0; i < n && hexes; i++)
		hexes[i] = PQgetvalue(r, i, 0);
	snprintf(msg, sizeof msg, "tenant:%s", tenant_id);
	int rc = hexes ? publish_and_tombstone(ctx, msg, hexes, n) : -1;
	free(hexes);
	PQclear(r);
	return rc;
}

/* ------------------------------------------------------------- lookups */

static void serialise(const struct record *rec, char *out, size_t len)
{
	snprintf(out, len, "1|%s|%s|%u|%s|%lld|%lld|%s|%lld|%lld|%lld|%lld|%lld", rec->info.key_id, rec->info.tenant_id,
		 rec->info.scopes, rec->key_status, rec->expires, rec->revoke, rec->tenant_status, rec->lim[0],
		 rec->lim[1], rec->lim[2], rec->lim[3], rec->lim[4]);
}

static int deserialise(const char *s, struct record *rec)
{
	memset(rec, 0, sizeof *rec);
	if (strcmp(s, "absent") == 0) {
		rec->absent = 1;
		return 0;
	}
	int n = sscanf(s, "1|%36[^|]|%36[^|]|%u|%11[^|]|%lld|%lld|%11[^|]|%lld|%lld|%lld|%lld|%lld", rec->info.key_id,
		       rec->info.tenant_id, &rec->info.scopes, rec->key_status, &rec->expires, &rec->revoke,
		       rec->tenant_status, &rec->lim[0], &rec->lim[1], &rec->lim[2], &rec->lim[3], &rec->lim[4]);
	return n == 12 ? 0 : -1;
}

/* 1 found, 0 not found, -1 error. */
static int from_database(struct app_context *ctx, const char *hex, struct record *rec, char *err, size_t errlen)
{
	const char *params[] = { hex };
	PGresult *r = pg_exec(ctx->db, &st_lookup, params, err, errlen);
	if (r == NULL)
		return -1;
	int found = PQntuples(r) == 1;
	if (found) {
		memset(rec, 0, sizeof *rec);
		snprintf(rec->info.key_id, sizeof rec->info.key_id, "%s", PQgetvalue(r, 0, 0));
		snprintf(rec->info.tenant_id, sizeof rec->info.tenant_id, "%s", PQgetvalue(r, 0, 1));
		rec->info.scopes = api_key_scopes_from_list(PQgetvalue(r, 0, 2));
		snprintf(rec->key_status, sizeof rec->key_status, "%s", PQgetvalue(r, 0, 3));
		rec->expires = atoll(PQgetvalue(r, 0, 4));
		rec->revoke = atoll(PQgetvalue(r, 0, 5));
		snprintf(rec->tenant_status, sizeof rec->tenant_status, "%s", PQgetvalue(r, 0, 6));
		for (int i = 0; i < 5; i++)
			rec->lim[i] = atoll(PQgetvalue(r, 0, 7 + i));
	}
	PQclear(r);
	return found;
}

/* Redis copy, else the database (and a fresh copy unless a tombstone says a
 * change is in flight).  rec->absent when there is no such key; 0, or -1 on
 * error. */
static int load(struct app_context *ctx, const char *hex, struct record *rec, char *err, size_t errlen)
{
	redisReply *r = redis_command(ctx->redis, err, errlen, "GET apikey:%s", hex);
	int tomb = 0;
	if (r && r->type == REDIS_REPLY_STRING) {
		tomb = strcmp(r->str, "stale") == 0;
		if (!tomb && deserialise(r->str, rec) == 0) {
			freeReplyObject(r);
			return 0;
		}
	}
	int redis_up = r != NULL;
	freeReplyObject(r);
	int found = from_database(ctx, hex, rec, err, errlen);
	if (found < 0)
		return -1;
	if (found == 0) {
		memset(rec, 0, sizeof *rec);
		rec->absent = 1;
	}
	if (redis_up && !tomb) {
		char text[512];
		if (rec->absent)
			snprintf(text, sizeof text, "absent");
		else
			serialise(rec, text, sizeof text);
		freeReplyObject(redis_command(ctx->redis, err, errlen, "SET apikey:%s %s NX EX %d", hex, text,
					      API_KEY_REDIS_TTL_S));
	}
	return 0;
}

static enum api_key_code judge(const struct config *cfg, const struct record *rec, struct api_key_info *info)
{
	time_t now = time(NULL);
	if (rec->absent)
		return API_KEY_NOT_FOUND;
	if (strcmp(rec->key_status, "deleted") == 0 || strcmp(rec->tenant_status, "deleted") == 0)
		return API_KEY_NOT_FOUND;
	if (strcmp(rec->key_status, "disabled") == 0)
		return API_KEY_DISABLED;
	if ((rec->expires && now >= rec->expires) || (rec->revoke && now >= rec->revoke))
		return API_KEY_EXPIRED;
	if (strcmp(rec->tenant_status, "active") != 0)
		return API_KEY_FORBIDDEN;
	*info = rec->info;
	api_key_default_limits(cfg, &info->limits);
	long long *own[] = { &info->limits.qps, &info->limits.burst, &info->limits.concurrency,
			     &info->limits.monthly_requests, &info->limits.max_memories };
	for (int i = 0; i < 5; i++)
		if (rec->lim[i] > 0)
			*own[i] = rec->lim[i];
	return API_KEY_VALID;
}

void api_key_note_use(struct app_context *ctx, const struct api_key_info *info)
{
	if (!info->loaded)
		return;
	char err[256];
	redisReply *r = redis_command(ctx->redis, err, sizeof err, "SET apikey:lastused:%s 1 NX EX %d", info->key_id,
				      LAST_USED_DEBOUNCE_S);
	int first = r && r->type == REDIS_REPLY_STATUS;
	freeReplyObject(r);
	if (first) {
		const char *params[] = { info->key_id };
		PQclear(pg_exec(ctx->db, &st_last_used, params, err, sizeof err));
	}
}

enum api_key_code api_key_verify(struct app_context *ctx, const char *secret, struct api_key_info *info,
				 char *err, size_t errlen)
{
	memset(info, 0, sizeof *info);
	err[0] = '\0';
	if (!api_key_well_formed(secret))
		return API_KEY_NOT_FOUND;
	size_t len = strlen(secret);
	unsigned char hash[CRYPTO_SHA256_LEN];
	char hex[2 * CRYPTO_SHA256_LEN + 1];
	crypto_sha256(secret, len, hash);
	crypto_hex(hash, sizeof hash, hex);

	drain(ctx);
	time_t now = time(NULL);
	int slot = (hash[0] | hash[1] << 8) % PROCESS_MAX;
	if (sub && cache[slot].used && now - cache[slot].loaded < PROCESS_TTL_S &&
	    memcmp(cache[slot].hash, hash, sizeof hash) == 0)
		return judge(&ctx->cfg, &cache[slot].rec, info);

	struct record rec;
	if (load(ctx, hex, &rec, err, errlen) != 0)
		return API_KEY_UNAVAILABLE;
	memcpy(cache[slot].hash, hash, sizeof hash);
	cache[slot].rec = rec;
	cache[slot].loaded = now;
	cache[slot].used = 1;
	enum api_key_code code = judge(&ctx->cfg, &rec, info);
	info->loaded = code == API_KEY_VALID;
	return code;
}
