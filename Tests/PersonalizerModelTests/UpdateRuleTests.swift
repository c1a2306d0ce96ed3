import XCTest
import Foundation
import PersonalizerModel

/// The update rule on small cases computed by hand from VW's formulas (and, where noted,
/// numbers printed by vowpalwabbit 9.11.9 for the same stream).
final class UpdateRuleTests: XCTestCase {
    private let noShared = HashedFeatures()

    private func action(_ value: Double, name: String = "f", namespace: String = "A") -> HashedFeatures {
        features([(namespace, [(name, value)])])
    }

    func testOneFeatureOneStep() {
        // power_t 0.5, one feature x = 1, cost 1, p = 1: G = 4·1² = 4, N = 1,
        // rate = G^-1/2 · N^-1 = 1/2, sensitivity s = x²·rate = 1/2, global factor 1;
        // invariant step: w = (1 − e^(−2·η·s))/s · rate · x = 1 − e^(−1/2).
        let learner = LinearLearner(policy: policy("--cb_explore_adf --noconstant"))
        let a = action(1)
        learner.learn(shared: noShared, actions: [a], chosen: 0, probability: 1, cost: 1)
        let state = learner.slotState(learner.slot(forHash: a.indices[0]))
        XCTAssertEqual(state.gradientSquares, 4)
        XCTAssertEqual(state.normalizer, 1)
        XCTAssertEqual(Double(state.weight), 1 - exp(-0.5), accuracy: 1e-6)
        XCTAssertEqual(learner.predictCost(shared: noShared, action: a), 1 - exp(-0.5), accuracy: 1e-6)
        XCTAssertEqual(learner.examplesLearned, 1)
    }

    func testImportanceWeightIsClosedFormNotOvershooting() {
        // Two actions, the first chosen with p = 0.25: importance weight h = (1/p)·(events/actions)
        // = 4 · 1/2 = 2. G = h·4 = 8, rate = 1/√8, η·h = 1: w = 1 − e^(−2/√8).
        let learner = LinearLearner(policy: policy("--cb_explore_adf --noconstant"))
        let chosen = action(1), other = action(1, name: "g")
        learner.learn(shared: noShared, actions: [chosen, other], chosen: 0, probability: 0.25, cost: 1)
        XCTAssertEqual(learner.predictCost(shared: noShared, action: chosen), 1 - exp(-2 / 8.0.squareRoot()),
                       accuracy: 1e-6)
        XCTAssertEqual(learner.predictCost(shared: noShared, action: other), 0)

        // A huge importance weight moves the prediction toward the label, never past it.
        let bold = LinearLearner(policy: policy("--cb_explore_adf --noconstant"))
        bold.learn(shared: noShared, actions: [chosen], chosen: 0, probability: 0.001, cost: 1)
        let prediction = bold.predictCost(shared: noShared, action: chosen)
        XCTAssertGreaterThan(prediction, 0.999)
        XCTAssertLessThanOrEqual(prediction, 1)
    }

    func testAnExampleLargerThanTheScratchUpdatesEveryFeature() {
        // n features x = 1 in distinct slots, cost 1, p = 1, power_t 0.5: each G = 4, N = 1,
        // rate = 1/2; Σ(x/N)² = n gives the global factor 1/√n, so s = (n/2)/√n = √n/2 and
        // every weight steps by (1 − e^(−2·η·s))/s · (1/√n) · (1/2), the prediction n·w = 1 − e^(−√n/2).
        // 1,500 features are more than the learner's scratch holds at first: it grows mid-example.
        let learner = LinearLearner(policy: policy("--cb_explore_adf --noconstant"))
        var list: [(String, Any)] = []
        var slots = Set<Int>()
        var index = 0
        while list.count < 1500 {
            let name = "f\(index)"
            index += 1
            let hash = features([("A", [(name, 1.0)])]).indices[0]
            if slots.insert(learner.slot(forHash: hash)).inserted { list.append((name, 1.0)) }
        }
        let a = features([("A", list)])
        learner.learn(shared: noShared, actions: [a], chosen: 0, probability: 1, cost: 1)
        let n = Double(list.count), s = n.squareRoot() / 2
        let expected = (1 - exp(-s)) / s / n.squareRoot() / 2
        for hash in a.indices {
            let state = learner.slotState(learner.slot(forHash: hash))
            XCTAssertEqual(state.gradientSquares, 4)
            XCTAssertEqual(state.normalizer, 1)
            XCTAssertEqual(Double(state.weight), expected, accuracy: expected * 1e-4)
        }
        XCTAssertEqual(learner.predictCost(shared: noShared, action: a), 1 - exp(-s), accuracy: 1e-4)
    }

