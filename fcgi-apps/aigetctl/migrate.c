/* migrate.c - numbered SQL migrations for both databases.
 *
 * Files named NNNN_description.sql under SQL_DIR/main and SQL_DIR/vector are
 * applied in name order, each in its own transaction together with its row in
 * schema_migrations (file name and SHA-256), so a file is either applied and
 * recorded or neither.  A session advisory lock serialises concurrent runs.
 * A file whose content changed after it was applied is refused: migrations
 * are never edited once they land; a new file fixes an old one.  Files must
 * not contain transaction control (BEGIN/COMMIT) of their own. */
#include "migrate.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "bootstrap.h"
#include "pg.h"

/* Any constant will do as long as nothing else in the database uses it. */
#define MIGRATE_LOCK_KEY "1095321413" /* "AIGE" */

static const struct pg_statement st_lock = {
	"migrate_lock", "SELECT pg_advisory_lock($1::bigint)", 1, 0, PG_PRIMARY,
};
static const struct pg_statement st_unlock = {
	"migrate_unlock", "SELECT pg_advisory_unlock($1::bigint)", 1, 0, PG_PRIMARY,
};
static const struct pg_statement st_create = {
	"migrate_create",
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	" filename text PRIMARY KEY,"
	" sha256 text NOT NULL,"
	" applied_at timestamptz NOT NULL DEFAULT now())",
	0, 1, PG_PRIMARY,
};
static const struct pg_statement st_applied = {
	"migrate_applied",
	"SELECT sha256, to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	" FROM schema_migrations WHERE filename = $1",
	1, 1, PG_PRIMARY,
};
static const struct pg_statement st_record = {
	"migrate_record", "INSERT INTO schema_migrations (filename, sha256) VALUES ($1, $2)", 2, 0, PG_PRIMARY,
};

struct migration {
	char name[256];
	char *sql;
	char sha256[65];
};

static int is_migration_name(const char *n)
{
	size_t len = strlen(n);
	for (int i = 0; i < 4; i++)
		if (n[i] < '0' || n[i] > '9')
			return 0;
	return n[4] == '_' && len > 9 && strcmp(n + len - 4, ".sql") == 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct migration *)a)->name, ((const struct migration *)b)->name);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

static void sha256_hex(const char *data, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_Digest(data, strlen(data), md, &n, EVP_sha256(), NULL);
	for (unsigned i = 0; i < n && i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	out[64] = '\0';
}

/* Loads the directory's migrations sorted by name; *count gets how many. */
static struct migration *load_dir(const char *dir, size_t *count)
{
	*count = 0;
	DIR *d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr, "aigetctl migrate: cannot open %s (set SQL_DIR)\n", dir);
		return NULL;
	}
	struct migration *list = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!is_migration_name(e->d_name) || strlen(e->d_name) >= sizeof list->name)
			continue;
		struct migration *grown = realloc(list, (n + 1) * sizeof *list);
		if (grown == NULL)
			break;
		list = grown;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		snprintf(list[n].name, sizeof list[n].name, "%s", e->d_name);
		list[n].sql = read_file(path);
		if (list[n].sql == NULL) {
			fprintf(stderr, "aigetctl migrate: cannot read %s\n", path);
			continue;
		}
		sha256_hex(list[n].sql, list[n].sha256);
		n++;
	}
	closedir(d);
	/* Not with list NULL: glibc declares qsort's array nonnull, and GCC
	 * then drops the calloc() below, so that a directory without
	 * migrations read as one that cannot be opened (found by make lint). */
	if (n > 0)
		qsort(list, n, sizeof *list, by_name);
	*count = n;
	return list ? list : calloc(1, sizeof *list);
}

static void free_list(struct migration *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i].sql);
	free(list);
}

static int simple(struct pg *db, const struct pg_statement *st, const char *const *params, const char *what)
{
	char err[256];
	PGresult *r = pg_exec(db, st, params, err, sizeof err);
	if (r == NULL) {
		fprintf(stderr, "aigetctl migrate: %s: %s\n", what, err);
		return -1;
	}
	PQclear(r);
	return 0;
}

