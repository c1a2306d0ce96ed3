/* The connection: a non-blocking Unix socket with a send queue and a receive buffer, cut into
 * frames (4-byte big-endian length, then the payload). Every wait is a poll() bounded by a
 * deadline; writing never raises SIGPIPE (MSG_NOSIGNAL). */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

#define READ_CHUNK (64u * 1024u)

/* ---- byte queues ---- */

static pz_err bytes_room(pz_bytes *b, size_t extra, pz_error *err) {
    if (b->start > 0 && b->cap - b->len < extra) {   /* compact first */
        memmove(b->data, b->data + b->start, b->len - b->start);
        b->len -= b->start;
        b->start = 0;
    }
    if (b->cap - b->len >= extra) return PZ_OK;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < extra) {
        if (cap > SIZE_MAX / 2) return pz_fail(err, PZ_ENOMEM, 0, 0, "buffer too large");
        cap *= 2;
    }
    uint8_t *data = realloc(b->data, cap);
    if (data == NULL) return pz_fail(err, PZ_ENOMEM, 0, ENOMEM, "out of memory (%zu bytes)", cap);
    b->data = data;
    b->cap = cap;
    return PZ_OK;
}

static size_t bytes_pending(const pz_bytes *b) { return b->len - b->start; }

static void bytes_consume(pz_bytes *b, size_t n) {
    b->start += n;
    if (b->start == b->len) b->start = b->len = 0;
}

/* ---- dying ---- */

pz_err pz_conn_kill(pz_conn *conn, const pz_error *why) {
    if (conn->dead == PZ_OK) {
        conn->dead = why->kind;
        pz_error_copy(&conn->dead_error, why);
    }
    return why->kind;
}

static pz_err conn_died(pz_conn *conn, pz_err kind, int sys_errno, const char *what,
                        pz_error *err) {
    pz_error why;
    pz_fail(&why, kind, 0, sys_errno, "%s", what);
    pz_conn_kill(conn, &why);
    pz_error_copy(err, &conn->dead_error);
    return conn->dead;
}

static pz_err conn_dead_error(pz_conn *conn, pz_error *err) {
    pz_error_copy(err, &conn->dead_error);
    return conn->dead;
}

/* ---- opening and closing ---- */

static pz_err wait_connected(int fd, int64_t deadline, const char *path, pz_error *err) {
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int r;
    do r = poll(&p, 1, pz_remaining_ms(deadline)); while (r < 0 && errno == EINTR);
    if (r == 0) return pz_fail(err, PZ_ETIMEDOUT, 0, 0, "timed out connecting to %s", path);
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) soerr = errno;
    if (soerr != 0)
        return pz_fail(err, PZ_ECONNECT, 0, soerr, "cannot connect to %s: %s", path,
                       strerror(soerr));
    return PZ_OK;
}

static pz_err connect_until(int fd, const struct sockaddr_un *addr, int64_t deadline,
                            const char *path, pz_error *err) {
    for (;;) {
        if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) == 0) return PZ_OK;
        int e = errno;
        if (e == EINTR) continue;
        if (e == EINPROGRESS) return wait_connected(fd, deadline, path, err);
        if (e == EAGAIN) {   /* the listener's backlog is full: try again shortly */
            int left = pz_remaining_ms(deadline);
            if (left == 0)
                return pz_fail(err, PZ_ETIMEDOUT, 0, e, "timed out connecting to %s (backlog full)",
                               path);
            poll(NULL, 0, left < 0 || left > 10 ? 10 : left);
            continue;
        }
        return pz_fail(err, PZ_ECONNECT, 0, e, "cannot connect to %s: %s", path, strerror(e));
    }
}

pz_err pz_conn_open(pz_conn *conn, const char *path, int64_t deadline, pz_error *err) {
    memset(conn, 0, sizeof *conn);
    conn->fd = -1;
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof addr.sun_path)
        return pz_fail(err, PZ_EINVAL, 0, 0, "socket path must be 1 to %zu bytes, got %zu",
                       sizeof addr.sun_path - 1, len);
    memcpy(addr.sun_path, path, len);

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return pz_fail(err, PZ_EIO, 0, errno, "socket: %s", strerror(errno));
    pz_err rc = connect_until(fd, &addr, deadline, path, err);
    if (rc != PZ_OK) {
        close(fd);
        return rc;
    }
    conn->fd = fd;
    return PZ_OK;
}

void pz_conn_close(pz_conn *conn) {
    if (conn->fd >= 0) close(conn->fd);
    conn->fd = -1;
    free(conn->tx.data);
    free(conn->rx.data);
    memset(&conn->tx, 0, sizeof conn->tx);
    memset(&conn->rx, 0, sizeof conn->rx);
}

/* ---- moving bytes ---- */

