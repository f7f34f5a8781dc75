/* pg.c - libpq connection lifecycle and lazily prepared statements. */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "request.h"

#define PG_MAX_PREPARED 128
#define PG_RECONNECT_MS 200.0
/* How long a read replica that could not answer is left alone: each try
 * while it is down costs a request a connection attempt (up to
 * PG_CONNECT_TIMEOUT where the host is gone, not refusing). */
#define PG_REPLICA_RETRY_MS 5000.0

struct pg {
	char *url;
	char label[32];
	char connect_timeout[16];
	char options[256];         /* the "options" keyword: -c settings, "" when none */
	long long statement_timeout_ms; /* 0: the server's own (none by default) */
	PGconn *conn;
	double last_attempt_ms;
	char last_error[256];
	char sqlstate[6];
	const struct pg_statement *prepared[PG_MAX_PREPARED];
	int nprepared;
	struct pg *replica;        /* the read URL's, NULL when none */
	double replica_retry_ms;   /* the replica is not tried before this clock_ms() */
	int answered_by_replica;   /* the last pg_exec() */
};

struct pg *pg_open(const char *url, const char *label, int connect_timeout_s)
{
	struct pg *db = calloc(1, sizeof *db);
	if (db == NULL)
		return NULL;
	db->url = strdup(url);
	snprintf(db->label, sizeof db->label, "%s", label);
	snprintf(db->connect_timeout, sizeof db->connect_timeout, "%d", connect_timeout_s);
	return db;
}

/* Statements that ran out of time in this process (SQLSTATE 57014). */
static unsigned long timeouts;

unsigned long pg_timeouts(void)
{
	return timeouts;
}

void pg_set_statement_timeout(struct pg *db, long long ms)
{
	db->statement_timeout_ms = ms;
	pg_reset(db);
	if (db->replica)
		pg_set_statement_timeout(db->replica, ms);
}

void pg_set_options(struct pg *db, const char *options)
{
	snprintf(db->options, sizeof db->options, "%s", options);
	pg_reset(db);
	if (db->replica)
		pg_set_options(db->replica, options);
}

void pg_set_replica(struct pg *db, const char *url)
{
	char label[sizeof db->label + 8];
	snprintf(label, sizeof label, "%s-read", db->label);
	pg_close(db->replica);
	db->replica = pg_open(url, label, atoi(db->connect_timeout));
	if (db->replica == NULL)
		return;   /* out of memory: the primary answers every read */
	db->replica->statement_timeout_ms = db->statement_timeout_ms;
	memcpy(db->replica->options, db->options, sizeof db->options);
}

void pg_reset(struct pg *db)
{
	if (db->conn)
		PQfinish(db->conn);
	db->conn = NULL;
	db->nprepared = 0;
}

void pg_close(struct pg *db)
{
	if (db == NULL)
		return;
	pg_reset(db);
	pg_close(db->replica);
	free(db->url);
	free(db);
}

/* libpq messages end in a newline and may run over several lines; keep the
 * first line, which says what happened without the detail a client needn't see. */
static void first_line(char *dst, size_t dstlen, const char *msg)
{
	size_t n = strcspn(msg, "\n");
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, msg, n);
	dst[n] = '\0';
}

static void notice_to_log(void *arg, const char *message)
{
	char line[256];
	first_line(line, sizeof line, message);
	log_debug("%s notice: %s", (const char *)arg, line);
}

/* A failure that is the database's, not the query's: a lost connection or
 * the server out of resources, shutting down or broken (SQLSTATE classes
 * 08, 53, 57, 58, XX).  Constraint violations and the like are answers,
 * and a statement that ran out of its time (57014) is the query's failure. */
static int server_failed(const struct pg *db, const char *state)
{
	static const char server_classes[][3] = { "08", "53", "57", "58", "XX" };
	if (state && strcmp(state, "57014") == 0)
		return 0;
	for (size_t i = 0; state && i < sizeof server_classes / sizeof server_classes[0]; i++)
		if (strncmp(state, server_classes[i], 2) == 0)
			return 1;
	return db->conn == NULL || PQstatus(db->conn) == CONNECTION_BAD;
}

static void count_failure(struct pg *db, const char *state)
{
	if (state && strcmp(state, "57014") == 0)
		timeouts++;
	else if (server_failed(db, state))
		metrics_dependency_error_named(db->label);
}

PGconn *pg_conn(struct pg *db, char *err, size_t errlen)
{
	if (db->conn && PQstatus(db->conn) == CONNECTION_OK)
		return db->conn;
	if (db->conn)
		pg_reset(db);

	double now = clock_ms();
	if (db->last_attempt_ms > 0 && now - db->last_attempt_ms < PG_RECONNECT_MS) {
		snprintf(err, errlen, "%s", db->last_error);
		metrics_dependency_error_named(db->label);
		return NULL;
	}
	db->last_attempt_ms = now;

	/* expand_dbname: the URL is expanded where dbname stands, so keywords
	 * after it override the URL (connect_timeout here wins over the URL's)
	 * and keywords before it are defaults the URL may override.
	 * gssencmode: libpq's "prefer" initialises Kerberos on every connect
	 * to look for a credential (0.7 MiB of each process's memory, and
	 * time); a URL with gssencmode=prefer or require still uses it. */
	char options[sizeof db->options + 48];
	if (db->statement_timeout_ms > 0)
		snprintf(options, sizeof options, "-c statement_timeout=%lld %s", db->statement_timeout_ms, db->options);
	else
		snprintf(options, sizeof options, "%s", db->options);
	const char *keys[] = { "gssencmode", "dbname", "connect_timeout", "application_name",
			       options[0] ? "options" : NULL, NULL };
	const char *vals[] = { "disable", db->url, db->connect_timeout, "aiget", options, NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		first_line(db->last_error, sizeof db->last_error, c ? PQerrorMessage(c) : "out of memory");
		snprintf(err, errlen, "%s", db->last_error);
		log_warn("%s: connection failed: %s", db->label, db->last_error);
		metrics_dependency_error_named(db->label);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, notice_to_log, db->label);
	db->conn = c;
	db->nprepared = 0;
	db->last_attempt_ms = 0;
	log_debug("%s: connected", db->label);
	return c;
}

