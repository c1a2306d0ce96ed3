#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// The descriptor of the segment being written, shared between the trainer (which writes and
/// rotates segments) and the syncer (which fsyncs a duplicate of it, so a rotation never
/// closes a descriptor under its feet).
final class SharedDescriptor: Sendable {
    private let value = Mutex<Int32>(-1)

    func replace(with descriptor: Int32) -> Int32 {
        value.withLock { current in
            let previous = current
            current = descriptor
            return previous
        }
    }

    /// A duplicate the caller closes, or -1.
    func duplicate() -> Int32 { value.withLock { $0 >= 0 ? dup($0) : -1 } }
}

/// Makes a loop's written log records durable off the trainer thread: group commit.
///
/// The trainer `write`s each pass's records (so a killed process loses only what was not
/// written yet) and reports how many ring events those records cover; this thread fsyncs and
/// publishes that count as `durableEvents`. In `interval` mode it syncs every
/// `fsyncIntervalMilliseconds` when something new was written; in `ack` mode as soon as
/// something was, so every sync commits all the events that arrived meanwhile, and then wakes
/// the I/O thread to release their answers.
final class LogSyncer: @unchecked Sendable {
    private let descriptor: SharedDescriptor
    private let operations: FileOperations
    private let counters: LoopCounters
    private let mode: DurabilityMode
    private let interval: UInt64
    private let clock: EngineClock
    private let log: @Sendable (String) -> Void
    private let onDurable: @Sendable () -> Void
    private let written = Atomic<UInt64>(0)
    private let parker = Parker()
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private var thread: Thread?
    /// Serializes fsyncs from this thread and from a checkpoint writer.
    private let syncLock = Mutex<UInt64>(0)
    private let failing = Atomic<Bool>(false)
    /// Under `syncLock`.
    private var pageRelease = SyncedPageRelease()
    static let retryInterval: UInt64 = 100_000_000

    init(descriptor: SharedDescriptor, operations: FileOperations, counters: LoopCounters, mode: DurabilityMode,
         interval: UInt64, clock: EngineClock, log: @escaping @Sendable (String) -> Void,
         onDurable: @escaping @Sendable () -> Void) {
        self.descriptor = descriptor
        self.operations = operations
        self.counters = counters
        self.mode = mode
        self.interval = max(interval, 1_000_000)
        self.clock = clock
        self.log = log
        self.onDurable = onDurable
    }

    /// Trainer: records covering the first `events` ring events have been written.
    func noteWritten(events: UInt64) {
        written.store(events, ordering: .releasing)
        if mode == .ack { parker.wakeIfSleeping() }
    }

    /// Trainer at start-up: everything before `events` is already on disk.
    func markDurable(events: UInt64) {
        written.store(events, ordering: .releasing)
        syncLock.withLock { $0 = events }
        counters.durableEvents.set(events)
    }

    func start(name: String) {
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "log-sync-\(name)"
        self.thread = thread
        thread.start()
    }

    func stop() {
        guard thread != nil else { return }
        stopping.store(true, ordering: .sequentiallyConsistent)
        parker.unpark()
        finished.wait()
        thread = nil
    }

    private func run() {
        while !stopping.load(ordering: .sequentiallyConsistent) {
            let wanted = written.load(ordering: .acquiring)
            let ok = wanted > syncLock.withLock({ $0 }) ? syncNow() : true
            var wait = mode == .ack ? Self.retryInterval : interval
            if !ok { wait = Self.retryInterval }
            if mode == .ack && ok {
                parker.prepareToSleep()
                if written.load(ordering: .acquiring) > syncLock.withLock({ $0 }) || stopping.load(ordering: .sequentiallyConsistent) {
                    parker.cancelSleep()
                    continue
                }
            }
            parker.park(timeoutNanoseconds: wait)
        }
    }

    /// Fsyncs what has been written and publishes it; any thread. Returns false on failure.
    @discardableResult
    func syncNow() -> Bool {
        syncLock.withLock { synced in
            let wanted = written.load(ordering: .acquiring)
            let handle = descriptor.duplicate()
            guard handle >= 0 else { return false }
            defer { close(handle) }
            let mark = SyncedPageRelease.mark(handle)
            guard operations.fsync(handle) == 0 else {
                let reason = String(cString: strerror(errno))
                counters.syncError.set("syncing the event log: \(reason)")
                if !failing.exchange(true, ordering: .relaxed) { log("log sync failing, will retry: \(reason)") }
                return false
            }
            if failing.exchange(false, ordering: .relaxed) {
                counters.syncError.set(nil)
                log("log sync recovered")
            }
            counters.lastSyncMilliseconds.set(clock.nowNanoseconds() / 1_000_000)
            if let mark { pageRelease.release(handle, upTo: mark) }
            if wanted > synced {
                synced = wanted
                counters.durableEvents.set(wanted)
                if mode == .ack { onDurable() }
            }
            return true
        }
    }
}
