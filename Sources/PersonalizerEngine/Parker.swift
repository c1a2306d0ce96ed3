#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Lets the trainer thread sleep until a deadline or until a producer wakes it, without the
/// producer paying for a wake-up on every event.
///
/// Protocol (a Dekker-style handshake, hence the sequentially consistent operations):
/// - the sleeper sets `isSleeping`, re-checks for work, then parks;
/// - a producer publishes its work, then checks `isSleeping` and unparks only if it is set.
/// Either the sleeper sees the work, or the producer sees the flag: a wake-up is never lost.
public final class Parker: @unchecked Sendable {
    private let isSleepingFlag = Atomic<Bool>(false)
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var permit = false

    public init() {
        pthread_mutex_init(&mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(&condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    /// Sleeper: announce the intent to sleep. Check for work after this, then `park`.
    public func prepareToSleep() {
        isSleepingFlag.store(true, ordering: .sequentiallyConsistent)
    }

    /// Sleeper: sleep until `unpark` or until `timeoutNanoseconds` pass. Clears the flag.
    public func park(timeoutNanoseconds: UInt64) {
        pthread_mutex_lock(&mutex)
        if !permit && timeoutNanoseconds > 0 {
            var deadline = timespec()
            clock_gettime(CLOCK_MONOTONIC, &deadline)
            let total = UInt64(deadline.tv_nsec) + min(timeoutNanoseconds, 3_600_000_000_000)
            deadline.tv_sec += Int(total / 1_000_000_000)
            deadline.tv_nsec = Int(total % 1_000_000_000)
            pthread_cond_timedwait(&condition, &mutex, &deadline)
        }
        permit = false
        pthread_mutex_unlock(&mutex)
        isSleepingFlag.store(false, ordering: .relaxed)
    }

    /// Sleeper: changed its mind after `prepareToSleep` (found work).
    public func cancelSleep() {
        isSleepingFlag.store(false, ordering: .relaxed)
    }

    /// Producer: after publishing work, wake the sleeper if (and only if) it is asleep or about to be.
    @inline(__always)
    public func wakeIfSleeping() {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if isSleepingFlag.load(ordering: .relaxed),
           isSleepingFlag.compareExchange(expected: true, desired: false, ordering: .sequentiallyConsistent).exchanged {
            unpark()
        }
    }

    /// Wakes the sleeper now, or makes its next `park` return at once.
    public func unpark() {
        pthread_mutex_lock(&mutex)
        permit = true
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }
}
