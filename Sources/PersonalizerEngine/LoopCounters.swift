import Synchronization

/// A counter written by one thread and read by any: the writer adds with a plain load and
/// store (no locked instruction on the hot path), readers load.
public struct SingleWriterCounter: ~Copyable, Sendable {
    private let value = Atomic<UInt64>(0)

    public init() {}

    /// Writer thread only.
    @inline(__always)
    public func add(_ amount: UInt64 = 1) {
        value.store(value.load(ordering: .relaxed) &+ amount, ordering: .releasing)
    }

    /// Writer thread only.
    public func set(_ newValue: UInt64) { value.store(newValue, ordering: .releasing) }

    @inline(__always)
    public func load() -> UInt64 { value.load(ordering: .acquiring) }
}

/// A failure message in effect, or nil. Set rarely, by the thread that met the failure; read
/// on every Status (and every call of a loop whose answers wait for the disk), so an empty
/// slot costs one atomic load and no lock.
public struct ErrorSlot: ~Copyable, Sendable {
    private let isSet = Atomic<Bool>(false)
    private let message = Mutex<String?>(nil)

    public init() {}

    func set(_ value: String?) {
        message.withLock {
            $0 = value
            isSet.store(value != nil, ordering: .releasing)
        }
    }

    public func load() -> String? {
        guard isSet.load(ordering: .acquiring) else { return nil }
        return message.withLock { $0 }
    }
}

/// What Status reports for one loop. Each counter has one writer: the I/O thread for calls,
/// the trainer for what it learned and published.
public final class LoopCounters: Sendable {
    // Written by the I/O thread, on every call.
    public let rankCalls = SingleWriterCounter()
    public let rewardCalls = SingleWriterCounter()
    public let activateCalls = SingleWriterCounter()
    public let backpressureStalls = SingleWriterCounter()
    /// Keeps the trainer's counters off the cache line the I/O thread writes on every call:
    /// sharing one makes each thread's write a cache miss for the other (false sharing).
    private let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
        = (0, 0, 0, 0, 0, 0, 0, 0)

    // Written by the trainer, once per pass.
    public let learnedEvents = SingleWriterCounter()
    /// Ranked events the trainer is done with: learned, dropped, or refused as duplicates.
    public let resolvedEvents = SingleWriterCounter()
    public let unmatchedRewards = SingleWriterCounter()
    public let unmatchedActivations = SingleWriterCounter()
    public let droppedNotActivated = SingleWriterCounter()
    /// Ranks past `maxPendingEvents`: answered and logged, not learned from.
    public let overCapacityEvents = SingleWriterCounter()
    public let modelVersion = SingleWriterCounter()
    public let publishedAtMilliseconds = SingleWriterCounter()
    /// Ring events (ranks, rewards, activations) whose records are fsynced (all taken events
    /// when the loop keeps no log); in `ack` mode the I/O thread answers up to here. Written by
    /// the log syncer.
    public let durableEvents = SingleWriterCounter()
    public let logBytes = SingleWriterCounter()
    public let oldestEventMilliseconds = SingleWriterCounter()
    public let lastSyncMilliseconds = SingleWriterCounter()
    /// A failure writing the log or a checkpoint (full disk, I/O error) in effect, or nil.
    public let storageError = ErrorSlot()
    /// A failure syncing the log in effect, or nil.
    public let syncError = ErrorSlot()

    /// What keeps events from reaching the disk now, if anything.
    public var currentStorageError: String? { storageError.load() ?? syncError.load() }

    public init() {}

    /// Ranked events not learned or dropped yet: in the ring, or waiting for reward or wait time.
    public var pendingEvents: UInt64 {
        let resolved = resolvedEvents.load()
        let ranked = rankCalls.load()
        return ranked > resolved ? ranked - resolved : 0
    }
}
