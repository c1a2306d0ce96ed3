/* Transport failures: no server, timeouts, bad frames, a server that goes away. */
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

void test_connection_refused(void) {
    char dir[64];
    if (!make_temp_dir(dir)) return;
    char path[96];
    snprintf(path, sizeof path, "%s/missing.sock", dir);
    pz_client *c = NULL;
    pz_error err;
    pz_err rc = pz_connect(path, NULL, &c, &err);
    CHECK_RC(rc, PZ_ECONNECT, err);
    CHECK(c == NULL && err.code == PZ_CODE_UNAVAILABLE && err.sys_errno == ENOENT,
          "missing socket: code %u errno %d", err.code, err.sys_errno);

    /* a socket file nobody listens on */
    snprintf(path, sizeof path, "%s/dead.sock", dir);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0, "bind: %s", strerror(errno));
    close(fd);
    rc = pz_connect(path, NULL, &c, &err);
    CHECK_RC(rc, PZ_ECONNECT, err);
    CHECK(err.sys_errno == ECONNREFUSED, "errno %d, want ECONNREFUSED", err.sys_errno);

    char long_path[200];
    memset(long_path, 'x', sizeof long_path - 1);
    long_path[sizeof long_path - 1] = '\0';
    rc = pz_connect(long_path, NULL, &c, &err);
    CHECK_RC(rc, PZ_EINVAL, err);
    remove_tree(dir);
}

void test_timeout(void) {
    silent_server s;
    if (!silent_start(&s)) return;
    pz_client *c = connect_to(s.socket_path, NULL, 300);
    int peer = silent_accept(&s);   /* accepted, never answered */
    CHECK(peer >= 0, "accept: %s", strerror(errno));
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pz_server_status st;
    pz_error err;
    pz_err rc = pz_status(c, &st, &err);
    long ms = elapsed_ms(&t0);
    CHECK_RC(rc, PZ_ETIMEDOUT, err);
    CHECK(err.code == PZ_CODE_DEADLINE_EXCEEDED, "code %u", err.code);
    CHECK(ms >= 250 && ms < 3000, "timed out after %ld ms, want ~300", ms);
    CHECK(pz_in_flight(c) == 0, "a timed-out blocking call stays in flight");

    /* a pipelined request stays in flight after a receive timeout */
    uint64_t id;
    rc = pz_send_status(c, &id, &err);
    CHECK_RC(rc, PZ_OK, err);
    pz_response *r = NULL;
    rc = pz_receive(c, id, 50, &r, &err);
    CHECK_RC(rc, PZ_ETIMEDOUT, err);
    CHECK(pz_in_flight(c) == 1, "%zu in flight", pz_in_flight(c));
    pz_close(c);
    if (peer >= 0) close(peer);
    silent_stop(&s);
}

static void expect_from_bytes(const void *bytes, size_t n, bool then_close, pz_err want,
                              const char *what) {
    silent_server s;
    if (!silent_start(&s)) return;
    pz_client *c = connect_to(s.socket_path, NULL, 2000);
    int peer = silent_accept(&s);
    CHECK(peer >= 0 && write(peer, bytes, n) == (ssize_t)n, "%s: writing", what);
    if (then_close && peer >= 0) {
        close(peer);
        peer = -1;
    }
    pz_server_status st;
    pz_error err;
    pz_err rc = pz_status(c, &st, &err);
    CHECK(rc == want, "%s: got %s (%s), want %s", what, pz_err_name(rc), err.message,
          pz_err_name(want));
    if (want == PZ_EPROTO) {   /* the connection is unusable from then on */
        rc = pz_status(c, &st, &err);
        CHECK(rc == PZ_EPROTO, "%s, second call: got %s", what, pz_err_name(rc));
    }
    pz_close(c);
    if (peer >= 0) close(peer);
    silent_stop(&s);
}

