/*
 * personalizer_client.h — C client for the Personalizer server.
 *
 * Speaks the framed protobuf protocol of proto/personalizer/v1/personalizer.proto over a Unix
 * domain socket: a 4-byte big-endian length, then a `Request` (client → server) or `Response`.
 *
 *   pz_client *c;
 *   pz_error err;
 *   if (pz_connect("./data/personalizer.sock", NULL, &c, &err) != PZ_OK) { ... err.message ... }
 *   pz_rank_result *r;
 *   if (pz_rank(c, &request, &r, &err) == PZ_OK) {
 *       ... r->reward_action_id, r->ranking[i].id, r->ranking[i].probability ...
 *       pz_reward(c, r->event_id, 1.0, &err);
 *       pz_rank_result_free(r);
 *   }
 *   pz_close(c);
 *
 * Every call returns PZ_OK or the kind of failure and, when `err` is not NULL, fills it with the
 * details: for PZ_ESERVER the server's gRPC code and message; for transport failures a gRPC-like
 * code (UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL), the errno if any, and a message. Nothing in the
 * library aborts, raises signals (SIGPIPE is avoided) or keeps global state.
 *
 * A client is not thread-safe: use one per thread (or serialize calls). Requests may be pipelined:
 * pz_send_*() queue a request and return its id; pz_receive() collects responses by id.
 */
#ifndef PERSONALIZER_CLIENT_H
#define PERSONALIZER_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && defined(PZ_BUILDING_LIBRARY)
#define PZ_API __attribute__((visibility("default")))
#else
#define PZ_API
#endif

/* ---- errors ------------------------------------------------------------------------------- */

/* What went wrong. PZ_OK is 0; everything else is a failure. */
typedef enum pz_err {
    PZ_OK = 0,
    PZ_ESERVER,    /* the server answered with an error: see pz_error.code / .message */
    PZ_ECONNECT,   /* could not connect: no socket file, connection refused, ... */
    PZ_ECLOSED,    /* the server closed the connection (EOF, reset, broken pipe) */
    PZ_ETIMEDOUT,  /* no complete answer within the timeout */
    PZ_EPROTO,     /* a bad frame or an unexpected answer from the server; the connection is unusable */
    PZ_EINVAL,     /* bad argument (NULL where a value is needed, path too long, unknown id, ...) */
    PZ_ENOMEM,     /* out of memory */
    PZ_EIO         /* another operating-system error: see pz_error.sys_errno */
} pz_err;

/* gRPC canonical codes used by the server (and by the client for transport failures). */
enum {
    PZ_CODE_OK = 0,
    PZ_CODE_CANCELLED = 1,
    PZ_CODE_UNKNOWN = 2,
    PZ_CODE_INVALID_ARGUMENT = 3,
    PZ_CODE_DEADLINE_EXCEEDED = 4,
    PZ_CODE_NOT_FOUND = 5,
    PZ_CODE_ALREADY_EXISTS = 6,
    PZ_CODE_PERMISSION_DENIED = 7,
    PZ_CODE_RESOURCE_EXHAUSTED = 8,
    PZ_CODE_FAILED_PRECONDITION = 9,
    PZ_CODE_ABORTED = 10,
    PZ_CODE_OUT_OF_RANGE = 11,
    PZ_CODE_UNIMPLEMENTED = 12,
    PZ_CODE_INTERNAL = 13,
    PZ_CODE_UNAVAILABLE = 14,
    PZ_CODE_DATA_LOSS = 15,
    PZ_CODE_UNAUTHENTICATED = 16
};

#define PZ_ERROR_MESSAGE_MAX 256

typedef struct pz_error {
    pz_err kind;                          /* PZ_OK when there was no error */
    uint32_t code;                        /* gRPC canonical code (PZ_CODE_*) */
    int sys_errno;                        /* errno of a failed system call, else 0 */
    char message[PZ_ERROR_MESSAGE_MAX];   /* NUL-terminated; truncated if longer */
} pz_error;

/* Static names: "PZ_ESERVER", ... and "INVALID_ARGUMENT", ... ("?" when unknown). */
PZ_API const char *pz_err_name(pz_err kind);
PZ_API const char *pz_code_name(uint32_t code);

/* ---- connecting --------------------------------------------------------------------------- */

typedef struct pz_client pz_client;   /* opaque */

typedef struct pz_options {
    const char *loop;   /* learning loop for every request; NULL or "" means "default" */
    const char *token;  /* sent with every request, for loops configured with a token; NULL: none */
    int timeout_ms;     /* per blocking call (connect, send + answer); 0: PZ_DEFAULT_TIMEOUT_MS,
                           < 0: wait forever */
} pz_options;

#define PZ_DEFAULT_TIMEOUT_MS 5000

/* Connects to the server's socket. `options` may be NULL (loop "default", 5 s timeout).
 * On success *out is a new client to release with pz_close(). */
PZ_API pz_err pz_connect(const char *socket_path, const pz_options *options, pz_client **out,
                         pz_error *err);