static int apply_one(struct pg *db, const char *label, const struct migration *m)
{
	char err[512];
	PGconn *conn = pg_conn(db, err, sizeof err);
	if (conn == NULL || simple(db, &pg_begin, NULL, "BEGIN") != 0)
		return -1;
	/* The file is the project's own, trusted SQL: it is the one place where
	 * a text runs unprepared, because migrations hold several statements. */
	PGresult *r = PQexec(conn, m->sql);
	ExecStatusType s = PQresultStatus(r);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		fprintf(stderr, "aigetctl migrate: %s/%s failed: %s", label, m->name, PQerrorMessage(conn));
		PQclear(r);
		simple(db, &pg_rollback, NULL, "ROLLBACK");
		return -1;
	}
	PQclear(r);
	const char *params[] = { m->name, m->sha256 };
	if (simple(db, &st_record, params, "record") != 0 || simple(db, &pg_commit, NULL, "COMMIT") != 0) {
		simple(db, &pg_rollback, NULL, "ROLLBACK");
		return -1;
	}
	printf("%-7s %-40s applied\n", label, m->name);
	return 0;
}

/* Applies (or, with status_only, lists) one database's migrations. */
static int migrate_db(struct pg *db, const char *label, const char *dir, int status_only)
{
	char err[512];
	size_t n;
	struct migration *list = load_dir(dir, &n);
	if (list == NULL)
		return -1;
	if (pg_conn(db, err, sizeof err) == NULL) {
		fprintf(stderr, "aigetctl migrate: %s database: %s\n", label, err);
		free_list(list, n);
		return -1;
	}
	const char *lock[] = { MIGRATE_LOCK_KEY };
	if (simple(db, &st_lock, lock, "advisory lock") != 0 || simple(db, &st_create, NULL, "schema_migrations") != 0) {
		free_list(list, n);
		return -1;
	}
	int rc = 0, applied = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *params[] = { list[i].name };
		PGresult *r = pg_exec(db, &st_applied, params, err, sizeof err);
		if (r == NULL) {
			fprintf(stderr, "aigetctl migrate: %s\n", err);
			rc = -1;
			break;
		}
		if (PQntuples(r) == 1) {
			const char *recorded = PQgetvalue(r, 0, 0);
			if (strcmp(recorded, list[i].sha256) != 0) {
				fprintf(stderr,
					"aigetctl migrate: %s/%s changed after it was applied "
					"(recorded sha256 %.12s, file %.12s); add a new migration instead\n",
					label, list[i].name, recorded, list[i].sha256);
				if (status_only)
					printf("%-7s %-40s CHANGED since %s\n", label, list[i].name, PQgetvalue(r, 0, 1));
				rc = -1;
			} else if (status_only) {
				printf("%-7s %-40s applied %s\n", label, list[i].name, PQgetvalue(r, 0, 1));
			}
		} else if (status_only) {
			printf("%-7s %-40s pending\n", label, list[i].name);
		} else {
			rc = apply_one(db, label, &list[i]);
			applied += rc == 0;
		}
		PQclear(r);
	}
	simple(db, &st_unlock, lock, "advisory unlock");
	if (!status_only && rc == 0)
		printf("%-7s %d applied, %zu in all\n", label, applied, n);
	free_list(list, n);
	return rc;
}

int migrate_count(struct pg *db, const char *dir, struct migrate_counts *c, char *err, size_t errlen)
{
	size_t n;
	memset(c, 0, sizeof *c);
	struct migration *list = load_dir(dir, &n);
	if (list == NULL) {
		snprintf(err, errlen, "cannot read %s (set SQL_DIR)", dir);
		return -1;
	}
	int rc = 0;
	c->files = (int)n;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *params[] = { list[i].name };
		PGresult *r = pg_exec(db, &st_applied, params, err, errlen);
		if (r == NULL) {
			rc = -1;
			break;
		}
		if (PQntuples(r) == 0)
			c->pending++;
		else if (strcmp(PQgetvalue(r, 0, 0), list[i].sha256) != 0)
			c->changed++;
		else
			c->applied++;
		PQclear(r);
	}
	free_list(list, n);
	return rc;
}

int migrate_command(struct app_context *ctx, int argc, char **argv)
{
	int status_only = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--status") == 0)
			status_only = 1;
		else {
			fprintf(stderr, "aigetctl migrate: unknown option %s\n", argv[i]);
			return 64;
		}
	}
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/main", ctx->cfg.sql_dir);
	if (migrate_db(ctx->db, "main", dir, status_only) != 0)
		return 1;
	snprintf(dir, sizeof dir, "%s/vector", ctx->cfg.sql_dir);
	if (migrate_db(ctx->vector, "vector", dir, status_only) != 0)
		return 1;
	if (!status_only && bootstrap_run(ctx) != 0)
		return 1;
	return 0;
}
