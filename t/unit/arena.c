/* arena.c - unit tests of the request arena and its cleanups. */
#include <stdint.h>

#include "arena.h"
#include "tap.h"

static int cleaned;
static void count_cleanup(void *p) { cleaned += *(int *)p; }

int main(void)
{
	struct arena *a = arena_create(64);
	char *s = arena_strdup(a, "hello");
	is_str(s, "hello", "strdup");
	is_str(arena_printf(a, "%s-%d", "x", 42), "x-42", "printf");
	void *big = arena_alloc(a, 100000);
	ok(big != NULL, "allocation larger than a block");
	ok(((uintptr_t)arena_alloc(a, 3) % _Alignof(max_align_t)) == 0, "allocations are aligned");
	int one = 1, two = 2;
	arena_on_reset(a, count_cleanup, &one);
	arena_on_reset(a, count_cleanup, &two);
	arena_reset(a);
	is_int(cleaned, 3, "cleanups run on reset");
	arena_reset(a);
	is_int(cleaned, 3, "and only once");
	is_str(arena_strdup(a, "again"), "again", "usable after reset");
	arena_destroy(a);
	return done_testing();
}
