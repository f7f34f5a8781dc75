/* fields.h - reading a JSON body's fields with their types and bounds checked.
 *
 * Each reader answers the request itself (400 in the contract's format,
 * naming the field) and returns -1 when the field is missing but required,
 * of the wrong type or out of bounds; 0 when it is fine or absent and
 * optional (then *out is NULL or the default is left alone).  Handlers call
 * fields_only() first so that a misspelt field is an error, not ignored. */
#ifndef AIGET_FIELDS_H
#define AIGET_FIELDS_H

#include <stddef.h>

#include "request.h"

/* Refuses any field of the body not named in allowed (NULL-terminated). */
int fields_only(struct request *req, const char *const *allowed);

/* A string of 1..maxlen bytes. */
int field_string(struct request *req, const char *name, int required, size_t maxlen, const char **out);

/* One of the values in choices (NULL-terminated). */
int field_enum(struct request *req, const char *name, int required, const char *const *choices, const char **out);

#endif
