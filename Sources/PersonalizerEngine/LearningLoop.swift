import PersonalizerModel

/// One independent learning loop: its settings, ring, trainer, published snapshots and counters.
public final class LearningLoop: @unchecked Sendable {
    public let name: String
    public let settings: LoopSettings
    public let policy: LearningPolicy
    public let counters = LoopCounters()
    /// The token requests must carry, when the loop has one.
    public let tokenBytes: [UInt8]?
    public let producer: LoopProducer
    let trainer: Trainer

    /// Builds the loop; with a `dataDirectory`, recovers its state from the checkpoint and log
    /// under `dataDirectory/loops/NAME/` (and from then on logs every event there).
    /// - Parameters:
    ///   - onSpaceAvailable: called on the trainer thread when the ring, found full by the
    ///     producer, has room again; must hand over to the I/O thread (e.g. a libuv async wake-up).
    ///   - onDurable: called on the trainer thread when events became durable in `ack` mode.
    ///   - log: where recovery notes and storage trouble are reported.
    ///   - ringCapacity: events in flight between the I/O thread and the trainer at most.
    ///   - ringBytes: bytes of encoded events in flight at most (rounded up, and at least
    ///     twice the largest record a request within `limits` makes).
    public init(name: String, settings: LoopSettings, ringCapacity: Int, ringBytes: Int = 16 << 20,
                dataDirectory: String? = nil,
                clock: EngineClock = SystemClock(), fileOperations: FileOperations = .system,
                log: @escaping @Sendable (String) -> Void = { _ in },
                onSpaceAvailable: @escaping @Sendable () -> Void = {},
                onDurable: @escaping @Sendable () -> Void = {}) throws(LoopStartError) {
        self.name = name
        self.settings = settings
        tokenBytes = settings.token.map { Array($0.utf8) }
        do {
            policy = try settings.effectivePolicy()
        } catch {
            throw .configuration(ConfigurationError("loops.\(name).\(error.description)"))
        }
        let ring = RecordRing(byteCapacity: ringBytes, recordCapacity: ringCapacity)
        let parker = Parker()
        let mailbox = SnapshotMailbox<ModelSnapshot>()
        var store: LoopStore?
        if let dataDirectory, settings.durability != .off {
            do {
                store = try LoopStore(directory: "\(dataDirectory)/loops/\(name)", settings: settings,
                                      operations: fileOperations, counters: counters, clock: clock,
                                      log: { log("loop \(name): \($0)") }, onDurable: onDurable)
            } catch {
                throw .storage(name, error)
            }
        }
        trainer = Trainer(settings: settings, ring: ring, parker: parker, mailbox: mailbox, counters: counters,
                          clock: clock, learner: LinearLearner(policy: policy), store: store,
                          log: { log("loop \(name): \($0)") },
                          onSpaceAvailable: onSpaceAvailable, onDurable: onDurable)
        do {
            for note in try trainer.recover() { log("loop \(name): \(note)") }
        } catch {
            throw .storage(name, error)
        }
        let initial = ModelSnapshot(version: trainer.version, model: trainer.learner.makeScoringModel(),
                                    publishedAtNanoseconds: 0)
        producer = LoopProducer(ring: ring, parker: parker, trainer: trainer, counters: counters,
                                reader: SnapshotReader(initial: initial, mailbox: mailbox),
                                rewardWaitNanoseconds: settings.joinSettings.rewardWaitNanoseconds,
                                durability: settings.durability, isLogging: store != nil)
        for window in trainer.pendingWindows() { producer.restorePending(window.eventID, deadline: window.deadline) }
    }

    public func start() { trainer.start(name: name) }

    /// Lets the trainer drain what was queued, then stops it.
    public func stop() { trainer.stop() }

    /// Runs trainer passes on the caller's thread until the ring is drained (tests drive loops
    /// this way, with their clock). The log's fsync runs here too, as the syncer thread would.
    @discardableResult
    public func trainerStep(now: UInt64) -> Int {
        var drained = 0
        while true {
            let pass = trainer.step(now: now)
            drained += pass
            if pass < Trainer.drainBatch { break }
        }
        trainer.syncLogNow()
        return drained
    }

