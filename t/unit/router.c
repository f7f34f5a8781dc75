/* router.c - unit tests of route matching, media types, request ids and decoding. */
#include "arena.h"
#include "request.h"
#include "router.h"
#include "tap.h"

static int match(struct arena *a, const char *path, const char *pattern, struct request *req)
{
	memset(req, 0, sizeof *req);
	req->arena = a;
	req->path = path;
	return router_match(req, pattern);
}

int main(void)
{
	struct arena *a = arena_create(0);
	struct request req;

	ok(match(a, "/api/v1/auth/health", "/api/v1/auth/health", &req), "literal path matches");
	ok(!match(a, "/api/v1/auth/healthz", "/api/v1/auth/health", &req), "longer segment does not");
	ok(!match(a, "/api/v1/auth", "/api/v1/auth/health", &req), "prefix does not");
	ok(!match(a, "/api/v1/auth/health/x", "/api/v1/auth/health", &req), "extra segment does not");
	ok(match(a, "/api/v1/keys/abc/rotate", "/api/v1/keys/{keyId}/rotate", &req), "placeholder matches");
	is_str(request_param(&req, "keyId"), "abc", "placeholder value");
	ok(match(a, "/api/v1/keys/a%20b", "/api/v1/keys/{keyId}", &req), "encoded placeholder matches");
	is_str(request_param(&req, "keyId"), "a b", "and is decoded");
	ok(!match(a, "/api/v1/keys//rotate", "/api/v1/keys/{keyId}/rotate", &req), "empty segment never fills a placeholder");
	ok(!match(a, "/api/v1/keys/%zz", "/api/v1/keys/{keyId}", &req), "malformed escape does not match");
	ok(!match(a, "/api/v1/keys/%00", "/api/v1/keys/{keyId}", &req), "encoded NUL does not match");

	ok(router_is_json_media_type("application/json"), "application/json");
	ok(router_is_json_media_type("application/json; charset=utf-8"), "with charset utf-8");
	ok(router_is_json_media_type("Application/JSON;charset=UTF-8"), "case-insensitive");
	ok(!router_is_json_media_type("application/json; charset=latin1"), "other charset refused");
	ok(!router_is_json_media_type("text/plain"), "text/plain refused");
	ok(!router_is_json_media_type("application/jsonx"), "application/jsonx refused");
	ok(!router_is_json_media_type(""), "missing refused");

	ok(request_id_is_sane("abc-123_X.y:z"), "sane request id");
	ok(!request_id_is_sane(""), "empty id is not sane");
	ok(!request_id_is_sane("a b"), "space is not sane");
	ok(!request_id_is_sane("a\nb"), "newline is not sane");
	char longid[200];
	memset(longid, 'a', sizeof longid - 1);
	longid[sizeof longid - 1] = '\0';
	ok(!request_id_is_sane(longid), "over 128 characters is not sane");
	longid[128] = '\0';
	ok(request_id_is_sane(longid), "128 characters is sane");

	memset(&req, 0, sizeof req);
	req.arena = a;
	req.query = "namespace=notes&externalUserId=u%2B1&flag&empty=&plus=a+b";
	is_str(request_query(&req, "namespace"), "notes", "query value");
	is_str(request_query(&req, "externalUserId"), "u+1", "decoded query value");
	is_str(request_query(&req, "flag"), "", "bare key");
	is_str(request_query(&req, "empty"), "", "empty value");
	is_str(request_query(&req, "plus"), "a b", "plus is a space in queries");
	ok(request_query(&req, "missing") == NULL, "absent key");
	ok(request_percent_decode(a, "%4", 2, 1) == NULL, "truncated escape refused");

	arena_destroy(a);
	return done_testing();
}
