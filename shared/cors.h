/* cors.h - browser origins: the ALLOWED_ORIGINS allowlist and CORS preflights.
 *
 * A request with an Origin header comes from a browser.  Only origins on the
 * allowlist (exact scheme://host[:port] matches) get CORS headers; the auth
 * area refuses the others outright, since it sets and reads cookies. */
#ifndef AIGET_CORS_H
#define AIGET_CORS_H

#include "request.h"

/* 1 when origin is one of the comma-separated entries of list. */
int cors_origin_allowed(const char *list, const char *origin);

/* Adds Access-Control-Allow-Origin/-Credentials and Vary for an allowed
 * Origin; returns 1 then, 0 without an Origin, -1 for one not allowed. */
int cors_headers(struct request *req);

/* Answers an OPTIONS preflight for a path whose methods are allow. */
void cors_preflight(struct request *req, const char *allow);

#endif
