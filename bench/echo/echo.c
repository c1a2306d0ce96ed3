/*
 * personalizer-echo: the socket's own cost, for the bench's baseline.
 *
 * A raw Unix-socket server that speaks personalizerd's framing (4-byte big-endian length, then
 * the payload) and does no work: every complete request frame is answered with a pre-made reply
 * frame, in order. Requests of at least THRESHOLD payload bytes (Rank-sized) get a reply of
 * RANK_BYTES, smaller ones (Reward, Status) one of SMALL_BYTES, so the bytes on the wire match
 * those of the real server. The reply payload is opaque: drive it with
 * `personalizer-load --expect raw`.
 *
 * Its shape is the server's transport without libuv: one thread, one epoll loop, non-blocking
 * sockets; each readable event reads once into a reused buffer, handles every whole frame in
 * it, and sends all the replies of that read with one send(); only what the socket does not
 * take is kept, and then EPOLLOUT is watched until it is gone.
 *
 *   personalizer-echo --socket PATH [--rank-bytes N] [--small-bytes N] [--threshold N]
 *
 * Prints "personalizer-echo: listening on PATH" when ready; SIGINT/SIGTERM removes the socket
 * and exits 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define READ_CHUNK (64 * 1024)
#define MAX_FRAME (64u * 1024 * 1024)
#define MAX_EVENTS 64

struct conn {
    int fd;
    unsigned char *in;     /* unread request bytes: in[in_start, in_end) */
    size_t in_start, in_end, in_cap;
    unsigned char *out;    /* replies the socket did not take yet: out[out_start, out_end) */
    size_t out_start, out_end, out_cap;
    int watching_out;
};

static unsigned char *rank_reply, *small_reply;
static size_t rank_reply_len, small_reply_len, threshold;

