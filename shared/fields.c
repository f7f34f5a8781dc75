/* fields.c - typed access to req->json with uniform 400 answers. */
#include "fields.h"

#include <stdio.h>
#include <string.h>

int fields_only(struct request *req, const char *const *allowed)
{
	json_object_object_foreach(req->json, key, val) {
		(void)val;
		int known = 0;
		for (const char *const *a = allowed; *a && !known; a++)
			known = strcmp(*a, key) == 0;
		if (!known) {
			response_error(req, 400, "invalid_request", "unknown field: %.64s", key);
			return -1;
		}
	}
	return 0;
}

int field_string(struct request *req, const char *name, int required, size_t maxlen, const char **out)
{
	struct json_object *v;
	*out = NULL;
	if (!json_object_object_get_ex(req->json, name, &v) || json_object_is_type(v, json_type_null)) {
		if (!required)
			return 0;
		response_error(req, 400, "invalid_request", "%s is required", name);
		return -1;
	}
	if (!json_object_is_type(v, json_type_string)) {
		response_error(req, 400, "invalid_request", "%s must be a string", name);
		return -1;
	}
	size_t len = (size_t)json_object_get_string_len(v);
	if (len == 0) {
		response_error(req, 400, "invalid_request", "%s must not be empty", name);
		return -1;
	}
	if (len > maxlen) {
		response_error(req, 400, "invalid_request", "%s must be at most %zu bytes", name, maxlen);
		return -1;
	}
	*out = json_object_get_string(v);
	return 0;
}

int field_enum(struct request *req, const char *name, int required, const char *const *choices, const char **out)
{
	if (field_string(req, name, required, 64, out) != 0)
		return -1;
	if (*out == NULL)
		return 0;
	for (const char *const *c = choices; *c; c++)
		if (strcmp(*c, *out) == 0)
			return 0;
	char list[256] = "";
	for (const char *const *c = choices; *c; c++) {
		size_t n = strlen(list);
		snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "", *c);
	}
	response_error(req, 400, "invalid_request", "%s must be one of: %s", name, list);
	return -1;
}
