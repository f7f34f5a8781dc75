/* admin.h - `aigetctl admin ...`: site admin accounts. */
#ifndef AIGET_CTL_ADMIN_H
#define AIGET_CTL_ADMIN_H

#include "app.h"

extern const char admin_synopsis[];
int admin_command(struct app_context *ctx, int argc, char **argv);

#endif
