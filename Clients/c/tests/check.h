/* A tiny test runner: CHECK records a failure and goes on; each test is a function. */
#ifndef PZ_TEST_CHECK_H
#define PZ_TEST_CHECK_H

#include <stdio.h>

extern int check_failures;   /* failures in the running test */

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            check_failures++;                                                   \
            fprintf(stderr, "    %s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
        }                                                                       \
    } while (0)

/* Checks a pz_err result against the expected one, printing the error details. */
#define CHECK_RC(rc, expected, err)                                             \
    CHECK((rc) == (expected), "got %s (code %u %s: %s), want %s", pz_err_name(rc), \
          (err).code, pz_code_name((err).code), (err).message, pz_err_name(expected))

#endif
