import Foundation
import PersonalizerModel
import Synchronization

/// A flag shared with the checkpoint queue.
final class AtomicFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set(_ newValue: Bool) { value.store(newValue, ordering: .releasing) }
}

/// A loop's trainer: the one owner of its mutable learning state (joiner and learner) and of
/// its files (event log and checkpoints).
///
/// It drains the loop's ring in batches; each event becomes a `LogRecord` that is appended to
/// the log and then applied — joined, learned from when its window closes — and every
/// `modelUpdateIntervalSeconds` it publishes an immutable `ModelSnapshot` (version + 1) when it
/// learned something since the last one. Its own decisions that change state (closing windows,
/// publishing) are logged too, so replaying the log through `apply` rebuilds the same model.
///
/// Waking: the I/O thread never waits for the trainer, and does not wake it per event. While
/// events keep coming the trainer naps `drainInterval` between passes (a half-full ring wakes it
/// early); after `idleThreshold` without events it sleeps until its next deadline and lets the
/// next event wake it (see `Parker`).
public final class Trainer: @unchecked Sendable {
    public let counters: LoopCounters
    let ring: RecordRing
    let parker: Parker
    private let mailbox: SnapshotMailbox<ModelSnapshot>
    private let clock: EngineClock
    let joiner: Joiner<EncodedExample>
    /// Where the example being learned is decoded, reused from one event to the next.
    private var exampleBuffers = ExampleBuffers()
    private(set) var learner: LinearLearner
    private let publishInterval: UInt64
    let store: LoopStore?

    /// Set by the producer when it found the ring full; the trainer calls `onSpaceAvailable`
    /// after draining, so the producer resumes the connections it paused.
    let spaceWanted = Atomic<Bool>(false)
    private let onSpaceAvailable: @Sendable () -> Void
    /// Called after events became durable (ack mode), to release their answers.
    private let onDurable: @Sendable () -> Void

    private(set) var version: UInt64 = 0
    private var nextPublish: UInt64
    private var learnedSincePublish: UInt64 = 0
    private var reportedJoinCounters = JoinCounters()
    private(set) var counts = TrainerCounts()
    /// Ring events taken so far; those up to `durableEvents` are on disk.
    private var eventsTaken: UInt64 = 0
    private var isReplaying = false
    /// Writing the log (or a checkpoint) fails; events stay in memory and are retried.
    private var writeFailing = false

    private let checkpointQueue = DispatchQueue(label: "personalizer.checkpoint")
    private let checkpointWriting = AtomicFlag()
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private var thread: Thread?
    private let log: @Sendable (String) -> Void

    static let drainBatch = 4096
    /// Events learned between hand-backs of ring room (about 1 ms of work).
    static let drainChunk = 256
    static let drainInterval: UInt64 = 1_000_000          // 1 ms between passes while busy
    static let idleThreshold: UInt64 = 50_000_000         // 50 ms without events: sleep deeply
    static let maximumSleep: UInt64 = 1_000_000_000
    static let storageRetryInterval: UInt64 = 100_000_000

    init(settings: LoopSettings, ring: RecordRing, parker: Parker,
         mailbox: SnapshotMailbox<ModelSnapshot>, counters: LoopCounters, clock: EngineClock,
         learner: LinearLearner, store: LoopStore?, log: @escaping @Sendable (String) -> Void,
         onSpaceAvailable: @escaping @Sendable () -> Void, onDurable: @escaping @Sendable () -> Void) {
        self.ring = ring
        self.parker = parker
        self.mailbox = mailbox
        self.counters = counters
        self.clock = clock
        self.joiner = Joiner(settings: settings.joinSettings)
        self.learner = learner
        self.publishInterval = max(1, settings.modelUpdateIntervalNanoseconds)
        self.store = store
        self.log = log
        self.nextPublish = clock.nowNanoseconds() &+ publishInterval
        self.onSpaceAvailable = onSpaceAvailable
        self.onDurable = onDurable
    }

    // MARK: thread

