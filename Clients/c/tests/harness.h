/* Starting and stopping personalizerd for the tests, plus a silent stand-in server. */
#ifndef PZ_TEST_HARNESS_H
#define PZ_TEST_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct server {
    pid_t pid;
    char dir[64];          /* temporary directory holding the socket, data, config and log */
    char socket_path[96];
} server;

/* Starts `binary` on a fresh temporary directory with the given JSON config and waits until its
 * socket accepts connections. Returns false (after printing why) if it does not come up. */
bool server_start(server *s, const char *binary, const char *config_json);
/* SIGTERM, wait for the exit; true when it exited with status 0. Removes the directory. */
bool server_stop(server *s);
/* SIGKILL, wait; the directory stays until server_stop(). */
void server_kill(server *s);

/* A listening socket that nobody serves: connects succeed, answers never come. */
typedef struct silent_server {
    int listen_fd;
    char dir[64];
    char socket_path[96];
} silent_server;

bool silent_start(silent_server *s);
int silent_accept(silent_server *s);   /* the server side of the next connection, or -1 */
void silent_stop(silent_server *s);

/* A temporary directory, removed with everything in it by remove_tree(). */
bool make_temp_dir(char dir[64]);
void remove_tree(const char *dir);

#endif
