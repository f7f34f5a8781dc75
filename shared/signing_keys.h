/* signing_keys.h - the access-token signing keys, as every process sees them.
 *
 * Keys live in the main database's signing_keys table.  The published set is
 * the keys not yet retired, newest first: the current one signs, the previous
 * one still verifies tokens it signed before a rotation.  Each process keeps a
 * copy, reloaded every SIGNING_KEYS_TTL_S seconds and on a token whose kid it
 * does not know (at most every SIGNING_KEYS_MISS_S seconds, so forged kids
 * cannot make it hammer the database). */
#ifndef AIGET_SIGNING_KEYS_H
#define AIGET_SIGNING_KEYS_H

#include <stddef.h>

#include <json-c/json.h>

#include "jwt.h"
#include "pg.h"

#define SIGNING_KEYS_TTL_S 60
#define SIGNING_KEYS_MISS_S 5
/* A new key signs only once it is this old: by then every verifier that met
 * a token with its kid has been able to reload (SIGNING_KEYS_MISS_S) and
 * find it. */
#define SIGNING_KEYS_ACTIVATE_S (2 * SIGNING_KEYS_MISS_S)

struct signing_keys;

struct signing_keys *signing_keys_new(int with_private);
void signing_keys_free(struct signing_keys *sk);

/* Reloads when stale (or when force and the miss interval has passed). */
int signing_keys_load(struct signing_keys *sk, struct pg *db, int force, char *err, size_t errlen);

/* The signing key: the newest that is SIGNING_KEYS_ACTIVATE_S old, else the
 * oldest published (a first key signs at once).  With its private half when
 * the set was made with_private. */
const struct jwt_key *signing_keys_current(const struct signing_keys *sk);
/* All published keys. */
const struct jwt_key *const *signing_keys_all(const struct signing_keys *sk, size_t *n);
/* 1 when a key with this kid is loaded. */
int signing_keys_has(const struct signing_keys *sk, const char *kid);
/* {"keys":[...public JWKs...]}; caller json_object_put()s. */
struct json_object *signing_keys_jwks(const struct signing_keys *sk);

/* Makes a new current key; the ones older than the previous are retired.
 * Writes the new kid into kid_out (33 bytes). */
int signing_keys_rotate(struct pg *db, char kid_out[33], char *err, size_t errlen);
/* Creates a first key when none is published; safe to race. */
int signing_keys_ensure(struct pg *db, char *err, size_t errlen);

#endif
