/* oauth_return.c - where a provider sends the browser back after a web sign-in.
 *
 * GOOGLE_REDIRECT_URI and APPLE_REDIRECT_URI may point here
 * (/api/v1/auth/{google,apple}/callback).  Google comes back with a GET and
 * the code and state in the query string; Apple posts them as a form
 * (response_mode=form_post), with the user's name as JSON in `user` on the
 * first sign-in only.  A static page cannot read a form post, so this route
 * turns either into a 303 to OAUTH_RETURN_URL (the console), with provider,
 * code, state and, from Apple, name in its query string.  The page then
 * posts them to /{provider}/token, which spends the state and checks that
 * the browser holds the aiget_oauth cookie bound to it (oauth.c).
 *
 * So this route issues nothing and reads no cookie (Apple's cross-site POST
 * carries no SameSite=Lax cookie anyway), and it takes no Origin rule:
 * Apple's form comes from appleid.apple.com.  Bouncing a forged code and
 * state to the console gains nothing, since /token refuses a state that
 * this browser did not start.  A provider's refusal (`error`, e.g. the user
 * cancelled) is passed on the same way, for the page to show. */
#include "auth.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "body.h"
#include "http_client.h"

/* The longest values passed on: as /token's schema bounds them. */
#define CODE_MAX 2048
#define STATE_MAX 256
#define ERROR_MAX 256
#define NAME_MAX_BYTES 256

struct provider_answer {
	const char *code, *state, *error, *user;
};

/* One field of the answer, kept when the name is one of ours; others
 * (Apple's id_token in some modes, iss) are ignored. */
static void take(struct provider_answer *a, const char *key, const char *value)
{
	if (strcmp(key, "code") == 0)
		a->code = value;
	else if (strcmp(key, "state") == 0)
		a->state = value;
	else if (strcmp(key, "error") == 0)
		a->error = value;
	else if (strcmp(key, "user") == 0)
		a->user = value;
}

/* Walks a query string or form body into a; -1 on a malformed escape. */
static int parse(struct request *req, const char *text, struct provider_answer *a)
{
	size_t pos = 0;
	const char *key, *value;
	while (request_form_next(req->arena, text, &pos, &key, &value)) {
		if (key == NULL || value == NULL)
			return -1;
		take(a, key, value);
	}
	return 0;
}

/* Apple's `user` is {"name": {"firstName", "lastName"}, "email"}: the name
 * as one string, or NULL when it has none or is not that JSON. */
static const char *apple_name(struct request *req, const char *user)
{
	char err[128];
	if (user == NULL || *user == '\0')
		return NULL;
	struct json_object *o = body_json_parse(user, strlen(user), err, sizeof err), *name, *part;
	if (o == NULL)
		return NULL;
	const char *parts[2] = { NULL, NULL };
	static const char *const keys[2] = { "firstName", "lastName" };
	if (json_object_object_get_ex(o, "name", &name) && json_object_is_type(name, json_type_object))
		for (int i = 0; i < 2; i++)
			if (json_object_object_get_ex(name, keys[i], &part) && json_object_is_type(part, json_type_string))
				parts[i] = json_object_get_string(part);
	char *full = parts[0] || parts[1]
		? arena_printf(req->arena, "%s%s%s", parts[0] ? parts[0] : "", parts[0] && parts[1] ? " " : "",
			       parts[1] ? parts[1] : "")
		: NULL;
	json_object_put(o);
	return full && *full && strlen(full) <= NAME_MAX_BYTES ? full : NULL;
}

static int too_long(const char *s, size_t max)
{
	return s != NULL && strlen(s) > max;
}

/* The 303 to the return page with what the provider said. */
static void send_back(struct request *req, const char *provider, const struct provider_answer *a)
{
	const char *base = req->ctx->cfg.oauth_return_url;
	const char *name = strcmp(provider, "apple") == 0 ? apple_name(req, a->user) : NULL;
	char *query = NULL;
	int ok = http_client_form_add(&query, "provider", provider) == 0 &&
		 (a->error == NULL || http_client_form_add(&query, "error", a->error) == 0) &&
		 (a->code == NULL || http_client_form_add(&query, "code", a->code) == 0) &&
		 (a->state == NULL || http_client_form_add(&query, "state", a->state) == 0) &&
		 (name == NULL || http_client_form_add(&query, "name", name) == 0);
	if (!ok) {
		free(query);
		response_error(req, 500, "internal", "out of memory");
		return;
	}
	response_header(req, "Location", arena_printf(req->arena, "%s%s%s", base, strchr(base, '?') ? "&" : "?", query));
	free(query);
	response_send(req, 303, NULL, NULL, 0);
}

static void answer(struct request *req, const char *provider, const char *text)
{
	struct provider_answer a = { NULL, NULL, NULL, NULL };
	if (req->ctx->cfg.oauth_return_url == NULL || *req->ctx->cfg.oauth_return_url == '\0') {
		response_header(req, "Retry-After", "3600");
		response_error(req, 503, "unavailable", "web sign-in has no return page (OAUTH_RETURN_URL is not set)");
		return;
	}
	if (parse(req, text, &a) != 0) {
		response_error(req, 400, "invalid_request", "the provider's answer has a malformed escape");
		return;
	}
	if (a.error == NULL && (a.code == NULL || *a.code == '\0' || a.state == NULL || *a.state == '\0')) {
		response_error(req, 400, "invalid_request", "code and state are required");
		return;
	}
	if (too_long(a.code, CODE_MAX) || too_long(a.state, STATE_MAX) || too_long(a.error, ERROR_MAX)) {
		response_error(req, 400, "invalid_request", "code, state or error is too long");
		return;
	}
	send_back(req, provider, &a);
}

void oauth_google_return(struct request *req)
{
	answer(req, "google", req->query);
}

/* Apple's form post: application/x-www-form-urlencoded, within the small
 * body cap (a code, a state and a name are well under 8 KiB). */
void oauth_apple_return(struct request *req)
{
	size_t n = strcspn(req->content_type, ";");
	if (n != strlen("application/x-www-form-urlencoded") ||
	    strncasecmp(req->content_type, "application/x-www-form-urlencoded", n) != 0) {
		response_error(req, 415, "unsupported_media_type", "Content-Type must be application/x-www-form-urlencoded");
		return;
	}
	unsigned long long cap = (unsigned long long)req->ctx->cfg.max_small_body_bytes;
	enum body_status st = body_read(req, cap);
	if (st == BODY_TOO_LARGE) {
		response_error(req, 413, "payload_too_large", "request body is too large (limit %llu bytes)", cap);
		return;
	}
	if (st != BODY_OK) {
		response_error(req, 400, "invalid_request", "the request body could not be read");
		return;
	}
	answer(req, "apple", req->body ? req->body : "");
}
