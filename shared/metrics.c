/* metrics.c - the shared counter file, its layout, and the Prometheus text rendering.
 *
 * The file is a header and fixed arrays of uint64 counters; every child adds
 * with __atomic_fetch_add (relaxed: counters need no ordering among
 * themselves) and a scrape reads them with relaxed loads, so a scrape racing
 * a request may see that request half counted, which Prometheus tolerates.
 *
 * Who initialises the file: each child holds a shared flock on it for its
 * life.  A child that can take the lock exclusively is alone with the file
 * and may (re)write it; otherwise other children use it, and it is used as
 * it is when its header matches this binary's route table, or left alone
 * (private counters, one warning) when it does not: that happens only when
 * a child of a newer build is respawned beside older ones, and writing
 * their file from under them would corrupt both.  spawn-area starts every
 * area with an empty file, so after a restart the counters start at zero. */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "log.h"

/* AIGET_VERSION: build/<build>/version.h, which the GNUmakefile rewrites
 * when `git describe` changes, so that this object is rebuilt exactly then. */
#include "version.h"

/* ------------------------------------------------------------------ layout */

#define METRICS_MAGIC   0x31544d5445474941ULL   /* "AIGETMT1" */
#define METRICS_VERSION 2u

enum method { M_GET, M_HEAD, M_POST, M_PUT, M_PATCH, M_DELETE, M_OPTIONS, M_OTHER, M__MAX };
static const char *const method_names[M__MAX] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other",
};

#define STATUS_MIN 100
#define STATUS_N   500   /* 100..599: every status HTTP defines, each its own counter */

/* Upper bounds in seconds; the last bucket (+Inf) is implicit. */
static const double bucket_le[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
static const char *const bucket_names[] = {
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
};
#define NBUCKETS (sizeof bucket_le / sizeof bucket_le[0] + 1)

static const char *const dep_names[METRICS_DEP__MAX] = { "postgres", "vector", "redis", "embedding",
								   "postgres-read", "vector-read" };
static const char *const limit_names[METRICS_LIMIT__MAX] = { "rate", "concurrency", "monthly", "abuse" };

struct header {
	uint64_t magic;            /* written last when initialising */
	uint32_t version;
	uint32_t nslots;
	uint64_t layout;           /* hash of the area and its route patterns, in order */
	uint64_t size;
};

struct slot {
	uint64_t requests[M__MAX][STATUS_N];
	uint64_t buckets[NBUCKETS];          /* not cumulative: each observation once */
	uint64_t sum_us;                     /* microseconds: integers add atomically */
};

struct block {
	struct header h;
	uint64_t deps[METRICS_DEP__MAX];
	uint64_t limits[METRICS_LIMIT__MAX];
	struct slot slots[];                 /* one per route pattern, then "unmatched" */
};

static struct {
	struct block *b;
	size_t size;
	int shared;
	int fd;
	const char *area;
	unsigned deps;
	const char **patterns;   /* slot i's route pattern; the last slot is unmatched */
	size_t nslots;
} M = { .fd = -1 };

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h ^ 0xff) * 1099511628211ULL;   /* a separator, so "ab"+"c" != "a"+"bc" */
}

/* ------------------------------------------------------------------- setup */

static int header_matches(const struct header *h, uint64_t layout, size_t size)
{
	return h->magic == METRICS_MAGIC && h->version == METRICS_VERSION && h->nslots == M.nslots &&
	       h->layout == layout && h->size == size;
}

/* The file mapped and ready, or NULL with why (for the one warning). */
static struct block *map_file(const char *path, uint64_t layout, size_t size, const char **why)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		*why = strerror(errno);
		return NULL;
	}
	int alone = flock(fd, LOCK_EX | LOCK_NB) == 0;
	if (!alone && flock(fd, LOCK_SH) != 0) {   /* waits for an initialiser */
		*why = strerror(errno);
		close(fd);
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		*why = strerror(errno);
		close(fd);
		return NULL;
	}
	/* Read, not mapped: the initialiser writes the header last, and under
	 * its exclusive lock, which this child holds or has waited for. */
	struct header h;
	int ready = pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h && header_matches(&h, layout, size);
	if (alone && !ready) {
		/* Shrinking to zero zeroes every counter of an old layout without
		 * touching a page: a memset would make the whole file (32 KiB a
		 * route) resident in this child. */
		if (ftruncate(fd, 0) != 0 || ftruncate(fd, (off_t)size) != 0) {
			*why = strerror(errno);
			close(fd);
			return NULL;
		}
		st.st_size = (off_t)size;
	}
	if ((size_t)st.st_size != size) {
		*why = "it belongs to another build of this area, still running";
		close(fd);
		return NULL;
	}
	struct block *b = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (b == MAP_FAILED) {
		*why = strerror(errno);
		close(fd);
		return NULL;
	}
	if (!ready) {
		if (!alone) {
			*why = "it belongs to another build of this area, still running";
			munmap(b, size);
			close(fd);
			return NULL;
		}
		b->h.version = METRICS_VERSION;
		b->h.nslots = (uint32_t)M.nslots;
		b->h.layout = layout;
		b->h.size = size;
		__atomic_store_n(&b->h.magic, METRICS_MAGIC, __ATOMIC_RELEASE);
	}
	if (alone)
		flock(fd, LOCK_SH);   /* the file is ready: let the other children in */
	M.fd = fd;                    /* held open: our shared lock says "in use" */
	return b;
}

