/* rfc3339.h - RFC 3339 date-times from clients. */
#ifndef AIGET_RFC3339_H
#define AIGET_RFC3339_H

/* An RFC 3339 date-time ("2030-01-31T12:00:00Z", "...00.5+02:00") as epoch
 * seconds, fractions dropped: 0, or -1 when it is none. */
int rfc3339_parse(const char *s, long long *epoch);

#endif
