/* log.c - the log_* family: stderr and/or syslog, one escaped line per event. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static const char *const level_names[LOG_LEVEL__MAX] = { "debug", "info", "warn", "error" };
static const int syslog_priorities[LOG_LEVEL__MAX] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR };

static struct {
	char ident[32];
	enum log_level level;
	int targets;
	char rid[129];
} logger = { "aiget", LOG_LEVEL_INFO, LOG_TO_STDERR, "" };

void log_init(const char *ident, enum log_level level, int targets)
{
	snprintf(logger.ident, sizeof logger.ident, "%s", ident);
	logger.level = level;
	logger.targets = targets ? targets : LOG_TO_STDERR;
	if (logger.targets & LOG_TO_SYSLOG)
		openlog(logger.ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_request_id(const char *rid)
{
	snprintf(logger.rid, sizeof logger.rid, "%s", rid ? rid : "");
}

int log_enabled(enum log_level level)
{
	return level >= logger.level;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (int i = 0; i < LOG_LEVEL__MAX; i++)
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	if (strcmp(s, "warning") == 0) {
		*out = LOG_LEVEL_WARN;
		return 0;
	}
	return -1;
}

char *log_escape(char *dst, size_t dstlen, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (dstlen == 0)
		return dst;
	for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
		char buf[4];
		size_t n;
		switch (*p) {
		case '\n': memcpy(buf, "\\n", 2); n = 2; break;
		case '\r': memcpy(buf, "\\r", 2); n = 2; break;
		case '\t': memcpy(buf, "\\t", 2); n = 2; break;
		case '\\': memcpy(buf, "\\\\", 2); n = 2; break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				buf[0] = '\\'; buf[1] = 'x';
				buf[2] = hex[*p >> 4]; buf[3] = hex[*p & 15];
				n = 4;
			} else {
				buf[0] = (char)*p;
				n = 1;
			}
		}
		if (o + n >= dstlen)
			break;
		memcpy(dst + o, buf, n);
		o += n;
	}
	dst[o] = '\0';
	return dst;
}

void log_write(enum log_level level, const char *fmt, ...)
{
	char raw[2048], msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	log_escape(msg, sizeof msg, raw);

	const char *rid = logger.rid[0] ? logger.rid : "-";
	if (logger.targets & LOG_TO_STDERR) {
		struct timespec ts;
		struct tm tm;
		char when[32];
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
		/* One fprintf per line so concurrent children do not interleave
		 * within a line (stderr is unbuffered; lines stay below PIPE_BUF
		 * in practice). */
		fprintf(stderr, "%s.%03ldZ %s %s[%ld] rid=%s %s\n", when, ts.tv_nsec / 1000000,
			level_names[level], logger.ident, (long)getpid(), rid, msg);
	}
	if (logger.targets & LOG_TO_SYSLOG)
		syslog(syslog_priorities[level], "%s rid=%s %s", level_names[level], rid, msg);
}