    /// Writes a checkpoint now (tests; the trainer does it on its own schedule and at stop).
    public func checkpoint(now: UInt64) { trainer.writeCheckpoint(now: now) }

    /// Applies the retention period now (tests; the trainer does it every minute).
    public func applyRetention(now: UInt64) { trainer.applyRetention(now: now) }

    /// The learner's state (tests compare models bit for bit).
    public func learnerState() -> [UInt8] { trainer.learner.serializedState() }
}

/// Why a loop could not start.
public enum LoopStartError: Error, CustomStringConvertible {
    case configuration(ConfigurationError)
    case storage(String, StorageError)

    public var description: String {
        switch self {
        case .configuration(let error): error.description
        case .storage(let loop, let error): "loop \(loop): \(error)"
        }
    }
}

/// The I/O thread's side of a loop: reads the current snapshot, queues events (encoded as
/// their log records, straight into the ring), remembers which event ids are pending. Used by
/// one thread only.
public final class LoopProducer: @unchecked Sendable {
    private let ring: RecordRing
    private let parker: Parker
    private unowned let trainer: Trainer
    private let counters: LoopCounters
    private let reader: SnapshotReader<ModelSnapshot>
    private let pendingIDs = PendingEventIDs()
    private let rewardWaitNanoseconds: UInt64
    /// Events submitted so far; the n-th is durable once `counters.durableEvents` reaches n.
    public private(set) var submittedEvents: UInt64
    /// Answers wait for the disk (`ack` durability).
    public let answersWaitForDisk: Bool
    /// Whether Rank events carry the request for the log (so it can be exported).
    public let isLogging: Bool

    init(ring: RecordRing, parker: Parker, trainer: Trainer, counters: LoopCounters,
         reader: SnapshotReader<ModelSnapshot>, rewardWaitNanoseconds: UInt64, durability: DurabilityMode,
         isLogging: Bool) {
        self.ring = ring
        self.parker = parker
        self.trainer = trainer
        self.counters = counters
        self.reader = reader
        self.rewardWaitNanoseconds = rewardWaitNanoseconds
        self.answersWaitForDisk = durability == .ack && isLogging
        self.isLogging = isLogging
        submittedEvents = counters.durableEvents.load()
    }

    func restorePending(_ eventID: String, deadline: UInt64) {
        var eventID = eventID
        eventID.withUTF8 { pendingIDs.insert(EventIDDigest(UnsafeRawBufferPointer($0)), deadline: deadline) }
    }

    /// Whether the `ordinal`-th submitted event is durable.
    @inline(__always)
    public func isDurable(_ ordinal: UInt64) -> Bool { counters.durableEvents.load() >= ordinal }

    /// The storage failure in effect, if any.
    public var storageError: String? { counters.currentStorageError }

    /// Runs `body` with the newest published model, borrowed (see `SnapshotReader.withLatest`).
    @inline(__always)
    public func withSnapshot<R>(_ body: (ModelSnapshot) throws -> R) rethrows -> R {
        try reader.withLatest(body)
    }

    /// The largest event the ring takes, in bytes.
    public var maxEventBytes: Int { ring.maxRecordBytes }

    /// Whether an event of `bytes` (as `rankBytes`, `rewardBytes`... measure it) fits. When
    /// it does not, the trainer is asked to call back once it has drained (`onSpaceAvailable`)
    /// and the stall is counted; the caller pauses the connection and retries the same request
    /// then.
    public func reserve(bytes: Int) -> Bool {
        if ring.hasRoom(for: bytes) { return true }
        trainer.spaceWanted.store(true, ordering: .sequentiallyConsistent)
        parker.unpark()
        // The trainer may have drained between the check and the flag: look again.
        if ring.hasRoom(for: bytes) { return true }
        counters.backpressureStalls.add()
        return false
    }

    /// Whether a Rank may use the event id of `digest` now (no open window has it).
    public func isPending(_ digest: EventIDDigest, now: UInt64) -> Bool {
        pendingIDs.contains(digest, now: now)
    }

    // MARK: events (each after a successful `reserve(bytes:)` of its size)

