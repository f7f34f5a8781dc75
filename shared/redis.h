/* redis.h - a Redis connection owned by one process, remade after any failure.
 *
 * Commands go through hiredis' argument formatting (%s, %b, %d become separate
 * protocol arguments, never spliced text), so they are parameterised the way
 * SQL is.  After an I/O or protocol error the connection is dropped and the
 * next command reconnects, at most every REDIS_RECONNECT_MS. */
#ifndef AIGET_REDIS_H
#define AIGET_REDIS_H

#include <stddef.h>

#include <hiredis/hiredis.h>

struct redis;

struct redis_url {
	char host[256];
	int port;
	int db;
	char user[128];
	char password[256];
};

/* Parses redis://[[user]:password@]host[:port][/db].  0 or -1. */
int redis_url_parse(const char *url, struct redis_url *out);

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
