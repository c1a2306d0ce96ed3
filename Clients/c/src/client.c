/* The public client: ids, the table of requests in flight, answers kept until asked for, and the
 * blocking calls built from send + receive. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct pz_client {
    pz_conn conn;
    char *loop;
    char *token;
    int timeout_ms;
    uint64_t next_id;
    pz_in_flight_table sent;  /* sent, answer not read yet */
    pz_response **kept;       /* read, waiting for pz_receive (oldest first) */
    size_t kept_count, kept_cap;
};

/* ---- connecting ---- */

pz_err pz_connect(const char *socket_path, const pz_options *options, pz_client **out,
                  pz_error *err) {
    if (out == NULL || socket_path == NULL)
        return pz_fail(err, PZ_EINVAL, 0, 0, "socket path and result pointer are required");
    *out = NULL;
    pz_client *c = calloc(1, sizeof *c);
    if (c == NULL) return pz_fail(err, PZ_ENOMEM, 0, 0, "out of memory");
    c->timeout_ms = options && options->timeout_ms != 0 ? options->timeout_ms : PZ_DEFAULT_TIMEOUT_MS;
    c->loop = strdup(options && options->loop ? options->loop : "");
    c->token = strdup(options && options->token ? options->token : "");
    c->next_id = 1;
    if (c->loop == NULL || c->token == NULL) {
        free(c->loop);
        free(c->token);
        free(c);
        return pz_fail(err, PZ_ENOMEM, 0, 0, "out of memory");
    }
    pz_err rc = pz_conn_open(&c->conn, socket_path, pz_deadline(c->timeout_ms), err);
    if (rc != PZ_OK) {
        free(c->loop);
        free(c->token);
        free(c);
        return rc;
    }
    *out = c;
    return pz_ok(err);
}

void pz_close(pz_client *c) {
    if (c == NULL) return;
    pz_conn_close(&c->conn);
    for (size_t i = 0; i < c->kept_count; i++) pz_response_free(c->kept[i]);
    free(c->kept);
    pz_in_flight_free(&c->sent);
    free(c->loop);
    free(c->token);
    free(c);
}

size_t pz_in_flight(const pz_client *c) { return c ? c->sent.live + c->kept_count : 0; }

/* ---- bookkeeping ---- */

static pz_err grow(void **array, size_t *cap, size_t count, size_t size, pz_error *err) {
    if (count < *cap) return PZ_OK;
    size_t n = *cap ? *cap * 2 : 16;
    void *a = realloc(*array, n * size);
    if (a == NULL) return pz_fail(err, PZ_ENOMEM, 0, 0, "out of memory");
    *array = a;
    *cap = n;
    return PZ_OK;
}

static pz_response *take_kept(pz_client *c, uint64_t id) {
    for (size_t i = 0; i < c->kept_count; i++) {
        if (id != 0 && c->kept[i]->id != id) continue;
        pz_response *r = c->kept[i];
        memmove(&c->kept[i], &c->kept[i + 1], (c->kept_count - i - 1) * sizeof *c->kept);
        c->kept_count--;
        return r;
    }
    return NULL;
}

/* ---- sending ---- */

static pz_err send_request(pz_client *c, pz_request *req, int64_t deadline, uint64_t *id_out,
                           pz_error *err) {
    if (c == NULL) return pz_fail(err, PZ_EINVAL, 0, 0, "client is NULL");
    if (c->conn.dead != PZ_OK) {
        pz_error_copy(err, &c->conn.dead_error);
        return c->conn.dead;
    }
    req->id = c->next_id++;
    req->loop = c->loop;
    req->token = c->token;
    pz_err rc = pz_encode_request(&c->conn, req, err);
    if (rc != PZ_OK) return rc;
    rc = pz_in_flight_add(&c->sent, req->id, req->call, err);
    if (rc != PZ_OK) return rc;   /* the frame still goes out; its answer will be dropped */
    /* On a timeout the rest of the frame stays queued and goes out before the next one, so the
     * stream stays whole; the request is forgotten and its late answer dropped. */
    rc = pz_conn_flush(&c->conn, deadline, err);
    if (rc != PZ_OK) {
        pz_in_flight_remove(&c->sent, req->id);
        return rc;
    }
    if (id_out) *id_out = req->id;
    return pz_ok(err);
}

pz_err pz_send_rank(pz_client *c, const pz_rank_request *request, uint64_t *id_out, pz_error *err) {
    pz_request req = {.call = PZ_CALL_RANK, .rank = request};
    return send_request(c, &req, pz_deadline(c ? c->timeout_ms : 0), id_out, err);
}

pz_err pz_send_reward(pz_client *c, const char *event_id, double value, uint64_t *id_out,
                      pz_error *err) {
    pz_request req = {.call = PZ_CALL_REWARD, .event_id = event_id, .value = value};
    return send_request(c, &req, pz_deadline(c ? c->timeout_ms : 0), id_out, err);
}

pz_err pz_send_activate(pz_client *c, const char *event_id, uint64_t *id_out, pz_error *err) {
    pz_request req = {.call = PZ_CALL_ACTIVATE, .event_id = event_id};
    return send_request(c, &req, pz_deadline(c ? c->timeout_ms : 0), id_out, err);
}

pz_err pz_send_status(pz_client *c, uint64_t *id_out, pz_error *err) {
    pz_request req = {.call = PZ_CALL_STATUS};
    return send_request(c, &req, pz_deadline(c ? c->timeout_ms : 0), id_out, err);
}

