/* Server refusals: gRPC code and message, connection still usable. */
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

void test_invalid_arguments(void) {
    pz_client *c = connect_to(g_server.socket_path, NULL, 5000);
    pz_rank_request req = basic_request();
    req.action_count = 0;
    expect_rank_error(c, &req, PZ_CODE_INVALID_ARGUMENT, "no actions");

    const pz_action dup[] = {{"x", NS_A, 1}, {"x", NS_B, 1}};
    req = basic_request();
    req.actions = dup;
    req.action_count = 2;
    expect_rank_error(c, &req, PZ_CODE_INVALID_ARGUMENT, "duplicate ids");

    const pz_feature nan_feature[] = {PZ_NUMBER("age", NAN)};
    const pz_namespace nan_ns[] = {{"user", nan_feature, 1}};
    req = basic_request();
    req.context = nan_ns;
    expect_rank_error(c, &req, PZ_CODE_INVALID_ARGUMENT, "NaN feature");

    const pz_feature inf_feature[] = {PZ_NUMBER("length", INFINITY)};
    const pz_namespace inf_ns[] = {{"item", inf_feature, 1}};
    const pz_action inf_actions[] = {{"a", inf_ns, 1}, {"b", NS_B, 1}};
    req = basic_request();
    req.actions = inf_actions;
    req.action_count = 2;
    expect_rank_error(c, &req, PZ_CODE_INVALID_ARGUMENT, "infinite feature");

    const char *all[] = {"a", "b", "c"};
    req = basic_request();
    req.excluded_ids = all;
    req.excluded_count = 3;
    expect_rank_error(c, &req, PZ_CODE_INVALID_ARGUMENT, "every action excluded");
    const char *unknown[] = {"no-such-action"};
    req.excluded_ids = unknown;
    req.excluded_count = 1;
    expect_rank_error(c, &req, PZ_CODE_INVALID_ARGUMENT, "unknown excluded id");

    /* the connection stays usable after server errors */
    pz_server_status st;
    pz_error err;
    pz_err rc = pz_status(c, &st, &err);
    CHECK_RC(rc, PZ_OK, err);
    pz_close(c);
}

void test_unknown_loop(void) {
    pz_client *c = connect_to(g_server.socket_path, "no-such-loop", 5000);
    pz_rank_request req = basic_request();
    expect_rank_error(c, &req, PZ_CODE_NOT_FOUND, "unknown loop");
    pz_server_status st;
    pz_error err;
    pz_err rc = pz_status(c, &st, &err);
    CHECK(rc == PZ_ESERVER && err.code == PZ_CODE_NOT_FOUND, "status: %s code %u",
          pz_err_name(rc), err.code);
    pz_close(c);
}

void test_pending_event_id_reused(void) {
    pz_client *c = connect_to(g_server.socket_path, "slow", 5000);
    char id[64];
    unique_id(id, sizeof id, "c-dup");
    pz_rank_request req = basic_request();
    req.event_id = id;
    pz_rank_result *r = NULL;
    pz_error err;
    pz_err rc = pz_rank(c, &req, &r, &err);
    CHECK_RC(rc, PZ_OK, err);
    pz_rank_result_free(r);
    expect_rank_error(c, &req, PZ_CODE_ALREADY_EXISTS, "pending event id");
    pz_close(c);
}

/* A loop with a token: refused without it or with a wrong one, served with it. */
void test_token(void) {
    const char *tokens[] = {NULL, "wrong", "c-token"};
    for (int i = 0; i < 3; i++) {
        pz_options o = {.loop = "secured", .token = tokens[i], .timeout_ms = 5000};
        pz_client *c = NULL;
        pz_error err;
        pz_err rc = pz_connect(g_server.socket_path, &o, &c, &err);
        CHECK_RC(rc, PZ_OK, err);
        pz_server_status st;
        rc = pz_status(c, &st, &err);
        if (i < 2) {
            CHECK_RC(rc, PZ_ESERVER, err);
            CHECK(err.code == PZ_CODE_UNAUTHENTICATED, "code %u", err.code);
        } else {
            CHECK_RC(rc, PZ_OK, err);
        }
        pz_close(c);
    }
}