/* Reads what is there without blocking. */
static pz_err read_some(pz_conn *conn, pz_error *err) {
    pz_err rc = bytes_room(&conn->rx, READ_CHUNK, err);
    if (rc != PZ_OK) return rc;
    for (;;) {
        ssize_t r = recv(conn->fd, conn->rx.data + conn->rx.len, conn->rx.cap - conn->rx.len, 0);
        if (r > 0) {
            conn->rx.len += (size_t)r;
            return PZ_OK;
        }
        if (r == 0) {
            conn->eof = true;
            return conn_died(conn, PZ_ECLOSED, 0, "the server closed the connection", err);
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return PZ_OK;
        conn->eof = true;
        if (errno == ECONNRESET)
            return conn_died(conn, PZ_ECLOSED, errno, "the server reset the connection", err);
        return conn_died(conn, PZ_EIO, errno, strerror(errno), err);
    }
}

/* Writes what the socket takes without blocking. */
static pz_err write_some(pz_conn *conn, pz_error *err) {
    while (bytes_pending(&conn->tx) > 0) {
        ssize_t w = send(conn->fd, conn->tx.data + conn->tx.start, bytes_pending(&conn->tx),
                         MSG_NOSIGNAL);
        if (w > 0) {
            bytes_consume(&conn->tx, (size_t)w);
            continue;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return PZ_OK;
        if (errno == EPIPE || errno == ECONNRESET)
            return conn_died(conn, PZ_ECLOSED, errno, "the server closed the connection", err);
        return conn_died(conn, PZ_EIO, errno, strerror(errno), err);
    }
    return PZ_OK;
}

/* Waits until the socket is readable or (when there is something to send) writable, then moves
 * bytes both ways. PZ_ETIMEDOUT when nothing happened before the deadline. After the sending
 * side failed, answers the server sent before going away can still be read. */
static pz_err pump(pz_conn *conn, int64_t deadline, pz_error *err) {
    struct pollfd p = {.fd = conn->fd, .events = POLLIN};
    bool sending = conn->dead == PZ_OK && bytes_pending(&conn->tx) > 0;
    if (sending) p.events |= POLLOUT;
    int r;
    do r = poll(&p, 1, pz_remaining_ms(deadline)); while (r < 0 && errno == EINTR);
    if (r < 0) return conn_died(conn, PZ_EIO, errno, strerror(errno), err);
    if (r == 0) return pz_fail(err, PZ_ETIMEDOUT, 0, 0, "timed out waiting for the server");
    pz_err rc = PZ_OK;
    if (sending && (p.revents & (POLLOUT | POLLERR))) rc = write_some(conn, err);
    if (!conn->eof && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
        pz_err rrc = read_some(conn, err);
        if (rc == PZ_OK) rc = rrc;
    }
    return rc;
}

/* ---- frames ---- */

pz_err pz_conn_reserve_frame(pz_conn *conn, size_t n, uint8_t **payload, pz_error *err) {
    if (n > PZ_MAX_FRAME)
        return pz_fail(err, PZ_EINVAL, 0, 0, "request of %zu bytes exceeds the frame limit", n);
    pz_err rc = bytes_room(&conn->tx, 4 + n, err);
    if (rc != PZ_OK) return rc;
    uint8_t *at = conn->tx.data + conn->tx.len;
    at[0] = (uint8_t)(n >> 24);
    at[1] = (uint8_t)(n >> 16);
    at[2] = (uint8_t)(n >> 8);
    at[3] = (uint8_t)n;
    conn->tx.len += 4 + n;
    *payload = at + 4;
    return PZ_OK;
}

void pz_conn_unreserve_frame(pz_conn *conn, size_t n) { conn->tx.len -= 4 + n; }

pz_err pz_conn_flush(pz_conn *conn, int64_t deadline, pz_error *err) {
    for (;;) {
        if (conn->dead != PZ_OK) return conn_dead_error(conn, err);
        pz_err rc = write_some(conn, err);
        if (rc != PZ_OK) return rc;
        if (bytes_pending(&conn->tx) == 0) return PZ_OK;
        rc = pump(conn, deadline, err);
        if (rc != PZ_OK) return rc;
    }
}

pz_err pz_conn_next_frame(pz_conn *conn, int64_t deadline, const uint8_t **payload, size_t *n,
                          pz_error *err) {
    for (;;) {
        if (conn->dead == PZ_EPROTO) return conn_dead_error(conn, err);
        size_t avail = bytes_pending(&conn->rx);
        if (avail >= 4) {
            const uint8_t *at = conn->rx.data + conn->rx.start;
            uint32_t len = (uint32_t)at[0] << 24 | (uint32_t)at[1] << 16 | (uint32_t)at[2] << 8 | at[3];
            if (len > PZ_MAX_FRAME) {
                pz_error why;
                pz_fail(&why, PZ_EPROTO, 0, 0, "bad frame: length %u exceeds the limit", len);
                pz_conn_kill(conn, &why);
                return conn_dead_error(conn, err);
            }
            if (avail - 4 >= len) {
                *payload = at + 4;
                *n = len;
                bytes_consume(&conn->rx, 4 + (size_t)len);
                return PZ_OK;
            }
        }
        if (conn->eof || conn->dead == PZ_EIO) {
            if (avail > 0)
                return pz_fail(err, PZ_ECLOSED, 0, 0,
                               "the server closed the connection in the middle of a frame");
            return conn_dead_error(conn, err);
        }
        pz_err rc = pump(conn, deadline, err);
        if (rc == PZ_ETIMEDOUT || rc == PZ_ENOMEM) return rc;
        /* other failures mark the connection; the loop reports them after the frames already in */
    }
}
