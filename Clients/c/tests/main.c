/* Runs the C client's tests against a live personalizerd (path in $PERSONALIZERD or argv[1];
 * argv[2] runs one test). Prints one line per test and a final "N passed, M failed"; exits
 * non-zero on any failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

int check_failures;

typedef struct test {
    const char *name;
    void (*run)(void);
} test;

static const test TESTS[] = {
    {"rank", test_rank},
    {"rank_event_id_and_excluded", test_rank_event_id_and_excluded},
    {"reward_activate_status", test_reward_activate_status},
    {"learning_publishes_models", test_learning_publishes_models},
    {"invalid_arguments", test_invalid_arguments},
    {"unknown_loop", test_unknown_loop},
    {"token", test_token},
    {"pending_event_id_reused", test_pending_event_id_reused},
    {"pipelining", test_pipelining},
    {"receive_unknown_id", test_receive_unknown_id},
    {"connection_refused", test_connection_refused},
    {"timeout", test_timeout},
    {"bad_frames", test_bad_frames},
    {"server_closes", test_server_closes},
    {"server_killed_mid_session", test_server_killed_mid_session},
    {"server_stopped_mid_session", test_server_stopped_mid_session},
    {"argument_checks", test_argument_checks},
};

int main(int argc, char **argv) {
    g_binary = argc > 1 ? argv[1] : getenv("PERSONALIZERD");
    if (g_binary == NULL || access(g_binary, X_OK) != 0) {
        fprintf(stderr, "usage: %s PERSONALIZERD (or set $PERSONALIZERD); got '%s'\n", argv[0],
                g_binary ? g_binary : "");
        return 2;
    }
    const char *only = argc > 2 ? argv[2] : NULL;
    if (!server_start(&g_server, g_binary, CONFIG)) {
        server_stop(&g_server);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof TESTS / sizeof TESTS[0]; i++) {
        if (only && strcmp(only, TESTS[i].name) != 0) continue;
        check_failures = 0;
        TESTS[i].run();
        printf("%s %s\n", check_failures ? "FAIL" : "ok  ", TESTS[i].name);
        fflush(stdout);
        if (check_failures) failed++; else passed++;
    }
    if (!server_stop(&g_server)) failed++;
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
