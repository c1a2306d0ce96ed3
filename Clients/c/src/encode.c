/* Requests: the caller's structs to protobuf-c messages, packed as a frame into the send queue.
 * The messages borrow the caller's strings; only the arrays are allocated, and freed here. */
#include <stdlib.h>

#include "internal.h"

/* All the message structs of one Rank request, allocated as arrays. */
typedef struct rank_parts {
    Personalizer__V1__RankRequest rank;
    Personalizer__V1__Namespace *namespaces;
    Personalizer__V1__Namespace **namespace_ptrs;
    Personalizer__V1__Feature *features;
    Personalizer__V1__Feature **feature_ptrs;
    Personalizer__V1__Action *actions;
    Personalizer__V1__Action **action_ptrs;
    size_t next_namespace;
    size_t next_feature;
} rank_parts;

static char *str(const char *s) { return (char *)(s ? s : ""); }

static void parts_free(rank_parts *p) {
    free(p->namespaces);
    free(p->namespace_ptrs);
    free(p->features);
    free(p->feature_ptrs);
    free(p->actions);
    free(p->action_ptrs);
}

static pz_err count_namespaces(const pz_namespace *ns, size_t count, const char *where,
                               size_t *namespaces, size_t *features, pz_error *err) {
    if (count > 0 && ns == NULL)
        return pz_fail(err, PZ_EINVAL, 0, 0, "%s: %zu namespaces but no array", where, count);
    for (size_t i = 0; i < count; i++) {
        if (ns[i].feature_count > 0 && ns[i].features == NULL)
            return pz_fail(err, PZ_EINVAL, 0, 0, "%s: namespace '%s' has no feature array", where,
                           str(ns[i].name));
        for (size_t j = 0; j < ns[i].feature_count; j++)
            if (ns[i].features[j].name == NULL)
                return pz_fail(err, PZ_EINVAL, 0, 0, "%s: feature %zu of namespace '%s' has no name",
                               where, j, str(ns[i].name));
        *features += ns[i].feature_count;
    }
    *namespaces += count;
    return PZ_OK;
}

static pz_err validate_rank(const pz_rank_request *r, size_t *namespaces, size_t *features,
                            pz_error *err) {
    pz_err rc = count_namespaces(r->context, r->context_count, "context", namespaces, features, err);
    if (rc != PZ_OK) return rc;
    if (r->action_count > 0 && r->actions == NULL)
        return pz_fail(err, PZ_EINVAL, 0, 0, "%zu actions but no array", r->action_count);
    for (size_t i = 0; i < r->action_count; i++) {
        if (r->actions[i].id == NULL)
            return pz_fail(err, PZ_EINVAL, 0, 0, "action %zu has no id", i);
        rc = count_namespaces(r->actions[i].namespaces, r->actions[i].namespace_count,
                              r->actions[i].id, namespaces, features, err);
        if (rc != PZ_OK) return rc;
    }
    if (r->excluded_count > 0 && r->excluded_ids == NULL)
        return pz_fail(err, PZ_EINVAL, 0, 0, "%zu excluded ids but no array", r->excluded_count);
    for (size_t i = 0; i < r->excluded_count; i++)
        if (r->excluded_ids[i] == NULL)
            return pz_fail(err, PZ_EINVAL, 0, 0, "excluded id %zu is NULL", i);
    return PZ_OK;
}

/* Fills `count` namespace messages from the caller's and returns their pointer array. */
static Personalizer__V1__Namespace **fill_namespaces(rank_parts *p, const pz_namespace *ns,
                                                     size_t count) {
    Personalizer__V1__Namespace **ptrs = p->namespace_ptrs + p->next_namespace;
    for (size_t i = 0; i < count; i++) {
        Personalizer__V1__Namespace *m = &p->namespaces[p->next_namespace];
        personalizer__v1__namespace__init(m);
        m->name = str(ns[i].name);
        m->n_features = ns[i].feature_count;
        m->features = p->feature_ptrs + p->next_feature;
        for (size_t j = 0; j < ns[i].feature_count; j++) {
            const pz_feature *f = &ns[i].features[j];
            Personalizer__V1__Feature *fm = &p->features[p->next_feature];
            personalizer__v1__feature__init(fm);
            fm->name = str(f->name);
            if (f->text != NULL) {
                fm->value_case = PERSONALIZER__V1__FEATURE__VALUE_TEXT;
                fm->text = str(f->text);
            } else {
                fm->value_case = PERSONALIZER__V1__FEATURE__VALUE_NUMBER;
                fm->number = f->number;
            }
            p->feature_ptrs[p->next_feature++] = fm;
        }
        p->namespace_ptrs[p->next_namespace++] = m;
    }
    return ptrs;
}

