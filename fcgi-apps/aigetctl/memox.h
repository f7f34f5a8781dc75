/* memox.h - `aigetctl memox ...`: the memox job queue, seen and mended by operators. */
#ifndef AIGET_CTL_MEMOX_H
#define AIGET_CTL_MEMOX_H

#include "app.h"

int memox_command(struct app_context *ctx, int argc, char **argv);

#endif
