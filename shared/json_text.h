/* json_text.h - a JSON value that json-c writes out as text we already have.
 *
 * PostgreSQL writes a jsonb number as plain digits (1.5e300 becomes 301
 * digits), and json-c, parsing those back, saturates every integer beyond
 * 64 bits to 18446744073709551615 without a word.  Stored metadata is
 * therefore never parsed back into an answer: jsonb's own text, valid JSON
 * by construction, is copied into the answer as it is, which is exact and
 * also saves the parse. */
#ifndef AIGET_JSON_TEXT_H
#define AIGET_JSON_TEXT_H

#include <json-c/json.h>

/* An object (for json-c's type checks) that serialises as text, which
 * must be one valid JSON object; text is copied.  NULL on no memory. */
struct json_object *json_text_object(const char *text);

#endif