void test_bad_frames(void) {
    const unsigned char garbage[] = {0, 0, 0, 3, 0xff, 0xff, 0xff};
    expect_from_bytes(garbage, sizeof garbage, false, PZ_EPROTO, "undecodable frame");
    const unsigned char huge[] = {0xff, 0xff, 0xff, 0xff};
    expect_from_bytes(huge, sizeof huge, false, PZ_EPROTO, "oversized frame");
    /* id 1 (the first request), answered with a Rank result to a Status call */
    const unsigned char wrong[] = {0, 0, 0, 4, 0x08, 0x01, 0x52, 0x00};
    expect_from_bytes(wrong, sizeof wrong, false, PZ_EPROTO, "answer of the wrong kind");
    /* half a frame, then the server goes away */
    const unsigned char half[] = {0, 0, 0, 9, 0x08};
    expect_from_bytes(half, sizeof half, true, PZ_ECLOSED, "truncated frame");
}

void test_server_closes(void) {
    silent_server s;
    if (!silent_start(&s)) return;
    pz_client *c = connect_to(s.socket_path, NULL, 2000);
    int peer = silent_accept(&s);
    close(peer);
    pz_server_status st;
    pz_error err;
    pz_err rc = pz_status(c, &st, &err);
    CHECK_RC(rc, PZ_ECLOSED, err);
    CHECK(err.code == PZ_CODE_UNAVAILABLE, "code %u", err.code);
    rc = pz_status(c, &st, &err);   /* again: no SIGPIPE, same answer */
    CHECK_RC(rc, PZ_ECLOSED, err);
    pz_close(c);

    /* requests in flight when the server goes away */
    c = connect_to(s.socket_path, NULL, 2000);
    peer = silent_accept(&s);
    uint64_t id;
    rc = pz_send_status(c, &id, &err);
    CHECK_RC(rc, PZ_OK, err);
    close(peer);
    pz_response *r = NULL;
    rc = pz_receive(c, id, 2000, &r, &err);
    CHECK_RC(rc, PZ_ECLOSED, err);
    CHECK(r == NULL, "a response from a closed connection");
    pz_close(c);
    silent_stop(&s);
}

void test_server_killed_mid_session(void) {
    server s;
    if (!server_start(&s, g_binary, CONFIG)) {
        CHECK(0, "second server did not start");
        server_stop(&s);
        return;
    }
    pz_client *c = connect_to(s.socket_path, NULL, 5000);
    pz_server_status st;
    pz_error err;
    pz_err rc = pz_status(c, &st, &err);
    CHECK_RC(rc, PZ_OK, err);
    uint64_t id;
    for (int i = 0; i < 5; i++) pz_send_status(c, &id, NULL);
    server_kill(&s);
    /* answers that made it out may still be read; then the connection reports the loss */
    pz_response *r;
    int answered = 0;
    rc = PZ_OK;
    while (pz_in_flight(c) > 0 && (rc = pz_receive(c, 0, 5000, &r, &err)) == PZ_OK) {
        answered++;
        pz_response_free(r);
    }
    CHECK(rc == PZ_OK || rc == PZ_ECLOSED, "after %d answers: got %s (%s), want PZ_ECLOSED",
          answered, pz_err_name(rc), err.message);
    rc = pz_status(c, &st, &err);
    CHECK_RC(rc, PZ_ECLOSED, err);
    pz_rank_request req = basic_request();
    pz_rank_result *res = NULL;
    rc = pz_rank(c, &req, &res, &err);
    CHECK_RC(rc, PZ_ECLOSED, err);
    CHECK(res == NULL, "result after the server went away");
    rc = pz_send_status(c, &id, &err);
    CHECK_RC(rc, PZ_ECLOSED, err);
    pz_close(c);
    server_stop(&s);
}

void test_server_stopped_mid_session(void) {
    server s;
    if (!server_start(&s, g_binary, CONFIG)) {
        CHECK(0, "second server did not start");
        server_stop(&s);
        return;
    }
    pz_client *c = connect_to(s.socket_path, NULL, 5000);
    pz_server_status st;
    pz_error err;
    pz_err rc = pz_status(c, &st, &err);
    CHECK_RC(rc, PZ_OK, err);
    CHECK(server_stop(&s), "server did not stop cleanly on SIGTERM with a client connected");
    rc = pz_status(c, &st, &err);
    CHECK(rc == PZ_ECLOSED, "got %s (%s)", pz_err_name(rc), err.message);
    pz_close(c);
}
