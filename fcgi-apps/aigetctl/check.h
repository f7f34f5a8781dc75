/* check.h - `aigetctl check`: configuration and every dependency, with latencies. */
#ifndef AIGET_CTL_CHECK_H
#define AIGET_CTL_CHECK_H

extern const char check_synopsis[];

/* Runs without the app context: it loads the configuration itself, so that
 * an invalid one is reported as a check, and connects with short timeouts. */
int check_command(const char *env_file, int argc, char **argv);

#endif
