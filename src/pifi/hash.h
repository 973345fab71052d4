/* hash.h: SHA-256 (OpenSSL's libcrypto) of buffers and files, as lowercase hex. */
#ifndef PIFI_HASH_H
#define PIFI_HASH_H

#include <stddef.h>

#include "pifi/err.h"

typedef struct PifiSha256 PifiSha256;

PifiSha256 *pifi_sha256_new(void);
void pifi_sha256_update(PifiSha256 *h, const void *data, size_t n);
/* Writes 64 hex digits + NUL into hex and frees h. */
void pifi_sha256_final(PifiSha256 *h, char hex[65]);

/* Hash a whole file (streamed, never held in memory). */
int pifi_sha256_file(const char *path, char hex[65], PifiErr *err);

#endif
