/* tenant.h - `aigetctl tenant ...`: tenants, their status and limits. */
#ifndef AIGET_CTL_TENANT_H
#define AIGET_CTL_TENANT_H

#include "app.h"

extern const char tenant_synopsis[];
int tenant_command(struct app_context *ctx, int argc, char **argv);

#endif
