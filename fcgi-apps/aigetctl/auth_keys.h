/* auth_keys.h - `aigetctl auth ...`: the auth area's operator commands. */
#ifndef AIGET_CTL_AUTH_KEYS_H
#define AIGET_CTL_AUTH_KEYS_H

#include "app.h"

int auth_command(struct app_context *ctx, int argc, char **argv);

#endif
