/* fuzz.h - what the libFuzzer harnesses share: checks, input splitting, a request without a server.
 *
 * Each fuzz/<name>.c is one LLVMFuzzerTestOneInput over one parser of bytes
 * from outside.  The harnesses that need a request get it here: a FastCGI
 * request whose parameters and body come from the input, whose answer is kept
 * in memory for the harness to check, and whose context holds the
 * configuration's defaults (with small caps, so that a short input can reach
 * them) and no connections at all: code that reached for PostgreSQL or Redis
 * would crash on the NULL, which the fuzzer reports, rather than wait on a
 * socket.  The environment is cleared first, so a run does not depend on the
 * shell it was started from (t/harness exports a whole stack's settings).
 *
 * FUZZ_CHECK() is the harnesses' assert for properties: a broken one prints
 * the condition and aborts, and libFuzzer keeps the input that broke it. */
#ifndef AIGET_FUZZ_H
#define AIGET_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "app.h"
#include "arena.h"
#include "request.h"

#define FUZZ_CHECK(cond)                                                                                  \
	do {                                                                                              \
		if (!(cond)) {                                                                            \
			fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__, #cond);      \
			abort();                                                                          \
		}                                                                                         \
	} while (0)

#define FUZZ_PARAMS_MAX 32

/* Clears the environment, sets the fuzzing configuration and then extra
 * ("NAME=value", NULL-terminated; may be NULL), loads it and makes the
 * context and the arena.  Once per process, from LLVMFuzzerInitialize or
 * the first input. */
void fuzz_init(const char *const *extra);
struct app_context *fuzz_context(void);
/* The arena of the current input; fuzz_end() resets it. */
struct arena *fuzz_arena(void);

/* The next part of the input up to sep (not included), NUL-terminated in the
 * arena; the rest of the input stays in *data and *size.  A part may hold
 * NUL bytes only when sep is not NUL: strlen() then sees a prefix. */
char *fuzz_take(const uint8_t **data, size_t *size, char sep, size_t *len);

/* A request as request_begin() makes it from params ("NAME=value") and a
 * body for FCGX_GetStr to read. */
struct request *fuzz_request(const char *const *params, size_t nparams, const char *body, size_t len);
/* The answer written so far, head and body, NUL-terminated. */
const char *fuzz_answer(size_t *len);

/* Checks an answer's shape: a Status line, headers of a token name and a
 * value without CR or LF, an empty line; a Content-Length that is the
 * body's length (the answer to a HEAD has none); a JSON content type's body
 * valid JSON (json_check).  Returns the status; aborts on a malformed answer. */
int fuzz_check_answer(const char *answer, size_t len, int head, const char **body);

/* Ends the input: resets the arena (and so the request's cleanups). */
void fuzz_end(void);

/* 1 when s[0..n) contains needle[0..m), m > 0. */
int fuzz_contains(const char *s, size_t n, const char *needle, size_t m);

#endif
