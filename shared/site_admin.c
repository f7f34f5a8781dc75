/* site_admin.c - the one statement that reads a user's current site role. */
#include "site_admin.h"

#include <stdio.h>
#include <string.h>

static const struct pg_statement st_role = {
	"site_admin_role", "SELECT role FROM users WHERE id = $1::uuid", 1, 1,
};

int site_admin_check(struct pg *db, const char *user_id, char *err, size_t errlen)
{
	if (db == NULL) {
		snprintf(err, errlen, "admin routes need the main database");
		return -1;
	}
	const char *params[] = { user_id };
	PGresult *r = pg_exec(db, &st_role, params, err, errlen);
	if (r == NULL)
		return -1;
	int admin = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "admin") == 0;
	PQclear(r);
	return admin;
}
