/* embed_openai.c - the openai provider against t/stand-ins/openai-embeddings, driven by t/0111-unit-embed-openai.t.
 *
 * The wrapper starts the stand-in (with --api-key) and passes its root URL
 * and key in AIGET_OPENAI_URL and AIGET_OPENAI_KEY; this scripts its answers
 * through its /test/ routes and checks what embed_openai() makes of them.
 * Run alone it has nothing to talk to and skips. */
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "embed_openai.h"
#include "tap.h"
#include "utf8.h"

#define DIMS 384

static const char *root, *key;
static char base[512];
static CURL *ctl; /* the test's own handle to the stand-in's /test/ routes, kept alive like the provider's */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Calls a /test/ route; returns its JSON answer (caller puts) or NULL. */
static struct json_object *control(const char *path, const char *post)
{
	char url[600];
	snprintf(url, sizeof url, "%s%s", root, path);
	struct json_object *answer = NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	curl_easy_reset(ctl);
	curl_easy_setopt(ctl, CURLOPT_URL, url);
	curl_easy_setopt(ctl, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(ctl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(ctl, CURLOPT_WRITEDATA, f);
	if (post)
		curl_easy_setopt(ctl, CURLOPT_POSTFIELDS, post);
	CURLcode rc = curl_easy_perform(ctl);
	fclose(f);
	long status = 0;
	curl_easy_getinfo(ctl, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_OK && status == 200)
		answer = json_tokener_parse(text);
	else
		printf("# %s: %s, HTTP %ld: %s\n", path, curl_easy_strerror(rc), status, text ? text : "");
	free(text);
	return answer;
}

static void script(const char *answers)
{
	char body[1024];
	snprintf(body, sizeof body, "{\"answers\":%s}", answers);
	json_object_put(control("/test/script", body));
}

/* A number from GET /test/requests, or -1. */
static long long seen(const char *field)
{
	struct json_object *r = control("/test/requests", NULL), *v;
	long long got = r && json_object_object_get_ex(r, field, &v) ? json_object_get_int64(v) : -1;
	json_object_put(r);
	return got;
}

static void reset(void)
{
	json_object_put(control("/test/reset", ""));
}

static struct config config(void)
{
	struct config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.embedding_provider = "openai";
	cfg.embedding_model = "text-embedding-3-small";
	cfg.embedding_dims = DIMS;
	cfg.embedding_base_url = base;
	cfg.embedding_api_key = (char *)key;
	cfg.embedding_batch_size = 64;
	cfg.embedding_timeout_ms = 5000;
	cfg.embedding_connect_timeout_ms = 1000;
	cfg.embedding_max_retries = 2;
	return cfg;
}

/* Embeds texts with cfg; prints how it went; *took gets the time in ms. */
static enum embed_status embed(const struct config *cfg, const char *const *texts, int n, float *out, char *err,
			       size_t errlen, long long *took)
{
	size_t lens[16];
	for (int i = 0; i < n; i++)
		lens[i] = strlen(texts[i]);
	err[0] = '\0';
	long long t0 = now_ms();
	enum embed_status st = embed_openai(cfg, texts, lens, n, out, err, errlen);
	long long ms = now_ms() - t0;
	if (took)
		*took = ms;
	printf("# %s after %lld ms%s%s\n", st == EMBED_OK ? "ok" : st == EMBED_RETRY ? "retry" : "failed", ms,
	       err[0] ? ": " : "", err);
	return st;
}

static float dot(const float *a, const float *b, int dims)
{
	float d = 0;
	for (int i = 0; i < dims; i++)
		d += a[i] * b[i];
	return d;
}

/* A loopback port with nothing listening: bound, then closed. */
static int closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &alen) != 0)
		return 1;
	close(fd);
	return ntohs(a.sin_port);
}

