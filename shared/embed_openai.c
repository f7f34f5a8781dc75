/* embed_openai.c - the openai provider: a batch POSTed to <base>/embeddings, retried within its budget.
 *
 * embed_openai.h says what is retried and how the time is bounded.  Here:
 * building the request with json-c, the attempt loop, and checking the
 * answer before a float of it reaches the caller.  The provider's own error
 * message is passed on for a 4xx (an operator needs "model not found", not
 * just 404), cut short, with any copy of the API key masked: some providers
 * quote the key they were sent. */
#include "embed_openai.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "body.h"
#include "http_client.h"

/* A float is 10-20 bytes as text; 32 leaves room for pretty-printing, the
 * margin for the envelope and for error bodies.  Past it the transfer is cut:
 * a provider gone wrong must not make the worker allocate without bound. */
#define ANSWER_BYTES_PER_FLOAT 32
#define ANSWER_MARGIN (64 * 1024)
#define BACKOFF_BASE_MS 250
#define PROVIDER_MESSAGE_MAX 200

/* Kept for the process: libcurl keeps the connection (and TLS session) in
 * it, so the worker's thousands of batches do not each pay a handshake. */
static CURL *handle;

struct sink {
	char *data;
	size_t len, size, limit;
	int overflow;
};

static size_t collect(char *ptr, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t add = size * n;
	if (add > s->limit - s->len) {
		s->overflow = 1;
		return 0; /* aborts the transfer */
	}
	if (s->len + add + 1 > s->size) {
		size_t want = s->size ? s->size : 16 * 1024;
		while (want < s->len + add + 1)
			want *= 2;
		char *grown = realloc(s->data, want);
		if (grown == NULL)
			return 0;
		s->data = grown;
		s->size = want;
	}
	memcpy(s->data + s->len, ptr, add);
	s->len += add;
	s->data[s->len] = '\0';
	return add;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps ms in all, a signal notwithstanding: the budget bounds it anyway. */
static void sleep_ms(long long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* 250 ms * 2^attempt, spread over half to one and a half times that so that
 * workers refused together do not come back together. */
static long long backoff_ms(int attempt)
{
	static unsigned seed;
	if (seed == 0)
		seed = (unsigned)getpid() ^ (unsigned)now_ms();
	long long base = (long long)BACKOFF_BASE_MS << (attempt < 16 ? attempt : 16);
	return base / 2 + (long long)((double)rand_r(&seed) / ((double)RAND_MAX + 1) * (double)base);
}

/* Retry-After in seconds, or -1 when absent or in the HTTP-date form (a
 * date is taken as absent: it would need a clock the provider agrees with). */
static long long retry_after_ms(CURL *c)
{
	struct curl_header *h;
	if (curl_easy_header(c, "Retry-After", 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
		return -1;
	char *end;
	errno = 0;
	long long s = strtoll(h->value, &end, 10);
	while (*end == ' ' || *end == '\t')
		end++;
	if (end == h->value || *end != '\0' || errno || s < 0)
		return -1;
	return s > 3600 ? 3600 * 1000LL : s * 1000; /* the budget cuts it shorter anyway */
}

/* base + "/embeddings", a trailing slash of base dropped.  -1 if too long. */
static int endpoint(const char *base, char *url, size_t size)
{
	size_t len = strlen(base);
	while (len > 0 && base[len - 1] == '/')
		len--;
	int w = snprintf(url, size, "%.*s/embeddings", (int)len, base);
	return w < 0 || (size_t)w >= size ? -1 : 0;
}

static struct json_object *request_body(const struct config *cfg, const char *const *texts, const size_t *lens,
					int n)
{
	struct json_object *body = json_object_new_object(), *input = json_object_new_array_ext(n);
	if (body == NULL || input == NULL) {
		json_object_put(body);
		json_object_put(input);
		return NULL;
	}
	json_object_object_add(body, "model", json_object_new_string(cfg->embedding_model));
	json_object_object_add(body, "input", input);
	for (int i = 0; i < n; i++)
		if (json_object_array_add(input, json_object_new_string_len(texts[i], (int)lens[i])) != 0) {
			json_object_put(body);
			return NULL;
		}
	json_object_object_add(body, "encoding_format", json_object_new_string("float"));
	if (cfg->embedding_send_dims)
		json_object_object_add(body, "dimensions", json_object_new_int64(cfg->embedding_dims));
	return body;
}

/* The request's headers, or NULL when memory runs out.  *auth gets the
 * Authorization line, which libcurl copies; the caller forget()s it. */
static struct curl_slist *request_headers(const char *key, char **auth)
{
	/* "Expect:" stops libcurl waiting for a 100 Continue on large batches. */
	static const char *const fixed[] = { "Content-Type: application/json", "Accept: application/json", "Expect:" };
	struct curl_slist *list = NULL, *h;
	*auth = NULL;
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		if ((h = curl_slist_append(list, fixed[i])) == NULL)
			goto fail;
		list = h;
	}
	if (key && key[0]) {
		if (asprintf(auth, "Authorization: Bearer %s", key) < 0) {
			*auth = NULL;
			goto fail;
		}
		if ((h = curl_slist_append(list, *auth)) == NULL)
			goto fail;
		list = h;
	}
	return list;
fail:
	curl_slist_free_all(list);
	return NULL;
}

/* Frees a string that held the API key, wiping it first. */
static void forget(char *secret)
{
	if (secret) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
}

/* At most PROVIDER_MESSAGE_MAX bytes of the message. */
int embed_openai_provider_message(const char *text, size_t len, const char *key, char *out, size_t outlen)
{
	char why[128];
	struct json_object *answer = text ? body_json_parse(text, len, why, sizeof why) : NULL, *error, *message;
	if (answer == NULL || !json_object_object_get_ex(answer, "error", &error)
	    || !json_object_object_get_ex(error, "message", &message) || !json_object_is_type(message, json_type_string)) {
		json_object_put(answer);
		return 0;
	}
	const char *m = json_object_get_string(message);
	size_t mlen = (size_t)json_object_get_string_len(message), klen = key ? strlen(key) : 0;
	size_t cap = outlen - 4 < PROVIDER_MESSAGE_MAX ? outlen - 4 : PROVIDER_MESSAGE_MAX, o = 0, i = 0;
	/* The key is masked before the cut, so that no prefix of it survives. */
	while (i < mlen && o < cap) {
		if (klen && mlen - i >= klen && memcmp(m + i, key, klen) == 0) {
			if (cap - o < 3)
				break;
			memcpy(out + o, "***", 3);
			o += 3;
			i += klen;
			continue;
		}
		unsigned char ch = (unsigned char)m[i++];
		out[o++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
	/* Cut inside a character: step back to its first byte (the key and
	 * "***" are ASCII, so a byte >= 0x80 in out was copied from m[i - 1]). */
	while (i < mlen && o > 0 && ((unsigned char)m[i] & 0xc0) == 0x80 && ((unsigned char)out[o - 1] & 0x80)) {
		o--;
		i--;
	}
	if (i < mlen && outlen - o > 3) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	json_object_put(answer);
	return 1;
}

enum embed_status embed_openai_read_answer(const struct config *cfg, const char *text, size_t len, int n, float *out,
					   char *err, size_t errlen)
{
	int dims = (int)cfg->embedding_dims;
	char why[128];
	struct json_object *answer = text ? body_json_parse(text, len, why, sizeof why) : NULL, *data;
	enum embed_status st = EMBED_FAILED;
	unsigned char *seen = calloc((size_t)n, 1);
	if (seen == NULL) {
		snprintf(err, errlen, "out of memory");
		st = EMBED_RETRY; /* not the provider's fault, nor the input's */
		goto done;
	}
	if (answer == NULL) {
		snprintf(err, errlen, "provider's answer is not JSON");
		goto done;
	}
	if (!json_object_object_get_ex(answer, "data", &data) || !json_object_is_type(data, json_type_array)) {
		snprintf(err, errlen, "provider's answer has no data array");
		goto done;
	}
	size_t count = json_object_array_length(data);
	if (count != (size_t)n) {
		snprintf(err, errlen, "provider answered %zu embeddings for %d inputs", count, n);
		goto done;
	}
	for (size_t k = 0; k < count; k++) {
		struct json_object *item = json_object_array_get_idx(data, k), *index, *embedding;
		if (!json_object_object_get_ex(item, "index", &index) || !json_object_is_type(index, json_type_int)) {
			snprintf(err, errlen, "provider's item %zu has no index", k);
			goto done;
		}
		int64_t at = json_object_get_int64(index);
		if (at < 0 || at >= n || seen[at]) {
			snprintf(err, errlen, "provider's item %zu has index %lld: %s", k, (long long)at,
				 at < 0 || at >= n ? "out of range" : "repeated");
			goto done;
		}
		seen[at] = 1;
		if (!json_object_object_get_ex(item, "embedding", &embedding)
		    || !json_object_is_type(embedding, json_type_array)) {
			snprintf(err, errlen, "provider's item %lld has no embedding array", (long long)at);
			goto done;
		}
		size_t got = json_object_array_length(embedding);
		if (got != (size_t)dims) {
			snprintf(err, errlen, "embedding of %zu dimensions, EMBEDDING_DIMENSIONS is %d", got, dims);
			goto done;
		}
		float *row = out + (size_t)at * (size_t)dims;
		double sum = 0;
		for (int j = 0; j < dims; j++) {
			struct json_object *v = json_object_array_get_idx(embedding, (size_t)j);
			double d = json_object_get_double(v);
			if ((!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
			    || !isfinite(d) || fabs(d) > FLT_MAX) {
				snprintf(err, errlen, "embedding %lld holds something not a finite number", (long long)at);
				goto done;
			}
			row[j] = (float)d;
			sum += d * d;
		}
		/* A zero vector stays zero: it has no direction to keep. */
		if (sum > 0) {
			double scale = 1 / sqrt(sum);
			for (int j = 0; j < dims; j++)
				row[j] = (float)(row[j] * scale);
		}
	}
	st = EMBED_OK;
done:
	free(seen);
	json_object_put(answer);
	return st;
}

/* The endpoint's URL from EMBEDDING_BASE_URL, and the process's handle:
 * EMBED_OK, or EMBED_FAILED (configuration) or EMBED_RETRY (memory), with
 * err set. */
static enum embed_status prepare(const struct config *cfg, char *url, size_t size, char *err, size_t errlen)
{
	if (cfg->embedding_base_url == NULL || endpoint(cfg->embedding_base_url, url, size) != 0) {
		snprintf(err, errlen, "EMBEDDING_BASE_URL is missing or too long");
		return EMBED_FAILED;
	}
	if (!http_client_url_allowed(url)) {
		snprintf(err, errlen, "EMBEDDING_BASE_URL must be https (http only to a loopback address)");
		return EMBED_FAILED;
	}
	/* Running out of memory is no fault of the texts: EMBED_RETRY. */
	if (handle == NULL && (handle = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "curl init failed");
		return EMBED_RETRY;
	}
	return EMBED_OK;
}

/* What every attempt of one batch sends. */
struct post {
	const char *url, *payload;
	struct curl_slist *headers;
};

/* One attempt, given left ms in all: the answer goes into s, libcurl's
 * message into curl_err (CURL_ERROR_SIZE bytes), the HTTP status into
 * *status (0: none). */
static CURLcode post_once(const struct config *cfg, const struct post *p, long long left, struct sink *s,
			  char *curl_err, long *status)
{
	s->len = 0;
	s->overflow = 0;
	curl_easy_reset(handle); /* options only: the connection stays */
	curl_easy_setopt(handle, CURLOPT_URL, p->url);
	curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, (long)left);
	long long connect = cfg->embedding_connect_timeout_ms < left ? cfg->embedding_connect_timeout_ms : left;
	curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, (long)connect);
	curl_easy_setopt(handle, CURLOPT_HTTPHEADER, p->headers);
	curl_easy_setopt(handle, CURLOPT_POSTFIELDS, p->payload);
	curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(p->payload));
	curl_easy_setopt(handle, CURLOPT_ACCEPT_ENCODING, ""); /* float text compresses well */
	curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(handle, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(handle, CURLOPT_USERAGENT, "aiget-memox");
	CURLcode rc = curl_easy_perform(handle);
	*status = 0;
	curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, status);
	curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, NULL); /* curl_err goes out of scope */
	return rc;
}

/* A refusal (a 4xx other than 429): its status and the provider's message. */
static void refusal(const struct config *cfg, long status, const struct sink *s, char *err, size_t errlen)
{
	/* Sized so that err holds it whole after "provider answered NNN: ":
	 * snprintf's cut would not keep to character boundaries. */
	char msg[PROVIDER_MESSAGE_MAX + 4];
	size_t room = errlen > 32 + 4 ? errlen - 32 : 4;
	if (room > sizeof msg)
		room = sizeof msg;
	if (embed_openai_provider_message(s->data, s->len, cfg->embedding_api_key, msg, room))
		snprintf(err, errlen, "provider answered %ld: %s", status, msg);
	else
		snprintf(err, errlen, "provider answered %ld", status);
}

/* After a 429 or 5xx with attempts left: waits Retry-After, else the
 * backoff.  0 once waited, or -1 with err set when the wait would pass the
 * deadline (and is not slept). */
static int wait_to_retry(long status, int attempt, long long deadline, char *err, size_t errlen)
{
	long long wait = retry_after_ms(handle);
	if (wait < 0)
		wait = backoff_ms(attempt);
	if (now_ms() + wait >= deadline) {
		snprintf(err, errlen, "provider answered %ld after %d attempt%s; waiting %lld ms more "
			 "would pass EMBEDDING_TIMEOUT_MS", status, attempt + 1, attempt ? "s" : "", wait);
		return -1;
	}
	sleep_ms(wait);
	return 0;
}

/* The attempts at one batch, within the deadline and EMBEDDING_MAX_RETRIES;
 * the rows of a good answer go into out. */
static enum embed_status post_with_retries(const struct config *cfg, const struct post *p, long long deadline,
					   int n, float *out, char *err, size_t errlen)
{
	enum embed_status st = EMBED_FAILED;
	struct sink s = { .limit = (size_t)n * (size_t)cfg->embedding_dims * ANSWER_BYTES_PER_FLOAT + ANSWER_MARGIN };
	int attempts = 1 + (int)(cfg->embedding_max_retries > 0 ? cfg->embedding_max_retries : 0);
	for (int attempt = 0; attempt < attempts; attempt++) {
		long long left = deadline - now_ms();
		if (left <= 0) {
			snprintf(err, errlen, "no time left for the provider (EMBEDDING_TIMEOUT_MS)");
			st = EMBED_RETRY;
			break;
		}
		char curl_err[CURL_ERROR_SIZE] = "";
		long status;
		CURLcode rc = post_once(cfg, p, left, &s, curl_err, &status);
		if (rc != CURLE_OK && s.overflow) {
			snprintf(err, errlen, "provider's answer is larger than %zu bytes", s.limit);
			break;
		}
		if (rc != CURLE_OK) {
			snprintf(err, errlen, "provider not reached: %s", curl_err[0] ? curl_err : curl_easy_strerror(rc));
			st = EMBED_RETRY;
			break;
		}
		if (status >= 200 && status < 300) {
			st = embed_openai_read_answer(cfg, s.data, s.len, n, out, err, errlen);
			break;
		}
		if (status != 429 && status < 500) {
			refusal(cfg, status, &s, err, errlen);
			break;
		}
		st = EMBED_RETRY;
		if (attempt + 1 == attempts) {
			snprintf(err, errlen, "provider answered %ld after %d attempt%s", status, attempts,
				 attempts == 1 ? "" : "s");
			break;
		}
		if (wait_to_retry(status, attempt, deadline, err, errlen) != 0)
			break;
	}
	free(s.data);
	return st;
}

enum embed_status embed_openai(const struct config *cfg, const char *const *texts, const size_t *lens, int n,
			       float *out, char *err, size_t errlen)
{
	if (n <= 0)
		return EMBED_OK;
	long long deadline = now_ms() + cfg->embedding_timeout_ms;
	char url[2048];
	enum embed_status st = prepare(cfg, url, sizeof url, err, errlen);
	if (st != EMBED_OK)
		return st;
	struct json_object *body = request_body(cfg, texts, lens, n);
	const char *payload = body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN
								   | JSON_C_TO_STRING_NOSLASHESCAPE) : NULL;
	if (payload == NULL) {
		json_object_put(body);
		snprintf(err, errlen, "out of memory");
		return EMBED_RETRY;
	}

	char *auth;
	struct curl_slist *headers = request_headers(cfg->embedding_api_key, &auth);
	if (headers == NULL) {
		forget(auth);
		json_object_put(body);
		snprintf(err, errlen, "out of memory");
		return EMBED_RETRY;
	}

	struct post p = { .url = url, .payload = payload, .headers = headers };
	st = post_with_retries(cfg, &p, deadline, n, out, err, errlen);
	curl_slist_free_all(headers);
	forget(auth);
	json_object_put(body);
	return st;
}
