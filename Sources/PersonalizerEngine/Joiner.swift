/// How the rewards of one event within its window combine.
public enum RewardAggregation: String, Sendable, CaseIterable {
    /// The first reward counts; later ones are ignored.
    case earliest
    /// All rewards within the window are added up.
    case sum
}

/// The joiner's part of a loop's settings.
public struct JoinSettings: Sendable, Equatable {
    public var rewardWaitNanoseconds: UInt64
    public var defaultReward: Double
    public var aggregation: RewardAggregation
    /// Learn an event at its first reward instead of when its window closes (`earliest` only).
    /// Faster, but biased toward actions whose rewards come quickly.
    public var learnOnFirstReward: Bool

    public init(rewardWaitNanoseconds: UInt64, defaultReward: Double = 0,
                aggregation: RewardAggregation = .earliest, learnOnFirstReward: Bool = false) {
        self.rewardWaitNanoseconds = rewardWaitNanoseconds
        self.defaultReward = defaultReward
        self.aggregation = aggregation
        self.learnOnFirstReward = learnOnFirstReward
    }
}

/// A ranked event whose window closed: with its final reward, ready to learn from, or dropped.
public struct JoinedEvent<Payload> {
    public var eventID: String
    public var payload: Payload
    public var reward: Double
    /// False when no reward came and `defaultReward` was used.
    public var wasRewarded: Bool
    /// A deferred event that was never activated: not to be learned from.
    public var isDropped = false
}

/// An event still waiting in the joiner, as a checkpoint saves it.
public struct PendingJoin<Payload> {
    public var eventID: String
    public var payload: Payload
    public var deadline: UInt64
    public var reward: Double
    public var rewardCount: Int
    public var isDeferred: Bool
    public var isActivated: Bool

    public init(eventID: String, payload: Payload, deadline: UInt64, reward: Double, rewardCount: Int,
                isDeferred: Bool, isActivated: Bool) {
        self.eventID = eventID
        self.payload = payload
        self.deadline = deadline
        self.reward = reward
        self.rewardCount = rewardCount
        self.isDeferred = isDeferred
        self.isActivated = isActivated
    }
}

/// What the joiner counted that did not become a learned event.
public struct JoinCounters: Sendable, Equatable, Codable {
    public var unmatchedRewards: UInt64 = 0
    public var unmatchedActivations: UInt64 = 0
    public var droppedNotActivated: UInt64 = 0
    /// A rank whose event id was still pending (the I/O thread refuses those; counted for safety).
    public var duplicateRanks: UInt64 = 0
    public init() {}
}

/// Joins ranked events with their rewards and activations, by event id.
///
/// Every ranked event waits `rewardWaitNanoseconds` after its rank time. When that window
/// closes it is emitted with its aggregated reward, or the default reward when none came.
/// Events are emitted in the order their windows close — the order they were ranked, since
/// the wait is the same for all — whether rewarded or not, so the model is not biased toward
/// actions that are rewarded fast. A deferred event is emitted only if activated within its
/// window; otherwise it is emitted marked `isDropped` (and counted) so the caller can record it.
///
/// Time comes only from the caller (`advance(to:)` and each call's `at:`), so the joiner is
/// deterministic: the same calls give the same emitted events in the same order.
public final class Joiner<Payload> {
    public var settings: JoinSettings
    public private(set) var counters = JoinCounters()

    private struct Entry {
        var eventID: String
        /// The id's hash in `index`, kept so closing the window does not hash the id again.
        var idHash: UInt64
        var payload: Payload?
        var deadline: UInt64
        var reward: Double = 0
        var rewardCount = 0
        var isDeferred: Bool
        var isActivated = false
    }

    /// Entries in rank order; `entries[i]` has sequence number `baseSequence + i`, and those
    /// before `headIndex` are closed. An open slot whose payload is nil was emitted early
    /// (learn-on-first-reward).
    private var entries: [Entry] = []
    private var headIndex = 0
    private var baseSequence: UInt64 = 0
    private let index = EventSequenceIndex()

    public init(settings: JoinSettings) {
        self.settings = settings
    }

    /// Events ranked and not yet emitted or dropped.
    public var pendingCount: Int { index.count }

    /// When the oldest pending window closes, if any is pending.
    public var nextDeadline: UInt64? {
        var index = headIndex
        while index < entries.count {
            if entries[index].payload != nil { return entries[index].deadline }
            index += 1
        }
        return nil
    }

    /// Whether `eventID` is still waiting for its window to close.
    public func isPending(_ eventID: String) -> Bool { find(eventID, hash: index.hash(eventID)) != nil }

    /// A ranked event. Returns false (and counts it) when the id is still pending.
    @discardableResult
    public func rank(eventID: String, payload: Payload, deferred: Bool, at time: UInt64,
                     emit: (JoinedEvent<Payload>) -> Void) -> Bool {
        advance(to: time, emit: emit)
        let hash = index.hash(eventID)
        guard find(eventID, hash: hash) == nil else {
            counters.duplicateRanks += 1
            return false
        }
        let sequence = baseSequence + UInt64(entries.count)
        index.insert(hash, sequence: sequence)
        entries.append(Entry(eventID: eventID, idHash: hash, payload: payload,
                             deadline: time &+ settings.rewardWaitNanoseconds, isDeferred: deferred))
        return true
    }

