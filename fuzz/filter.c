/* filter.c - fuzzes memox's metadata filter compiler (fcgi-apps/memox/filter.c filter_compile).
 *
 * The input is a search's "filter" as JSON.  Properties of what compiles:
 *  - the path is a jsonpath predicate in the small grammar filter.c emits,
 *    checked by a parser written here:
 *      expr   := unary ( " && " unary )* | unary ( " || " unary )*
 *      unary  := "(" expr ")" | "!(" expr ")" | exists
 *      exists := "exists(" path [ " ? (" cmp ( " || " cmp )* ")" ] ")"
 *      path   := "$" ( ".\"" [A-Za-z0-9_-]+ "\"" ){1,4}
 *      cmp    := "@ " ( "==" | ">" | ">=" | "<" | "<=" ) " $v" [1-9][0-9]*
 *    so that it never contains a value: no string, number or boolean
 *    literal at all, only field names, which are the filter's own keys;
 *  - the values travel in vars, a JSON object of exactly v1..vN, each used
 *    once in the path, each a scalar of the filter;
 *  - a refusal has a reason, and no path.
 * t/0401-fuzz-filter-jsonpath.t hands the paths of the seeds to PostgreSQL,
 * the second implementation of the grammar.  With FUZZ_FILTER_PRINT=file,
 * each compiled path and its vars are appended to that file, a line each. */
#include <string.h>

#include "../fcgi-apps/memox/memox.h"
#include "body.h"
#include "support/fuzz.h"

struct parse {
	const char *p;
	int vars_seen[256];
	int max_var;
	struct json_object *filter;
};

static int eat(struct parse *s, const char *word)
{
	size_t n = strlen(word);
	if (strncmp(s->p, word, n) != 0)
		return 0;
	s->p += n;
	return 1;
}

/* A key of the filter, at any depth: field names come from nowhere else. */
static int is_filter_key(struct json_object *v, const char *name, size_t n)
{
	if (json_object_is_type(v, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if (is_filter_key(json_object_array_get_idx(v, i), name, n))
				return 1;
		return 0;
	}
	if (!json_object_is_type(v, json_type_object))
		return 0;
	json_object_object_foreach(v, key, child) {
		/* "a.b" is written $."a"."b": each segment is one of a key's. */
		for (const char *seg = key;; seg++) {
			size_t len = strcspn(seg, ".");
			if (len == n && strncmp(seg, name, n) == 0)
				return 1;
			seg += len;
			if (*seg == '\0')
				break;
		}
		if (is_filter_key(child, name, n))
			return 1;
	}
	return 0;
}

static int path(struct parse *s)
{
	static const char name_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
	int segments = 0;
	if (!eat(s, "$"))
		return 0;
	while (eat(s, ".\"")) {
		size_t n = strspn(s->p, name_chars);
		if (n == 0 || s->p[n] != '"' || !is_filter_key(s->filter, s->p, n))
			return 0;
		s->p += n + 1;
		segments++;
	}
	return segments >= 1 && segments <= 4;
}

static int cmp(struct parse *s)
{
	if (!eat(s, "@ "))
		return 0;
	if (!(eat(s, "== ") || eat(s, ">= ") || eat(s, "<= ") || eat(s, "> ") || eat(s, "< ")))
		return 0;
	if (!eat(s, "$v") || *s->p < '1' || *s->p > '9')
		return 0;
	int v = 0;
	while (*s->p >= '0' && *s->p <= '9' && v < 1000)
		v = v * 10 + (*s->p++ - '0');
	if (v >= (int)(sizeof s->vars_seen / sizeof s->vars_seen[0]) || s->vars_seen[v]++)
		return 0; /* each variable once */
	if (v > s->max_var)
		s->max_var = v;
	return 1;
}

static int expr(struct parse *s, int depth);

static int unary(struct parse *s, int depth)
{
	if (depth > 64)
		return 0;
	if (eat(s, "exists(")) {
		if (!path(s))
			return 0;
		if (eat(s, " ? (")) {
			do {
				if (!cmp(s))
					return 0;
			} while (eat(s, " || "));
			if (!eat(s, ")"))
				return 0;
		}
		return eat(s, ")");
	}
	if (!eat(s, "!(") && !eat(s, "("))
		return 0;
	return expr(s, depth + 1) && eat(s, ")");
}

static int expr(struct parse *s, int depth)
{
	if (!unary(s, depth))
		return 0;
	const char *op = strncmp(s->p, " && ", 4) == 0 ? " && " : " || ";
	while (eat(s, op))
		if (!unary(s, depth))
			return 0;
	/* One operator a level: the compiler parenthesises every operand, so
	 * a mix would be a precedence it never meant. */
	return strncmp(s->p, " && ", 4) != 0 && strncmp(s->p, " || ", 4) != 0;
}

/* 1 when v equals a scalar anywhere in the filter (keys' values, lists). */
static int is_filter_value(struct json_object *f, struct json_object *v)
{
	if (json_object_is_type(f, json_type_object)) {
		json_object_object_foreach(f, key, child) {
			(void)key;
			if (is_filter_value(child, v))
				return 1;
		}
		return 0;
	}
	if (json_object_is_type(f, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(f); i++)
			if (is_filter_value(json_object_array_get_idx(f, i), v))
				return 1;
		return 0;
	}
	return json_object_equal(f, v);
}

static char *print_to; /* FUZZ_FILTER_PRINT, read before fuzz_init() clears the environment */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *p = getenv("FUZZ_FILTER_PRINT");
	print_to = p ? strdup(p) : NULL;
	fuzz_init(NULL);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256], err[256];
	const struct json_limits lim = { 32, 2000, 200, 1 };
	struct json_object *filter = body_json_parse_limited((const char *)data, size, &lim, why, sizeof why);
	if (filter == NULL)
		return 0;
	const char *path_text, *vars_text;
	err[0] = '\0';
	int rc = filter_compile(filter, fuzz_arena(), &path_text, &vars_text, err, sizeof err);
	if (rc != 0) {
		FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof err) != NULL);
		FUZZ_CHECK(path_text == NULL);
		goto done;
	}
	if (path_text == NULL) {
		/* No filter: null, or {} */
		FUZZ_CHECK(json_object_is_type(filter, json_type_object) && json_object_object_length(filter) == 0);
		goto done;
	}
	if (print_to) {
		FILE *f = fopen(print_to, "a");
		if (f) {
			fprintf(f, "%s\t%s\n", path_text, vars_text);
			fclose(f);
		}
	}
	struct parse s = { .p = path_text, .filter = filter };
	if (!expr(&s, 0) || *s.p != '\0') {
		fprintf(stderr, "not the grammar at \"%.40s\" of: %s\n", s.p, path_text);
		FUZZ_CHECK(!"the path is in the grammar");
	}
	struct json_object *vars = body_json_parse(vars_text, strlen(vars_text), why, sizeof why);
	FUZZ_CHECK(vars != NULL && json_object_is_type(vars, json_type_object));
	FUZZ_CHECK(json_object_object_length(vars) == s.max_var);
	for (int v = 1; v <= s.max_var; v++) {
		char name[16];
		snprintf(name, sizeof name, "v%d", v);
		struct json_object *value;
		FUZZ_CHECK(s.vars_seen[v] == 1);
		FUZZ_CHECK(json_object_object_get_ex(vars, name, &value));
		FUZZ_CHECK(!json_object_is_type(value, json_type_object) && !json_object_is_type(value, json_type_array));
		FUZZ_CHECK(is_filter_value(filter, value));
	}
	json_object_put(vars);
done:
	json_object_put(filter);
	fuzz_end();
	return 0;
}