int metrics_open(const char *area, const struct route *routes, size_t nroutes, unsigned deps, const char *path)
{
	metrics_close();
	M.area = area;
	M.deps = deps;
	M.patterns = calloc(nroutes + 1, sizeof *M.patterns);
	if (M.patterns == NULL)
		return -1;
	uint64_t layout = fnv1a(14695981039346656037ULL, area);
	for (size_t i = 0; i < nroutes; i++) {
		size_t j = 0;
		while (j < M.nslots && strcmp(M.patterns[j], routes[i].pattern) != 0)
			j++;
		if (j == M.nslots) {
			M.patterns[M.nslots++] = routes[i].pattern;
			layout = fnv1a(layout, routes[i].pattern);
		}
	}
	M.patterns[M.nslots++] = NULL;   /* unmatched */
	size_t size = sizeof(struct block) + M.nslots * sizeof(struct slot);

	const char *why = NULL;
	if (path && *path)
		M.b = map_file(path, layout, size, &why);
	if (M.b) {
		M.shared = 1;
		M.size = size;
		return 1;
	}
	if (why)
		log_warn("metrics: cannot share %s (%s): counting in this process only", path, why);
	M.b = calloc(1, size);
	if (M.b == NULL)
		return -1;
	M.size = size;
	return 0;
}

void metrics_close(void)
{
	if (M.b && M.shared)
		munmap(M.b, M.size);
	else
		free(M.b);
	if (M.fd >= 0)
		close(M.fd);
	free(M.patterns);
	M.b = NULL;
	M.patterns = NULL;
	M.nslots = 0;
	M.shared = 0;
	M.fd = -1;
}

/* ---------------------------------------------------------------- counting */

static void add(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static enum method method_of(const char *m)
{
	for (int i = 0; i < M_OTHER; i++)
		if (strcmp(method_names[i], m) == 0)
			return (enum method)i;
	return M_OTHER;
}

static size_t slot_of(const char *route)
{
	size_t last = M.nslots - 1;
	if (route == NULL)
		return last;
	/* The router hands over the table's own pointer: compare those first. */
	for (size_t i = 0; i < last; i++)
		if (M.patterns[i] == route)
			return i;
	for (size_t i = 0; i < last; i++)
		if (strcmp(M.patterns[i], route) == 0)
			return i;
	return last;
}

void metrics_observe(const char *route, const char *method, int status, double seconds)
{
	if (M.b == NULL)
		return;
	struct slot *s = &M.b->slots[slot_of(route)];
	if (status < STATUS_MIN || status >= STATUS_MIN + STATUS_N)
		status = 500;   /* cannot happen: the responders send real statuses */
	add(&s->requests[method_of(method ? method : "")][status - STATUS_MIN], 1);
	size_t k = 0;
	while (k < NBUCKETS - 1 && seconds > bucket_le[k])
		k++;
	add(&s->buckets[k], 1);
	add(&s->sum_us, seconds > 0 ? (uint64_t)(seconds * 1e6 + 0.5) : 0);
}

void metrics_dependency_error(enum metrics_dep dep)
{
	if (M.b && dep < METRICS_DEP__MAX)
		add(&M.b->deps[dep], 1);
}

void metrics_dependency_error_named(const char *name)
{
	if (M.b == NULL || name == NULL)
		return;
	for (int i = 0; i < METRICS_DEP__MAX; i++)
		if (strcmp(dep_names[i], name) == 0)
			metrics_dependency_error((enum metrics_dep)i);
}

void metrics_rate_limited(enum metrics_limit why)
{
	if (M.b && why < METRICS_LIMIT__MAX)
		add(&M.b->limits[why], 1);
}

/* --------------------------------------------------------------- rendering */

void metrics_family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values: the format's three escapes (backslash, quote, newline). */
static void label_value(FILE *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', out);
		if (*v == '\n')
			fputs("\\n", out);
		else
			fputc(*v, out);
	}
}

