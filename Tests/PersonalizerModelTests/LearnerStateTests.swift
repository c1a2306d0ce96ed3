import XCTest
import PersonalizerModel

final class LearnerStateTests: XCTestCase {
    private func stream(_ seed: UInt64, count: Int) -> [(HashedFeatures, [HashedFeatures], Int, Double, Double)] {
        var random = TestRandom(state: seed)
        return (0..<count).map { _ in
            let shared = features([("User", [("segment", "s\(random.below(4))"), ("age", Double(random.below(90) + 1))])])
            let actions = (0..<3).map { features([("Item", [("id", "a\($0)"), ("price", Double(random.below(100) + 1))])]) }
            return (shared, actions, random.below(3), 0.1 + 0.9 * random.uniform(), random.uniform() < 0.5 ? -1 : 0.5)
        }
    }

    private func learn(_ learner: LinearLearner, _ events: [(HashedFeatures, [HashedFeatures], Int, Double, Double)]) {
        for (shared, actions, chosen, p, cost) in events {
            learner.learn(shared: shared, actions: actions, chosen: chosen, probability: p, cost: cost)
        }
    }

    func testRoundTripRestoresEverything() throws {
        for arguments in [LearningPolicy.defaultArguments, "--cb_explore_adf --cb_type dr --initial_t 3 -q UI -b 14",
                          "--cb_explore_adf --l2 0.01 --l1 0.0001 --power_t 0.3 -q ::"] {
            let p = policy(arguments)
            let original = LinearLearner(policy: p)
            learn(original, stream(1, count: 100))
            let bytes = original.serializedState()
            let restored = try LinearLearner(policy: p, restoring: bytes)
            XCTAssertEqual(restored.examplesLearned, 100)
            XCTAssertEqual(restored.serializedState(), bytes, arguments)
            // Learning on from both gives identical state: optimizer state and counters came back.
            let more = stream(2, count: 50)
            learn(original, more)
            learn(restored, more)
            XCTAssertEqual(restored.serializedState(), original.serializedState(), arguments)
            let (shared, actions, _, _, _) = more[0]
            for action in actions {
                XCTAssertEqual(restored.predictCost(shared: shared, action: action),
                               original.predictCost(shared: shared, action: action))
            }
        }
    }

    func testFreshLearnerRoundTrips() throws {
        let p = policy("--cb_explore_adf -b 10")
        let bytes = LinearLearner(policy: p).serializedState()
        XCTAssertEqual(try LinearLearner(policy: p, restoring: bytes).serializedState(), bytes)
    }

    func testExplorationMayChangeButTheTableMayNot() throws {
        let original = LinearLearner(policy: policy("--cb_explore_adf --epsilon 0.2 -q UI"))
        learn(original, stream(3, count: 10))
        let bytes = original.serializedState()
        XCTAssertNoThrow(try LinearLearner(policy: policy("--cb_explore_adf --epsilon 0.01 -q UI"), restoring: bytes))
        XCTAssertThrowsError(try LinearLearner(policy: policy("--cb_explore_adf -b 17"), restoring: bytes)) { error in
            XCTAssertTrue("\(error)".contains("-b 18"), "\(error)")
        }
        XCTAssertThrowsError(try LinearLearner(policy: policy("--cb_explore_adf --cb_type dr"), restoring: bytes)) { error in
            XCTAssertTrue("\(error)".contains("dr"), "\(error)")
        }
    }

    func testCorruptStateIsRefused() {
        let p = policy("--cb_explore_adf -b 12")
        let original = LinearLearner(policy: p)
        learn(original, stream(4, count: 5))
        let bytes = original.serializedState()
        XCTAssertThrowsError(try LinearLearner(policy: p, restoring: [])) {
            XCTAssertEqual($0 as? ModelStateError, .truncated)
        }
        XCTAssertThrowsError(try LinearLearner(policy: p, restoring: Array("nope, not a model".utf8))) {
            XCTAssertEqual($0 as? ModelStateError, .notLearnerState)
        }
        XCTAssertThrowsError(try LinearLearner(policy: p, restoring: Array(bytes.dropLast(3)))) {
            XCTAssertEqual($0 as? ModelStateError, .truncated)
        }
        XCTAssertThrowsError(try LinearLearner(policy: p, restoring: bytes + [0])) {
            XCTAssertEqual($0 as? ModelStateError, .truncated)
        }
        var badVersion = bytes
        badVersion[4] = 99
        XCTAssertThrowsError(try LinearLearner(policy: p, restoring: badVersion)) {
            XCTAssertEqual($0 as? ModelStateError, .unsupportedVersion(99))
        }
    }
}
