import Foundation
import PersonalizerClient
import PersonalizerProtocol
import XCTest

/// Rank, Reward, Activate and Status against the real server, over its socket.
final class RankIntegrationTests: XCTestCase {
    private func actions(_ count: Int) -> [RankAction] {
        (0..<count).map { RankAction(id: "a\($0)", features: [FeatureNamespace("item", [.text("id", "a\($0)")])]) }
    }

    func testUntrainedLoopRanksTheFirstActionHighestAndAnswersEveryAction() throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let client = try server.client()
        let result = try client.rank(RankCall(
            context: [FeatureNamespace("user", [.text("segment", "s1"), .number("age", 31)])],
            actions: actions(5), excludedActionIDs: ["a0", "a3"]))
        XCTAssertEqual(result.ranking.count, 5)
        XCTAssertEqual(result.rewardActionID, result.ranking[0].id)
        XCTAssertEqual(result.eventID.count, 32, "a generated event id")
        XCTAssertEqual(result.modelVersion, 0)
        XCTAssertEqual(result.ranking.suffix(2).map(\.id), ["a0", "a3"], "excluded actions last, in request order")
        XCTAssertEqual(result.ranking.suffix(2).map(\.probability), [0, 0])
        let probabilities = Dictionary(uniqueKeysWithValues: result.ranking.map { ($0.id, $0.probability) })
        // ε = 0.2 over the 3 candidates: the first candidate (a1) gets 1 − ε + ε/3, others ε/3.
        XCTAssertEqual(probabilities["a1"]!, 0.8 + 0.2 / 3, accuracy: 1e-9)
        XCTAssertEqual(probabilities["a2"]!, 0.2 / 3, accuracy: 1e-9)
        XCTAssertEqual(probabilities["a4"]!, 0.2 / 3, accuracy: 1e-9)
        XCTAssertEqual(result.ranking.map(\.probability).reduce(0, +), 1, accuracy: 1e-9)
        let status = try client.status()
        XCTAssertEqual(status.rankCalls, 1)
        XCTAssertEqual(status.pendingEvents, 1)
    }

    func testTheSameEventIDMakesTheSameDecision() throws {
        let server = try ServerProcess(config: #"{"loops": {"twin": {}}}"#)
        defer { server.stop() }
        let first = try server.client()
        let second = try server.client(loop: "twin")
        var chosenOther = 0
        for index in 0..<50 {
            let call = RankCall(actions: actions(4), eventID: "event-\(index)")
            let a = try first.rank(call)
            let b = try second.rank(call)
            XCTAssertEqual(a.ranking, b.ranking, "event-\(index)")
            XCTAssertEqual(a.eventID, "event-\(index)")
            if a.rewardActionID != "a0" { chosenOther += 1 }
        }
        // With ε = 0.2 about 15% of decisions explore; 50 decisions with none is a broken sampler.
        XCTAssertGreaterThan(chosenOther, 0)
        XCTAssertLessThan(chosenOther, 25)
    }

    func testRewardActivateAndStatusCounters() throws {
        let server = try ServerProcess(config: """
            {"loops": {"default": {"rewardWaitTimeSeconds": 0.3, "modelUpdateIntervalSeconds": 0.05}}}
            """)
        defer { server.stop() }
        let client = try server.client()
        let plain = try client.rank(RankCall(actions: actions(3)))
        let activated = try client.rank(RankCall(actions: actions(3), deferActivation: true))
        let neverActivated = try client.rank(RankCall(actions: actions(3), deferActivation: true))
        try client.reward(eventID: plain.eventID, value: 1)
        try client.reward(eventID: neverActivated.eventID, value: 1)
        try client.activate(eventID: activated.eventID)
        try client.reward(eventID: "no-such-event", value: 0.5)
        try client.activate(eventID: "no-such-event")
        var status = try client.status()
        XCTAssertEqual(status.rankCalls, 3)
        XCTAssertEqual(status.rewardCalls, 3)
        XCTAssertEqual(status.activateCalls, 2)
        XCTAssertTrue(try eventually { try client.status().pendingEvents == 0 })
        status = try client.status()
        XCTAssertEqual(status.learnedEvents, 2, "the plain and the activated event")
        XCTAssertEqual(status.droppedNotActivated, 1)
        XCTAssertEqual(status.unmatchedRewards, 1)
        XCTAssertEqual(status.unmatchedActivations, 1)
        XCTAssertTrue(try eventually { try client.status().modelVersion == 1 }, "one publication after learning")
        XCTAssertGreaterThan(try client.status().publishedAtUnixMilliseconds, 0)
        XCTAssertEqual(try client.rank(RankCall(actions: actions(3))).modelVersion, 1)
    }

    /// The best of 5 actions depends on one context feature; after a few thousand rounds the
    /// highest-probability action is the best one for at least 90% of contexts.
    func testLearnsTheBestActionForEachContext() throws {
        let server = try ServerProcess(config: """
            {"loops": {"default": {"rewardWaitTimeSeconds": 0.1, "modelUpdateIntervalSeconds": 0.05}}}
            """)
        defer { server.stop() }
        let client = try server.client()
        let segments = 20
        let best = { (segment: Int) in "a\(segment % 5)" }
        func context(_ segment: Int) -> [FeatureNamespace] {
            [FeatureNamespace("user", [.text("segment", "s\(segment)")])]
        }
        var generator = SystemRandomNumberGenerator()
        let rounds = 4000
        var rewardTotal = 0.0
        for round in 0..<rounds {
            let segment = Int.random(in: 0..<segments, using: &generator)
            let result = try client.rank(RankCall(context: context(segment), actions: actions(5)))
            let reward = result.rewardActionID == best(segment) ? 1.0 : 0.0
            rewardTotal += reward
            try client.reward(eventID: result.eventID, value: reward)
            // Let reward windows close as the stream goes on, as real traffic would.
            if round % 200 == 199 { usleep(120_000) }
        }
        XCTAssertTrue(try eventually { try client.status().pendingEvents == 0 })
        let version = try client.status().modelVersion
        XCTAssertTrue(try eventually { try client.rank(RankCall(actions: actions(5))).modelVersion >= version })
        var correct = 0
        for segment in 0..<segments {
            let result = try client.rank(RankCall(context: context(segment), actions: actions(5)))
            let top = result.ranking.max { $0.probability < $1.probability }!
            if top.id == best(segment) { correct += 1 }
        }
        print("learning: \(correct)/\(segments) contexts correct, average reward \(rewardTotal / Double(rounds))")
        XCTAssertGreaterThanOrEqual(Double(correct) / Double(segments), 0.9)
        XCTAssertGreaterThanOrEqual(try client.status().learnedEvents, UInt64(rounds))
    }
}
