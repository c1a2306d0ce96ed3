import PersonalizerEngine
import XCTest

final class JoinerTests: XCTestCase {
    private let second: UInt64 = 1_000_000_000

    private func joiner(wait: UInt64 = 10, defaultReward: Double = 0, aggregation: RewardAggregation = .earliest,
                        learnOnFirstReward: Bool = false) -> Joiner<String> {
        Joiner(settings: JoinSettings(rewardWaitNanoseconds: wait * second, defaultReward: defaultReward,
                                      aggregation: aggregation, learnOnFirstReward: learnOnFirstReward))
    }

    /// Collects what a joiner emits.
    private final class Sink {
        var events: [(id: String, reward: Double, rewarded: Bool)] = []
        var dropped: [String] = []
        func emit(_ event: JoinedEvent<String>) {
            XCTAssertEqual(event.payload, "payload-\(event.eventID)")
            if event.isDropped {
                dropped.append(event.eventID)
            } else {
                events.append((event.eventID, event.reward, event.wasRewarded))
            }
        }
    }

    private func rank(_ joiner: Joiner<String>, _ id: String, at time: UInt64, deferred: Bool = false, _ sink: Sink) {
        joiner.rank(eventID: id, payload: "payload-\(id)", deferred: deferred, at: time * second, emit: sink.emit)
    }

    func testRewardWithinTheWindowIsLearnedWhenTheWindowCloses() {
        let joiner = joiner()
        let sink = Sink()
        rank(joiner, "a", at: 0, sink)
        XCTAssertTrue(joiner.reward(eventID: "a", value: 1, at: 3 * second, emit: sink.emit))
        joiner.advance(to: 9 * second, emit: sink.emit)
        XCTAssertTrue(sink.events.isEmpty, "nothing before the wait time ends")
        joiner.advance(to: 10 * second, emit: sink.emit)
        XCTAssertEqual(sink.events.map(\.id), ["a"])
        XCTAssertEqual(sink.events[0].reward, 1)
        XCTAssertTrue(sink.events[0].rewarded)
        XCTAssertEqual(joiner.pendingCount, 0)
    }

    func testNoRewardGivesTheDefaultReward() {
        let joiner = joiner(defaultReward: -0.5)
        let sink = Sink()
        rank(joiner, "a", at: 0, sink)
        joiner.advance(to: 10 * second, emit: sink.emit)
        XCTAssertEqual(sink.events.count, 1)
        XCTAssertEqual(sink.events[0].reward, -0.5)
        XCTAssertFalse(sink.events[0].rewarded)
    }

    func testLateRewardIsUnmatchedAndCounted() {
        let joiner = joiner()
        let sink = Sink()
        rank(joiner, "a", at: 0, sink)
        XCTAssertFalse(joiner.reward(eventID: "a", value: 1, at: 10 * second, emit: sink.emit))
        XCTAssertEqual(sink.events.map(\.reward), [0], "learned with the default reward at the window's end")
        XCTAssertFalse(joiner.reward(eventID: "never-ranked", value: 1, at: 10 * second, emit: sink.emit))
        XCTAssertEqual(joiner.counters.unmatchedRewards, 2)
    }

    func testEarliestKeepsTheFirstRewardAndSumAddsThemUp() {
        for (aggregation, expected) in [(RewardAggregation.earliest, 0.25), (.sum, 1.75)] {
            let joiner = joiner(aggregation: aggregation)
            let sink = Sink()
            rank(joiner, "a", at: 0, sink)
            joiner.reward(eventID: "a", value: 0.25, at: 1 * second, emit: sink.emit)
            joiner.reward(eventID: "a", value: 0.5, at: 2 * second, emit: sink.emit)
            joiner.reward(eventID: "a", value: 1, at: 9 * second, emit: sink.emit)
            joiner.reward(eventID: "a", value: 100, at: 11 * second, emit: sink.emit)  // too late
            XCTAssertEqual(sink.events.map(\.reward), [expected], "\(aggregation)")
            XCTAssertEqual(joiner.counters.unmatchedRewards, 1)
        }
    }

    func testEventsAreLearnedInTheOrderTheirWindowsCloseRewardedOrNot() {
        let joiner = joiner()
        let sink = Sink()
        rank(joiner, "a", at: 0, sink)
        rank(joiner, "b", at: 1, sink)
        rank(joiner, "c", at: 2, sink)
        joiner.reward(eventID: "c", value: 1, at: 3 * second, emit: sink.emit)
        joiner.reward(eventID: "b", value: 1, at: 4 * second, emit: sink.emit)
        XCTAssertEqual(joiner.nextDeadline, 10 * second)
        joiner.advance(to: 20 * second, emit: sink.emit)
        XCTAssertEqual(sink.events.map(\.id), ["a", "b", "c"], "rewarded events do not jump the queue")
        XCTAssertNil(joiner.nextDeadline)
    }

    func testTimeOfTheNextCallClosesEarlierWindowsFirst() {
        let joiner = joiner()
        let sink = Sink()
        rank(joiner, "a", at: 0, sink)
        rank(joiner, "b", at: 12, sink)  // a's window closed at 10, before b arrived
        XCTAssertEqual(sink.events.map(\.id), ["a"])
        XCTAssertEqual(joiner.pendingCount, 1)
    }

