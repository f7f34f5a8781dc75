/* fuzz.c - the harnesses' context, input splitting and in-memory FastCGI streams.
 *
 * The streams are libfcgi's own FCGX_Stream with our buffer procedures:
 * FCGX_GetStr and FCGX_PutStr call fillBuffProc and emptyBuffProc when their
 * buffer runs out, so the reader hands over the body and then says end of
 * stream, and the writer appends what it was given to the answer. */
#include "fuzz.h"

#include <string.h>
#include <strings.h>

#include "config.h"
#include "json_check.h"
#include "log.h"

/* Caps at the configuration's lowest, so that inputs of a few KiB reach
 * every limit; and an allowed origin, so that CORS answers happen. */
static const char *const base_env[] = {
	"DATABASE_URL=postgresql://fuzz@127.0.0.1:1/fuzz",
	"VECTOR_DATABASE_URL=postgresql://fuzz@127.0.0.1:1/fuzz",
	"REDIS_URL=redis://127.0.0.1:1/0",
	"LOG_LEVEL=error",
	"MAX_BODY_BYTES=2048",
	"MAX_SMALL_BODY_BYTES=1024",
	"JSON_MAX_VALUES=100",
	"JSON_MAX_CONTAINERS=10",
	"MEMOX_CONTENT_MAX_BYTES=64",
	"MEMOX_METADATA_MAX_BYTES=128",
	"MEMOX_METADATA_MAX_DEPTH=3",
	"ALLOWED_ORIGINS=https://app.example.com, http://127.0.0.1:8080",
	NULL,
};

static struct {
	int ready;
	struct app app;
	struct app_context ctx;
	struct arena *arena;
	/* the request of the current input */
	struct request req;
	FCGX_Request fcgx;
	FCGX_Stream in, out;
	char *envp[FUZZ_PARAMS_MAX + 1];
	unsigned char outbuf[512]; /* small: answers cross emptyBuffProc */
	char *answer;
	size_t answer_len, answer_cap;
} F;

static void set_env(const char *const *list)
{
	for (; list && *list; list++) {
		const char *eq = strchr(*list, '=');
		char name[64];
		snprintf(name, sizeof name, "%.*s", (int)(eq - *list), *list);
		setenv(name, eq + 1, 1);
	}
}