void metrics_sample(FILE *out, const char *name, const char *const *labels, double value)
{
	fputs(name, out);
	if (labels && labels[0]) {
		fputc('{', out);
		for (int i = 0; labels[i]; i += 2) {
			fprintf(out, "%s%s=\"", i ? "," : "", labels[i]);
			label_value(out, labels[i + 1]);
			fputc('"', out);
		}
		fputc('}', out);
	}
	/* Counters are integers; print them exactly, as far as a double holds them. */
	if (value > -9e15 && value < 9e15 && value == (double)(long long)value)
		fprintf(out, " %lld\n", (long long)value);
	else
		fprintf(out, " %.9g\n", value);
}

static void render_requests(FILE *out)
{
	char status[12];
	metrics_family(out, "aiget_http_requests_total", "counter",
		       "Requests answered by the area, by route pattern, method and status.");
	for (size_t i = 0; i < M.nslots; i++) {
		const char *route = M.patterns[i] ? M.patterns[i] : "unmatched";
		for (int m = 0; m < M__MAX; m++)
			for (int st = 0; st < STATUS_N; st++) {
				uint64_t n = get(&M.b->slots[i].requests[m][st]);
				if (n == 0)
					continue;
				snprintf(status, sizeof status, "%d", st + STATUS_MIN);
				const char *labels[] = { "area", M.area, "route", route, "method", method_names[m],
							 "status", status, NULL };
				metrics_sample(out, "aiget_http_requests_total", labels, (double)n);
			}
	}
}

static void render_durations(FILE *out)
{
	metrics_family(out, "aiget_http_request_duration_seconds", "histogram",
		       "Time from the request's arrival at the responder to its answer, by route pattern.");
	for (size_t i = 0; i < M.nslots; i++) {
		const struct slot *s = &M.b->slots[i];
		const char *route = M.patterns[i] ? M.patterns[i] : "unmatched";
		uint64_t cum = 0;
		for (size_t k = 0; k < NBUCKETS; k++) {
			cum += get(&s->buckets[k]);
			const char *labels[] = { "area", M.area, "route", route, "le", bucket_names[k], NULL };
			metrics_sample(out, "aiget_http_request_duration_seconds_bucket", labels, (double)cum);
		}
		const char *labels[] = { "area", M.area, "route", route, NULL };
		metrics_sample(out, "aiget_http_request_duration_seconds_sum", labels, (double)get(&s->sum_us) / 1e6);
		/* The count is the +Inf bucket as read, so the two always agree. */
		metrics_sample(out, "aiget_http_request_duration_seconds_count", labels, (double)cum);
	}
}

void metrics_render(FILE *out)
{
	if (M.b == NULL)
		return;
	render_requests(out);
	render_durations(out);

	metrics_family(out, "aiget_dependency_errors_total", "counter",
		       "Failed connections and commands to a dependency (queries the database refused as invalid are not counted).");
	for (int d = 0; d < METRICS_DEP__MAX; d++) {
		int used = d == METRICS_DEP_POSTGRES || d == METRICS_DEP_POSTGRES_READ || d == METRICS_DEP_REDIS ||
			   ((M.deps & APP_DEP_VECTOR) &&
			    (d == METRICS_DEP_VECTOR || d == METRICS_DEP_VECTOR_READ || d == METRICS_DEP_EMBEDDING));
		if (!used)
			continue;
		const char *labels[] = { "area", M.area, "dependency", dep_names[d], NULL };
		metrics_sample(out, "aiget_dependency_errors_total", labels, (double)get(&M.b->deps[d]));
	}

	metrics_family(out, "aiget_rate_limit_rejections_total", "counter",
		       "Requests refused with 429, by the limit that refused them.");
	for (int l = 0; l < METRICS_LIMIT__MAX; l++) {
		const char *labels[] = { "area", M.area, "limit", limit_names[l], NULL };
		metrics_sample(out, "aiget_rate_limit_rejections_total", labels, (double)get(&M.b->limits[l]));
	}

	metrics_family(out, "aiget_build_info", "gauge", "Always 1: the version this area's responder was built from.");
	const char *build[] = { "area", M.area, "version", AIGET_VERSION, NULL };
	metrics_sample(out, "aiget_build_info", build, 1);

	metrics_family(out, "aiget_metrics_shared", "gauge",
		       "1 when these counters are the whole area's (the shared file), 0 when only the answering child's.");
	const char *area[] = { "area", M.area, NULL };
	metrics_sample(out, "aiget_metrics_shared", area, M.shared);
}

void metrics_handle(struct request *req)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (out == NULL) {
		response_error(req, 500, "internal", "metrics could not be written");
		return;
	}
	metrics_render(out);
	if (req->ctx->app->metrics)
		req->ctx->app->metrics(req->ctx, out);
	if (fclose(out) != 0 || text == NULL) {
		free(text);
		response_error(req, 500, "internal", "metrics could not be written");
		return;
	}
	response_send(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
}
