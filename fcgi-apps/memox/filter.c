/* filter.c - a search's metadata filter, compiled to a PostgreSQL jsonpath predicate.
 *
 * The filter is the MongoDB-style language people know from vector stores:
 *   {"topic": "work"}                          equality (string, number, boolean, null)
 *   {"priority": {"$gte": 2, "$lt": 5}}         numeric $gt $gte $lt $lte
 *   {"topic": {"$in": ["a","b"]}}  $nin  $ne  $eq  {"$exists": true}
 *   {"$and": [f, ...]}  {"$or": [f, ...]}      several fields in one object are ANDed
 *   {"doc.lang": "en"}                          dots walk into nested objects
 * It becomes a jsonpath predicate such as
 *   exists($."priority" ? (@ >= $v1)) && !(exists($."topic" ? (@ == $v2)))
 * evaluated by jsonb_path_match(metadata, path, vars) in the vector
 * database.  Values never enter the path: they travel in the vars object, and
 * the path itself is a statement parameter, so a filter cannot change the
 * SQL.  Field names are kept to [A-Za-z0-9_-] per segment so that quoting
 * them in the path is trivial.  Each comparison is wrapped in exists(), which
 * is true or false, never unknown, so a field of another type simply does not
 * match (and $ne/$nin match a missing field, as in MongoDB).  An array field
 * matches when any element does (jsonpath's lax mode).  Complexity is
 * bounded, because the predicate runs once for every vector of the scope
 * (up to MEMOX_EXACT_SCAN_MAX of them): FILTER_MAX_CONDITIONS operators,
 * FILTER_MAX_DEPTH nesting, and in all FILTER_MAX_TERMS comparisons, each
 * value of an $in or $nin list counting as one (32 lists of 100 values
 * would otherwise be 3,200 comparisons a row). */
#include "memox.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define FILTER_MAX_CONDITIONS 32
#define FILTER_MAX_DEPTH 5
#define FILTER_MAX_IN 100
#define FILTER_MAX_TERMS 200
#define FILTER_FIELD_MAX 64
#define FILTER_FIELD_SEGMENTS 4

struct compiler {
	struct arena *a;
	struct json_object *vars;
	int nvars, conditions, terms;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct compiler *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* $."a"."b" for "a.b", or NULL when the name is not allowed. */
static const char *field_path(struct compiler *c, const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > FILTER_FIELD_MAX)
		return NULL;
	const char *path = "$";
	int segments = 0;
	for (const char *s = name; *s;) {
		size_t len = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");
		if (len == 0 || ++segments > FILTER_FIELD_SEGMENTS || (s[len] != '.' && s[len] != '\0'))
			return NULL;
		path = arena_printf(c->a, "%s.\"%.*s\"", path, (int)len, s);
		s += len;
		if (*s == '.' && *++s == '\0')
			return NULL;
	}
	return path;
}

/* A new variable holding v (a scalar); its name in the path ("$v3"). */
static const char *variable(struct compiler *c, struct json_object *v)
{
	char name[16];
	snprintf(name, sizeof name, "v%d", ++c->nvars);
	json_object_object_add(c->vars, name, json_object_get(v));
	return arena_printf(c->a, "$%s", name);
}

static int is_scalar(struct json_object *v)
{
	enum json_type t = json_object_get_type(v);
	return t == json_type_null || t == json_type_boolean || t == json_type_int || t == json_type_double ||
	       t == json_type_string;
}

