import PersonalizerModel

/// One independent learning loop: its settings, ring, trainer, published snapshots and counters.
public final class LearningLoop: @unchecked Sendable {
    public let name: String
    public let settings: LoopSettings
    public let policy: LearningPolicy
    public let counters = LoopCounters()
    public let producer: LoopProducer
    let trainer: Trainer

    /// - Parameter onSpaceAvailable: called on the trainer thread when the ring, found full by the
    ///   producer, has room again; must hand over to the I/O thread (e.g. a libuv async wake-up).
    public init(name: String, settings: LoopSettings, ringCapacity: Int, clock: EngineClock = SystemClock(),
                onSpaceAvailable: @escaping @Sendable () -> Void) throws(ConfigurationError) {
        self.name = name
        self.settings = settings
        do {
            policy = try settings.effectivePolicy()
        } catch {
            throw ConfigurationError("loops.\(name).\(error.description)")
        }
        let ring = SPSCRing<LoopEvent>(capacity: ringCapacity)
        let parker = Parker()
        let mailbox = SnapshotMailbox<ModelSnapshot>()
        let learner = LinearLearner(policy: policy)
        let initial = ModelSnapshot(version: 0, model: learner.makeScoringModel(), publishedAtNanoseconds: 0)
        trainer = Trainer(settings: settings, policy: policy, ring: ring, parker: parker, mailbox: mailbox,
                          counters: counters, clock: clock, learner: learner, initialVersion: 0,
                          onSpaceAvailable: onSpaceAvailable)
        producer = LoopProducer(ring: ring, parker: parker, trainer: trainer, counters: counters,
                                reader: SnapshotReader(initial: initial, mailbox: mailbox),
                                rewardWaitNanoseconds: settings.joinSettings.rewardWaitNanoseconds)
    }

    public func start() { trainer.start(name: name) }

    /// Lets the trainer drain what was queued, then stops it.
    public func stop() { trainer.stop() }

    /// Runs one trainer pass on the caller's thread (tests drive loops this way, with their clock).
    @discardableResult
    public func trainerStep(now: UInt64) -> Int { trainer.step(now: now) }
}

/// The I/O thread's side of a loop: reads the current snapshot, queues events, remembers which
/// event ids are pending. Used by one thread only.
public final class LoopProducer: @unchecked Sendable {
    private let ring: SPSCRing<LoopEvent>
    private let parker: Parker
    private unowned let trainer: Trainer
    private let counters: LoopCounters
    private let reader: SnapshotReader<ModelSnapshot>
    private var pendingIDs = PendingEventIDs()
    private let rewardWaitNanoseconds: UInt64

    init(ring: SPSCRing<LoopEvent>, parker: Parker, trainer: Trainer, counters: LoopCounters,
         reader: SnapshotReader<ModelSnapshot>, rewardWaitNanoseconds: UInt64) {
        self.ring = ring
        self.parker = parker
        self.trainer = trainer
        self.counters = counters
        self.reader = reader
        self.rewardWaitNanoseconds = rewardWaitNanoseconds
    }

    /// The newest published model.
    @inline(__always)
    public func snapshot() -> ModelSnapshot { reader.latest() }

    /// Whether one more event fits. When it does not, the trainer is asked to call back once it
    /// has drained (`onSpaceAvailable`) and the stall is counted; the caller pauses the
    /// connection and retries the same request then.
    public func reserveSlot() -> Bool {
        if ring.producerCount < ring.capacity { return true }
        trainer.spaceWanted.store(true, ordering: .sequentiallyConsistent)
        parker.unpark()
        // The trainer may have drained between the check and the flag: look again.
        if ring.producerCount < ring.capacity { return true }
        counters.backpressureStalls.add()
        return false
    }

    /// Whether a Rank may use `eventID` now (no open window has it).
    public func isPending(_ eventID: String, now: UInt64) -> Bool {
        pendingIDs.contains(eventID, now: now)
    }

    /// Queues an event after a successful `reserveSlot()`.
    public func submit(_ event: LoopEvent) {
        switch event {
        case .rank(let eventID, let time, _, _):
            pendingIDs.insert(eventID, deadline: time &+ rewardWaitNanoseconds)
            counters.rankCalls.add()
        case .reward:
            counters.rewardCalls.add()
        case .activate:
            counters.activateCalls.add()
        }
        let pushed = ring.tryPush(event)
        precondition(pushed, "submit without a reserved slot")
        parker.wakeIfSleeping()
        if ring.producerCount == ring.capacity / 2 { parker.unpark() }
    }

    /// Event ids the I/O thread considers pending.
    public var pendingIDCount: Int { pendingIDs.count }
}
