/* arena.h - a per-request memory pool, released in one call at the request's end.
 *
 * Handlers allocate freely from the arena and never free; the request loop
 * calls arena_reset() after FCGX_Finish_r().  Resources that are not plain
 * memory (PGresult, redisReply, json-c objects) are registered as cleanups and
 * released by the same reset, the way nginx pools do it. */
#ifndef AIGET_ARENA_H
#define AIGET_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena;

typedef void (*arena_cleanup_fn)(void *);

struct arena *arena_create(size_t block_size);
void arena_destroy(struct arena *a);
void arena_reset(struct arena *a);

void *arena_alloc(struct arena *a, size_t size);
void *arena_zalloc(struct arena *a, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Runs fn(ptr) at the next reset or destroy, newest first. */
void arena_on_reset(struct arena *a, arena_cleanup_fn fn, void *ptr);

#endif
