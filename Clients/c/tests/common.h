/* Shared by the C client's tests: the live server, sample requests, helpers. */
#ifndef PZ_TEST_COMMON_H
#define PZ_TEST_COMMON_H

#include <stddef.h>
#include <time.h>

#include "check.h"
#include "harness.h"
#include "personalizer_client.h"

/* Loops "default" (short reward window, learns quickly) and "slow" (event ids stay pending). */
extern const char *const CONFIG;
extern const char *g_binary;   /* the personalizerd under test */
extern server g_server;        /* started by main() for the tests that do not stop it */

/* Sample context and actions "a", "b", "c". */
extern const pz_namespace CONTEXT[1];
extern const pz_namespace NS_A[1], NS_B[1], NS_C[1];
extern const pz_action ACTIONS[3];

pz_rank_request basic_request(void);
pz_client *connect_to(const char *path, const char *loop, int timeout_ms);   /* CHECKs success */
void unique_id(char *buf, size_t n, const char *tag);
long elapsed_ms(const struct timespec *since);
/* Expects a server error with the given gRPC code from a Rank with this request. */
void expect_rank_error(pz_client *c, const pz_rank_request *req, uint32_t code, const char *what);

/* The tests, by file. */
void test_rank(void);
void test_rank_event_id_and_excluded(void);
void test_reward_activate_status(void);
void test_learning_publishes_models(void);
void test_pipelining(void);
void test_receive_unknown_id(void);
void test_argument_checks(void);
void test_invalid_arguments(void);
void test_unknown_loop(void);
void test_token(void);
void test_pending_event_id_reused(void);
void test_connection_refused(void);
void test_timeout(void);
void test_bad_frames(void);
void test_server_closes(void);
void test_server_killed_mid_session(void);
void test_server_stopped_mid_session(void);

#endif