/* ---- receiving ---- */

/* Reads one frame and files its answer: returned when it is the one wanted, kept otherwise,
 * dropped when nobody waits for it (a request given up after a timeout). */
static pz_err read_one(pz_client *c, uint64_t want, int64_t deadline, pz_response **got,
                       pz_error *err) {
    const uint8_t *payload;
    size_t n;
    pz_err rc = pz_conn_next_frame(&c->conn, deadline, &payload, &n, err);
    if (rc != PZ_OK) return rc;
    Personalizer__V1__Response *msg;
    pz_error bad;   /* a protocol error ends the connection: keep it for later calls too */
    if (pz_decode_frame(payload, n, &msg, &bad) != PZ_OK) {
        pz_error_copy(err, &bad);
        return pz_conn_kill(&c->conn, &bad);
    }
    pz_call call = pz_in_flight_find(&c->sent, msg->id);
    if (call == 0) {
        pz_message_free(msg);
        return PZ_OK;
    }
    pz_response *r;
    rc = pz_convert_response(msg, call, &r, &bad);
    pz_message_free(msg);
    if (rc != PZ_OK) {
        pz_error_copy(err, &bad);
        return rc == PZ_EPROTO ? pz_conn_kill(&c->conn, &bad) : rc;
    }
    pz_in_flight_remove(&c->sent, r->id);
    if (want == 0 || r->id == want) {
        *got = r;
        return PZ_OK;
    }
    rc = grow((void **)&c->kept, &c->kept_cap, c->kept_count, sizeof *c->kept, err);
    if (rc != PZ_OK) {
        pz_response_free(r);
        return rc;
    }
    c->kept[c->kept_count++] = r;
    return PZ_OK;
}

static pz_err receive_until(pz_client *c, uint64_t id, int64_t deadline, pz_response **out,
                            pz_error *err) {
    *out = take_kept(c, id);
    if (*out != NULL) return pz_ok(err);
    if (id != 0 && pz_in_flight_find(&c->sent, id) == 0)
        return pz_fail(err, PZ_EINVAL, 0, 0, "no request %llu is in flight", (unsigned long long)id);
    if (id == 0 && c->sent.live == 0)
        return pz_fail(err, PZ_EINVAL, 0, 0, "no request is in flight");
    while (*out == NULL) {
        pz_err rc = read_one(c, id, deadline, out, err);
        if (rc != PZ_OK) return rc;
    }
    return pz_ok(err);
}

pz_err pz_receive(pz_client *c, uint64_t id, int timeout_ms, pz_response **out, pz_error *err) {
    if (c == NULL || out == NULL)
        return pz_fail(err, PZ_EINVAL, 0, 0, "client and result pointer are required");
    return receive_until(c, id, pz_deadline(timeout_ms), out, err);
}

/* ---- blocking calls ---- */

/* Sends and waits for the answer within the client's timeout; a server error becomes the
 * return value. A request that timed out is forgotten: its late answer is dropped. */
static pz_err call(pz_client *c, pz_request *req, pz_response **out, pz_error *err) {
    *out = NULL;
    if (c == NULL) return pz_fail(err, PZ_EINVAL, 0, 0, "client is NULL");
    int64_t deadline = pz_deadline(c->timeout_ms);
    uint64_t id;
    pz_err rc = send_request(c, req, deadline, &id, err);
    if (rc != PZ_OK) return rc;
    rc = receive_until(c, id, deadline, out, err);
    if (rc != PZ_OK) {
        pz_in_flight_remove(&c->sent, id);
        return rc;
    }
    if ((*out)->error.kind != PZ_OK) {
        pz_error_copy(err, &(*out)->error);
        pz_response_free(*out);
        *out = NULL;
        return PZ_ESERVER;
    }
    return PZ_OK;
}

pz_err pz_rank(pz_client *c, const pz_rank_request *request, pz_rank_result **out, pz_error *err) {
    if (out == NULL) return pz_fail(err, PZ_EINVAL, 0, 0, "result pointer is NULL");
    *out = NULL;
    pz_request req = {.call = PZ_CALL_RANK, .rank = request};
    pz_response *r;
    pz_err rc = call(c, &req, &r, err);
    if (rc != PZ_OK) return rc;
    *out = r->rank;
    r->rank = NULL;
    pz_response_free(r);
    return PZ_OK;
}

pz_err pz_reward(pz_client *c, const char *event_id, double value, pz_error *err) {
    pz_request req = {.call = PZ_CALL_REWARD, .event_id = event_id, .value = value};
    pz_response *r;
    pz_err rc = call(c, &req, &r, err);
    pz_response_free(r);
    return rc;
}

pz_err pz_activate(pz_client *c, const char *event_id, pz_error *err) {
    pz_request req = {.call = PZ_CALL_ACTIVATE, .event_id = event_id};
    pz_response *r;
    pz_err rc = call(c, &req, &r, err);
    pz_response_free(r);
    return rc;
}

pz_err pz_status(pz_client *c, pz_server_status *out, pz_error *err) {
    if (out == NULL) return pz_fail(err, PZ_EINVAL, 0, 0, "result pointer is NULL");
    pz_request req = {.call = PZ_CALL_STATUS};
    pz_response *r;
    pz_err rc = call(c, &req, &r, err);
    if (rc == PZ_OK) *out = r->status;
    pz_response_free(r);
    return rc;
}
