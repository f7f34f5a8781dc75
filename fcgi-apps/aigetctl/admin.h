/* admin.h - `aigetctl admin ...`: site admin accounts. */
#ifndef AIGET_CTL_ADMIN_H
#define AIGET_CTL_ADMIN_H

#include "app.h"

extern const char admin_synopsis[];
int admin_command(struct app_context *ctx, int argc, char **argv);

/* An auth_audit row (event, the account) marked "by": "aigetctl", for the
 * other commands that change accounts (migrate's admin).  CTL_OK or
 * CTL_FAILED (said on stderr). */
int admin_audit(struct app_context *ctx, const char *event, const char *user_id, const char *email);

#endif