    /// A reward. Returns false (and counts it) when the event is unknown or its window closed.
    @discardableResult
    public func reward(eventID: String, value: Double, at time: UInt64,
                       emit: (JoinedEvent<Payload>) -> Void) -> Bool {
        advance(to: time, emit: emit)
        guard let index = pendingIndex(of: eventID) else {
            counters.unmatchedRewards += 1
            return false
        }
        switch settings.aggregation {
        case .earliest:
            if entries[index].rewardCount == 0 { entries[index].reward = value }
        case .sum:
            entries[index].reward += value
        }
        entries[index].rewardCount += 1
        emitEarlyIfReady(index, emit: emit)
        return true
    }

    /// An activation of a deferred event. Returns false (and counts it) when unknown or closed.
    @discardableResult
    public func activate(eventID: String, at time: UInt64,
                         emit: (JoinedEvent<Payload>) -> Void) -> Bool {
        advance(to: time, emit: emit)
        guard let index = pendingIndex(of: eventID) else {
            counters.unmatchedActivations += 1
            return false
        }
        entries[index].isActivated = true
        emitEarlyIfReady(index, emit: emit)
        return true
    }

    /// Closes every window that ends at or before `time`, oldest first.
    public func advance(to time: UInt64, emit: (JoinedEvent<Payload>) -> Void) {
        while headIndex < entries.count, entries[headIndex].deadline <= time {
            let position = headIndex
            headIndex += 1
            guard entries[position].payload != nil else { continue }  // emitted early
            unindex(at: position)
            let (eventID, payload) = takeEvent(at: position)
            let entry = entries[position]
            if entry.isDeferred && !entry.isActivated {
                counters.droppedNotActivated += 1
                emit(JoinedEvent(eventID: eventID, payload: payload, reward: settings.defaultReward,
                                 wasRewarded: entry.rewardCount > 0, isDropped: true))
                continue
            }
            let rewarded = entry.rewardCount > 0
            emit(JoinedEvent(eventID: eventID, payload: payload,
                             reward: rewarded ? entry.reward : settings.defaultReward,
                             wasRewarded: rewarded))
        }
        compactIfWorthIt()
    }

    /// Moves the id and payload out of a closed entry, which is done with: no reference count
    /// is touched (a copy would retain and release both, whose memory is cold by the time the
    /// window closes).
    @inline(__always)
    private func takeEvent(at position: Int) -> (eventID: String, payload: Payload) {
        var eventID = ""
        swap(&eventID, &entries[position].eventID)
        var payload: Payload?
        swap(&payload, &entries[position].payload)
        return (eventID, payload.unsafelyUnwrapped)
    }

    /// The events still waiting, oldest first (for a checkpoint).
    public func pendingEvents() -> [PendingJoin<Payload>] {
        entries[headIndex...].compactMap { entry in
            entry.payload.map {
                PendingJoin(eventID: entry.eventID, payload: $0, deadline: entry.deadline, reward: entry.reward,
                            rewardCount: entry.rewardCount, isDeferred: entry.isDeferred, isActivated: entry.isActivated)
            }
        }
    }

    /// Puts back what a checkpoint saved; the joiner must be empty.
    public func restore(pending: [PendingJoin<Payload>], counters: JoinCounters) {
        precondition(index.count == 0 && headIndex == entries.count, "restore into a joiner in use")
        entries.removeAll()
        headIndex = 0
        baseSequence = 0
        for event in pending {
            let hash = index.hash(event.eventID)
            index.insert(hash, sequence: baseSequence + UInt64(entries.count))
            entries.append(Entry(eventID: event.eventID, idHash: hash, payload: event.payload, deadline: event.deadline,
                                 reward: event.reward, rewardCount: event.rewardCount,
                                 isDeferred: event.isDeferred, isActivated: event.isActivated))
        }
        self.counters = counters
    }

    private func pendingIndex(of eventID: String) -> Int? {
        guard let (_, sequence) = find(eventID, hash: index.hash(eventID)) else { return nil }
        return Int(sequence - baseSequence)
    }

    /// Where `eventID` (whose hash is `hash`) is indexed, if it is pending.
    @inline(__always)
    private func find(_ eventID: String, hash: UInt64) -> (slot: Int, sequence: UInt64)? {
        index.find(hash) { entries[Int($0 - baseSequence)].eventID == eventID }
    }

    /// Removes the entry at `position` (pending) from the index; its sequence tells it apart
    /// from another id with the same hash.
    private func unindex(at position: Int) {
        let sequence = baseSequence + UInt64(position)
        guard let slot = index.find(entries[position].idHash, isID: { $0 == sequence })?.slot else {
            preconditionFailure("a pending event is missing from the index")
        }
        index.remove(slot: slot)
    }

    private func emitEarlyIfReady(_ index: Int, emit: (JoinedEvent<Payload>) -> Void) {
        guard settings.learnOnFirstReward, settings.aggregation == .earliest else { return }
        let entry = entries[index]
        guard entry.rewardCount > 0, !entry.isDeferred || entry.isActivated, entry.payload != nil else { return }
        unindex(at: index)
        let (eventID, payload) = takeEvent(at: index)
        emit(JoinedEvent(eventID: eventID, payload: payload, reward: entry.reward, wasRewarded: true))
    }

    /// Drops emitted slots from the front once they are the larger part of the array.
    private func compactIfWorthIt() {
        if headIndex == entries.count {
            baseSequence += UInt64(headIndex)
            entries.removeAll(keepingCapacity: true)
            headIndex = 0
        } else if headIndex > 1024, headIndex * 2 > entries.count {
            baseSequence += UInt64(headIndex)
            entries.removeFirst(headIndex)
            headIndex = 0
        }
    }
}
