/* db_request.h - a handler's one edge to the database: statements, rows, transactions.
 *
 * Every database failure of a request is answered the same way: 503 with
 * Retry-After, the cause logged and never shown (response_unavailable()).
 * Every result is registered as a cleanup of the request's arena, as
 * arena.h promises for non-memory resources: it stays valid until the
 * request ends (across a loop, after a rollback, inside the JSON built from
 * it) and a handler never PQclear()s it.  Processes without a request (the
 * worker, aigetctl) call pg_exec() and clear their results themselves.
 *
 * A transaction belongs to the request: db_request_begin() opens it on the
 * main database, db_request_commit() ends it (rolled back and answered 503
 * when COMMIT fails), db_request_rollback() ends it otherwise.  A rollback
 * with no transaction open does nothing, so every failure path may call it,
 * whatever ended the transaction before.  Statements run inside one are
 * declared non-idempotent, so that pg_exec() never retries one on a fresh
 * connection, outside the transaction it belonged to. */
#ifndef AIGET_DB_REQUEST_H
#define AIGET_DB_REQUEST_H

#include <libpq-fe.h>

#include "pg.h"
#include "request.h"

/* Runs st on the main database (_on: on db, e.g. the vector database).
 * The result, registered with the request; NULL when it failed (answered 503). */
PGresult *db_request_exec(struct request *req, const struct pg_statement *st, const char *const *params);
PGresult *db_request_exec_on(struct request *req, struct pg *db, const struct pg_statement *st,
			     const char *const *params);

/* A statement whose rows are not needed: 0, or -1 (answered 503). */
int db_request_run(struct request *req, const struct pg_statement *st, const char *const *params);

/* A statement that must answer exactly one row: the result, or NULL when it
 * failed (503) or answered another number of rows (answered status with
 * the message, and the contract's code for the status).  No row from the
 * read replica is asked again of the primary: a row may lag, its absence
 * must not (a get right after a create finds what it made). */
PGresult *db_request_one(struct request *req, const struct pg_statement *st, const char *const *params, int status,
			 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* r, registered with the request, for a result that came from elsewhere (a
 * shared/ module that owns its table); NULL stays NULL. */
PGresult *db_request_keep(struct request *req, PGresult *r);

/* r, registered with the request, or NULL and answered 503 when r is NULL:
 * a module's "NULL with a message in err" mapped to the handler's answer. */
PGresult *db_request_result(struct request *req, PGresult *r, const char *what, const char *err);

/* As db_request_result(), and NULL too when r has another number of rows
 * than one (answered as db_request_one() does). */
PGresult *db_request_row(struct request *req, PGresult *r, const char *what, const char *err, int status,
			 const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* A module's "-1 with a message in err" answered 503; rc is returned as it
 * is, so a call reads `if (db_request_rc(req, f(...), "f", err) < 0)`. */
int db_request_rc(struct request *req, int rc, const char *what, const char *err);

/* BEGIN: 0, or -1 (answered 503).  COMMIT: 0, or -1 (rolled back, answered
 * 503).  ROLLBACK: of the open transaction, if any; never fails. */
int db_request_begin(struct request *req);
int db_request_commit(struct request *req);
void db_request_rollback(struct request *req);

#endif
