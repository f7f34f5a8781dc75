/* utf8.h - checking that bytes are well-formed UTF-8 (RFC 3629). */
#ifndef AIGET_UTF8_H
#define AIGET_UTF8_H

#include <stddef.h>

/* 1 when s[0..n) is well-formed UTF-8: no overlong forms, no surrogates,
 * nothing above U+10FFFF. */
int utf8_valid(const unsigned char *s, size_t n);

#endif
