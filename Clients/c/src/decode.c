/* Responses: protobuf-c messages to the caller-owned pz_response / pz_rank_result. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

pz_err pz_decode_frame(const uint8_t *payload, size_t n, Personalizer__V1__Response **msg,
                       pz_error *err) {
    *msg = personalizer__v1__response__unpack(NULL, n, payload);
    if (*msg == NULL)
        return pz_fail(err, PZ_EPROTO, 0, 0, "bad frame: %zu bytes that are not a Response", n);
    return PZ_OK;
}

void pz_message_free(Personalizer__V1__Response *msg) {
    if (msg != NULL) personalizer__v1__response__free_unpacked(msg, NULL);
}

void pz_rank_result_free(pz_rank_result *r) {
    if (r == NULL) return;
    for (size_t i = 0; i < r->ranking_count; i++) free(r->ranking[i].id);
    free(r->ranking);
    free(r->event_id);
    free(r->reward_action_id);
    free(r);
}

void pz_response_free(pz_response *response) {
    if (response == NULL) return;
    pz_rank_result_free(response->rank);
    free(response);
}

static char *dup(const char *s) { return strdup(s ? s : ""); }

static pz_rank_result *convert_rank(const Personalizer__V1__RankResponse *m) {
    pz_rank_result *r = calloc(1, sizeof *r);
    if (r == NULL) return NULL;
    r->model_version = m->model_version;
    r->event_id = dup(m->event_id);
    r->reward_action_id = dup(m->reward_action_id);
    r->ranking = calloc(m->n_ranking + 1, sizeof *r->ranking);
    if (!r->event_id || !r->reward_action_id || !r->ranking) {
        pz_rank_result_free(r);
        return NULL;
    }
    for (size_t i = 0; i < m->n_ranking; i++) {
        r->ranking[i].id = dup(m->ranking[i]->id);
        r->ranking[i].probability = m->ranking[i]->probability;
        r->ranking_count = i + 1;
        if (r->ranking[i].id == NULL) {
            pz_rank_result_free(r);
            return NULL;
        }
    }
    return r;
}

static void convert_status(const Personalizer__V1__StatusResponse *m, pz_server_status *s) {
    s->model_version = m->model_version;
    s->rank_calls = m->rank_calls;
    s->reward_calls = m->reward_calls;
    s->learned_events = m->learned_events;
    s->pending_events = m->pending_events;
    s->activate_calls = m->activate_calls;
    s->unmatched_rewards = m->unmatched_rewards;
    s->unmatched_activations = m->unmatched_activations;
    s->dropped_not_activated = m->dropped_not_activated;
    s->backpressure_stalls = m->backpressure_stalls;
    s->published_at_unix_ms = m->published_at_unix_ms;
}

static pz_call call_of(Personalizer__V1__Response__ResultCase c) {
    switch (c) {
    case PERSONALIZER__V1__RESPONSE__RESULT_RANK: return PZ_CALL_RANK;
    case PERSONALIZER__V1__RESPONSE__RESULT_REWARD: return PZ_CALL_REWARD;
    case PERSONALIZER__V1__RESPONSE__RESULT_ACTIVATE: return PZ_CALL_ACTIVATE;
    case PERSONALIZER__V1__RESPONSE__RESULT_STATUS: return PZ_CALL_STATUS;
    default: return (pz_call)0;
    }
}

pz_err pz_convert_response(const Personalizer__V1__Response *msg, pz_call call, pz_response **out,
                           pz_error *err) {
    *out = NULL;
    if (msg->result_case != PERSONALIZER__V1__RESPONSE__RESULT_ERROR && call_of(msg->result_case) != call)
        return pz_fail(err, PZ_EPROTO, 0, 0, "response %llu answers another kind of call (%d)",
                       (unsigned long long)msg->id, (int)msg->result_case);
    pz_response *r = calloc(1, sizeof *r);
    if (r == NULL) return pz_fail(err, PZ_ENOMEM, 0, 0, "out of memory");
    r->id = msg->id;
    r->call = call;
    pz_ok(&r->error);
    if (msg->result_case == PERSONALIZER__V1__RESPONSE__RESULT_ERROR) {
        const Personalizer__V1__Error *e = msg->error;
        pz_fail(&r->error, PZ_ESERVER, e->code, 0, "%s", e->message ? e->message : "");
    } else if (call == PZ_CALL_RANK) {
        r->rank = convert_rank(msg->rank);
        if (r->rank == NULL) {
            free(r);
            return pz_fail(err, PZ_ENOMEM, 0, 0, "out of memory");
        }
    } else if (call == PZ_CALL_STATUS) {
        convert_status(msg->status, &r->status);
    }
    *out = r;
    return PZ_OK;
}
