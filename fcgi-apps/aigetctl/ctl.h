/* ctl.h - what aigetctl's commands share: exit codes, options, output.
 *
 * Every command builds its answer as one json-c object and prints it either
 * as that object (--json: one line, for scripts) or as aligned text (for a
 * person), so the two never say different things.  Secrets shown once (a new
 * key, a generated password) go to stdout only, in the answer itself. */
#ifndef AIGET_CTL_H
#define AIGET_CTL_H

#include <stddef.h>

#include <json-c/json.h>

#include "app.h"

/* Exit codes (docs/operations.md); 78 is EXIT_CONFIG of app.h. */
enum { CTL_OK = 0, CTL_FAILED = 1, CTL_USAGE = 64 };

/* Prints "aigetctl: <message>" and the synopsis (lines, each a command
 * without "aigetctl ") on stderr; returns CTL_USAGE. */
int ctl_usage(const char *synopsis, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "aigetctl <what>: <message>" on stderr; returns CTL_FAILED. */
int ctl_fail(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* argv[*i] is option name ("--name VALUE" or "--name=VALUE")?  1 with *value
 * set (and *i past it), 0 when it is another argument, -1 when the value
 * is missing. */
int ctl_option(int argc, char **argv, int *i, const char *name, const char **value);

/* A decimal integer in [min, max], the whole string.  0 or -1. */
int ctl_integer(const char *s, long long min, long long max, long long *out);

/* What audit rows made by this run carry as their request id:
 * "aigetctl-<pid>-<epoch>", so one run's rows can be found together. */
const char *ctl_request_id(void);

/* One line of JSON on stdout. */
void ctl_print_json(struct json_object *o);
/* "name   value" lines for the members of o named in keys (NULL-ended),
 * names padded to one column; nested values print as their JSON. */
void ctl_print_fields(struct json_object *o, const char *const *keys);
/* A table of the array's objects: a header of cols (upper-cased) and one
 * line per object, each column as wide as its widest cell.  Prints
 * "(none)" for an empty array. */
void ctl_print_table(struct json_object *rows, const char *const *cols);

/* A text cell of a JSON value: "-" for null, strings as they are, arrays of
 * strings joined with ",", anything else as its JSON. */
const char *ctl_text(struct json_object *v, char *buf, size_t len);

#endif
