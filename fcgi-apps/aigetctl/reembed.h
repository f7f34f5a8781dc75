/* reembed.h - `aigetctl memox reembed|drop-model`: moving memox to another embedding model. */
#ifndef AIGET_CTL_REEMBED_H
#define AIGET_CTL_REEMBED_H

#include "app.h"

/* `memox reembed --provider P --model M --dimensions D --base-url U`: each
 * option stands for its EMBEDDING_* variable and is put in the environment,
 * which wins over the env file, before the configuration is read.  Removes
 * the options from argv (*argc shrinks); -1 on a malformed one. */
int reembed_options(int *argc, char **argv);
/* Embeds every ready memory with the configured model; 0, 1 on failure. */
int memox_reembed(struct app_context *ctx, int json);
/* Deletes a model's vectors and index; refuses the model in use (64). */
int memox_drop_model(struct app_context *ctx, const char *model, int json);

#endif