    func testNormalizationMakesTheStepScaleFree() {
        // x = 1000: G = 4·10⁶, N = 1000, rate = 1/(2000·1000), s = x²·rate = 1/2: the same
        // prediction as for x = 1, where plain SGD would step 10⁶ times further.
        for arguments in ["--cb_explore_adf --noconstant", "--cb_explore_adf --noconstant --power_t 0"] {
            var predictions: [Double] = []
            for value in [1.0, 1000, 0.001] {
                let learner = LinearLearner(policy: policy(arguments))
                let a = action(value)
                learner.learn(shared: noShared, actions: [a], chosen: 0, probability: 1, cost: 1)
                predictions.append(learner.predictCost(shared: noShared, action: a))
                XCTAssertEqual(learner.slotState(learner.slot(forHash: a.indices[0])).normalizer, Float(value))
            }
            // power_t 0.5: 1 − e^(−1/2); power_t 0: s = x²/N² = 1, so 1 − e^(−1).
            let expected = arguments.contains("power_t 0") ? 1 - exp(-1.0) : 1 - exp(-0.5)
            for p in predictions { XCTAssertEqual(p, expected, accuracy: 1e-5, arguments) }
        }
    }

    func testClippingAndRescaleMatchVW() {
        // Weights printed by vowpalwabbit 9.11.9 for "--cb_explore_adf --noconstant" on
        // |A f:1 (cost 1), |A f:10 (cost 1), |A f:10 (cost -0.5), |A f:0.1 (cost 2).
        // Step 2 changes nothing: the prediction 3.9 is clipped to the largest label seen (1),
        // so the loss is 0. Step 3 meets |x| = 10 > N = 1 and rescales the weight first.
        let learner = LinearLearner(policy: policy("--cb_explore_adf --noconstant"))
        let expected: [(Double, Float, Float)] = [(0.39346933364868164, 4, 1), (0.39346933364868164, 4, 1),
                                                  (-0.0030939914286136627, 904, 10),
                                                  (-0.00227966601960361, 904.16003, 10)]
        for (step, (value, cost)) in [(1.0, 1.0), (10, 1), (10, -0.5), (0.1, 2)].enumerated() {
            let a = action(value)
            learner.learn(shared: noShared, actions: [a], chosen: 0, probability: 1, cost: cost)
            let state = learner.slotState(learner.slot(forHash: a.indices[0]))
            XCTAssertEqual(Double(state.weight), expected[step].0, accuracy: abs(expected[step].0) * 1e-5, "step \(step)")
            XCTAssertEqual(state.gradientSquares, expected[step].1, accuracy: expected[step].1 * 1e-5)
            XCTAssertEqual(state.normalizer, expected[step].2)
        }
    }