/* Closes the connection and frees the client (NULL is fine). Unanswered requests are dropped. */
PZ_API void pz_close(pz_client *client);

/* ---- requests (borrowed by the calls; nothing is kept after they return) ------------------- */

typedef struct pz_feature {
    const char *name;
    const char *text;   /* non-NULL: a text (categorical) feature */
    double number;      /* used when text == NULL: a numeric feature */
} pz_feature;

#define PZ_TEXT(name, text) { (name), (text), 0.0 }
#define PZ_NUMBER(name, value) { (name), NULL, (value) }

typedef struct pz_namespace {
    const char *name;
    const pz_feature *features;
    size_t feature_count;
} pz_namespace;

typedef struct pz_action {
    const char *id;
    const pz_namespace *namespaces;
    size_t namespace_count;
} pz_action;

typedef struct pz_rank_request {
    const pz_namespace *context;          /* context (shared) features */
    size_t context_count;
    const pz_action *actions;
    size_t action_count;
    const char *const *excluded_ids;      /* ids of actions not to show this time */
    size_t excluded_count;
    const char *event_id;                 /* NULL or "": the server makes a unique one */
    bool defer_activation;                /* learn only after pz_activate() */
} pz_rank_request;

/* ---- results (owned by the caller) -------------------------------------------------------- */

typedef struct pz_ranked_action {
    char *id;
    double probability;
} pz_ranked_action;

typedef struct pz_rank_result {
    char *event_id;
    char *reward_action_id;          /* the action to show; == ranking[0].id */
    uint64_t model_version;
    size_t ranking_count;
    pz_ranked_action *ranking;       /* every action, most to least recommended */
} pz_rank_result;

PZ_API void pz_rank_result_free(pz_rank_result *result);   /* NULL is fine */

typedef struct pz_server_status {
    uint64_t model_version;
    uint64_t rank_calls;
    uint64_t reward_calls;
    uint64_t learned_events;
    uint64_t pending_events;
    uint64_t activate_calls;
    uint64_t unmatched_rewards;
    uint64_t unmatched_activations;
    uint64_t dropped_not_activated;
    uint64_t backpressure_stalls;
    uint64_t published_at_unix_ms;
} pz_server_status;

/* ---- blocking calls (each waits up to the client's timeout) -------------------------------- */

PZ_API pz_err pz_rank(pz_client *client, const pz_rank_request *request, pz_rank_result **out,
                      pz_error *err);
PZ_API pz_err pz_reward(pz_client *client, const char *event_id, double value, pz_error *err);
PZ_API pz_err pz_activate(pz_client *client, const char *event_id, pz_error *err);
PZ_API pz_err pz_status(pz_client *client, pz_server_status *out, pz_error *err);

/* ---- pipelining ---------------------------------------------------------------------------- */

typedef enum pz_call {
    PZ_CALL_RANK = 1,
    PZ_CALL_REWARD,
    PZ_CALL_ACTIVATE,
    PZ_CALL_STATUS
} pz_call;

/* One answer. `error.kind` is PZ_OK or PZ_ESERVER (the server refused this request). */
typedef struct pz_response {
    uint64_t id;                 /* the id pz_send_*() returned */
    pz_call call;                /* which call it answers */
    pz_error error;
    pz_rank_result *rank;        /* call == PZ_CALL_RANK and no error; freed with the response */
    pz_server_status status;     /* call == PZ_CALL_STATUS and no error */
} pz_response;

PZ_API void pz_response_free(pz_response *response);   /* NULL is fine */

/* Send one request without waiting for its answer; *id_out receives its id (never 0). Sending
 * reads arriving answers as needed, so any number of requests can be in flight. */
PZ_API pz_err pz_send_rank(pz_client *client, const pz_rank_request *request, uint64_t *id_out,
                           pz_error *err);
PZ_API pz_err pz_send_reward(pz_client *client, const char *event_id, double value,
                             uint64_t *id_out, pz_error *err);
PZ_API pz_err pz_send_activate(pz_client *client, const char *event_id, uint64_t *id_out,
                               pz_error *err);
PZ_API pz_err pz_send_status(pz_client *client, uint64_t *id_out, pz_error *err);

/* Waits up to timeout_ms (0: only what has arrived, < 0: forever) for the answer to request `id`, or with id 0 for the
 * next answer to any request. Answers to other requests that arrive meanwhile are kept for later.
 * Returns PZ_OK with *out set (free with pz_response_free) even when the server refused the
 * request — check (*out)->error.kind; other results are transport failures. After PZ_ETIMEDOUT
 * the request stays in flight and can be received later. */
PZ_API pz_err pz_receive(pz_client *client, uint64_t id, int timeout_ms, pz_response **out,
                         pz_error *err);

/* Number of sent requests whose answers have not been returned by pz_receive() yet. */
PZ_API size_t pz_in_flight(const pz_client *client);

#ifdef __cplusplus
}
#endif

#endif /* PERSONALIZER_CLIENT_H */
