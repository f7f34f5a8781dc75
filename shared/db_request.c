/* db_request.c - see db_request.h. */
#include "db_request.h"

#include <stdarg.h>

#include "app.h"

static void clear_result(void *r)
{
	PQclear(r);
}

PGresult *db_request_keep(struct request *req, PGresult *r)
{
	if (r != NULL)
		arena_on_reset(req->arena, clear_result, r);
	return r;
}

PGresult *db_request_result(struct request *req, PGresult *r, const char *what, const char *err)
{
	if (r == NULL)
		response_unavailable(req, what, err);
	return db_request_keep(req, r);
}

int db_request_rc(struct request *req, int rc, const char *what, const char *err)
{
	if (rc == -1)
		response_unavailable(req, what, err);
	return rc;
}

PGresult *db_request_exec_on(struct request *req, struct pg *db, const struct pg_statement *st,
			     const char *const *params)
{
	char err[256];
	return db_request_result(req, pg_exec(db, st, params, err, sizeof err), st->name, err);
}

PGresult *db_request_exec(struct request *req, const struct pg_statement *st, const char *const *params)
{
	return db_request_exec_on(req, req->ctx->db, st, params);
}

int db_request_run(struct request *req, const struct pg_statement *st, const char *const *params)
{
	return db_request_exec(req, st, params) ? 0 : -1;
}

__attribute__((format(printf, 4, 0)))
static PGresult *one_row(struct request *req, PGresult *r, int status, const char *fmt, va_list ap)
{
	if (r == NULL || PQntuples(r) == 1)
		return r;
	char *message = arena_vprintf(req->arena, fmt, ap);
	response_error(req, status, response_default_code(status), "%s", message);
	return NULL;
}

PGresult *db_request_one(struct request *req, const struct pg_statement *st, const char *const *params, int status,
			 const char *fmt, ...)
{
	PGresult *r = db_request_exec(req, st, params);
	if (r && PQntuples(r) == 0 && pg_answered_by_replica(req->ctx->db)) {
		/* The replica may not have replayed the row yet (a get right
		 * after the write that made it): only the primary says it is
		 * not there. */
		char err[256];
		r = db_request_result(req, pg_exec_primary(req->ctx->db, st, params, err, sizeof err), st->name, err);
	}
	va_list ap;
	va_start(ap, fmt);
	r = one_row(req, r, status, fmt, ap);
	va_end(ap);
	return r;
}

PGresult *db_request_row(struct request *req, PGresult *r, const char *what, const char *err, int status,
			 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	r = one_row(req, db_request_result(req, r, what, err), status, fmt, ap);
	va_end(ap);
	return r;
}

int db_request_begin(struct request *req)
{
	if (db_request_run(req, &pg_begin, NULL) != 0)
		return -1;
	req->db_transaction = 1;
	return 0;
}

void db_request_rollback(struct request *req)
{
	if (!req->db_transaction)
		return;
	req->db_transaction = 0;
	char err[256];
	PQclear(pg_exec(req->ctx->db, &pg_rollback, NULL, err, sizeof err));
}

int db_request_commit(struct request *req)
{
	if (db_request_run(req, &pg_commit, NULL) == 0) {
		req->db_transaction = 0;
		return 0;
	}
	db_request_rollback(req);
	return -1;
}
