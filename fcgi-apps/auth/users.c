/* users.c - shared/user_store.c's accounts for a request: a database error is answered 503. */
#include "auth.h"

#include "db_request.h"

int users_by_email(struct request *req, const char *email, struct user_store_user *u)
{
	char err[256];
	return db_request_rc(req, user_store_by_email(req->ctx->db, email, u, err, sizeof err), "user_store_by_email",
			     err);
}

int users_by_id(struct request *req, const char *id, struct user_store_user *u)
{
	char err[256];
	return db_request_rc(req, user_store_by_id(req->ctx->db, id, u, err, sizeof err), "user_store_by_id", err);
}

int users_create(struct request *req, const char *email, const char *hash, const char *name, struct user_store_user *u)
{
	char err[256];
	int made = db_request_rc(req, user_store_create(req->ctx->db, email, hash, name, u, err, sizeof err),
				 "user_store_create", err);
	return made < 0 ? -1 : made ? 0 : 1;
}

int users_set_password(struct request *req, const char *id, const char *hash)
{
	char err[256];
	return db_request_rc(req, user_store_set_password(req->ctx->db, id, hash, err, sizeof err),
			     "user_store_set_password", err);
}

int users_set_verified(struct request *req, const char *id)
{
	char err[256];
	return db_request_rc(req, user_store_set_verified(req->ctx->db, id, err, sizeof err), "user_store_set_verified",
			     err);
}

void users_password_params(struct request *req, struct password_params *p)
{
	p->n = (uint32_t)req->ctx->cfg.auth_scrypt_n;
	p->r = (uint8_t)req->ctx->cfg.auth_scrypt_r;
	p->p = (uint8_t)req->ctx->cfg.auth_scrypt_p;
}
