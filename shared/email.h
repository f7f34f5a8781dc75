/* email.h - normalising and validating email addresses.
 *
 * Normal form: surrounding whitespace trimmed and the domain lower-cased; the
 * local part is kept as given (it is case-sensitive in principle), and
 * uniqueness is enforced case-insensitively by the database.  Validation is a
 * practical addr-spec: what mail systems accept and what a user can type,
 * not every RFC 5322 corner (no quoted local parts, no IP literals, ASCII
 * only, as the mail outbox requires). */
#ifndef AIGET_EMAIL_H
#define AIGET_EMAIL_H

#include <stddef.h>

#define EMAIL_MAX 254

/* Writes the normal form of in into out (EMAIL_MAX + 1 bytes).
 * 0, or -1 when the address is not valid. */
int email_normalize(const char *in, char out[EMAIL_MAX + 1]);

#endif
