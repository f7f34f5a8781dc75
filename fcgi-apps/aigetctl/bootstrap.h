/* bootstrap.h - the signing key and first admin that `aigetctl migrate` ensures. */
#ifndef AIGET_BOOTSTRAP_H
#define AIGET_BOOTSTRAP_H

#include "app.h"

/* 0, or -1 with a message on stderr. */
int bootstrap_run(struct app_context *ctx);

#endif
