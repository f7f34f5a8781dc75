/* site_admin.c - a user's current site role, read through shared/user_store.c. */
#include "site_admin.h"

#include <stdio.h>
#include <string.h>

#include "user_store.h"

int site_admin_check(struct pg *db, const char *user_id, char *err, size_t errlen)
{
	if (db == NULL) {
		snprintf(err, errlen, "admin routes need the main database");
		return -1;
	}
	char role[16];
	int found = user_store_role(db, user_id, role, err, errlen);
	if (found < 0)
		return -1;
	return found && strcmp(role, "admin") == 0;
}