static void batches(void)
{
	struct config cfg = config();
	char err[256];
	static float rows[5 * DIMS], one[DIMS];
	const char *texts[] = { "The user prefers dark roast coffee in the morning.",
				"The meeting with Bob moved to Friday.",
				/* Two literals, or the e would extend the \xa9 escape. */
				/* NOLINTNEXTLINE(bugprone-suspicious-missing-comma) */
				"caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e",
				"  ,,, !!! ",
				"Which coffee does the user like?" };
	reset();
	script("[{\"reverse\":true}]");
	ok(embed(&cfg, texts, 5, rows, err, sizeof err, NULL) == EMBED_OK, "a batch of 5 is embedded");
	struct json_object *r = control("/test/requests", NULL), *last = NULL, *v;
	if (r)
		json_object_object_get_ex(r, "last", &last);
	is_str(last && json_object_object_get_ex(last, "model", &v) ? json_object_get_string(v) : NULL,
	       "text-embedding-3-small", "the request names the model");
	is_str(last && json_object_object_get_ex(last, "encoding_format", &v) ? json_object_get_string(v) : NULL,
	       "float", "and asks for floats");
	ok(last && !json_object_object_get_ex(last, "dimensions", NULL), "and no dimensions unless told to");
	v = NULL;
	ok(last && json_object_object_get_ex(last, "input", &v) && json_object_array_length(v) == 5
	   && strcmp(json_object_get_string(json_object_array_get_idx(v, 2)), texts[2]) == 0,
	   "the inputs go as an array of the texts, UTF-8 as is");
	ok(r && json_object_object_get_ex(r, "authorization", &v) && json_object_get_boolean(v),
	   "with the key as a Bearer token");
	json_object_put(r);

	int norms = 1, zero = 1;
	for (int i = 0; i < 5; i++) {
		float n = dot(rows + i * DIMS, rows + i * DIMS, DIMS);
		if (i == 3)
			zero = n == 0;
		else
			norms &= fabsf(n - 1) < 1e-4f;
	}
	ok(norms, "every row has unit length");
	ok(zero, "a text without words stays the zero vector");
	int placed = 1;
	for (int i = 0; i < 5; i++) {
		embed(&cfg, texts + i, 1, one, err, sizeof err, NULL);
		placed &= memcmp(one, rows + i * DIMS, sizeof one) == 0;
	}
	ok(placed, "rows answered in reverse order are placed by index: row i is texts[i]'s");
	ok(dot(rows, rows + 4 * DIMS, DIMS) > dot(rows + 1 * DIMS, rows + 4 * DIMS, DIMS) + 0.1f,
	   "texts sharing words are closer than unrelated ones");

	long long before = seen("connections");
	for (int i = 0; i < 3; i++)
		embed(&cfg, texts, 2, rows, err, sizeof err, NULL);
	is_int(seen("connections") - before, 0, "three more calls open no new connection (keep-alive)");

	cfg.embedding_send_dims = 1;
	cfg.embedding_dims = 64;
	snprintf(base, sizeof base, "%s/v1/", root);
	ok(embed(&cfg, texts, 2, rows, err, sizeof err, NULL) == EMBED_OK && fabsf(dot(rows, rows, 64) - 1) < 1e-4f,
	   "EMBEDDING_SEND_DIMENSIONS=1: 64 dimensions asked and given (and a trailing slash in the base URL)");
	r = control("/test/requests", NULL);
	ok(r && json_object_object_get_ex(r, "last", &last) && json_object_object_get_ex(last, "dimensions", &v)
	   && json_object_get_int(v) == 64, "\"dimensions\":64 was sent");
	json_object_put(r);
	snprintf(base, sizeof base, "%s/v1", root);

	before = seen("count");
	ok(embed(&cfg, texts, 0, rows, err, sizeof err, NULL) == EMBED_OK && seen("count") == before,
	   "no texts: no request");
}

static void retries(void)
{
	struct config cfg = config();
	char err[256];
	static float rows[2 * DIMS];
	const char *texts[] = { "first text", "second text" };
	long long took;

	reset();
	script("[{\"status\":429,\"retryAfter\":1}]");
	ok(embed(&cfg, texts, 2, rows, err, sizeof err, &took) == EMBED_OK, "429 with Retry-After: 1, then 200: ok");
	is_int(seen("count"), 2, "the stand-in saw 2 requests");
	ok(took >= 950, "after waiting the second Retry-After asked for");

	reset();
	script("[{\"status\":500},{\"status\":503},{\"status\":500}]");
	ok(embed(&cfg, texts, 2, rows, err, sizeof err, &took) == EMBED_RETRY, "500, 503, 500 with 2 retries: retry later");
	is_int(seen("count"), 3, "after 3 requests");
	ok(strstr(err, "500 after 3 attempts") != NULL, "saying so");
	ok(took < 2500, "the backoff waits are short (250 ms, 500 ms, with jitter)");

	reset();
	cfg.embedding_timeout_ms = 2000;
	script("[{\"status\":429,\"retryAfter\":30}]");
	ok(embed(&cfg, texts, 2, rows, err, sizeof err, &took) == EMBED_RETRY && took < 1000,
	   "a Retry-After past the budget: retry later, at once");
	is_int(seen("count"), 1, "without a second request");

	reset();
	script("[{\"status\":429,\"retryAfter\":\"Wed, 21 Oct 2015 07:28:00 GMT\"}]");
	ok(embed(&cfg, texts, 2, rows, err, sizeof err, &took) == EMBED_OK && took < 1000,
	   "a Retry-After date is taken as absent: a short backoff, then ok");

	reset();
	cfg.embedding_timeout_ms = 1000;
	script("[{\"delayMs\":3000}]");
	ok(embed(&cfg, texts, 2, rows, err, sizeof err, &took) == EMBED_RETRY,
	   "an answer later than the budget: retry later");
	ok(took >= 900 && took < 1800, "returned within about EMBEDDING_TIMEOUT_MS (1000 ms)");
	ok(err[0] != '\0', "with curl's reason");
	cfg.embedding_timeout_ms = 5000;
	ok(embed(&cfg, texts, 2, rows, err, sizeof err, NULL) == EMBED_OK, "the next call works (a new connection)");

	cfg.embedding_max_retries = 0;
	script("[{\"status\":502}]");
	ok(embed(&cfg, texts, 2, rows, err, sizeof err, NULL) == EMBED_RETRY && strstr(err, "502 after 1 attempt"),
	   "EMBEDDING_MAX_RETRIES=0: one attempt");
}