static void die(const char *what) {
    fprintf(stderr, "personalizer-echo: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n);
    if (!q) die("out of memory");
    return q;
}

/* A reply frame: big-endian length, then a payload of 'x'. */
static unsigned char *make_reply(size_t payload, size_t *frame_len) {
    unsigned char *frame = xrealloc(NULL, payload + 4);
    frame[0] = (unsigned char)(payload >> 24);
    frame[1] = (unsigned char)(payload >> 16);
    frame[2] = (unsigned char)(payload >> 8);
    frame[3] = (unsigned char)payload;
    memset(frame + 4, 'x', payload);
    *frame_len = payload + 4;
    return frame;
}

static void close_conn(int epfd, struct conn *c) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

static void append_out(struct conn *c, const unsigned char *bytes, size_t n) {
    if (c->out_cap - c->out_end < n) {
        if (c->out_start > 0) {
            memmove(c->out, c->out + c->out_start, c->out_end - c->out_start);
            c->out_end -= c->out_start;
            c->out_start = 0;
        }
        while (c->out_cap - c->out_end < n) c->out_cap = c->out_cap ? c->out_cap * 2 : 64 * 1024;
        c->out = xrealloc(c->out, c->out_cap);
    }
    memcpy(c->out + c->out_end, bytes, n);
    c->out_end += n;
}

/* Sends what is pending; returns -1 if the connection is broken. */
static int flush_out(int epfd, struct conn *c) {
    while (c->out_end > c->out_start) {
        ssize_t n = send(c->fd, c->out + c->out_start, c->out_end - c->out_start, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) { c->out_start += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return -1;
    }
    int want_out = c->out_end > c->out_start;
    if (!want_out) c->out_start = c->out_end = 0;
    if (want_out != c->watching_out) {
        struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
        epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
        c->watching_out = want_out;
    }
    return 0;
}

/* One read, every whole frame answered, one send; returns -1 to close. */
static int on_readable(int epfd, struct conn *c) {
    if (c->in_cap - c->in_end < READ_CHUNK) {
        if (c->in_start > 0) {
            memmove(c->in, c->in + c->in_start, c->in_end - c->in_start);
            c->in_end -= c->in_start;
            c->in_start = 0;
        }
        if (c->in_cap - c->in_end < READ_CHUNK) {
            c->in_cap = c->in_end + 2 * READ_CHUNK;
            c->in = xrealloc(c->in, c->in_cap);
        }
    }
    ssize_t n = recv(c->fd, c->in + c->in_end, c->in_cap - c->in_end, MSG_DONTWAIT);
    if (n == 0) return -1;
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
    c->in_end += (size_t)n;
    while (c->in_end - c->in_start >= 4) {
        const unsigned char *p = c->in + c->in_start;
        uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (len > MAX_FRAME) return -1;
        if (c->in_end - c->in_start < 4 + (size_t)len) {
            if (4 + (size_t)len > c->in_cap) {  /* make room for a frame larger than the buffer */
                memmove(c->in, c->in + c->in_start, c->in_end - c->in_start);
                c->in_end -= c->in_start;
                c->in_start = 0;
                c->in_cap = 4 + (size_t)len + READ_CHUNK;
                c->in = xrealloc(c->in, c->in_cap);
            }
            break;
        }
        c->in_start += 4 + (size_t)len;
        if (len >= threshold) append_out(c, rank_reply, rank_reply_len);
        else append_out(c, small_reply, small_reply_len);
    }
    if (c->in_start == c->in_end) c->in_start = c->in_end = 0;
    return flush_out(epfd, c);
}

static size_t parse_size(const char *flag, const char *value) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(value, &end, 10);
    if (errno || *end || v > MAX_FRAME) {
        fprintf(stderr, "personalizer-echo: %s needs a byte count up to %u, got '%s'\n", flag, MAX_FRAME, value);
        exit(64);
    }
    return (size_t)v;
}

int main(int argc, char **argv) {
    const char *path = NULL;
    size_t rank_bytes = 400, small_bytes = 8;
    threshold = 256;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: personalizer-echo --socket PATH [--rank-bytes N] [--small-bytes N] [--threshold N]\n"
                   "  answers each request frame of >= threshold payload bytes (default 256) with a\n"
                   "  reply of rank-bytes (default 400), smaller ones with small-bytes (default 8)\n");
            return 0;
        }
        if (!v) { fprintf(stderr, "personalizer-echo: %s needs a value\n", a); return 64; }
        if (!strcmp(a, "--socket")) path = v;
        else if (!strcmp(a, "--rank-bytes")) rank_bytes = parse_size(a, v);
        else if (!strcmp(a, "--small-bytes")) small_bytes = parse_size(a, v);
        else if (!strcmp(a, "--threshold")) threshold = parse_size(a, v);
        else { fprintf(stderr, "personalizer-echo: unknown option %s\n", a); return 64; }
        i++;
    }
    if (!path) { fprintf(stderr, "personalizer-echo: --socket PATH is required\n"); return 64; }
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) {
        fprintf(stderr, "personalizer-echo: socket path longer than %zu bytes: %s\n", sizeof addr.sun_path - 1, path);
        return 1;
    }
    strcpy(addr.sun_path, path);
    rank_reply = make_reply(rank_bytes, &rank_reply_len);
    small_reply = make_reply(small_bytes, &small_reply_len);

    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) die("signalfd");

    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) die("socket");
    unlink(path);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(lfd, 128) < 0) die("listen");
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) die("epoll_create1");
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
    struct epoll_event sev = {.events = EPOLLIN, .data.ptr = &sfd};
    epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &sev);
    printf("personalizer-echo: listening on %s (replies %zu / %zu bytes, threshold %zu)\n", path, rank_bytes,
           small_bytes, threshold);
    fflush(stdout);

    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            void *tag = events[i].data.ptr;
            if (tag == &sfd) {
                unlink(path);
                return 0;
            }
            if (tag == NULL) {
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) break;
                    struct conn *c = calloc(1, sizeof *c);
                    if (!c) die("out of memory");
                    c->fd = fd;
                    c->in_cap = 4 * READ_CHUNK;
                    c->in = xrealloc(NULL, c->in_cap);
                    struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            struct conn *c = tag;
            int broken = 0;
            if (events[i].events & EPOLLOUT) broken = flush_out(epfd, c) < 0;
            if (!broken && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) broken = on_readable(epfd, c) < 0;
            if (broken) close_conn(epfd, c);
        }
    }
}
