/* keyring.h - the access-token signing keys, as every process sees them.
 *
 * Keys live in the main database's signing_keys table.  The published set is
 * the keys not yet retired, newest first: the current one signs, the previous
 * one still verifies tokens it signed before a rotation.  Each process keeps a
 * copy, reloaded every KEYRING_TTL_S seconds and on a token whose kid it does
 * not know (at most every KEYRING_MISS_S seconds, so forged kids cannot make
 * it hammer the database). */
#ifndef AIGET_KEYRING_H
#define AIGET_KEYRING_H

#include <stddef.h>

#include <json-c/json.h>

#include "jwt.h"
#include "pg.h"

#define KEYRING_TTL_S 60
#define KEYRING_MISS_S 5
/* A new key signs only once it is this old: by then every verifier that met
 * a token with its kid has been able to reload (KEYRING_MISS_S) and find it. */
#define KEYRING_ACTIVATE_S (2 * KEYRING_MISS_S)

struct keyring;

struct keyring *keyring_new(int with_private);
void keyring_free(struct keyring *kr);

/* Reloads when stale (or when force and the miss interval has passed). */
int keyring_load(struct keyring *kr, struct pg *db, int force, char *err, size_t errlen);

/* The signing key: the newest that is KEYRING_ACTIVATE_S old, else the
 * oldest published (a first key signs at once).  With its private half when
 * the ring was made with_private. */
const struct jwt_key *keyring_current(const struct keyring *kr);
/* All published keys. */
const struct jwt_key *const *keyring_keys(const struct keyring *kr, size_t *n);
/* 1 when a key with this kid is loaded. */
int keyring_has(const struct keyring *kr, const char *kid);
/* {"keys":[...public JWKs...]}; caller json_object_put()s. */
struct json_object *keyring_jwks(const struct keyring *kr);

/* Makes a new current key; the ones older than the previous are retired.
 * Writes the new kid into kid_out (33 bytes). */
int keyring_rotate(struct pg *db, char kid_out[33], char *err, size_t errlen);
/* Creates a first key when none is published; safe to race. */
int keyring_ensure(struct pg *db, char *err, size_t errlen);

#endif
