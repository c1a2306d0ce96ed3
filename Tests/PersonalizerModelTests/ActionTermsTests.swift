import XCTest
@testable import PersonalizerModel

/// Scoring through `ActionTerms` must give the walker's sums (the same terms and products, added
/// in another order, so equal up to float rounding), for every kind of interaction term;
/// requests it does not cover go to the walker.
final class ActionTermsTests: XCTestCase {
    /// Random weights over a small table, so that every hash reads a distinct-looking weight.
    private struct RandomWeights: WeightSource {
        let table: [Float]
        func weight(_ hash: UInt32) -> Float { table[Int(hash & UInt32(table.count - 1))] }
    }

    private func randomWeights(_ random: inout TestRandom) -> RandomWeights {
        RandomWeights(table: (0..<4096).map { _ in Float(random.uniform() * 2 - 1) })
    }

    /// Namespaces named by their first letter; an action may repeat a key (merged, as in VW).
    private func randomFeatures(_ random: inout TestRandom, keys: [String]) -> HashedFeatures {
        features(keys.map { key in
            (key + "ns\(random.below(3))", (0..<(1 + random.below(5))).map { index -> (String, Any) in
                random.below(2) == 0 ? ("t\(index)", "v\(random.below(9))") : ("n\(index)", Double(random.below(7)) + 0.5)
            })
        })
    }

    /// The walker's split sums: the reference.
    private func walkerCosts(_ walker: ExampleWalker, shared: HashedFeatures, actions: [HashedFeatures],
                             weights: RandomWeights) -> [Double] {
        shared.withBlock { s in
            let sharedKeys = KeySet(s)
            var sharedKernel = DotKernel(weights)
            walker.walk(shared: s, action: s, sharedKeys: sharedKeys, actionKeys: KeySet(), part: .sharedOnly,
                        kernel: &sharedKernel)
            return actions.map { action in
                action.withBlock { a in
                    var kernel = DotKernel(weights)
                    walker.walk(shared: s, action: a, sharedKeys: sharedKeys, actionKeys: KeySet(a),
                                part: .actionDependent, kernel: &kernel)
                    return Double(sharedKernel.sum + kernel.sum)
                }
            }
        }
    }

    private func termCosts(_ walker: ExampleWalker, shared: HashedFeatures, actions: [HashedFeatures],
                           weights: RandomWeights) -> [Double] {
        var costs = [Double](repeating: .nan, count: actions.count)
        shared.withBlock { s in
            actions.withBlocks { actions in
                costs.withUnsafeMutableBufferPointer { walker.score(shared: s, actions: actions, weights: weights, into: $0) }
            }
        }
        return costs
    }

    /// Whether the terms cover this action (otherwise the walker scores it).
    private func termsApply(_ walker: ExampleWalker, shared: HashedFeatures, action: HashedFeatures) -> Bool {
        ActionTerms.Storage.with { storage in
            var terms = ActionTerms(storage: storage, actionFeatures: action.count)
            return shared.withBlock { s in
                action.withBlock { a in
                    terms.prepare(plan: walker.plan, shared: s, sharedKeys: KeySet(s), actionKeys: KeySet(a))
                }
            }
        }
    }

