import Synchronization

/// A clock that moves only when told to: for tests and for deterministic replays.
public final class ManualClock: EngineClock {
    private let now: Atomic<UInt64>

    public init(startNanoseconds: UInt64 = 1_700_000_000_000_000_000) {
        now = Atomic(startNanoseconds)
    }

    public func nowNanoseconds() -> UInt64 { now.load(ordering: .acquiring) }

    public func advance(seconds: Double) {
        now.add(UInt64(seconds * 1e9), ordering: .acquiringAndReleasing)
    }
}
