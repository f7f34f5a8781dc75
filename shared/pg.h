/* pg.h - a PostgreSQL connection owned by one process, with prepared statements.
 *
 * Each statement is declared once, as a `static const struct pg_statement`, in
 * the module that owns its table, and prepared on a connection the first time
 * it runs there.  A connection that failed is dropped and made anew on the
 * next use (hiredis-style), at most every PG_RECONNECT_MS, so a database that
 * is down costs a request one fast failure, not a stall. */
#ifndef AIGET_PG_H
#define AIGET_PG_H

#include <stddef.h>

#include <libpq-fe.h>

struct pg;

/* Where a statement may run when its database has a read replica
 * (pg_set_replica()).  The choice is made where the statement is declared:
 * only a read whose answer may be a moment old says PG_MAY_LAG. */
enum pg_reads {
	PG_PRIMARY = 0,     /* writes, and reads that must see every committed write */
	PG_MAY_LAG,         /* searches, lists and gets: the replica, else the primary */
};

struct pg_statement {
	const char *name;   /* unique per process */
	const char *sql;    /* $1.. placeholders only: never formatted */
	int nparams;
	int idempotent;     /* safe to run again on a fresh connection after a drop */
	enum pg_reads reads;
};

/* Transaction control: one statement each, prepared once per connection,
 * for every caller. */
extern const struct pg_statement pg_begin, pg_commit, pg_rollback;

/* Does not connect; the first pg_exec() does.  label names it in logs
 * ("postgres", "vector"); the URL is never logged. */
struct pg *pg_open(const char *url, const char *label, int connect_timeout_s);
void pg_close(struct pg *db);

/* Runs a prepared statement with text parameters (NULL is SQL NULL).
 * Returns the result (caller PQclear()s it) when its status is
 * PGRES_TUPLES_OK or PGRES_COMMAND_OK; otherwise NULL with a message in err.
 * A PG_MAY_LAG statement runs on the read replica when db has one and no
 * transaction is open on db; when the replica cannot answer (down, lost,
 * shutting down, a recovery conflict cancelled the statement) the primary
 * does, and the replica is left alone for PG_REPLICA_RETRY_MS. */
PGresult *pg_exec(struct pg *db, const struct pg_statement *st, const char *const *params,
		  char *err, size_t errlen);

/* As pg_exec(), always on the primary: a read that must not lag, of a
 * statement that otherwise may (db_request_one() confirms an absent row). */
PGresult *pg_exec_primary(struct pg *db, const struct pg_statement *st, const char *const *params,
			  char *err, size_t errlen);

/* Whether the last pg_exec() on db was answered by its read replica. */
int pg_answered_by_replica(const struct pg *db);

/* Gives db a read replica at url (label "<db's label>-read"), with db's
 * connect timeout, options and statement timeout, now and when they change.
 * Only responders call it: a worker's reads must see the writes they follow. */
void pg_set_replica(struct pg *db, const char *url);

/* The SQLSTATE of the last failed pg_exec(), "" when none or no connection. */
const char *pg_last_sqlstate(struct pg *db);

/* The live connection, connecting if needed; NULL with err on failure.  For
 * the few tools that must run unprepared SQL they own (migrations). */
PGconn *pg_conn(struct pg *db, char *err, size_t errlen);

/* Session settings for every connection made from now on, as libpq's
 * "options" keyword ("-c name=value ..."), e.g. a responder's planner
 * settings.  Drops the current connection. */
void pg_set_options(struct pg *db, const char *options);

/* Every statement on connections made from now on is cancelled by the
 * server after ms (statement_timeout; 0 leaves the server's setting), so
 * that no request keeps a child, or a lock, longer than its client waits.
 * Drops the current connection. */
void pg_set_statement_timeout(struct pg *db, long long ms);

/* How many statements of this process ran out of time so far (SQLSTATE
 * 57014): a request compares it before and after to tell a timeout from a
 * database that is down. */
unsigned long pg_timeouts(void);

/* Drops the connection so the next use reconnects. */
void pg_reset(struct pg *db);

#endif
