/* cmd_data_fetch.c: the one place pifi downloads anything: a URL (https,
 * http or file://) into an open file with libcurl, for `pifi data get`
 * (cmd_data.c, which checks and names the file). libcurl is optional at
 * build time (PIFI_HAVE_CURL, set by CMake when it finds CURL); without it
 * the download fails with a line saying so. */
#include "cli/data_args.h"

#ifdef PIFI_HAVE_CURL
#include <curl/curl.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    int fd;
    long long got, max;
    int errnum; /* a failed write */
} Sink;

static size_t sink_write(char *p, size_t size, size_t nmemb, void *ud) {
    Sink *s = ud;
    size_t n = size * nmemb;
    if (s->got + (long long)n > s->max) return 0; /* too big: libcurl stops with a write error */
    for (size_t off = 0; off < n;) {
        ssize_t w = write(s->fd, p + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            s->errnum = w < 0 ? errno : EIO;
            return 0;
        }
        off += (size_t)w;
    }
    s->got += (long long)n;
    return n;
}

int data_fetch_available(void) { return 1; }

int data_fetch_url(const char *url, int fd, long long max_bytes, PifiErr *err) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) return pifi_errk(err, PIFI_ERR_RUNTIME, "libcurl: cannot initialise");
    CURL *c = curl_easy_init();
    if (!c) {
        curl_global_cleanup();
        return pifi_errk(err, PIFI_ERR_RUNTIME, "libcurl: cannot initialise");
    }
    Sink s = {fd, 0, max_bytes, 0};
    char ebuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http,file");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https,http");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTPS | CURLPROTO_HTTP | CURLPROTO_FILE));
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTPS | CURLPROTO_HTTP));
#endif
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L); /* an HTTP error status is an error, not a file */
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L); /* give up below 1 KiB/s for a minute */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "pifi/0.1 (pifi data get)");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    CURLcode rc = curl_easy_perform(c);
    int ret = 0;
    if (rc == CURLE_WRITE_ERROR && s.errnum)
        ret = pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot write the download: %s", url, strerror(s.errnum));
    else if (rc == CURLE_WRITE_ERROR)
        ret = pifi_errk(err, PIFI_ERR_RUNTIME, "%s: larger than %lld bytes: refused", url, max_bytes);
    else if (rc != CURLE_OK)
        ret = pifi_errk(err, PIFI_ERR_RUNTIME, "%s: %s", url, ebuf[0] ? ebuf : curl_easy_strerror(rc));
    curl_easy_cleanup(c);
    curl_global_cleanup();
    return ret;
}

#else

int data_fetch_available(void) { return 0; }

int data_fetch_url(const char *url, int fd, long long max_bytes, PifiErr *err) {
    (void)url, (void)fd, (void)max_bytes;
    return pifi_errf(err, "this pifi was built without libcurl (install libcurl4-openssl-dev and rebuild)");
}

#endif