void fuzz_init(const char *const *extra)
{
	char err[256];
	if (F.ready)
		return;
	clearenv();
	set_env(base_env);
	set_env(extra);
	F.app.area = "fuzz";
	F.ctx.app = &F.app;
	if (config_load(&F.ctx.cfg, CONFIG_NEEDS_VECTOR, NULL, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz: configuration: %s\n", err);
		abort();
	}
	log_init("fuzz", F.ctx.cfg.log_level, LOG_TO_STDERR);
	F.arena = arena_create(0);
	F.ready = 1;
}

struct app_context *fuzz_context(void)
{
	fuzz_init(NULL);
	return &F.ctx;
}

struct arena *fuzz_arena(void)
{
	fuzz_init(NULL);
	return F.arena;
}

char *fuzz_take(const uint8_t **data, size_t *size, char sep, size_t *len)
{
	const uint8_t *end = memchr(*data, sep, *size);
	size_t n = end ? (size_t)(end - *data) : *size;
	char *s = arena_alloc(fuzz_arena(), n + 1);
	memcpy(s, *data, n);
	s[n] = '\0';
	*data += n + (end ? 1 : 0);
	*size -= n + (end ? 1 : 0);
	if (len)
		*len = n;
	return s;
}

/* ------------------------------------------------------------ streams */

static void in_fill(FCGX_Stream *s)
{
	s->isClosed = 1; /* the body was all there was */
}

static void out_empty(FCGX_Stream *s, int close)
{
	size_t n = (size_t)(s->wrNext - F.outbuf);
	if (F.answer_len + n + 1 > F.answer_cap) {
		F.answer_cap = (F.answer_len + n + 1) * 2;
		F.answer = realloc(F.answer, F.answer_cap);
		if (F.answer == NULL)
			abort();
	}
	memcpy(F.answer + F.answer_len, F.outbuf, n);
	F.answer_len += n;
	F.answer[F.answer_len] = '\0';
	s->wrNext = F.outbuf;
	if (close)
		s->isClosed = 1;
}

struct request *fuzz_request(const char *const *params, size_t nparams, const char *body, size_t len)
{
	fuzz_init(NULL);
	size_t n = nparams < FUZZ_PARAMS_MAX ? nparams : FUZZ_PARAMS_MAX;
	for (size_t i = 0; i < n; i++)
		F.envp[i] = (char *)params[i];
	F.envp[n] = NULL;

	if (body == NULL)
		body = "", len = 0;
	memset(&F.in, 0, sizeof F.in);
	F.in.rdNext = F.in.stopUnget = (unsigned char *)body;
	F.in.stop = F.in.wrNext = (unsigned char *)body + len;
	F.in.isReader = 1;
	F.in.fillBuffProc = in_fill;

	memset(&F.out, 0, sizeof F.out);
	F.out.wrNext = F.out.rdNext = F.outbuf;
	F.out.stop = F.outbuf + sizeof F.outbuf;
	F.out.emptyBuffProc = out_empty;
	F.answer_len = 0;
	if (F.answer)
		F.answer[0] = '\0';

	memset(&F.fcgx, 0, sizeof F.fcgx);
	F.fcgx.in = &F.in;
	F.fcgx.out = &F.out;
	F.fcgx.envp = F.envp;
	F.fcgx.ipcFd = -1;
	request_begin(&F.req, &F.fcgx, F.arena, &F.ctx);
	return &F.req;
}

const char *fuzz_answer(size_t *len)
{
	out_empty(&F.out, 0);
	if (len)
		*len = F.answer_len;
	return F.answer ? F.answer : "";
}

void fuzz_end(void)
{
	arena_reset(fuzz_arena());
}

int fuzz_contains(const char *s, size_t n, const char *needle, size_t m)
{
	return m > 0 && memmem(s, n, needle, m) != NULL;
}

/* ------------------------------------------------------------ answers */

static int token_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

int fuzz_check_answer(const char *answer, size_t len, int head, const char **body)
{
	const char *p = answer, *end = answer + len;
	int status = 0;
	long long length = -1;
	int json = 0;
	FUZZ_CHECK(len > 0 && strncmp(p, "Status: ", 8) == 0);
	for (;;) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		FUZZ_CHECK(eol != NULL);
		if (eol == p) {
			p += 2;
			break;
		}
		/* One header a line: no CR or LF inside (a header injected by
		 * a client's bytes would show here), a token, ": ", a value. */
		FUZZ_CHECK(memchr(p, '\n', (size_t)(eol - p)) == NULL && memchr(p, '\r', (size_t)(eol - p)) == NULL);
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		FUZZ_CHECK(colon != NULL && colon > p && colon[1] == ' ');
		for (const char *c = p; c < colon; c++)
			FUZZ_CHECK(token_char((unsigned char)*c));
		size_t nlen = (size_t)(colon - p);
		const char *value = colon + 2;
		if (nlen == 6 && strncmp(p, "Status", 6) == 0)
			status = atoi(value);
		else if (nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0)
			length = atoll(value);
		else if (nlen == 12 && strncasecmp(p, "Content-Type", 12) == 0)
			json = strncmp(value, "application/json", 16) == 0;
		p = eol + 2;
	}
	FUZZ_CHECK(status >= 200 && status <= 599);
	size_t blen = (size_t)(end - p);
	if (length >= 0 && !head)
		FUZZ_CHECK((size_t)length == blen);
	else
		FUZZ_CHECK(blen == 0);
	if (json && !head) {
		char err[256];
		const struct json_limits lim = { JSON_CHECK_DEPTH_MAX, 0, 0, 1 };
		if (json_check(p, blen, &lim, err, sizeof err) != 0) {
			fprintf(stderr, "answer's body is not JSON (%s): %.*s\n", err, (int)blen, p);
			FUZZ_CHECK(!"the body of a JSON answer is JSON");
		}
	}
	if (body)
		*body = p;
	return status;
}
