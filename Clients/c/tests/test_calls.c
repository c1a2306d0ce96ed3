/* Every call, blocking and pipelined, against the live server. */
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

void test_rank(void) {
    pz_client *c = connect_to(g_server.socket_path, NULL, 5000);
    pz_rank_request req = basic_request();
    pz_rank_result *r = NULL;
    pz_error err;
    pz_err rc = pz_rank(c, &req, &r, &err);
    CHECK_RC(rc, PZ_OK, err);
    if (r != NULL) {
        CHECK(r->ranking_count == 3, "ranking has %zu actions", r->ranking_count);
        CHECK(r->event_id[0] != '\0', "no event id");
        double sum = 0;
        for (size_t i = 0; i < r->ranking_count; i++) sum += r->ranking[i].probability;
        CHECK(fabs(sum - 1.0) < 1e-9, "probabilities sum to %g", sum);
        CHECK(r->ranking_count > 0 && strcmp(r->reward_action_id, r->ranking[0].id) == 0,
              "reward action %s is not ranking[0]", r->reward_action_id);
    }
    pz_rank_result_free(r);
    pz_close(c);
}

void test_rank_event_id_and_excluded(void) {
    pz_client *c = connect_to(g_server.socket_path, "default", 5000);
    char id[64];
    unique_id(id, sizeof id, "c-rank");
    const char *excluded[] = {"a"};
    pz_rank_request req = basic_request();
    req.event_id = id;
    req.excluded_ids = excluded;
    req.excluded_count = 1;
    pz_rank_result *r = NULL;
    pz_error err;
    pz_err rc = pz_rank(c, &req, &r, &err);
    CHECK_RC(rc, PZ_OK, err);
    if (r != NULL && r->ranking_count == 3) {
        CHECK(strcmp(r->event_id, id) == 0, "event id %s, want %s", r->event_id, id);
        CHECK(strcmp(r->ranking[2].id, "a") == 0 && r->ranking[2].probability == 0.0,
              "excluded action last with 0: got %s %g", r->ranking[2].id, r->ranking[2].probability);
        CHECK(strcmp(r->reward_action_id, "a") != 0, "excluded action chosen");
    }
    pz_rank_result_free(r);
    pz_close(c);
}

void test_reward_activate_status(void) {
    pz_client *c = connect_to(g_server.socket_path, "slow", 5000);
    pz_server_status before, after;
    pz_error err;
    pz_err rc = pz_status(c, &before, &err);
    CHECK_RC(rc, PZ_OK, err);

    pz_rank_request req = basic_request();
    req.defer_activation = true;
    pz_rank_result *r = NULL;
    rc = pz_rank(c, &req, &r, &err);
    CHECK_RC(rc, PZ_OK, err);
    if (r != NULL) {
        rc = pz_activate(c, r->event_id, &err);
        CHECK_RC(rc, PZ_OK, err);
        rc = pz_reward(c, r->event_id, 1.0, &err);
        CHECK_RC(rc, PZ_OK, err);
    }
    pz_rank_result_free(r);
    /* a reward or activation for an unknown event is counted, not an error */
    rc = pz_reward(c, "no-such-event", 0.5, NULL);
    CHECK(rc == PZ_OK, "reward for an unknown event: %s", pz_err_name(rc));
    rc = pz_activate(c, "no-such-event", NULL);
    CHECK(rc == PZ_OK, "activate for an unknown event: %s", pz_err_name(rc));

    rc = pz_status(c, &after, &err);
    CHECK_RC(rc, PZ_OK, err);
    CHECK(after.rank_calls == before.rank_calls + 1, "rank_calls %llu -> %llu",
          (unsigned long long)before.rank_calls, (unsigned long long)after.rank_calls);
    CHECK(after.reward_calls == before.reward_calls + 2, "reward_calls %llu -> %llu",
          (unsigned long long)before.reward_calls, (unsigned long long)after.reward_calls);
    CHECK(after.activate_calls == before.activate_calls + 2, "activate_calls %llu -> %llu",
          (unsigned long long)before.activate_calls, (unsigned long long)after.activate_calls);
    CHECK(after.pending_events >= 1, "pending_events %llu", (unsigned long long)after.pending_events);
    pz_close(c);
}

void test_learning_publishes_models(void) {
    pz_client *c = connect_to(g_server.socket_path, NULL, 5000);
    pz_server_status st;
    pz_error err;
    pz_err rc = pz_status(c, &st, &err);
    CHECK_RC(rc, PZ_OK, err);
    uint64_t learned0 = st.learned_events;
    for (int i = 0; i < 20; i++) {
        pz_rank_request req = basic_request();
        pz_rank_result *r = NULL;
        rc = pz_rank(c, &req, &r, &err);
        CHECK_RC(rc, PZ_OK, err);
        if (r != NULL) {
            rc = pz_reward(c, r->event_id, strcmp(r->reward_action_id, "a") == 0 ? 1.0 : 0.0, &err);
            CHECK_RC(rc, PZ_OK, err);
        }
        pz_rank_result_free(r);
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        poll(NULL, 0, 50);
        rc = pz_status(c, &st, &err);
    } while (rc == PZ_OK && st.learned_events < learned0 + 20 && elapsed_ms(&t0) < 15000);
    CHECK(st.learned_events >= learned0 + 20, "learned %llu of 20 events",
          (unsigned long long)(st.learned_events - learned0));
    CHECK(st.model_version >= 1, "model version %llu", (unsigned long long)st.model_version);
    pz_close(c);
}

