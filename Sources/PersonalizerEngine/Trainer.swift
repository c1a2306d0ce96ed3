import Foundation
import PersonalizerModel
import Synchronization

/// A loop's trainer: the one owner of its mutable learning state (joiner and learner).
///
/// It drains the loop's ring in batches, joins ranks with rewards and activations, learns from
/// each event whose window closed, and every `modelUpdateIntervalSeconds` publishes an immutable
/// `ModelSnapshot` (version + 1) when it learned something since the last one.
///
/// Waking: the I/O thread never waits for the trainer, and does not wake it per event. While
/// events keep coming the trainer naps `drainInterval` between passes (a full ring half wakes it
/// early); after `idleThreshold` without events it sleeps until its next deadline and lets the
/// next event wake it (see `Parker`).
public final class Trainer: @unchecked Sendable {
    public let counters: LoopCounters
    let ring: SPSCRing<LoopEvent>
    let parker: Parker
    private let mailbox: SnapshotMailbox<ModelSnapshot>
    private let clock: EngineClock
    private let joiner: Joiner<RankedExample>
    private let learner: LinearLearner
    private let publishInterval: UInt64

    /// Set by the producer when it found the ring full; the trainer calls `onSpaceAvailable`
    /// after draining, so the producer resumes the connections it paused.
    let spaceWanted = Atomic<Bool>(false)
    private let onSpaceAvailable: @Sendable () -> Void

    private var version: UInt64
    private var nextPublish: UInt64
    private var learnedSincePublish = 0
    private var reportedJoinCounters = JoinCounters()

    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private var thread: Thread?

    static let drainBatch = 4096
    static let drainInterval: UInt64 = 1_000_000          // 1 ms between passes while busy
    static let idleThreshold: UInt64 = 50_000_000         // 50 ms without events: sleep deeply
    static let maximumSleep: UInt64 = 1_000_000_000

    init(settings: LoopSettings, policy: LearningPolicy, ring: SPSCRing<LoopEvent>, parker: Parker,
         mailbox: SnapshotMailbox<ModelSnapshot>, counters: LoopCounters, clock: EngineClock,
         learner: LinearLearner, initialVersion: UInt64, onSpaceAvailable: @escaping @Sendable () -> Void) {
        self.ring = ring
        self.parker = parker
        self.mailbox = mailbox
        self.counters = counters
        self.clock = clock
        self.joiner = Joiner(settings: settings.joinSettings)
        self.learner = learner
        self.publishInterval = max(1, settings.modelUpdateIntervalNanoseconds)
        self.version = initialVersion
        self.nextPublish = clock.nowNanoseconds() &+ publishInterval
        self.onSpaceAvailable = onSpaceAvailable
    }

    /// Starts the trainer thread.
    func start(name: String) {
        let thread = Thread { [self] in
            runUntilStopped()
            finished.signal()
        }
        thread.name = "trainer-\(name)"
        self.thread = thread
        thread.start()
    }

    /// Drains what is queued, then stops the thread and waits for it.
    func stop() {
        guard thread != nil else { return }
        stopping.store(true, ordering: .sequentiallyConsistent)
        parker.unpark()
        finished.wait()
        thread = nil
    }

    private func runUntilStopped() {
        var lastActivity = clock.nowNanoseconds()
        while true {
            let now = clock.nowNanoseconds()
            let drained = step(now: now)
            if stopping.load(ordering: .sequentiallyConsistent) {
                if ring.isEmpty { return }
                continue
            }
            if drained > 0 { lastActivity = now }
            let untilDeadline = nextWakeUp(after: now)
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

    /// Nanoseconds from `now` until the trainer has timed work: a window closing or a publication.
    private func nextWakeUp(after now: UInt64) -> UInt64 {
        var wake = Self.maximumSleep
        if let deadline = joiner.nextDeadline { wake = min(wake, deadline > now ? deadline - now : 0) }
        if learnedSincePublish > 0 { wake = min(wake, nextPublish > now ? nextPublish - now : 0) }
        return max(wake, 1)
    }

    /// One pass: drain the ring, close the windows due at `now`, publish if due.
    /// - Returns: events drained.
    @discardableResult
    public func step(now: UInt64) -> Int {
        var total = 0
        while true {
            let drained = ring.drain(limit: Self.drainBatch) { event in handle(event) }
            total += drained
            if spaceWanted.load(ordering: .sequentiallyConsistent),
               spaceWanted.exchange(false, ordering: .sequentiallyConsistent) {
                onSpaceAvailable()
            }
            if drained < Self.drainBatch { break }
        }
        joiner.advance(to: now, emit: learn)
        reportJoinCounters()
        if now >= nextPublish {
            if learnedSincePublish > 0 { publish(now: now) }
            nextPublish = now &+ publishInterval
        }
        return total
    }

    private func handle(_ event: consuming LoopEvent) {
        switch event {
        case .rank(let eventID, let time, let deferred, let example):
            joiner.rank(eventID: eventID, payload: example, deferred: deferred, at: time, emit: learn)
        case .reward(let eventID, let time, let value):
            joiner.reward(eventID: eventID, value: value, at: time, emit: learn)
        case .activate(let eventID, let time):
            joiner.activate(eventID: eventID, at: time, emit: learn)
        }
    }

    private func learn(_ event: JoinedEvent<RankedExample>) {
        let example = event.payload
        learner.learn(shared: example.shared, actions: example.actions, chosen: example.chosenIndex,
                      probability: example.probability, cost: -event.reward)
        learnedSincePublish += 1
        counters.learnedEvents.add()
        counters.resolvedEvents.add()
    }

    private func reportJoinCounters() {
        let now = joiner.counters
        let before = reportedJoinCounters
        guard now != before else { return }
        counters.unmatchedRewards.add(now.unmatchedRewards - before.unmatchedRewards)
        counters.unmatchedActivations.add(now.unmatchedActivations - before.unmatchedActivations)
        counters.droppedNotActivated.add(now.droppedNotActivated - before.droppedNotActivated)
        counters.resolvedEvents.add(now.droppedNotActivated - before.droppedNotActivated
            + now.duplicateRanks - before.duplicateRanks)
        reportedJoinCounters = now
    }

    private func publish(now: UInt64) {
        version += 1
        let snapshot = ModelSnapshot(version: version, model: learner.makeScoringModel(), publishedAtNanoseconds: now)
        mailbox.post(snapshot)
        counters.modelVersion.set(version)
        counters.publishedAtMilliseconds.set(now / 1_000_000)
        learnedSincePublish = 0
    }

    /// Events waiting in the joiner (trainer thread, or a test driving `step`).
    public var joinerPendingCount: Int { joiner.pendingCount }
}
