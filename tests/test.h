/* test.h: a minimal test harness. Each test file is one executable; CHECK
 * records a failure and goes on, REQUIRE stops the test function. main()
 * ends with TEST_DONE(), which prints "N passed, N failed" and exits. A test
 * that cannot run (missing optional input) calls TEST_SKIP(why): exit 77. */
#ifndef PIFI_TEST_H
#define PIFI_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_passed_, test_failed_;

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (cond) test_passed_++;                                                          \
        else {                                                                             \
            test_failed_++;                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);       \
        }                                                                                  \
    } while (0)

#define CHECKF(cond, ...)                                                                  \
    do {                                                                                   \
        if (cond) test_passed_++;                                                          \
        else {                                                                             \
            test_failed_++;                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);       \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
        }                                                                                  \
    } while (0)

#define REQUIRE(cond)                                                                      \
    do {                                                                                   \
        if (cond) test_passed_++;                                                          \
        else {                                                                             \
            test_failed_++;                                                                \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond);     \
            return;                                                                        \
        }                                                                                  \
    } while (0)

/* An error message must contain a substring. */
#define CHECK_MSG(err, sub)                                                                \
    CHECKF(strstr((err).msg, (sub)) != NULL, "message \"%s\" lacks \"%s\"", (err).msg, (sub))

#define TEST_DONE()                                                                        \
    do {                                                                                   \
        printf("%d passed, %d failed\n", test_passed_, test_failed_);                      \
        return test_failed_ ? 1 : 0;                                                       \
    } while (0)

#define TEST_SKIP(...)                                                                     \
    do {                                                                                   \
        printf("SKIPPED: ");                                                               \
        printf(__VA_ARGS__);                                                               \
        printf("\n");                                                                      \
        exit(77);                                                                          \
    } while (0)

/* Environment paths with defaults. */
static inline const char *test_env(const char *name, const char *dflt) {
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

static inline const char *test_fixtures(void) { return test_env("PIFI_FIXTURES", "tests/fixtures"); }
static inline const char *test_tmp(void) {
    const char *t = test_env("PIFI_TESTS_TMP", "/tmp/pifi-tests");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", t);
    if (system(cmd) != 0) fprintf(stderr, "cannot create %s\n", t);
    return t;
}

#endif
