import XCTest
import PersonalizerModel

final class ScoringModelTests: XCTestCase {
    private func randomExample(_ random: inout TestRandom, actions: Int) -> (HashedFeatures, [HashedFeatures]) {
        let shared = features([("User", [("segment", "s\(random.below(4))"), ("age", Double(18 + random.below(60)))]),
                               ("Ctx", [("hour", Double(random.below(24)))])])
        let list = (0..<actions).map { index in
            features([("Item", [("id", "a\(index)"), ("price", Double(1 + random.below(500)))]),
                      ("Uxx", [("tag", "t\(index % 3)")])])
        }
        return (shared, list)
    }

    private func trained(_ arguments: String, events: Int = 200) -> LinearLearner {
        let learner = LinearLearner(policy: policy(arguments))
        var random = TestRandom(state: 11)
        for _ in 0..<events {
            let (shared, actions) = randomExample(&random, actions: 3 + random.below(3))
            learner.learn(shared: shared, actions: actions, chosen: random.below(actions.count),
                          probability: 0.2 + 0.8 * random.uniform(), cost: random.uniform() < 0.3 ? -1 : 0)
        }
        return learner
    }

    func testUntrainedPredictsZero() {
        let p = policy(LearningPolicy.defaultArguments)
        var random = TestRandom(state: 5)
        let (shared, actions) = randomExample(&random, actions: 4)
        for model in [ScoringModel(untrained: p), LinearLearner(policy: p).makeScoringModel()] {
            XCTAssertEqual(model.predictCosts(shared: shared, actions: actions), [0, 0, 0, 0])
            XCTAssertEqual(model.examplesLearned, 0)
            XCTAssertEqual(model.policy, p)
        }
    }

    func testSnapshotPredictsExactlyLikeTheLearner() {
        for arguments in [LearningPolicy.defaultArguments, "--cb_explore_adf --cb_type dr -q UI -b 16",
                          "--cb_explore_adf --l2 0.001 --l1 0.00001 -q ::", "--cb_explore_adf --interactions UIC"] {
            let learner = trained(arguments)
            let model = learner.makeScoringModel()
            XCTAssertEqual(model.examplesLearned, 200)
            var random = TestRandom(state: 99)
            for _ in 0..<50 {
                let (shared, actions) = randomExample(&random, actions: 4)
                let batch = model.predictCosts(shared: shared, actions: actions)
                for (index, action) in actions.enumerated() {
                    let fromLearner = learner.predictCost(shared: shared, action: action)
                    XCTAssertEqual(model.predictCost(shared: shared, action: action), fromLearner, arguments)
                    XCTAssertEqual(batch[index], fromLearner, arguments)
                }
                XCTAssertTrue(batch.contains { $0 != 0 }, arguments)
            }
        }
    }

    func testSnapshotIsUnaffectedByLaterLearning() {
        let learner = trained(LearningPolicy.defaultArguments)
        let model = learner.makeScoringModel()
        var random = TestRandom(state: 4)
        let (shared, actions) = randomExample(&random, actions: 3)
        let before = model.predictCosts(shared: shared, actions: actions)
        for _ in 0..<20 { learner.learn(shared: shared, actions: actions, chosen: 1, probability: 0.5, cost: -1) }
        XCTAssertEqual(model.predictCosts(shared: shared, actions: actions), before)
        XCTAssertNotEqual(learner.makeScoringModel().predictCosts(shared: shared, actions: actions), before)
    }

    func testSnapshotsAreSendable() async {
        let model = trained(LearningPolicy.defaultArguments, events: 20).makeScoringModel()
        var random = TestRandom(state: 8)
        let (shared, actions) = randomExample(&random, actions: 3)
        let expected = model.predictCosts(shared: shared, actions: actions)
        let fromTask = await Task.detached { model.predictCosts(shared: shared, actions: actions) }.value
        XCTAssertEqual(fromTask, expected)
    }
}
