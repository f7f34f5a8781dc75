/* key.h - `aigetctl key ...`: a tenant's API keys. */
#ifndef AIGET_CTL_KEY_H
#define AIGET_CTL_KEY_H

#include "app.h"

extern const char key_synopsis[];
int key_command(struct app_context *ctx, int argc, char **argv);

#endif