static int is_number(struct json_object *v)
{
	return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

static int count(struct compiler *c)
{
	if (++c->conditions > FILTER_MAX_CONDITIONS) {
		snprintf(c->err, c->errlen, "filter has more than %d conditions", FILTER_MAX_CONDITIONS);
		return -1;
	}
	return 0;
}

/* Comparisons the predicate makes on each row: n more. */
static int spend(struct compiler *c, size_t n)
{
	c->terms += (int)n;
	if (c->terms > FILTER_MAX_TERMS) {
		snprintf(c->err, c->errlen, "filter makes more than %d comparisons (each $in or $nin value counts)",
			 FILTER_MAX_TERMS);
		return -1;
	}
	return 0;
}

/* One operator on one field: the predicate, or NULL (c->err set). */
static const char *operator(struct compiler *c, const char *path, const char *field, const char *op,
			    struct json_object *v)
{
	static const struct { const char *name, *sym; } order[] = {
		{ "$gt", ">" }, { "$gte", ">=" }, { "$lt", "<" }, { "$lte", "<=" },
	};
	size_t n_in = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
	int is_list = strcmp(op, "$in") == 0 || strcmp(op, "$nin") == 0;
	if (count(c) != 0 || spend(c, is_list && n_in <= FILTER_MAX_IN ? n_in : 1) != 0)
		return NULL;
	if (strcmp(op, "$eq") == 0 || strcmp(op, "$ne") == 0) {
		if (!is_scalar(v))
			return fail(c, "filter: %s takes a string, number, boolean or null", op), NULL;
		const char *p = arena_printf(c->a, "exists(%s ? (@ == %s))", path, variable(c, v));
		return op[1] == 'e' ? p : arena_printf(c->a, "!(%s)", p);
	}
	if (strcmp(op, "$in") == 0 || strcmp(op, "$nin") == 0) {
		size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
		if (n == 0 || n > FILTER_MAX_IN)
			return fail(c, "filter: %s takes an array of 1-%d values", op, FILTER_MAX_IN), NULL;
		const char *any = "";
		for (size_t i = 0; i < n; i++) {
			struct json_object *item = json_object_array_get_idx(v, i);
			if (!is_scalar(item))
				return fail(c, "filter: %s values must be strings, numbers, booleans or null", op), NULL;
			any = arena_printf(c->a, "%s%s@ == %s", any, i ? " || " : "", variable(c, item));
		}
		const char *p = arena_printf(c->a, "exists(%s ? (%s))", path, any);
		return op[1] == 'i' ? p : arena_printf(c->a, "!(%s)", p);
	}
	if (strcmp(op, "$exists") == 0) {
		if (!json_object_is_type(v, json_type_boolean))
			return fail(c, "filter: %s takes true or false", op), NULL;
		const char *p = arena_printf(c->a, "exists(%s)", path);
		return json_object_get_boolean(v) ? p : arena_printf(c->a, "!(%s)", p);
	}
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
		if (strcmp(op, order[i].name) == 0) {
			if (!is_number(v))
				return fail(c, "filter: %s takes a number", op), NULL;
			return arena_printf(c->a, "exists(%s ? (@ %s %s))", path, order[i].sym, variable(c, v));
		}
	(void)field;
	return fail(c, "filter: unknown operator %s", op), NULL;
}

static const char *expression(struct compiler *c, struct json_object *f, int depth);

/* "$and"/"$or": an array of filters joined by && or ||. */
static const char *combination(struct compiler *c, const char *op, struct json_object *list, int depth)
{
	size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
	if (n == 0 || n > FILTER_MAX_CONDITIONS)
		return fail(c, "filter: %s takes a non-empty array of filters", op), NULL;
	const char *out = "";
	for (size_t i = 0; i < n; i++) {
		const char *e = expression(c, json_object_array_get_idx(list, i), depth + 1);
		if (e == NULL)
			return NULL;
		out = arena_printf(c->a, "%s%s(%s)", out, i ? (op[1] == 'a' ? " && " : " || ") : "", e);
	}
	return out;
}

/* One filter object: its entries ANDed. */
static const char *expression(struct compiler *c, struct json_object *f, int depth)
{
	if (depth > FILTER_MAX_DEPTH)
		return fail(c, "filter is nested deeper than %d levels", FILTER_MAX_DEPTH), NULL;
	if (!json_object_is_type(f, json_type_object) || json_object_object_length(f) == 0)
		return fail(c, "filter: %s", "each filter must be a non-empty object"), NULL;
	const char *out = "";
	int first = 1;
	json_object_object_foreach(f, key, v) {
		const char *e;
		if (strcmp(key, "$and") == 0 || strcmp(key, "$or") == 0) {
			e = combination(c, key, v, depth);
		} else if (key[0] == '$') {
			return fail(c, "filter: unknown operator %s", key), NULL;
		} else {
			const char *path = field_path(c, key);
			if (path == NULL)
				return fail(c, "filter: field name \"%.64s\" must be up to 64 characters of A-Z a-z 0-9 _ -"
					    " in at most 4 dot-separated parts", key), NULL;
			if (json_object_is_type(v, json_type_object)) {
				if (json_object_object_length(v) == 0)
					return fail(c, "filter: the operators of %.64s are empty", key), NULL;
				e = "";
				int n = 0;
				json_object_object_foreach(v, op, arg) {
					const char *p = operator(c, path, key, op, arg);
					if (p == NULL)
						return NULL;
					e = arena_printf(c->a, "%s%s(%s)", e, n++ ? " && " : "", p);
				}
			} else {
				e = operator(c, path, key, "$eq", v);
			}
		}
		if (e == NULL)
			return NULL;
		out = arena_printf(c->a, "%s%s(%s)", out, first ? "" : " && ", e);
		first = 0;
	}
	return out;
}

int filter_compile(struct json_object *filter, struct arena *a, const char **path, const char **vars,
		   char *err, size_t errlen)
{
	*path = *vars = NULL;
	if (filter == NULL || json_object_is_type(filter, json_type_null))
		return 0;
	if (!json_object_is_type(filter, json_type_object)) {
		snprintf(err, errlen, "filter must be a JSON object");
		return -1;
	}
	if (json_object_object_length(filter) == 0)
		return 0;
	struct compiler c = { .a = a, .vars = json_object_new_object(), .err = err, .errlen = errlen };
	const char *e = expression(&c, filter, 1);
	if (e != NULL) {
		*path = e;
		*vars = arena_strdup(a, json_object_to_json_string_ext(c.vars, JSON_C_TO_STRING_PLAIN));
	}
	json_object_put(c.vars);
	return e ? 0 : -1;
}
