/* Deadlines on the monotonic clock, for poll(). */
#include <limits.h>
#include <time.h>

#include "internal.h"

int64_t pz_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t pz_deadline(int timeout_ms) {
    return timeout_ms < 0 ? -1 : pz_now_ms() + timeout_ms;
}

int pz_remaining_ms(int64_t deadline) {
    if (deadline < 0) return -1;
    int64_t left = deadline - pz_now_ms();
    if (left <= 0) return 0;
    return left > INT_MAX ? INT_MAX : (int)left;
}