    /// Starts the trainer thread.
    func start(name: String) {
        let thread = Thread { [self] in
            Self.configureThread(name: "trainer-\(name)")
            runUntilStopped()
            finished.signal()
        }
        thread.name = "trainer-\(name)"
        self.thread = thread
        store?.syncer.start(name: name)
        thread.start()
    }

    /// Names the calling thread for `top -H` and `ps -L` (the system keeps 15 bytes), and lowers
    /// its priority: learning yields to serving. Ten nice levels below the I/O thread, a request that
    /// arrives while both want the same CPU is answered first; the ring between them absorbs the
    /// trainer's delay (and, once full, slows the I/O thread down: nothing is dropped).
    private static func configureThread(name: String) {
        #if os(Linux)
        let descriptor = open("/proc/thread-self/comm", O_WRONLY)
        if descriptor >= 0 {
            let bytes = Array(name.utf8.prefix(15))
            _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            close(descriptor)
        }
        // On Linux the nice value belongs to each thread, and who = 0 means the calling one.
        // Relative to the thread that started it (it inherits that thread's nice value).
        let inherited = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, min(19, inherited + 10))
        #endif
    }

    /// Drains what is queued, writes it and a checkpoint, then stops the thread and waits for it.
    func stop() {
        guard thread != nil else { return }
        stopping.store(true, ordering: .sequentiallyConsistent)
        parker.unpark()
        finished.wait()
        thread = nil
        store?.syncer.stop()
    }

    /// Fsyncs the log now, as the syncer thread does on its schedule (tests drive it this way).
    func syncLogNow() { store?.syncer.syncNow() }

    private func runUntilStopped() {
        var lastActivity = clock.nowNanoseconds()
        while true {
            let now = clock.nowNanoseconds()
            let drained = step(now: now)
            if stopping.load(ordering: .sequentiallyConsistent) {
                if ring.isEmpty {
                    finishStorage(now: clock.nowNanoseconds())
                    return
                }
                continue
            }
            if drained > 0 { lastActivity = now }
            if drained == Self.drainBatch { continue }  // more is waiting: next pass at once
            var untilDeadline = nextWakeUp(after: now)
            if writeFailing || (store?.log.pendingCount ?? 0) > 0 {
                untilDeadline = min(untilDeadline, Self.storageRetryInterval)
            }
            if now &- lastActivity < Self.idleThreshold {
                parker.park(timeoutNanoseconds: min(Self.drainInterval, untilDeadline))
            } else {
                parker.prepareToSleep()
                if !ring.isEmpty || stopping.load(ordering: .sequentiallyConsistent) {
                    parker.cancelSleep()
                    continue
                }
                parker.park(timeoutNanoseconds: min(Self.maximumSleep, untilDeadline))
            }
        }
    }

    /// Nanoseconds from `now` until the trainer has timed work: a window closing, a publication,
    /// an fsync due, a checkpoint due.
    private func nextWakeUp(after now: UInt64) -> UInt64 {
        var wake = Self.maximumSleep
        func until(_ time: UInt64) -> UInt64 { time > now ? time - now : 0 }
        if let deadline = joiner.nextDeadline { wake = min(wake, until(deadline)) }
        if learnedSincePublish > 0 { wake = min(wake, until(nextPublish)) }
        if let store, eventsSinceCheckpoint > 0 {
            wake = min(wake, until(store.lastCheckpoint &+ store.checkpointInterval))
        }
        return max(wake, 1)
    }

    // MARK: one pass

    /// One pass: drain at most `drainBatch` events, close the windows due at `now`, publish if
    /// due, then commit the log (and checkpoint, and apply retention) when due. A pass is bounded
    /// so that under a stream that never lets the ring empty, events still reach the log and
    /// windows still close on time, and the log's pending buffer stays at one batch.
    /// - Returns: events drained (`drainBatch` means more may be waiting).
    @discardableResult
    public func step(now: UInt64) -> Int {
        var drained = 0
        while drained < Self.drainBatch {
            let chunk = min(Self.drainChunk, Self.drainBatch - drained)
            let taken = ring.drain(limit: chunk) { record in take(record) }
            drained += taken
            // Room is handed back chunk by chunk, so a producer paused on a full ring resumes
            // after a chunk's worth of learning, not after the whole batch's (milliseconds).
            if spaceWanted.load(ordering: .sequentiallyConsistent),
               spaceWanted.exchange(false, ordering: .sequentiallyConsistent) {
                onSpaceAvailable()
            }
            if taken < chunk { break }
        }
        if let deadline = joiner.nextDeadline, deadline <= now {
            record(.advance(time: now))
        }
        reportJoinCounters()
        if now >= nextPublish {
            if learnedSincePublish > 0 { record(.published(version: version + 1, time: now)) }
            nextPublish = now &+ publishInterval
        }
        commitStorage(now: now)
        return drained
    }

    /// An event from the ring, encoded by the I/O thread as its log record: logged as it is,
    /// then decoded (without the export data, which learning does not use) and applied like a
    /// replayed one.
    private func take(_ encoded: UnsafeRawBufferPointer) {
        eventsTaken += 1
        let entry: LogRecord
        do {
            entry = try LogRecord.decode(encoded, includingExport: false)
        } catch {
            preconditionFailure("the ring holds a record its producer did not encode: \(error)")
        }
        store?.log.append(encoded: encoded, time: entry.time)
        apply(entry)
    }

    /// Appends `entry` to the log (unless replaying it) and applies it.
    private func record(_ entry: LogRecord) {
        if !isReplaying { store?.log.append(entry) }
        apply(entry)
    }

    /// The one place state changes: live records and replayed ones go through here alike.
    private func apply(_ entry: LogRecord) {
        applyingTime = entry.time
        switch entry {
        case .rank(let eventID, let time, let deferred, let example, _, let overCapacity):
            counts.ranks += 1
            if overCapacity {
                // Answered and logged, never joined: learning is saturated.
                counts.overCapacity += 1
                counters.overCapacityEvents.set(counts.overCapacity)
                if !isReplaying {
                    store?.log.append(.outcome(eventID: eventID, time: time, reward: 0, rewarded: false, learned: false))
                }
                joiner.advance(to: time, emit: { learn($0) })
            } else {
                joiner.rank(eventID: eventID, payload: example, deferred: deferred, at: time, emit: { learn($0) })
            }
        case .reward(let eventID, let time, let value):
            counts.rewards += 1
            joiner.reward(eventID: eventID, value: value, at: time, emit: { learn($0) })
        case .activate(let eventID, let time):
            counts.activations += 1
            joiner.activate(eventID: eventID, at: time, emit: { learn($0) })
        case .advance(let time):
            joiner.advance(to: time, emit: { learn($0) })
        case .published(let newVersion, let time):
            version = newVersion
            learnedSincePublish = 0
            if !isReplaying { publishSnapshot(time: time) }
        case .outcome:
            break  // a consequence of the records before it; kept for export and audit
        }
    }

    /// The time of the record being applied: an event's window closes at the first record at
    /// or after its deadline, and its outcome is logged with that record's time (no clock read
    /// per event, and a replay gives the same).
    private var applyingTime: UInt64 = 0

    private func learn(_ event: JoinedEvent<EncodedExample>) {
        if !isReplaying {
            store?.log.append(.outcome(eventID: event.eventID, time: applyingTime, reward: event.reward,
                                       rewarded: event.wasRewarded, learned: !event.isDropped))
        }
        guard !event.isDropped else { return }
        let (chosen, probability) = event.payload.decode(into: &exampleBuffers,
                                                         chosenActionOnly: learner.learnsFromChosenActionOnly)
        exampleBuffers.withBlocks { shared, actions in
            learner.learn(shared: shared, actions: actions, chosen: chosen, probability: probability, cost: -event.reward)
        }
        learnedSincePublish += 1
        counts.learned += 1  // published once per pass (syncResolvedCounter), not per event
    }

    private func reportJoinCounters() {
        let now = joiner.counters
        let before = reportedJoinCounters
        if now != before {
            counters.unmatchedRewards.add(now.unmatchedRewards - before.unmatchedRewards)
            counters.unmatchedActivations.add(now.unmatchedActivations - before.unmatchedActivations)
            counters.droppedNotActivated.add(now.droppedNotActivated - before.droppedNotActivated)
            reportedJoinCounters = now
        }
        syncResolvedCounter()
    }

    /// Ranked events done with: learned, dropped, or refused as duplicates; then the learned
    /// ones, which are among them (so a Status never shows more learned than resolved).
    private func syncResolvedCounter() {
        let joinCounters = joiner.counters
        counters.resolvedEvents.set(counts.learned + counts.overCapacity + joinCounters.droppedNotActivated
            + joinCounters.duplicateRanks)
        counters.learnedEvents.set(counts.learned)
    }

    private func publishSnapshot(time: UInt64) {
        let snapshot = ModelSnapshot(version: version, model: learner.makeScoringModel(), publishedAtNanoseconds: time)
        mailbox.post(snapshot)
        counters.modelVersion.set(version)
        counters.publishedAtMilliseconds.set(time / 1_000_000)
    }

    // MARK: storage

    private var eventsSinceCheckpoint: UInt64 = 0

    /// Writes what this pass logged (one `write`: a killed process keeps it) and tells the
    /// syncer, which fsyncs on its own thread; then checkpoints and applies retention when due.
    /// A failed write is reported once, shown in Status and retried; the events stay in memory.
    private func commitStorage(now: UInt64) {
        guard let store else {
            counters.durableEvents.set(eventsTaken)
            return
        }
        let log = store.log
        if log.pendingCount > 0 {
            do {
                try log.write(sync: false)
                eventsSinceCheckpoint += 1
                if writeFailing {
                    writeFailing = false
                    counters.storageError.set(nil)
                    self.log("writing the event log works again: \(log.directory)")
                }
                counters.logBytes.set(UInt64(max(0, log.totalBytes)))
            } catch {
                if !writeFailing {
                    self.log("writing the event log fails; events are kept in memory and retried: \(error)")
                }
                writeFailing = true
                counters.storageError.set(error.description)
                return
            }
        }
        store.syncer.noteWritten(events: eventsTaken)
        maybeCheckpoint(now: now)
    }

    private func maybeCheckpoint(now: UInt64) {
        guard let store, !writeFailing else { return }
        if eventsSinceCheckpoint > 0, now &- store.lastCheckpoint >= store.checkpointInterval {
            writeCheckpoint(now: now, wait: false)
        }
        if now &- store.lastRetentionCheck >= LoopStore.retentionCheckInterval {
            applyRetention(now: now)
        }
    }

    /// Saves the complete learning state at the log's current end. The state is captured here,
    /// on the trainer thread (a copy: milliseconds); the file is written and fsynced on a
    /// background queue unless `wait`, so the trainer does not stall behind the disk.
    func writeCheckpoint(now: UInt64, wait: Bool = true) {
        guard let store else { return }
        if checkpointWriting.isSet {
            guard wait else { return }  // the previous one is still being written: next pass
            checkpointQueue.sync {}
        }
        let checkpoint: LoopCheckpoint
        do {
            try store.log.write(sync: false)
            checkpoint = LoopCheckpoint(
                position: store.log.writtenPosition, modelVersion: version, learnedSincePublish: learnedSincePublish,
                learnerState: learner.serializedState(), joinCounters: joiner.counters,
                pending: joiner.pendingEvents().map {
                    LoopCheckpoint.PendingJoinRecord(eventID: $0.eventID, example: $0.payload, deadline: $0.deadline,
                                                     reward: $0.reward, rewardCount: $0.rewardCount,
                                                     isDeferred: $0.isDeferred, isActivated: $0.isActivated)
                },
                counts: counts)
        } catch {
            log("checkpoint failed (will retry): \(error)")
            writeFailing = true
            counters.storageError.set(error.description)
            return
        }
        store.syncer.noteWritten(events: eventsTaken)
        store.lastCheckpoint = now
        eventsSinceCheckpoint = 0
        checkpointWriting.set(true)
        let checkpoints = store.checkpoints
        let syncer = store.syncer
        let counters = counters
        let log = log
        let writing = checkpointWriting
        let save: @Sendable () -> Void = {
            do throws(StorageError) {
                // The checkpoint may only point at log records that are on disk.
                guard syncer.syncNow() else { throw StorageError(message: "syncing the event log before a checkpoint failed") }
                try checkpoints.write(checkpoint)
            } catch {
                log("checkpoint failed (will retry): \(error)")
                counters.storageError.set(error.description)
            }
            writing.set(false)
        }
        if wait { checkpointQueue.sync(execute: save) } else { checkpointQueue.async(execute: save) }
    }

    /// Deletes log segments older than the retention period that no kept checkpoint needs.
    func applyRetention(now: UInt64) {
        guard let store else { return }
        store.lastRetentionCheck = now
        let keepFrom = store.checkpoints.positions().first ?? store.log.startPosition
        let cutoff = now > store.retention ? now - store.retention : 0
        let deleted = store.log.deleteSegments(newestBefore: cutoff, keepFrom: keepFrom)
        if !deleted.isEmpty { log("retention: deleted \(deleted.count) log segment(s) older than the retention period") }
        counters.oldestEventMilliseconds.set((store.log.oldestRecordTime() ?? 0) / 1_000_000)
        counters.logBytes.set(UInt64(max(0, store.log.totalBytes)))
    }

    private func finishStorage(now: UInt64) {
        guard let store else { return }
        commitStorage(now: now)
        store.syncer.syncNow()
        if !writeFailing { writeCheckpoint(now: now) }
    }

    // MARK: recovery

    /// Rebuilds the state of the last run: the checkpoint's, then the log after it.
    /// - Returns: what recovery found and repaired, for the server's log.
    func recover() throws(StorageError) -> [String] {
        guard let store else { return [] }
        var notes = store.log.recoveryNotes
        let (checkpoint, checkpointNotes) = store.checkpoints.loadNewest()
        notes += checkpointNotes
        var position = store.log.startPosition
        if let checkpoint {
            do {
                learner = try LinearLearner(policy: learner.policy, restoring: checkpoint.learnerState)
            } catch {
                throw StorageError(message: "the checkpoint in \(store.checkpoints.directory) does not fit the "
                    + "loop's learningPolicy (\(error)); restore the old policy or move the loop's folder away")
            }
            joiner.restore(pending: checkpoint.pending.map {
                PendingJoin(eventID: $0.eventID, payload: $0.example, deadline: $0.deadline, reward: $0.reward,
                            rewardCount: $0.rewardCount, isDeferred: $0.isDeferred, isActivated: $0.isActivated)
            }, counters: checkpoint.joinCounters)
            version = checkpoint.modelVersion
            learnedSincePublish = checkpoint.learnedSincePublish
            counts = checkpoint.counts
            position = checkpoint.position
        }
        isReplaying = true
        var replayed = 0
        notes += try store.log.replay(from: position) { _, entry in
            apply(entry)
            replayed += 1
        }
        isReplaying = false
        if checkpoint != nil || replayed > 0 {
            notes.append("recovered model version \(version), \(counts.learned) events learned, "
                + "\(joiner.pendingCount) pending (checkpoint: \(checkpoint == nil ? "none" : "\(position)"), "
                + "\(replayed) log records replayed)")
        }
        // What Status reports continues from here (reportJoinCounters also publishes the
        // resolved and learned counts).
        counters.rankCalls.set(counts.ranks)
        counters.rewardCalls.set(counts.rewards)
        counters.activateCalls.set(counts.activations)
        reportedJoinCounters = JoinCounters()
        reportJoinCounters()
        counters.modelVersion.set(version)
        counters.logBytes.set(UInt64(max(0, store.log.totalBytes)))
        counters.oldestEventMilliseconds.set((store.log.oldestRecordTime() ?? 0) / 1_000_000)
        counters.lastSyncMilliseconds.set(store.log.lastModifiedNanoseconds / 1_000_000)
        store.syncer.markDurable(events: 0)
        store.lastCheckpoint = clock.nowNanoseconds()
        eventsSinceCheckpoint = replayed > 0 ? 1 : 0
        return notes
    }

    /// The event ids still pending after recovery, with the end of their windows.
    func pendingWindows() -> [(eventID: String, deadline: UInt64)] {
        joiner.pendingEvents().map { ($0.eventID, $0.deadline) }
    }
}
