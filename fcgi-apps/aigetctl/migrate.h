/* migrate.h - `aigetctl migrate`: apply sql/main and sql/vector in order. */
#ifndef AIGET_MIGRATE_H
#define AIGET_MIGRATE_H

#include "app.h"

int migrate_command(struct app_context *ctx, int argc, char **argv);

#endif
