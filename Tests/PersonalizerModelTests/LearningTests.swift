import XCTest
import PersonalizerModel

final class LearningTests: XCTestCase {
    /// A simulated loop: 5 actions, the best one given by the user's segment; the shown action
    /// is sampled from the published snapshot's exploration, as the server does.
    private func simulate(_ arguments: String, events: Int, publishEvery: Int = 50,
                          seed: UInt64 = 1) -> (accuracy: Double, learner: LinearLearner) {
        let policy = policy(arguments)
        let learner = LinearLearner(policy: policy)
        var model = learner.makeScoringModel()
        var random = TestRandom(state: seed)
        let actions = (0..<5).map { features([("Item", [("id", "a\($0)"), ("cat", "c\($0 % 2)")])]) }
        var costs = [Double](repeating: 0, count: 5)
        var probabilities = [Double](repeating: 0, count: 5)
        var greedyCorrect = 0
        let window = 500
        for event in 0..<events {
            let segment = random.below(5)
            let shared = features([("User", [("segment", "s\(segment)"), ("device", random.below(2) == 0 ? "m" : "d")]),
                                   ("Time", [("hour", Double(random.below(24) + 1))])])
            costs.withUnsafeMutableBufferPointer { model.predictCosts(shared: shared, actions: actions, into: $0) }
            costs.withUnsafeBufferPointer { c in
                probabilities.withUnsafeMutableBufferPointer { p in
                    policy.exploration.probabilities(costs: c, examplesLearned: model.examplesLearned, into: p)
                }
            }
            let chosen = probabilities.withUnsafeBufferPointer {
                Sampling.sample(probabilities: $0, seed: Sampling.seed(eventId: "event-\(seed)-\(event)"))
            }
            if event >= events - window, costs.firstIndex(of: costs.min()!) == segment { greedyCorrect += 1 }
            // Noisy reward: the right action pays 90% of the time, a wrong one 10%.
            let reward: Double = random.uniform() < (chosen == segment ? 0.9 : 0.1) ? 1 : 0
            learner.learn(shared: shared, actions: actions, chosen: chosen, probability: probabilities[chosen],
                          cost: -reward)
            if (event + 1) % publishEvery == 0 { model = learner.makeScoringModel() }
        }
        return (Double(greedyCorrect) / Double(window), learner)
    }

    func testDefaultPolicyLearnsTheBestActionPerContext() {
        let (accuracy, learner) = simulate(LearningPolicy.defaultArguments, events: 3000)
        XCTAssertGreaterThan(accuracy, 0.9, "greedy accuracy over the last 500 events: \(accuracy)")
        XCTAssertEqual(learner.examplesLearned, 3000)
    }

    func testOtherEstimatorsAndExplorationsLearnToo() {
        // ips and dr regress every action on high-variance targets: they need VW's adaptive
        // default (power_t 0.5); with power_t 0 they reach only ~80% here.
        for arguments in ["--cb_explore_adf --cb_type ips -q UI",
                          "--cb_explore_adf --cb_type dr -q UI",
                          "--cb_explore_adf --squarecb -q UI",
                          "--cb_explore_adf --softmax --lambda 10 -q UI",
                          "--cb_explore_adf --first 200 -q UI --power_t 0"] {
            let (accuracy, _) = simulate(arguments, events: 3000, seed: 7)
            XCTAssertGreaterThan(accuracy, 0.9, "\(arguments): \(accuracy)")
        }
    }

    func testFeaturesOfVeryDifferentScalesStillLearn() {
        // cost = 0.0005·price − 2·flag + 0.1·ratio with price in the thousands, flag in {0, 1},
        // ratio in [0, 0.01]: plain SGD at this learning rate diverges on price; the normalized
        // update learns all of it.
        let learner = LinearLearner(policy: policy("--cb_explore_adf --power_t 0"))
        var random = TestRandom(state: 3)
        func example() -> (HashedFeatures, Double) {
            let price = 1000 + 4000 * random.uniform()
            let flag = Double(random.below(2))
            let ratio = 0.01 * random.uniform()
            let f = features([("A", [("price", price), ("flag", flag), ("ratio", ratio)])])
            return (f, 0.0005 * price - 2 * flag + 0.1 * ratio)
        }
        for _ in 0..<5000 {
            let (f, cost) = example()
            learner.learn(shared: HashedFeatures(), actions: [f], chosen: 0, probability: 1, cost: cost)
        }
        var error = 0.0
        var spread = 0.0
        for _ in 0..<500 {
            let (f, cost) = example()
            let prediction = learner.predictCost(shared: HashedFeatures(), action: f)
            XCTAssertTrue(prediction.isFinite)
            error += abs(prediction - cost)
            spread += abs(cost - 0.25) // the targets span roughly −1.5...2.5
        }
        XCTAssertLessThan(error / 500, 0.05, "mean absolute error \(error / 500) vs spread \(spread / 500)")
    }
}
