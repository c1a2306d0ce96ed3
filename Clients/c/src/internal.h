/* Internal interfaces of the C client library; not installed. */
#ifndef PZ_INTERNAL_H
#define PZ_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "personalizer_client.h"
#include "personalizer/v1/personalizer.pb-c.h"

/* Largest frame either side accepts (the server's own default limit is 4 MiB). */
#define PZ_MAX_FRAME (64u * 1024u * 1024u)

/* ---- errors.c ---- */

/* Fills *err (if not NULL) and returns kind. The gRPC code follows from the kind, except for
 * PZ_ESERVER, which takes `code`. */
pz_err pz_fail(pz_error *err, pz_err kind, uint32_t code, int sys_errno, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
pz_err pz_ok(pz_error *err);
void pz_error_copy(pz_error *dst, const pz_error *src);

/* ---- deadline.c ---- */

/* Milliseconds on a monotonic clock; deadlines are absolute, -1 means none. */
int64_t pz_now_ms(void);
int64_t pz_deadline(int timeout_ms);
/* Milliseconds left for poll(): -1 for no deadline, 0 when past. */
int pz_remaining_ms(int64_t deadline);

/* ---- conn.c: a socket with an outgoing and an incoming byte queue, speaking frames ---- */

typedef struct pz_bytes {
    uint8_t *data;
    size_t start;   /* bytes before start are consumed */
    size_t len;     /* bytes before len are valid */
    size_t cap;
} pz_bytes;

typedef struct pz_conn {
    int fd;
    pz_bytes tx;        /* queued, not yet written */
    pz_bytes rx;        /* read, not yet taken as frames */
    bool eof;           /* the server will send nothing more */
    pz_err dead;        /* PZ_OK while usable, else why not (PZ_ECLOSED, PZ_EPROTO, PZ_EIO) */
    pz_error dead_error;
} pz_conn;

pz_err pz_conn_open(pz_conn *conn, const char *path, int64_t deadline, pz_error *err);
void pz_conn_close(pz_conn *conn);
/* Reserves room for a frame of n payload bytes at the end of the send queue (the length prefix
 * is written); returns where the payload goes. pz_conn_unreserve drops it again. */
pz_err pz_conn_reserve_frame(pz_conn *conn, size_t n, uint8_t **payload, pz_error *err);
void pz_conn_unreserve_frame(pz_conn *conn, size_t n);
/* Writes the send queue out, reading arriving bytes meanwhile. */
pz_err pz_conn_flush(pz_conn *conn, int64_t deadline, pz_error *err);
/* Next complete incoming frame; *payload stays valid until the next call on the connection.
 * Frames already received are returned even after the server went away. */
pz_err pz_conn_next_frame(pz_conn *conn, int64_t deadline, const uint8_t **payload, size_t *n,
                          pz_error *err);
/* Marks the connection unusable (after a protocol error) and returns kind. */
pz_err pz_conn_kill(pz_conn *conn, const pz_error *why);

/* ---- in_flight.c: requests sent, answers not read yet ---- */

typedef struct pz_in_flight_entry {
    uint64_t id;
    pz_call call;   /* 0: answered or given up */
} pz_in_flight_entry;

typedef struct pz_in_flight_table {
    pz_in_flight_entry *items;   /* sorted by id from head to count */
    size_t head, count, cap;
    size_t live;                 /* entries with call != 0 */
} pz_in_flight_table;

/* Ids must be added in increasing order. */
pz_err pz_in_flight_add(pz_in_flight_table *t, uint64_t id, pz_call call, pz_error *err);
pz_call pz_in_flight_find(const pz_in_flight_table *t, uint64_t id);   /* 0 if not in flight */
void pz_in_flight_remove(pz_in_flight_table *t, uint64_t id);
void pz_in_flight_free(pz_in_flight_table *t);

/* ---- encode.c: requests to frames in the send queue ---- */

typedef struct pz_request {
    uint64_t id;
    const char *loop;
    const char *token;
    pz_call call;
    const pz_rank_request *rank;   /* PZ_CALL_RANK */
    const char *event_id;          /* PZ_CALL_REWARD, PZ_CALL_ACTIVATE */
    double value;                  /* PZ_CALL_REWARD */
} pz_request;

pz_err pz_encode_request(pz_conn *conn, const pz_request *request, pz_error *err);

/* ---- decode.c: Response messages to pz_response ---- */

/* Unpacks one frame; PZ_EPROTO if it is not a Response. Free *msg with pz_message_free(). */
pz_err pz_decode_frame(const uint8_t *payload, size_t n, Personalizer__V1__Response **msg,
                       pz_error *err);
void pz_message_free(Personalizer__V1__Response *msg);
/* Converts the answer to a request of kind `call`; PZ_EPROTO if it answers another kind. */
pz_err pz_convert_response(const Personalizer__V1__Response *msg, pz_call call, pz_response **out,
                           pz_error *err);

#endif
