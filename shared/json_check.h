/* json_check.h - a strict RFC 8259 validator run before json-c sees a body.
 *
 * json-c 0.16's strict mode still accepts single-quoted strings, NaN and
 * Infinity, and UTF-8 that encodes surrogates; none of those is JSON, and
 * accepting them would let clients store text PostgreSQL or other clients
 * choke on.  This scanner accepts exactly RFC 8259 with well-formed UTF-8,
 * and also refuses what our storage cannot hold: \u0000 and unpaired
 * surrogate escapes.
 *
 * It also bounds what the parse that follows will cost, before it happens:
 * json-c allocates some 750 bytes for every object (a hash table) and less
 * for other values, so a 1 MiB body of empty objects would cost 266 MB.
 * Nesting, values and containers are counted in the same pass.  With
 * exact_numbers, numbers that json-c or PostgreSQL would change are refused
 * and named by their path (a.b[2]): integers beyond 64 bits, which json-c
 * saturates silently, and numbers whose double overflows or underflows. */
#ifndef AIGET_JSON_CHECK_H
#define AIGET_JSON_CHECK_H

#include <stddef.h>

#define JSON_CHECK_DEPTH_MAX 64  /* the most max_depth can be */
#define JSON_CHECK_FIELD_MAX 192 /* a field path in a message, truncated */

struct json_limits {
	int max_depth;
	long max_values;      /* every value, containers included; 0: no cap */
	long max_containers;  /* objects and arrays; 0: no cap */
	int exact_numbers;    /* refuse numbers that cannot be kept as written */
};

/* 0 when text[0..len) is one valid JSON value (whitespace around allowed)
 * within the limits; -1 with a short reason in err. */
int json_check(const char *text, size_t len, const struct json_limits *lim, char *err, size_t errlen);

#endif
