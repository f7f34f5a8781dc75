/* utf8.h - checking that bytes are well-formed UTF-8 (RFC 3629), and making text so. */
#ifndef AIGET_UTF8_H
#define AIGET_UTF8_H

#include <stddef.h>

/* 1 when s[0..n) is well-formed UTF-8: no overlong forms, no surrogates,
 * nothing above U+10FFFF. */
int utf8_valid(const unsigned char *s, size_t n);

/* Makes the NUL-terminated text well-formed UTF-8 in place, for the clients
 * that read it in JSON (error messages that quote their input): a character
 * cut short at the end (by a %.64s or a full buffer) is dropped, and every
 * other byte that begins no well-formed sequence becomes '?'. */
void utf8_scrub(char *text);

#endif
