/* site_admin.h - whether a user holds the site admin role now: the users table decides.
 *
 * The role also travels in access tokens (claim "role"), but a token is
 * good for AUTH_ACCESS_TTL_SECONDS after it was issued, so a demoted admin
 * would keep the back office until then.  The dispatcher therefore asks the
 * database on every ROUTE_ADMIN request (one primary-key lookup) and trusts
 * the claim in neither direction: a demotion, a promotion or a deleted
 * account counts from the next request. */
#ifndef AIGET_SITE_ADMIN_H
#define AIGET_SITE_ADMIN_H

#include <stddef.h>

#include "pg.h"

/* 1 when the account user_id has the admin role, 0 when not or when there
 * is no such account, -1 when the database cannot say (message in err). */
int site_admin_check(struct pg *db, const char *user_id, char *err, size_t errlen);

#endif
