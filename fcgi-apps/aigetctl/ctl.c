/* ctl.c - aigetctl's options, messages and aligned text or JSON output. */
#include "ctl.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CELL_MAX 512

int ctl_usage(const char *synopsis, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("aigetctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	const char *line = synopsis;
	for (int first = 1; *line; first = 0) {
		size_t n = strcspn(line, "\n");
		fprintf(stderr, "\n%s aigetctl %.*s", first ? "usage:" : "      ", (int)n, line);
		line += n + (line[n] == '\n');
	}
	fputs("\n", stderr);
	return CTL_USAGE;
}

int ctl_fail(const char *what, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "aigetctl %s: ", what);
	vfprintf(stderr, fmt, ap);
	fputs("\n", stderr);
	va_end(ap);
	return CTL_FAILED;
}

int ctl_option(int argc, char **argv, int *i, const char *name, const char **value)
{
	size_t n = strlen(name);
	const char *a = argv[*i];
	if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '='))
		return 0;
	if (a[n] == '=') {
		*value = a + n + 1;
		return 1;
	}
	if (*i + 1 >= argc)
		return -1;
	*value = argv[++*i];
	return 1;
}

int ctl_integer(const char *s, long long min, long long max, long long *out)
{
	if (*s == '\0' || !(isdigit((unsigned char)*s) || *s == '-'))
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

const char *ctl_request_id(void)
{
	static char id[64];
	if (id[0] == '\0')
		snprintf(id, sizeof id, "aigetctl-%ld-%lld", (long)getpid(), (long long)time(NULL));
	return id;
}

void ctl_print_json(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

const char *ctl_text(struct json_object *v, char *buf, size_t len)
{
	if (v == NULL)
		return "-";
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	if (json_object_is_type(v, json_type_array)) {
		size_t used = 0;
		buf[0] = '\0';
		for (size_t i = 0; i < json_object_array_length(v) && used < len; i++) {
			struct json_object *e = json_object_array_get_idx(v, i);
			int n = snprintf(buf + used, len - used, "%s%s", i ? "," : "",
					 json_object_is_type(e, json_type_string) ? json_object_get_string(e)
										 : json_object_to_json_string(e));
			used += n > 0 ? (size_t)n : 0;
		}
		return json_object_array_length(v) ? buf : "-";
	}
	snprintf(buf, len, "%s", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	return buf;
}

void ctl_print_fields(struct json_object *o, const char *const *keys)
{
	int width = 0;
	for (const char *const *k = keys; *k; k++)
		if ((int)strlen(*k) > width)
			width = (int)strlen(*k);
	char buf[CELL_MAX];
	for (const char *const *k = keys; *k; k++) {
		struct json_object *v;
		if (json_object_object_get_ex(o, *k, &v))
			printf("%-*s  %s\n", width, *k, ctl_text(v, buf, sizeof buf));
	}
}

void ctl_print_table(struct json_object *rows, const char *const *cols)
{
	size_t ncols = 0, nrows = json_object_array_length(rows);
	while (cols[ncols])
		ncols++;
	if (nrows == 0) {
		puts("(none)");
		return;
	}
	int *width = calloc(ncols, sizeof *width);
	char buf[CELL_MAX];
	if (width == NULL)
		return;
	for (size_t c = 0; c < ncols; c++)
		width[c] = (int)strlen(cols[c]);
	for (size_t r = 0; r < nrows; r++)
		for (size_t c = 0; c < ncols; c++) {
			struct json_object *v = NULL;
			json_object_object_get_ex(json_object_array_get_idx(rows, r), cols[c], &v);
			int n = (int)strlen(ctl_text(v, buf, sizeof buf));
			if (n > width[c])
				width[c] = n;
		}
	/* Headers are the JSON names upper-cased, so text and --json line up. */
	for (size_t c = 0; c < ncols; c++) {
		for (const char *s = cols[c]; *s; s++)
			putchar(toupper((unsigned char)*s));
		printf("%*s", c + 1 < ncols ? width[c] - (int)strlen(cols[c]) + 2 : 0, "");
	}
	putchar('\n');
	for (size_t r = 0; r < nrows; r++) {
		for (size_t c = 0; c < ncols; c++) {
			struct json_object *v = NULL;
			json_object_object_get_ex(json_object_array_get_idx(rows, r), cols[c], &v);
			if (c + 1 < ncols)
				printf("%-*s  ", width[c], ctl_text(v, buf, sizeof buf));
			else
				printf("%s", ctl_text(v, buf, sizeof buf));
		}
		putchar('\n');
	}
	free(width);
}
