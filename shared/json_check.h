/* json_check.h - a strict RFC 8259 validator run before json-c sees a body.
 *
 * json-c 0.16's strict mode still accepts single-quoted strings, NaN and
 * Infinity, and UTF-8 that encodes surrogates; none of those is JSON, and
 * accepting them would let clients store text PostgreSQL or other clients
 * choke on.  This scanner accepts exactly RFC 8259 with well-formed UTF-8,
 * and also refuses what our storage cannot hold: \u0000 and unpaired
 * surrogate escapes.  Nesting is bounded. */
#ifndef AIGET_JSON_CHECK_H
#define AIGET_JSON_CHECK_H

#include <stddef.h>

/* 0 when text[0..len) is one valid JSON value (whitespace around allowed);
 * -1 with a short reason in err. */
int json_check(const char *text, size_t len, int max_depth, char *err, size_t errlen);

#endif