static pz_err build_rank(rank_parts *p, const pz_rank_request *r, pz_error *err) {
    size_t namespaces = 0, features = 0;
    pz_err rc = validate_rank(r, &namespaces, &features, err);
    if (rc != PZ_OK) return rc;
    /* calloc(0) may return NULL: allocate at least one of each */
    p->namespaces = calloc(namespaces + 1, sizeof *p->namespaces);
    p->namespace_ptrs = calloc(namespaces + 1, sizeof *p->namespace_ptrs);
    p->features = calloc(features + 1, sizeof *p->features);
    p->feature_ptrs = calloc(features + 1, sizeof *p->feature_ptrs);
    p->actions = calloc(r->action_count + 1, sizeof *p->actions);
    p->action_ptrs = calloc(r->action_count + 1, sizeof *p->action_ptrs);
    if (!p->namespaces || !p->namespace_ptrs || !p->features || !p->feature_ptrs || !p->actions ||
        !p->action_ptrs)
        return pz_fail(err, PZ_ENOMEM, 0, 0, "out of memory building a Rank request");

    personalizer__v1__rank_request__init(&p->rank);
    p->rank.n_context_features = r->context_count;
    p->rank.context_features = fill_namespaces(p, r->context, r->context_count);
    p->rank.n_actions = r->action_count;
    p->rank.actions = p->action_ptrs;
    for (size_t i = 0; i < r->action_count; i++) {
        Personalizer__V1__Action *a = &p->actions[i];
        personalizer__v1__action__init(a);
        a->id = str(r->actions[i].id);
        a->n_features = r->actions[i].namespace_count;
        a->features = fill_namespaces(p, r->actions[i].namespaces, r->actions[i].namespace_count);
        p->action_ptrs[i] = a;
    }
    p->rank.n_excluded_action_ids = r->excluded_count;
    p->rank.excluded_action_ids = (char **)r->excluded_ids;
    p->rank.event_id = str(r->event_id);
    p->rank.defer_activation = r->defer_activation;
    return PZ_OK;
}

static pz_err pack(pz_conn *conn, const Personalizer__V1__Request *msg, pz_error *err) {
    size_t n = personalizer__v1__request__get_packed_size(msg);
    uint8_t *payload;
    pz_err rc = pz_conn_reserve_frame(conn, n, &payload, err);
    if (rc != PZ_OK) return rc;
    if (personalizer__v1__request__pack(msg, payload) != n) {
        pz_conn_unreserve_frame(conn, n);
        return pz_fail(err, PZ_EPROTO, 0, 0, "packing the request failed");
    }
    return PZ_OK;
}

pz_err pz_encode_request(pz_conn *conn, const pz_request *req, pz_error *err) {
    Personalizer__V1__Request msg;
    personalizer__v1__request__init(&msg);
    msg.id = req->id;
    msg.loop = str(req->loop);
    msg.token = str(req->token);

    Personalizer__V1__RewardRequest reward;
    Personalizer__V1__ActivateRequest activate;
    Personalizer__V1__StatusRequest status;
    rank_parts parts = {0};
    pz_err rc = PZ_OK;
    switch (req->call) {
    case PZ_CALL_RANK:
        if (req->rank == NULL) return pz_fail(err, PZ_EINVAL, 0, 0, "no Rank request given");
        rc = build_rank(&parts, req->rank, err);
        msg.call_case = PERSONALIZER__V1__REQUEST__CALL_RANK;
        msg.rank = &parts.rank;
        break;
    case PZ_CALL_REWARD:
        if (req->event_id == NULL) return pz_fail(err, PZ_EINVAL, 0, 0, "event id is NULL");
        personalizer__v1__reward_request__init(&reward);
        reward.event_id = str(req->event_id);
        reward.value = req->value;
        msg.call_case = PERSONALIZER__V1__REQUEST__CALL_REWARD;
        msg.reward = &reward;
        break;
    case PZ_CALL_ACTIVATE:
        if (req->event_id == NULL) return pz_fail(err, PZ_EINVAL, 0, 0, "event id is NULL");
        personalizer__v1__activate_request__init(&activate);
        activate.event_id = str(req->event_id);
        msg.call_case = PERSONALIZER__V1__REQUEST__CALL_ACTIVATE;
        msg.activate = &activate;
        break;
    case PZ_CALL_STATUS:
        personalizer__v1__status_request__init(&status);
        msg.call_case = PERSONALIZER__V1__REQUEST__CALL_STATUS;
        msg.status = &status;
        break;
    default:
        return pz_fail(err, PZ_EINVAL, 0, 0, "unknown call %d", (int)req->call);
    }
    if (rc == PZ_OK) rc = pack(conn, &msg, err);
    parts_free(&parts);
    return rc;
}
