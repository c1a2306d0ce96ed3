// Preloaded (LD_PRELOAD) into the processes of `make sanitize-tsan`, so that ThreadSanitizer sees
// the contended paths of Swift's `Synchronization.Mutex` on Linux.
//
// `Mutex.withLock` inlines its fast paths (an acquiring / releasing compare-exchange, which TSan
// sees), but under contention it calls `_MutexHandle._lockSlow` / `_unlockSlow` in the
// uninstrumented libswiftSynchronization.so, which hand the lock over with futex LOCK_PI /
// UNLOCK_PI: no atomic operation TSan can observe. Every contended Mutex then looks like a data
// race on the value it protects ("Swift access race" in both closures given to withLock). This
// wraps the two slow paths: a release on the handle's address before `_unlockSlow`, an acquire
// after `_lockSlow` returns, which is the happens-before edge the kernel provides.
//
// In a process without TSan (the swift driver, python) the __tsan_* symbols are absent (weak)
// and the wrappers only forward. If a toolchain renames the functions, nothing is wrapped and
// the false reports come back (they name the closures passed to Mutex.withLock).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

void __tsan_acquire(void *addr) __attribute__((weak));
void __tsan_release(void *addr) __attribute__((weak));

#define LOCK_SLOW "$s15Synchronization12_MutexHandleV9_lockSlowyys6UInt32VF"
#define UNLOCK_SLOW "$s15Synchronization12_MutexHandleV11_unlockSlowyyF"

static void *real_lock_slow, *real_unlock_slow;

void *pz_tsan_shim_real_lock_slow(void) {
    if (!real_lock_slow) real_lock_slow = dlsym(RTLD_NEXT, LOCK_SLOW);
    return real_lock_slow;
}

void *pz_tsan_shim_real_unlock_slow(void) {
    if (!real_unlock_slow) real_unlock_slow = dlsym(RTLD_NEXT, UNLOCK_SLOW);
    return real_unlock_slow;
}

void pz_tsan_shim_acquire(void *handle) { if (__tsan_acquire) __tsan_acquire(handle); }
void pz_tsan_shim_release(void *handle) { if (__tsan_release) __tsan_release(handle); }

// Swift's calling convention: `self` (the handle's address, a borrowed ~Copyable) in r13, the
// thread id argument of _lockSlow in edi. Both wrappers keep r13 and the stack alignment.
__asm__(
    ".text\n"
    ".globl \"" LOCK_SLOW "\"\n"
    ".type \"" LOCK_SLOW "\", @function\n"
    "\"" LOCK_SLOW "\":\n"
    "    pushq %r13\n"                                   // 16(%rsp): self
    "    pushq %rdi\n"                                   //  8(%rsp): thread id
    "    subq $8, %rsp\n"                                // 16-byte aligned for the calls
    "    call pz_tsan_shim_real_lock_slow@PLT\n"
    "    movq 8(%rsp), %rdi\n"
    "    movq 16(%rsp), %r13\n"
    "    call *%rax\n"
    "    movq 16(%rsp), %rdi\n"
    "    call pz_tsan_shim_acquire@PLT\n"
    "    addq $16, %rsp\n"
    "    popq %r13\n"
    "    ret\n"
    ".size \"" LOCK_SLOW "\", .-\"" LOCK_SLOW "\"\n"
    ".globl \"" UNLOCK_SLOW "\"\n"
    ".type \"" UNLOCK_SLOW "\", @function\n"
    "\"" UNLOCK_SLOW "\":\n"
    "    pushq %r13\n"                                   // (%rsp): self; aligned for the calls
    "    movq %r13, %rdi\n"
    "    call pz_tsan_shim_release@PLT\n"
    "    call pz_tsan_shim_real_unlock_slow@PLT\n"
    "    movq (%rsp), %r13\n"
    "    call *%rax\n"
    "    popq %r13\n"
    "    ret\n"
    ".size \"" UNLOCK_SLOW "\", .-\"" UNLOCK_SLOW "\"\n"
    ".section .note.GNU-stack,\"\",@progbits\n"
);
