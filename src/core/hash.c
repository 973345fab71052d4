/* hash.c: SHA-256 through OpenSSL's EVP interface. */
#include "pifi/hash.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct PifiSha256 {
    EVP_MD_CTX *ctx;
};

PifiSha256 *pifi_sha256_new(void) {
    PifiSha256 *h = malloc(sizeof *h);
    if (!h) return NULL;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(h->ctx);
        free(h);
        return NULL;
    }
    return h;
}

void pifi_sha256_update(PifiSha256 *h, const void *data, size_t n) {
    if (n) EVP_DigestUpdate(h->ctx, data, n);
}

void pifi_sha256_final(PifiSha256 *h, char hex[65]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->ctx, md, &n);
    for (unsigned i = 0; i < n && i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    hex[64] = 0;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

int pifi_sha256_file(const char *path, char hex[65], PifiErr *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return pifi_errf(err, "%s: cannot open: %s", path, strerror(errno));
    PifiSha256 *h = pifi_sha256_new();
    if (!h) {
        fclose(f);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    }
    unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) pifi_sha256_update(h, buf, n);
    int bad = ferror(f);
    fclose(f);
    pifi_sha256_final(h, hex);
    if (bad) return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: read error", path);
    return 0;
}