static void refusals(void)
{
	struct config cfg = config();
	char err[256];
	static float rows[3 * DIMS];
	const char *texts[] = { "one", "two", "three" };

	reset();
	script("[{\"wrongDims\":true}]");
	ok(embed(&cfg, texts, 3, rows, err, sizeof err, NULL) == EMBED_FAILED, "wrong dimensions: failed");
	is_str(err, "embedding of 385 dimensions, EMBEDDING_DIMENSIONS is 384", "saying which");
	script("[{\"wrongCount\":true}]");
	ok(embed(&cfg, texts, 3, rows, err, sizeof err, NULL) == EMBED_FAILED, "one embedding short: failed");
	is_str(err, "provider answered 2 embeddings for 3 inputs", "saying so");

	char wrong[] = "sk-wrong-key-0123456789abcdef";
	cfg.embedding_api_key = wrong;
	ok(embed(&cfg, texts, 1, rows, err, sizeof err, NULL) == EMBED_FAILED, "a bad API key: failed");
	ok(strstr(err, "401") && strstr(err, "Incorrect API key"), "with the status and the provider's message");
	ok(strstr(err, wrong) == NULL && strstr(err, key) == NULL, "and no key in the message");
	/* A provider that quotes the key, at length, with a line break: OpenAI
	 * masks the key in its own message, others may not.  The "x" puts the
	 * 200-byte cut inside a two-byte character. */
	char answers[800], *p = answers;
	p += sprintf(p, "[{\"status\":422,\"message\":\"bad input for %s\\nx", wrong);
	for (int i = 0; i < 150; i++)
		p += sprintf(p, "\xc3\xa9");
	sprintf(p, "\"}]");
	script(answers);
	ok(embed(&cfg, texts, 1, rows, err, sizeof err, NULL) == EMBED_FAILED, "a 422: failed");
	ok(strncmp(err, "provider answered 422: bad input for *** ", 41) == 0, "the key masked, the line break a space");
	size_t len = strlen(err);
	ok(len < sizeof err - 1 && len <= 23 + 203 && strcmp(err + len - 3, "...") == 0,
	   "a long message cut to 200 bytes, and marked");
	ok(utf8_valid((const unsigned char *)err, len), "at a character boundary");
	cfg.embedding_api_key = NULL;
	ok(embed(&cfg, texts, 1, rows, err, sizeof err, NULL) == EMBED_FAILED && strstr(err, "401"),
	   "no API key: failed, 401");
	struct json_object *r = control("/test/requests", NULL), *v;
	ok(r && json_object_object_get_ex(r, "authorization", &v) && !json_object_get_boolean(v),
	   "no Authorization header was sent");
	json_object_put(r);

	cfg = config();
	long long before = seen("count");
	cfg.embedding_base_url = "http://example.com/v1";
	ok(embed(&cfg, texts, 1, rows, err, sizeof err, NULL) == EMBED_FAILED && strstr(err, "https"),
	   "http:// to a host not loopback: refused");
	cfg.embedding_base_url = "ftp://127.0.0.1/v1";
	ok(embed(&cfg, texts, 1, rows, err, sizeof err, NULL) == EMBED_FAILED, "ftp://: refused");
	is_int(seen("count"), before, "neither was sent anywhere");

	char dead[64];
	snprintf(dead, sizeof dead, "http://127.0.0.1:%d/v1", closed_port());
	cfg.embedding_base_url = dead;
	long long took;
	ok(embed(&cfg, texts, 1, rows, err, sizeof err, &took) == EMBED_RETRY, "nothing listening: retry later");
	ok(took < 1000 && strstr(err, "onnect"), "at once, with curl's reason");
}

int main(void)
{
	root = getenv("AIGET_OPENAI_URL");
	key = getenv("AIGET_OPENAI_KEY");
	if (root == NULL || key == NULL) {
		printf("1..0 # SKIP AIGET_OPENAI_URL and AIGET_OPENAI_KEY not set"
		       " (t/0111-unit-embed-openai.t sets them)\n");
		return 0;
	}
	snprintf(base, sizeof base, "%s/v1", root);
	ctl = curl_easy_init();
	batches();
	retries();
	refusals();
	curl_easy_cleanup(ctl);
	return done_testing();
}