    func testDefaultPolicyMatchesVW() {
        // vowpalwabbit 9.11.9, default policy, "shared |U a" / "0:-1:0.5 |A x" / "|A y": after
        // each learn all six touched weights (U, A, constant, UU, AU, AA) equal these.
        let learner = LinearLearner(policy: policy(LearningPolicy.defaultArguments))
        let shared = features([("U", [("a", 1.0)])])
        let x = features([("A", [("x", 1.0)])]), y = features([("A", [("y", 1.0)])])
        for expected in [-0.10535342991352081, -0.1441107988357544, -0.15836882591247559] {
            learner.learn(shared: shared, actions: [x, y], chosen: 0, probability: 0.5, cost: -1)
            let slots = touchedSlots(learner).filter { learner.slotState($0).weight != 0 }
            let weightsOfX = slots.map { Double(learner.slotState($0).weight) }.filter { abs($0 - expected) < 1e-3 }
            XCTAssertEqual(weightsOfX.count, 6)
            for w in weightsOfX { XCTAssertEqual(w, expected, accuracy: abs(expected) * 1e-5) }
            XCTAssertEqual(learner.predictCost(shared: shared, action: x), 6 * expected, accuracy: 1e-5)
        }
    }

    func testCostEstimatorTargets() {
        // ips: the chosen action regresses cost/p = 2 (weight 1), the other 0 (no loss, no update).
        // One step toward 2 with G = 4·2² = 16, rate 1/4, s = 1/4: w = 2(1 − e^(−2·0.5·0.25)).
        // dr: the reward regressor estimates 0 before its first update, so the targets are the
        // same as ips on a first event whose actions share no features.
        for estimator in ["ips", "dr"] {
            let learner = LinearLearner(policy: policy("--cb_explore_adf --noconstant --cb_type \(estimator)"))
            let chosen = action(1), other = action(1, name: "g")
            learner.learn(shared: noShared, actions: [chosen, other], chosen: 0, probability: 0.5, cost: 1)
            XCTAssertEqual(learner.predictCost(shared: noShared, action: chosen), 2 * (1 - exp(-0.25)),
                           accuracy: 1e-6, estimator)
            XCTAssertEqual(learner.predictCost(shared: noShared, action: other), 0, estimator)
        }
        // mtr on the same event: weight (1/p)·(1 event / 2 actions) = 1, target 1.
        let mtr = LinearLearner(policy: policy("--cb_explore_adf --noconstant"))
        let chosen = action(1), other = action(1, name: "g")
        mtr.learn(shared: noShared, actions: [chosen, other], chosen: 0, probability: 0.5, cost: 1)
        XCTAssertEqual(mtr.predictCost(shared: noShared, action: chosen), 1 - exp(-0.5), accuracy: 1e-6)
    }

    func testL2ShrinksAndL1Truncates() {
        let a = action(1)
        let plain = LinearLearner(policy: policy("--cb_explore_adf --noconstant"))
        let ridge = LinearLearner(policy: policy("--cb_explore_adf --noconstant --l2 0.1"))
        let lasso = LinearLearner(policy: policy("--cb_explore_adf --noconstant --l1 0.5"))
        let heavyLasso = LinearLearner(policy: policy("--cb_explore_adf --noconstant --l1 100"))
        for learner in [plain, ridge, lasso, heavyLasso] {
            for _ in 0..<5 { learner.learn(shared: noShared, actions: [a], chosen: 0, probability: 1, cost: 1) }
        }
        let p = plain.predictCost(shared: noShared, action: a)
        XCTAssertLessThan(ridge.predictCost(shared: noShared, action: a), p)
        XCTAssertGreaterThan(ridge.predictCost(shared: noShared, action: a), 0)
        XCTAssertLessThan(lasso.predictCost(shared: noShared, action: a), p)
        XCTAssertGreaterThan(lasso.predictCost(shared: noShared, action: a), 0)
        XCTAssertEqual(heavyLasso.predictCost(shared: noShared, action: a), 0) // truncated to zero
        // The snapshot sees the same effective weights.
        XCTAssertEqual(ridge.makeScoringModel().predictCost(shared: noShared, action: a),
                       ridge.predictCost(shared: noShared, action: a))
    }
}