void test_pipelining(void) {
    enum { N = 300 };
    pz_client *c = connect_to(g_server.socket_path, NULL, 5000);
    uint64_t ids[N];
    pz_error err;
    pz_rank_request good = basic_request(), bad = basic_request();
    bad.action_count = 0;
    for (int i = 0; i < N; i++) {
        pz_err rc;
        if (i % 3 == 0) rc = pz_send_status(c, &ids[i], &err);
        else rc = pz_send_rank(c, i % 10 == 1 ? &bad : &good, &ids[i], &err);
        CHECK_RC(rc, PZ_OK, err);
    }
    CHECK(pz_in_flight(c) == N, "%zu in flight", pz_in_flight(c));
    /* collect by id, newest first: everything else is kept until asked for */
    for (int i = N - 1; i >= 0; i--) {
        pz_response *r = NULL;
        pz_err rc = pz_receive(c, ids[i], 5000, &r, &err);
        CHECK_RC(rc, PZ_OK, err);
        if (r == NULL) break;
        CHECK(r->id == ids[i], "answer %llu for %llu", (unsigned long long)r->id,
              (unsigned long long)ids[i]);
        if (i % 3 == 0) {
            CHECK(r->call == PZ_CALL_STATUS && r->error.kind == PZ_OK, "status %d: %s", i,
                  r->error.message);
        } else if (i % 10 == 1) {
            CHECK(r->call == PZ_CALL_RANK && r->error.kind == PZ_ESERVER &&
                      r->error.code == PZ_CODE_INVALID_ARGUMENT,
                  "bad rank %d: kind %s code %u", i, pz_err_name(r->error.kind), r->error.code);
        } else {
            CHECK(r->call == PZ_CALL_RANK && r->error.kind == PZ_OK && r->rank != NULL &&
                      r->rank->ranking_count == 3,
                  "rank %d: %s", i, r->error.message);
        }
        pz_response_free(r);
    }
    CHECK(pz_in_flight(c) == 0, "%zu still in flight", pz_in_flight(c));

    /* id 0 takes answers as they come */
    enum { M = 2000 };
    uint64_t id;
    for (int i = 0; i < M; i++) pz_send_status(c, &id, NULL);
    int got = 0;
    pz_response *r;
    while (pz_receive(c, 0, 5000, &r, &err) == PZ_OK) {
        got++;
        pz_response_free(r);
    }
    CHECK(got == M && err.kind == PZ_EINVAL, "received %d of %d, then %s", got, M,
          pz_err_name(err.kind));
    pz_close(c);
}

void test_receive_unknown_id(void) {
    pz_client *c = connect_to(g_server.socket_path, NULL, 5000);
    pz_response *r = NULL;
    pz_error err;
    pz_err rc = pz_receive(c, 12345, 100, &r, &err);
    CHECK_RC(rc, PZ_EINVAL, err);
    CHECK(r == NULL, "a response for an unknown id");
    pz_close(c);
}

void test_argument_checks(void) {
    pz_error err;
    pz_client *c = NULL;
    CHECK(pz_connect(NULL, NULL, &c, &err) == PZ_EINVAL, "NULL path");
    pz_close(NULL);
    pz_rank_result_free(NULL);
    pz_response_free(NULL);
    c = connect_to(g_server.socket_path, NULL, 5000);
    pz_rank_result *r = NULL;
    pz_action no_id[] = {{NULL, NULL, 0}};
    pz_rank_request req = basic_request();
    req.actions = no_id;
    req.action_count = 1;
    pz_err rc = pz_rank(c, &req, &r, &err);
    CHECK_RC(rc, PZ_EINVAL, err);
    rc = pz_rank(c, NULL, &r, &err);
    CHECK_RC(rc, PZ_EINVAL, err);
    rc = pz_reward(c, NULL, 1.0, &err);
    CHECK_RC(rc, PZ_EINVAL, err);
    pz_server_status st;
    rc = pz_status(c, &st, NULL);   /* err may be NULL */
    CHECK(rc == PZ_OK, "status without an error struct: %s", pz_err_name(rc));
    CHECK(strcmp(pz_code_name(PZ_CODE_ALREADY_EXISTS), "ALREADY_EXISTS") == 0, "code name");
    CHECK(strcmp(pz_err_name(PZ_ETIMEDOUT), "PZ_ETIMEDOUT") == 0, "err name");
    pz_close(c);
}
