/* Test harness: runs personalizerd in a temporary directory, and a socket that never answers. */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms) { poll(NULL, 0, ms); }

bool make_temp_dir(char dir[64]) {
    snprintf(dir, 64, "/tmp/pzc-test-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return false;
    }
    return true;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void remove_tree(const char *dir) {
    if (dir[0] != '\0') nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static bool write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f == NULL) return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

static void print_log(const char *dir) {
    char path[128], line[512];
    snprintf(path, sizeof path, "%s/server.log", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL) return;
    fprintf(stderr, "---- %s ----\n", path);
    while (fgets(line, sizeof line, f)) fputs(line, stderr);
    fclose(f);
}

static bool can_connect(const char *path) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0) close(fd);
    return ok;
}

static pid_t spawn(const char *binary, const server *s) {
    char data[96], config[96], log[96];
    snprintf(data, sizeof data, "%s/data", s->dir);
    snprintf(config, sizeof config, "%s/config.json", s->dir);
    snprintf(log, sizeof log, "%s/server.log", s->dir);
    pid_t pid = fork();
    if (pid != 0) return pid;
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    char *argv[] = {(char *)binary, "--socket", (char *)s->socket_path, "--data-dir", data,
                    "--config", config, NULL};
    execv(binary, argv);
    fprintf(stderr, "cannot run %s: %s\n", binary, strerror(errno));
    _exit(127);
}

bool server_start(server *s, const char *binary, const char *config_json) {
    memset(s, 0, sizeof *s);
    s->pid = -1;
    if (!make_temp_dir(s->dir)) return false;
    snprintf(s->socket_path, sizeof s->socket_path, "%s/pz.sock", s->dir);
    char path[96];
    snprintf(path, sizeof path, "%s/data", s->dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/config.json", s->dir);
    if (!write_file(path, config_json)) return false;
    s->pid = spawn(binary, s);
    if (s->pid < 0) return false;
    for (int waited = 0; waited < 60000; waited += 20) {
        if (can_connect(s->socket_path)) return true;
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            fprintf(stderr, "server exited before listening (status %d)\n", status);
            print_log(s->dir);
            s->pid = -1;
            return false;
        }
        sleep_ms(20);
    }
    fprintf(stderr, "server did not listen on %s within 60 s\n", s->socket_path);
    print_log(s->dir);
    return false;
}

static bool wait_exit(pid_t pid, int timeout_ms, int *status) {
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        if (waitpid(pid, status, WNOHANG) == pid) return true;
        sleep_ms(10);
    }
    return false;
}

void server_kill(server *s) {
    if (s->pid <= 0) return;
    kill(s->pid, SIGKILL);
    int status;
    waitpid(s->pid, &status, 0);
    s->pid = -1;
}

bool server_stop(server *s) {
    bool clean = true;
    if (s->pid > 0) {
        int status = 0;
        kill(s->pid, SIGTERM);
        if (!wait_exit(s->pid, 10000, &status)) {
            fprintf(stderr, "server did not stop within 10 s of SIGTERM\n");
            server_kill(s);
            clean = false;
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "server exit status %d after SIGTERM\n", status);
            print_log(s->dir);
            clean = false;
        }
        s->pid = -1;
    }
    remove_tree(s->dir);
    s->dir[0] = '\0';
    return clean;
}

bool silent_start(silent_server *s) {
    memset(s, 0, sizeof *s);
    s->listen_fd = -1;
    if (!make_temp_dir(s->dir)) return false;
    snprintf(s->socket_path, sizeof s->socket_path, "%s/silent.sock", s->dir);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", s->socket_path);
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(s->listen_fd, 8) != 0) {
        perror("silent server");
        return false;
    }
    return true;
}

int silent_accept(silent_server *s) { return accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC); }

void silent_stop(silent_server *s) {
    if (s->listen_fd >= 0) close(s->listen_fd);
    s->listen_fd = -1;
    remove_tree(s->dir);
}
