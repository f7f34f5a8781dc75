/* redis.h - a Redis connection owned by one process, remade after any failure.
 *
 * Commands go through hiredis' argument formatting (%s, %b, %d become separate
 * protocol arguments, never spliced text), so they are parameterised the way
 * SQL is.  After an I/O or protocol error the connection is dropped and the
 * next command reconnects, at most every REDIS_RECONNECT_MS.
 *
 * With a Sentinel URL every connection starts by asking the sentinels where
 * the master is, and checks with ROLE that it is one.  A failover reaches us
 * as a closed connection (Sentinel kills the clients of a server it turns
 * into a replica), as a READONLY reply from a server that already is one,
 * or as a +switch-master message on a subscription to one sentinel, read
 * before each command: each drops the connection, and the command goes to
 * the master the sentinels name now. */
#ifndef AIGET_REDIS_H
#define AIGET_REDIS_H

#include <stddef.h>

#include <hiredis/hiredis.h>

struct redis;

#define REDIS_MAX_SENTINELS 8

struct redis_node {
	char host[256];
	int port;
};

struct redis_url {
	char host[256];            /* the server: "" for a Sentinel URL until asked */
	int port;
	int db;
	char user[128];            /* the data servers' credentials */
	char password[256];
	int nsentinels;            /* 0: a plain redis:// URL */
	struct redis_node sentinels[REDIS_MAX_SENTINELS];
	char master[128];          /* the name the sentinels monitor it by */
	char sentinel_user[128];   /* the sentinels' own credentials, when they have any */
	char sentinel_password[256];
};

/* Parses redis://[[user]:password@]host[:port][/db] and
 * redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/master[/db]
 *     [?sentinel_user=U&sentinel_password=P]
 * (sentinel port 26379 by default).  0 or -1. */
int redis_url_parse(const char *url, struct redis_url *out);

/* A new connection to the server a URL names, authenticated, on its db:
 * for a Sentinel URL the master the sentinels name now, checked with ROLE.
 * NULL with a message (never the password) in err. */
redisContext *redis_connect_url(const struct redis_url *url, int timeout_ms, char *err, size_t errlen);

struct redis *redis_open(const char *url, int timeout_ms);
void redis_close(struct redis *r);

/* Runs a command; returns the reply (caller freeReplyObject()s it), or NULL
 * with a message in err.  A Redis error reply (REDIS_REPLY_ERROR) is returned
 * as a reply: it is an answer, not a broken connection. */
redisReply *redis_command(struct redis *r, char *err, size_t errlen, const char *fmt, ...);

/* Sends a command whose answer nobody waits for (freeing a rate-limit slot
 * once a request is answered): it is written now, and its reply is read
 * and dropped before the next command's, which Redis runs after it.  A
 * failure is logged and counted; the command may then be lost, so use it
 * only where that is harmless (the slot expires by itself). */
void redis_send(struct redis *r, const char *fmt, ...);

/* The same with a per-call read timeout, for blocking commands (BLMOVE). */
redisReply *redis_command_timeout(struct redis *r, int timeout_ms, char *err, size_t errlen,
				  const char *fmt, ...);

/* The same with an argument vector (binary-safe lengths may be NULL). */
redisReply *redis_command_argv(struct redis *r, int argc, const char **argv, const size_t *lens,
			       char *err, size_t errlen);

/* A Lua script run by SHA (EVALSHA), loaded on first use and again after
 * NOSCRIPT (a restarted server).  Declare one static per script. */
struct redis_script {
	const char *source;
	char sha[41];
};

/* EVALSHA with nkeys keys then the other args; a reply as redis_command. */
redisReply *redis_script_run(struct redis *r, struct redis_script *script, int nkeys, int nargs,
			     const char *const *args, char *err, size_t errlen);

#endif
