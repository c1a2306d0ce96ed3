#if canImport(Glibc)
import Glibc
#endif

/// Time as nanoseconds since the Unix epoch. Injectable, so the joiner and the trainer can be
/// tested with a clock the test moves by hand.
public protocol EngineClock: Sendable {
    func nowNanoseconds() -> UInt64
}

/// The wall clock. Event times must be comparable across restarts (a reward window may span
/// one), so this is real time rather than a monotonic clock.
public struct SystemClock: EngineClock {
    public init() {}

    public func nowNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }
}
