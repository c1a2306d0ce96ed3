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

    private func relativeCosts(_ model: ScoringModel, shared: HashedFeatures, actions: [HashedFeatures]) -> [Double] {
        var costs = [Double](repeating: .nan, count: actions.count)
        costs.withUnsafeMutableBufferPointer { costs in
            shared.withBlock { shared in
                actions.withBlocks { model.predictRelativeCosts(shared: shared, actions: $0, into: costs) }
            }
        }
        return costs
    }

    func testRelativeCostsLeaveOutOnlyWhatEveryActionShares() {
        for arguments in [LearningPolicy.defaultArguments, "--cb_explore_adf -q ::", "--cb_explore_adf -q UI -q UC",
                          "--cb_explore_adf --interactions UIC --interactions UUC"] {
            let model = trained(arguments).makeScoringModel()
            var random = TestRandom(state: 21)
            var sharedPartsSeen = 0
            for _ in 0..<50 {
                var (shared, actions) = randomExample(&random, actions: 5)
                actions.append(HashedFeatures())  // no features: its relative cost is the constant's weight
                let costs = model.predictCosts(shared: shared, actions: actions)
                let relative = relativeCosts(model, shared: shared, actions: actions)
                // The shared part is the full cost of the featureless action less its relative cost.
                let sharedPart = costs[actions.count - 1] - relative[actions.count - 1]
                if sharedPart != 0 { sharedPartsSeen += 1 }
                for index in actions.indices {
                    XCTAssertEqual(relative[index] + sharedPart, costs[index],
                                   accuracy: 1e-5 * max(1, abs(costs[index]), abs(sharedPart)), arguments)
                }
                // Same action first, same probabilities, for every strategy.
                for strategy: ExplorationStrategy in [.epsilonGreedy(epsilon: 0.2), .softmax(lambda: 3),
                                                      .squareCB(gammaScale: 10, gammaExponent: 0.5)] {
                    let fromCosts = strategy.probabilities(costs: costs, examplesLearned: 200)
                    let fromRelative = strategy.probabilities(costs: relative, examplesLearned: 200)
                    for index in actions.indices {
                        XCTAssertEqual(fromRelative[index], fromCosts[index], accuracy: 1e-4, "\(arguments) \(strategy)")
                    }
                }
            }
            // A trained model with shared interactions has a shared part to leave out.
            XCTAssertGreaterThan(sharedPartsSeen, 40, arguments)
        }
    }

    func testRelativeCostsAreTheCostsWithoutSharedFeatures() {
        let model = trained("--cb_explore_adf -q ::").makeScoringModel()
        var random = TestRandom(state: 3)
        let (_, actions) = randomExample(&random, actions: 4)
        let costs = model.predictCosts(shared: HashedFeatures(), actions: actions)
        XCTAssertEqual(relativeCosts(model, shared: HashedFeatures(), actions: actions), costs)
        XCTAssertTrue(costs.contains { $0 != 0 })
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
