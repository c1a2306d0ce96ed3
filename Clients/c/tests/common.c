/* Sample requests and helpers shared by the tests. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

const char *const CONFIG =
    "{\"loops\": {"
    "\"default\": {\"rewardWaitTimeSeconds\": 0.2, \"modelUpdateIntervalSeconds\": 0.05},"
    "\"slow\": {\"rewardWaitTimeSeconds\": 60, \"modelUpdateIntervalSeconds\": 0.05},"
    "\"secured\": {\"token\": \"c-token\"}"
    "}}";

const char *g_binary;
server g_server;

static const pz_feature USER[] = {PZ_TEXT("segment", "sports"), PZ_NUMBER("age", 31.0)};
const pz_namespace CONTEXT[] = {{"user", USER, 2}};
static const pz_feature ITEM_A[] = {PZ_TEXT("topic", "football"), PZ_NUMBER("length", 420.0)};
static const pz_feature ITEM_B[] = {PZ_TEXT("topic", "cooking")};
static const pz_feature ITEM_C[] = {PZ_TEXT("topic", "travel"), PZ_NUMBER("length", 80.0)};
const pz_namespace NS_A[] = {{"item", ITEM_A, 2}};
const pz_namespace NS_B[] = {{"item", ITEM_B, 1}};
const pz_namespace NS_C[] = {{"item", ITEM_C, 2}};
const pz_action ACTIONS[] = {{"a", NS_A, 1}, {"b", NS_B, 1}, {"c", NS_C, 1}};

pz_rank_request basic_request(void) {
    pz_rank_request r = {0};
    r.context = CONTEXT;
    r.context_count = 1;
    r.actions = ACTIONS;
    r.action_count = 3;
    return r;
}

pz_client *connect_to(const char *path, const char *loop, int timeout_ms) {
    pz_options o = {.loop = loop, .timeout_ms = timeout_ms};
    pz_client *c = NULL;
    pz_error err;
    pz_err rc = pz_connect(path, &o, &c, &err);
    CHECK_RC(rc, PZ_OK, err);
    return c;
}

void unique_id(char *buf, size_t n, const char *tag) {
    static unsigned counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(buf, n, "%s-%d-%ld-%u", tag, (int)getpid(), (long)ts.tv_nsec, ++counter);
}

long elapsed_ms(const struct timespec *since) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

void expect_rank_error(pz_client *c, const pz_rank_request *req, uint32_t code,
                              const char *what) {
    pz_rank_result *r = NULL;
    pz_error err;
    pz_err rc = pz_rank(c, req, &r, &err);
    CHECK(rc == PZ_ESERVER && err.code == code, "%s: got %s code %u (%s), want server code %u",
          what, pz_err_name(rc), err.code, err.message, code);
    CHECK(r == NULL, "%s: a result despite the error", what);
    CHECK(rc != PZ_ESERVER || err.message[0] != '\0', "%s: empty error message", what);
    pz_rank_result_free(r);
}
