/* log.h - one line per event, level-filtered, with the request id on every line.
 *
 * Lines look like
 *   2026-11-23T18:52:01.123Z info memox[1234] rid=9f2c... message text
 * Control characters in the message are escaped so that a client cannot forge
 * log lines.  Callers never pass secrets: there is no "redact" here because the
 * rule is simpler to keep at the call sites (log ids and prefixes, not values). */
#ifndef AIGET_LOG_H
#define AIGET_LOG_H

#include <stddef.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR, LOG_LEVEL__MAX };

enum log_target { LOG_TO_STDERR = 1, LOG_TO_SYSLOG = 2 };

void log_init(const char *ident, enum log_level level, int targets);
void log_set_request_id(const char *rid); /* NULL clears it */
int log_enabled(enum log_level level);
int log_level_parse(const char *s, enum log_level *out);

void log_write(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The level check happens before formatting, as in redis' serverLog. */
#define log_debug(...) do { if (log_enabled(LOG_LEVEL_DEBUG)) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...)  do { if (log_enabled(LOG_LEVEL_INFO))  log_write(LOG_LEVEL_INFO,  __VA_ARGS__); } while (0)
#define log_warn(...)  do { if (log_enabled(LOG_LEVEL_WARN))  log_write(LOG_LEVEL_WARN,  __VA_ARGS__); } while (0)
#define log_error(...) do { if (log_enabled(LOG_LEVEL_ERROR)) log_write(LOG_LEVEL_ERROR, __VA_ARGS__); } while (0)

/* Copies src into dst (size dstlen, always terminated), escaping control
 * characters, backslash and DEL as \n, \t, \\ or \xNN.  Returns dst. */
char *log_escape(char *dst, size_t dstlen, const char *src);

#endif
