/* crypto.c - OpenSSL EVP calls behind crypto.h. */
#include "crypto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jwt.h"

int crypto_random(void *buf, size_t n)
{
	unsigned char *p = buf;
	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

char *crypto_random_token(struct arena *a, size_t nbytes)
{
	unsigned char raw[64];
	if (nbytes > sizeof raw || crypto_random(raw, nbytes) != 0)
		return NULL;
	char *s = jwt_b64url_encode(raw, nbytes);
	OPENSSL_cleanse(raw, sizeof raw);
	if (s == NULL)
		return NULL;
	char *copy = arena_strdup(a, s);
	OPENSSL_cleanse(s, strlen(s));
	free(s);
	return copy;
}

void crypto_hex(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void crypto_sha256(const void *data, size_t len, unsigned char out[CRYPTO_SHA256_LEN])
{
	unsigned int n = 0;
	EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

void crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
			unsigned char out[CRYPTO_SHA256_LEN])
{
	unsigned int n = 0;
	HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &n);
}

int crypto_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

int crypto_seal(const unsigned char key[32], const void *plain, size_t len, unsigned char *out)
{
	unsigned char *nonce = out, *cipher = out + 12, *tag = out + 12 + len;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, ok = c != NULL && crypto_random(nonce, 12) == 0 &&
		EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
		EVP_EncryptUpdate(c, cipher, &n, plain, (int)len) == 1 &&
		EVP_EncryptFinal_ex(c, cipher + n, &n) == 1 &&
		EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

int crypto_open(const unsigned char key[32], const unsigned char *sealed, size_t len, unsigned char *out)
{
	if (len < CRYPTO_SEAL_OVERHEAD)
		return -1;
	size_t clen = len - CRYPTO_SEAL_OVERHEAD;
	unsigned char tag[16];
	memcpy(tag, sealed + 12 + clen, 16);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, ok = c != NULL &&
		EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, sealed) == 1 &&
		EVP_DecryptUpdate(c, out, &n, sealed + 12, (int)clen) == 1 &&
		EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1 &&
		EVP_DecryptFinal_ex(c, out + n, &n) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}
