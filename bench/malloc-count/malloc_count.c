/* Counts heap allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc) in the
 * process it is preloaded into: LD_PRELOAD=bench/build/libmalloc-count.so PROGRAM. The program
 * reads the process's count through pz_malloc_count() and the calling thread's through
 * pz_thread_malloc_count(), found with dlsym. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

static atomic_uint_fast64_t allocations;
static _Thread_local uint64_t thread_allocations;

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);

uint64_t pz_malloc_count(void) { return atomic_load(&allocations); }
uint64_t pz_thread_malloc_count(void) { return thread_allocations; }

/* dlsym may itself call calloc before real_calloc is known: serve it from a small static area. */
static char bootstrap[4096];
static size_t bootstrap_used;

void *malloc(size_t size) {
    if (!real_malloc) real_malloc = dlsym(RTLD_NEXT, "malloc");
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    thread_allocations++;
    return real_malloc(size);
}

void *calloc(size_t count, size_t size) {
    if (!real_calloc) {
        static int resolving;
        if (resolving) {
            size_t total = (count * size + 15) & ~(size_t)15;
            if (bootstrap_used + total > sizeof bootstrap) return NULL;
            void *p = bootstrap + bootstrap_used;
            bootstrap_used += total;
            return p;
        }
        resolving = 1;
        real_calloc = dlsym(RTLD_NEXT, "calloc");
        resolving = 0;
    }
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    thread_allocations++;
    return real_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    if (!real_realloc) real_realloc = dlsym(RTLD_NEXT, "realloc");
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    thread_allocations++;
    return real_realloc(pointer, size);
}

int posix_memalign(void **pointer, size_t alignment, size_t size) {
    if (!real_posix_memalign) real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    thread_allocations++;
    return real_posix_memalign(pointer, alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    if (!real_aligned_alloc) real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    thread_allocations++;
    return real_aligned_alloc(alignment, size);
}