const struct pg_statement pg_begin = { "pg_begin", "BEGIN", 0, 0, PG_PRIMARY };
const struct pg_statement pg_commit = { "pg_commit", "COMMIT", 0, 0, PG_PRIMARY };
const struct pg_statement pg_rollback = { "pg_rollback", "ROLLBACK", 0, 0, PG_PRIMARY };

static int is_prepared(struct pg *db, const struct pg_statement *st)
{
	for (int i = 0; i < db->nprepared; i++)
		if (db->prepared[i] == st)
			return 1;
	return 0;
}

static int prepare(struct pg *db, const struct pg_statement *st, char *err, size_t errlen)
{
	if (is_prepared(db, st))
		return 0;
	PGresult *r = PQprepare(db->conn, st->name, st->sql, st->nparams, NULL);
	int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok) {
		const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		snprintf(db->sqlstate, sizeof db->sqlstate, "%s", state ? state : "");
		first_line(err, errlen, PQerrorMessage(db->conn));
		log_error("%s: prepare %s failed: %s", db->label, st->name, err);
		count_failure(db, state);
	} else if (db->nprepared < PG_MAX_PREPARED) {
		db->prepared[db->nprepared++] = st;
	}
	PQclear(r);
	return ok ? 0 : -1;
}

static PGresult *exec_once(struct pg *db, const struct pg_statement *st, const char *const *params,
			   char *err, size_t errlen)
{
	if (pg_conn(db, err, errlen) == NULL)
		return NULL;
	if (prepare(db, st, err, errlen) != 0)
		return NULL;
	PGresult *r = PQexecPrepared(db->conn, st->name, st->nparams, params, NULL, NULL, 0);
	ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK)
		return r;
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	snprintf(db->sqlstate, sizeof db->sqlstate, "%s", state ? state : "");
	count_failure(db, state);
	first_line(err, errlen, r ? PQresultErrorMessage(r) : PQerrorMessage(db->conn));
	if (*err == '\0')
		first_line(err, errlen, PQerrorMessage(db->conn));
	PQclear(r);
	return NULL;
}

/* The statement on db's own connection, once more on a fresh one when the
 * connection was lost and running it twice does no harm. */
static PGresult *exec_here(struct pg *db, const struct pg_statement *st, const char *const *params, char *err,
			   size_t errlen)
{
	db->sqlstate[0] = '\0';
	db->answered_by_replica = 0;
	int had_conn = db->conn != NULL;
	PGresult *r = exec_once(db, st, params, err, errlen);
	if (r == NULL && db->conn && PQstatus(db->conn) == CONNECTION_BAD) {
		/* The server went away under us (restart, idle kill).  Retry
		 * once on a fresh connection only when running the statement
		 * twice cannot do harm. */
		log_warn("%s: connection lost: %s", db->label, err);
		pg_reset(db);
		db->last_attempt_ms = 0;
		if (had_conn && st->idempotent)
			r = exec_once(db, st, params, err, errlen);
	}
	return r;
}

/* Whether the replica may take a statement now: one is set, it has not
 * just failed, and no transaction is open on the primary (its statements
 * must all run inside it). */
static int replica_usable(const struct pg *db)
{
	if (db->replica == NULL || clock_ms() < db->replica_retry_ms)
		return 0;
	return db->conn == NULL || PQtransactionStatus(db->conn) == PQTRANS_IDLE;
}

PGresult *pg_exec(struct pg *db, const struct pg_statement *st, const char *const *params, char *err, size_t errlen)
{
	if (st->reads == PG_MAY_LAG && replica_usable(db)) {
		struct pg *replica = db->replica;
		PGresult *r = exec_here(replica, st, params, err, errlen);
		/* A hot standby cancels a statement whose rows recovery must
		 * remove (40001, "conflict with recovery"): the primary has them. */
		const char *state = replica->sqlstate;
		if (r != NULL || !(server_failed(replica, state) || strcmp(state, "40001") == 0)) {
			memcpy(db->sqlstate, replica->sqlstate, sizeof db->sqlstate);
			db->answered_by_replica = 1;
			return r;
		}
		db->replica_retry_ms = clock_ms() + PG_REPLICA_RETRY_MS;
		log_warn("%s: the read replica failed, the primary answers reads for %.0f s: %s", db->label,
			 PG_REPLICA_RETRY_MS / 1000, err);
	}
	return exec_here(db, st, params, err, errlen);
}

PGresult *pg_exec_primary(struct pg *db, const struct pg_statement *st, const char *const *params, char *err,
			  size_t errlen)
{
	return exec_here(db, st, params, err, errlen);
}

int pg_answered_by_replica(const struct pg *db)
{
	return db->answered_by_replica;
}

const char *pg_last_sqlstate(struct pg *db)
{
	return db->sqlstate;
}
