/* accounts.c - register, login, me and password change.
 *
 * Login never tells an unknown account from a wrong password: the same 401,
 * the same body, and the same scrypt cost (a dummy verification) either way. */
#include "auth.h"

#include <string.h>

#include "fields.h"
#include "log.h"

#define EMAIL_FIELD_MAX 320
#define PASSWORD_FIELD_MAX 1024

/* Reads and normalises the email field; -1 when answered. */
static int read_email(struct request *req, char out[EMAIL_MAX + 1])
{
	const char *raw;
	if (field_string(req, "email", 1, EMAIL_FIELD_MAX, &raw) != 0)
		return -1;
	if (email_normalize(raw, out) != 0) {
		response_error(req, 400, "invalid_request", "email is not a valid address");
		return -1;
	}
	return 0;
}

/* A new password from field name, policy-checked and hashed into hash. */
static int new_password_hash(struct request *req, const char *name, char hash[PASSWORD_HASH_MAX])
{
	const char *pw;
	char why[128];
	struct password_params params;
	if (field_string(req, name, 1, PASSWORD_FIELD_MAX, &pw) != 0)
		return -1;
	if (password_check_policy(pw, why, sizeof why) != 0) {
		response_error(req, 400, "invalid_request", "%s %s", name, why);
		return -1;
	}
	users_password_params(req, &params);
	if (password_hash(pw, &params, hash) != 0) {
		response_error(req, 500, "internal", "could not hash the password");
		return -1;
	}
	return 0;
}

void accounts_register(struct request *req)
{
	static const char *const allowed[] = { "email", "password", "name", NULL };
	char email[EMAIL_MAX + 1], hash[PASSWORD_HASH_MAX];
	const char *name;
	int browser = origin_check(req);
	if (browser < 0 || limits_hit(req, LIMIT_REGISTER_IP, NULL) != 0 || fields_only(req, allowed) != 0 ||
	    read_email(req, email) != 0 || field_string(req, "name", 0, 256, &name) != 0 ||
	    new_password_hash(req, "password", hash) != 0)
		return;
	struct user_store_user u;
	int rc = users_create(req, email, hash, name, &u);
	if (rc < 0)
		return;
	if (rc == 1) {
		response_error(req, 409, "conflict", "an account with this email already exists");
		return;
	}
	audit_event(req, "register", u.id, u.email, NULL);
	tokens_start_session(req, &u, 201, browser);
}

void accounts_login(struct request *req)
{
	static const char *const allowed[] = { "email", "password", NULL };
	char email[EMAIL_MAX + 1];
	const char *pw;
	int browser = origin_check(req);
	if (browser < 0 || limits_hit(req, LIMIT_LOGIN_IP, NULL) != 0 || fields_only(req, allowed) != 0 ||
	    read_email(req, email) != 0 || limits_hit(req, LIMIT_LOGIN_EMAIL, email) != 0 ||
	    field_string(req, "password", 1, PASSWORD_FIELD_MAX, &pw) != 0)
		return;

	struct password_params params;
	users_password_params(req, &params);
	struct user_store_user u;
	int found = users_by_email(req, email, &u);
	if (found < 0)
		return;
	int outdated = 0, ok = 0;
	if (found && u.password_hash[0])
		ok = password_verify(u.password_hash, pw, &params, &outdated) == 1;
	else
		password_verify_dummy(pw, &params);
	if (!ok) {
		audit_event(req, "login_failed", found ? u.id : NULL, email, NULL);
		response_error(req, 401, "unauthorized", "email or password is incorrect");
		return;
	}
	if (outdated) {
		char hash[PASSWORD_HASH_MAX];
		if (password_hash(pw, &params, hash) == 0 && users_set_password(req, u.id, hash) == 0)
			log_info("password of user %s rehashed with current parameters", u.id);
		if (req->status)
			return;
	}
	audit_event(req, "login", u.id, u.email, NULL);
	tokens_start_session(req, &u, 200, browser);
}

void accounts_me(struct request *req)
{
	struct user_store_user u;
	int found = users_by_id(req, req->user->id, &u);
	if (found < 0)
		return;
	if (found == 0) {
		response_error(req, 401, "unauthorized", "the account no longer exists");
		return;
	}
	struct json_object *body = json_object_new_object();
	json_object_object_add(body, "user", user_store_json(&u));
	response_json(req, 200, body);
}

void accounts_password_change(struct request *req)
{
	static const char *const allowed[] = { "currentPassword", "newPassword", NULL };
	const char *current;
	char hash[PASSWORD_HASH_MAX];
	if (limits_hit(req, LIMIT_PASSWORD_CHANGE_USER, req->user->id) != 0 || fields_only(req, allowed) != 0 ||
	    field_string(req, "currentPassword", 1, PASSWORD_FIELD_MAX, &current) != 0)
		return;
	struct user_store_user u;
	struct password_params params;
	users_password_params(req, &params);
	int found = users_by_id(req, req->user->id, &u);
	if (found <= 0) {
		if (found == 0)
			response_error(req, 401, "unauthorized", "the account no longer exists");
		return;
	}
	int outdated;
	if (!u.password_hash[0] || password_verify(u.password_hash, current, &params, &outdated) != 1) {
		audit_event(req, "password_change_failed", u.id, u.email, NULL);
		response_error(req, 403, "forbidden", "currentPassword is incorrect");
		return;
	}
	if (new_password_hash(req, "newPassword", hash) != 0 || users_set_password(req, u.id, hash) != 0)
		return;
	/* Every other session ends; the one that changed the password goes on. */
	if (tokens_revoke_sessions(req, u.id, NULL, req->user->session, "password_change") < 0)
		return;
	audit_event(req, "password_change", u.id, u.email, NULL);
	response_no_content(req);
}