    /// Bytes of a Rank event.
    public static func rankBytes(eventID: UnsafeRawBufferPointer, example: RankedExampleView,
                                 export: RankExportBytes?) -> Int {
        var counter = ByteCounter()
        LogRecord.encodeRank(eventID: eventID, time: 0, deferred: false, overCapacity: false, example: example,
                             export: export, into: &counter)
        return counter.count
    }

    /// Queues a Rank. `overCapacity`: ranked past `maxPendingEvents`, logged but not learned from.
    /// `digest` is the event id's (`EventIDDigest(eventID)`), as checked with `isPending`;
    /// `size`, what `rankBytes` gave when its room was reserved (the chosen action, probability
    /// and model version are fixed-width, so it can be measured before the decision).
    public func submitRank(eventID: UnsafeRawBufferPointer, digest: EventIDDigest, size: Int, time: UInt64,
                           deferred: Bool, overCapacity: Bool, example: RankedExampleView, export: RankExportBytes?) {
        assert(size == Self.rankBytes(eventID: eventID, example: example, export: export), "stale Rank event size")
        if !overCapacity { pendingIDs.insert(digest, deadline: time &+ rewardWaitNanoseconds) }
        counters.rankCalls.add()
        ring.push(size) { region in
            var writer = RawBinaryWriter(region)
            LogRecord.encodeRank(eventID: eventID, time: time, deferred: deferred, overCapacity: overCapacity,
                                 example: example, export: export, into: &writer)
        }
        didSubmit()
    }

    /// Bytes of a Reward event.
    public static func rewardBytes(eventID: UnsafeRawBufferPointer) -> Int {
        var counter = ByteCounter()
        LogRecord.encodeReward(eventID: eventID, time: 0, value: 0, into: &counter)
        return counter.count
    }

    public func submitReward(eventID: UnsafeRawBufferPointer, time: UInt64, value: Double) {
        counters.rewardCalls.add()
        ring.push(Self.rewardBytes(eventID: eventID)) { region in
            var writer = RawBinaryWriter(region)
            LogRecord.encodeReward(eventID: eventID, time: time, value: value, into: &writer)
        }
        didSubmit()
    }

    /// Bytes of an Activate event.
    public static func activateBytes(eventID: UnsafeRawBufferPointer) -> Int {
        var counter = ByteCounter()
        LogRecord.encodeActivate(eventID: eventID, time: 0, into: &counter)
        return counter.count
    }

    public func submitActivate(eventID: UnsafeRawBufferPointer, time: UInt64) {
        counters.activateCalls.add()
        ring.push(Self.activateBytes(eventID: eventID)) { region in
            var writer = RawBinaryWriter(region)
            LogRecord.encodeActivate(eventID: eventID, time: time, into: &writer)
        }
        didSubmit()
    }

    /// Queues an event given as a log record (tests and tools; the server uses the calls above).
    /// - Returns: false when the ring is full; nothing was queued.
    @discardableResult
    public func submit(_ record: LogRecord) -> Bool {
        var counter = ByteCounter()
        record.encode(into: &counter)
        guard reserve(bytes: counter.count) else { return false }
        switch record {
        case .rank(let eventID, let time, _, _, _, let overCapacity):
            var eventID = eventID
            if !overCapacity {
                eventID.withUTF8 {
                    pendingIDs.insert(EventIDDigest(UnsafeRawBufferPointer($0)), deadline: time &+ rewardWaitNanoseconds)
                }
            }
            counters.rankCalls.add()
        case .reward:
            counters.rewardCalls.add()
        case .activate:
            counters.activateCalls.add()
        case .advance, .published, .outcome:
            preconditionFailure("only Rank, Reward and Activate come from clients")
        }
        ring.push(counter.count) { region in
            var writer = RawBinaryWriter(region)
            record.encode(into: &writer)
        }
        didSubmit()
        return true
    }

    @inline(__always)
    private func didSubmit() {
        submittedEvents += 1
        parker.wakeIfSleeping()
        if ring.producerCount == ring.recordCapacity / 2 { parker.unpark() }
    }
}