    /// Equal up to the rounding of a different order of float additions (a missing or wrong
    /// term moves a sum by about one weight, ~0.5 here).
    private func assertClose(_ a: [Double], _ b: [Double], _ message: String, file: StaticString = #filePath,
                             line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, message, file: file, line: line)
        for (x, y) in zip(a, b) {
            XCTAssertEqual(x, y, accuracy: 1e-4 * max(1, abs(y)), message, file: file, line: line)
        }
    }

    func testTermsScoreLikeTheWalker() {
        let covered = ["-q ::", "-q UA", "-q AU -q UA", "-q AA", "-q :A", "-q A:", "-q UA -q BA -q AB -q BB", ""]
        var random = TestRandom(state: 17)
        for arguments in covered {
            let parsed = policy("--cb_explore_adf " + arguments)
            for constant in [true, false] {
                let walker = ExampleWalker(plan: InteractionPlan(parsed.interactions), constant: constant)
                for _ in 0..<40 {
                    let weights = randomWeights(&random)
                    let shared = randomFeatures(&random, keys: ["U", "G", "D"].filter { _ in random.below(4) != 0 })
                    // Actions with the same keys (the terms are reused) and with other keys
                    // (worked out again), including a key repeated within one action.
                    let actions = (0..<5).map { index in
                        randomFeatures(&random, keys: index < 3 ? ["A", "B"] : (index == 3 ? ["A", "A"] : ["B"]))
                    }
                    for action in actions {
                        XCTAssertTrue(termsApply(walker, shared: shared, action: action), arguments)
                    }
                    assertClose(termCosts(walker, shared: shared, actions: actions, weights: weights),
                                walkerCosts(walker, shared: shared, actions: actions, weights: weights),
                                "\(arguments) constant \(constant)")
                }
            }
        }
    }

    func testCubicTermsAndKeysSharedWithTheContextGoToTheWalker() {
        var random = TestRandom(state: 23)
        let cases: [(String, [String], [String])] = [
            ("--interactions UAB -q ::", ["U"], ["A", "B"]),  // cubic terms
            ("-q ::", ["U", "A"], ["A"]),                     // 'A' in the context and the action
        ]
        for (arguments, sharedKeys, actionKeys) in cases {
            let walker = ExampleWalker(plan: InteractionPlan(policy("--cb_explore_adf " + arguments).interactions),
                                       constant: true)
            for _ in 0..<20 {
                let weights = randomWeights(&random)
                let shared = randomFeatures(&random, keys: sharedKeys)
                let actions = (0..<3).map { _ in randomFeatures(&random, keys: actionKeys) }
                XCTAssertFalse(termsApply(walker, shared: shared, action: actions[0]), arguments)
                XCTAssertEqual(termCosts(walker, shared: shared, actions: actions, weights: weights),
                               walkerCosts(walker, shared: shared, actions: actions, weights: weights), arguments)
            }
        }
    }

    func testAContextLargerThanTheScratchSpaceGoesToTheWalker() {
        var random = TestRandom(state: 29)
        let walker = ExampleWalker(plan: InteractionPlan(policy("--cb_explore_adf -q ::").interactions), constant: true)
        let weights = randomWeights(&random)
        for contextFeatures in [ActionTerms.Storage.entryCapacity, ActionTerms.Storage.entryCapacity + 1] {
            // One context namespace, paired first with the action's: its features fill the entries.
            let shared = features([("Ctx", (0..<contextFeatures).map { ("f\($0)", 1.0 as Any) })])
            let actions = (0..<3).map { _ in randomFeatures(&random, keys: ["Z"]) }
            XCTAssertEqual(termsApply(walker, shared: shared, action: actions[0]),
                           contextFeatures <= ActionTerms.Storage.entryCapacity, "\(contextFeatures)")
            assertClose(termCosts(walker, shared: shared, actions: actions, weights: weights),
                        walkerCosts(walker, shared: shared, actions: actions, weights: weights), "\(contextFeatures)")
        }
    }

    /// Actions that share feature hashes (a numeric feature's name, a repeated category) reuse
    /// each hash's context sum within a request: an action's cost is the same, bit for bit,
    /// whichever other actions come with it, and also when there are more distinct hashes than
    /// the request's table keeps.
    func testSharedActionFeaturesScoreAsEachActionAlone() {
        var random = TestRandom(state: 37)
        for arguments in ["-q ::", "-q UA -q AG", "-q AU -q :A"] {
            let walker = ExampleWalker(plan: InteractionPlan(policy("--cb_explore_adf " + arguments).interactions),
                                       constant: true)
            for actionCount in [10, 120] {
                let weights = randomWeights(&random)
                let shared = randomFeatures(&random, keys: ["U", "G"])
                let actions = (0..<actionCount).map { index in
                    features([("Article", [("price", Double(random.below(50)) + 0.25 as Any),
                                           ("topic", "t\(random.below(4))" as Any),
                                           ("id", "a\(index)" as Any),
                                           ("words", Double(index % 7) + 1 as Any)])])
                }
                let together = termCosts(walker, shared: shared, actions: actions, weights: weights)
                let alone = actions.flatMap { termCosts(walker, shared: shared, actions: [$0], weights: weights) }
                XCTAssertEqual(together, alone, "\(arguments), \(actionCount) actions")
                assertClose(together, walkerCosts(walker, shared: shared, actions: actions, weights: weights),
                            "\(arguments), \(actionCount) actions")
            }
        }
    }

    /// Eight action keys, each with the whole context in its list: the lists with their padding
    /// fill the scratch space exactly at 29 context features, and one more sends the action
    /// to the walker.
    func testEveryActionKeyWithItsPaddingFitsTheScratchSpace() {
        var random = TestRandom(state: 41)
        let walker = ExampleWalker(plan: InteractionPlan(policy("--cb_explore_adf -q ::").interactions), constant: true)
        let weights = randomWeights(&random)
        let keys = ["A", "B", "D", "E", "F", "G", "H", "I"]
        XCTAssertEqual(keys.count, ActionTerms.Storage.keyCapacity)
        for contextFeatures in [29, 30] {
            let shared = features([("Zctx", (0..<contextFeatures).map { ("f\($0)", Double($0) + 0.5 as Any) })])
            let actions = (0..<4).map { _ in randomFeatures(&random, keys: keys) }
            XCTAssertEqual(termsApply(walker, shared: shared, action: actions[0]), contextFeatures == 29,
                           "\(contextFeatures)")
            assertClose(termCosts(walker, shared: shared, actions: actions, weights: weights),
                        walkerCosts(walker, shared: shared, actions: actions, weights: weights), "\(contextFeatures)")
        }
    }

    /// Own parts kept from an earlier request give the same costs, bit for bit, and are used
    /// (a different kept part moves the cost by exactly that much).
    func testKeptOwnPartsGiveTheSameCosts() {
        var random = TestRandom(state: 31)
        let walker = ExampleWalker(plan: InteractionPlan(policy("--cb_explore_adf -q :: ").interactions), constant: true)
        let weights = randomWeights(&random)
        let shared = randomFeatures(&random, keys: ["U", "G"])
        let actions = (0..<4).map { _ in randomFeatures(&random, keys: ["A", "B"]) }
        func costs(_ parts: inout [Float]) -> [Double] {
            var costs = [Double](repeating: .nan, count: actions.count)
            shared.withBlock { s in
                actions.withBlocks { actions in
                    parts.withUnsafeMutableBufferPointer { parts in
                        costs.withUnsafeMutableBufferPointer {
                            walker.score(shared: s, actions: actions, weights: weights, ownParts: parts.baseAddress,
                                         into: $0)
                        }
                    }
                }
            }
            return costs
        }
        var parts = [Float](repeating: .nan, count: actions.count)
        let fresh = costs(&parts)
        XCTAssertFalse(parts.contains { $0.isNaN }, "every own part was computed and handed back")
        XCTAssertEqual(fresh, termCosts(walker, shared: shared, actions: actions, weights: weights))
        var kept = parts
        XCTAssertEqual(costs(&kept), fresh)
        XCTAssertEqual(kept, parts)
        var changed = parts
        changed[2] += 1
        let moved = costs(&changed)
        XCTAssertEqual(moved[2] - fresh[2], 1, accuracy: 1e-5)
        XCTAssertEqual(moved[0], fresh[0])
    }
}