    func testDeferredEventIsLearnedOnlyIfActivated() {
        let joiner = joiner()
        let sink = Sink()
        rank(joiner, "kept", at: 0, deferred: true, sink)
        rank(joiner, "dropped", at: 0, deferred: true, sink)
        XCTAssertTrue(joiner.activate(eventID: "kept", at: 5 * second, emit: sink.emit))
        joiner.reward(eventID: "kept", value: 1, at: 6 * second, emit: sink.emit)
        joiner.reward(eventID: "dropped", value: 1, at: 6 * second, emit: sink.emit)
        joiner.advance(to: 10 * second, emit: sink.emit)
        XCTAssertEqual(sink.events.map(\.id), ["kept"])
        XCTAssertEqual(sink.events[0].reward, 1)
        XCTAssertEqual(sink.dropped, ["dropped"], "the drop is reported, marked")
        XCTAssertEqual(joiner.counters.droppedNotActivated, 1)
        XCTAssertFalse(joiner.activate(eventID: "kept", at: 11 * second, emit: sink.emit))
        XCTAssertEqual(joiner.counters.unmatchedActivations, 1)
    }

    func testActivationOfANonDeferredEventChangesNothing() {
        let joiner = joiner()
        let sink = Sink()
        rank(joiner, "a", at: 0, sink)
        XCTAssertTrue(joiner.activate(eventID: "a", at: 1 * second, emit: sink.emit))
        joiner.advance(to: 10 * second, emit: sink.emit)
        XCTAssertEqual(sink.events.map(\.id), ["a"])
    }

    func testLearnOnFirstRewardEmitsAtOnceAndNotAgain() {
        let joiner = joiner(learnOnFirstReward: true)
        let sink = Sink()
        rank(joiner, "a", at: 0, sink)
        rank(joiner, "b", at: 0, sink)
        rank(joiner, "d", at: 0, deferred: true, sink)
        joiner.reward(eventID: "b", value: 1, at: 1 * second, emit: sink.emit)
        XCTAssertEqual(sink.events.map(\.id), ["b"], "learned at its first reward")
        joiner.reward(eventID: "d", value: 1, at: 1 * second, emit: sink.emit)
        XCTAssertEqual(sink.events.count, 1, "a deferred event waits for its activation")
        joiner.activate(eventID: "d", at: 2 * second, emit: sink.emit)
        XCTAssertEqual(sink.events.map(\.id), ["b", "d"])
        XCTAssertFalse(joiner.reward(eventID: "b", value: 5, at: 3 * second, emit: sink.emit),
                       "an event already learned takes no more rewards")
        joiner.advance(to: 10 * second, emit: sink.emit)
        XCTAssertEqual(sink.events.map(\.id), ["b", "d", "a"])
        XCTAssertEqual(sink.events[2].reward, 0)
        XCTAssertEqual(joiner.pendingCount, 0)
    }

    func testPendingIDIsRefusedUntilItsWindowCloses() {
        let joiner = joiner()
        let sink = Sink()
        rank(joiner, "a", at: 0, sink)
        rank(joiner, "a", at: 5, sink)
        XCTAssertEqual(joiner.counters.duplicateRanks, 1)
        rank(joiner, "a", at: 10, sink)
        XCTAssertEqual(joiner.counters.duplicateRanks, 1, "the id is free again once its window closed")
        XCTAssertEqual(joiner.pendingCount, 1)
        XCTAssertEqual(sink.events.count, 1)
    }

    func testPendingEventsSurviveAnExportAndRestore() {
        let original = joiner(aggregation: .sum)
        let sink = Sink()
        rank(original, "a", at: 0, sink)
        rank(original, "b", at: 1, deferred: true, sink)
        original.reward(eventID: "a", value: 0.5, at: 2 * second, emit: sink.emit)
        original.activate(eventID: "b", at: 2 * second, emit: sink.emit)
        original.reward(eventID: "zzz", value: 1, at: 2 * second, emit: sink.emit)
        let restored = joiner(aggregation: .sum)
        restored.restore(pending: original.pendingEvents(), counters: original.counters)
        XCTAssertEqual(restored.counters, original.counters)
        XCTAssertEqual(restored.pendingCount, 2)
        XCTAssertTrue(restored.isPending("b"))
        for target in [original, restored] {
            target.reward(eventID: "a", value: 0.25, at: 3 * second, emit: sink.emit)
            target.advance(to: 20 * second, emit: sink.emit)
        }
        XCTAssertEqual(sink.events.map(\.id), ["a", "b", "a", "b"])
        XCTAssertEqual(sink.events.map(\.reward), [0.75, 0, 0.75, 0])
    }

    func testManyEventsCompactAndStayConsistent() {
        let joiner = joiner(wait: 1)
        let sink = Sink()
        var time: UInt64 = 0
        for index in 0..<20_000 {
            joiner.rank(eventID: "e\(index)", payload: "payload-e\(index)", deferred: false, at: time, emit: sink.emit)
            if index % 3 == 0 { joiner.reward(eventID: "e\(index)", value: 1, at: time, emit: sink.emit) }
            time += second / 1000
        }
        joiner.advance(to: time + second, emit: sink.emit)
        XCTAssertEqual(sink.events.count, 20_000)
        XCTAssertEqual(sink.events.map(\.id), (0..<20_000).map { "e\($0)" })
        XCTAssertEqual(sink.events.filter(\.rewarded).count, 6667)
        XCTAssertEqual(joiner.pendingCount, 0)
    }
}
