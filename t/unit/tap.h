/* tap.h - the smallest TAP producer: ok(), is_str(), is_int(), done_testing(). */
#ifndef AIGET_TAP_H
#define AIGET_TAP_H

#include <stdio.h>
#include <string.h>

__attribute__((unused)) static int tap_n, tap_failed;

__attribute__((unused)) static int tap_ok(int cond, const char *name)
{
	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, name);
	return cond;
}

#define ok(cond, name) tap_ok(!!(cond), name)

__attribute__((unused)) static int is_str(const char *got, const char *want, const char *name)
{
	int same = (got == NULL && want == NULL) || (got && want && strcmp(got, want) == 0);
	if (!tap_ok(same, name))
		printf("#   got:      %s\n#   expected: %s\n", got ? got : "(null)", want ? want : "(null)");
	return same;
}

__attribute__((unused)) static int is_int(long long got, long long want, const char *name)
{
	if (!tap_ok(got == want, name))
		printf("#   got:      %lld\n#   expected: %lld\n", got, want);
	return got == want;
}

__attribute__((unused)) static int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
