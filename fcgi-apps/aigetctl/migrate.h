/* migrate.h - `aigetctl migrate`: apply sql/main and sql/vector in order. */
#ifndef AIGET_MIGRATE_H
#define AIGET_MIGRATE_H

#include <stddef.h>

#include "app.h"
#include "pg.h"

int migrate_command(struct app_context *ctx, int argc, char **argv);

/* How the migration files under dir stand in db, without changing
 * anything (for `aigetctl check`).  0, or -1 with err (no schema_migrations
 * yet is an error: nothing was ever applied). */
struct migrate_counts {
	int files, applied, pending, changed;
};
int migrate_count(struct pg *db, const char *dir, struct migrate_counts *c, char *err, size_t errlen);

#endif
