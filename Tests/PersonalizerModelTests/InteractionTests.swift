import XCTest
import PersonalizerModel

/// Interactions are checked through the weight slots one learned example touches: every
/// feature of the example gets a non-zero weight, and nothing else does.
final class InteractionTests: XCTestCase {
    private func learnOnce(_ arguments: String, shared: HashedFeatures, action: HashedFeatures) -> LinearLearner {
        let learner = LinearLearner(policy: policy(arguments))
        learner.learn(shared: shared, actions: [action], chosen: 0, probability: 1, cost: -1)
        return learner
    }

    private let shared = features([("U", [("u", "1")])])
    private let action = features([("A", [("a", "1")])])
    private var hU: UInt32 { shared.indices[0] }
    private var hA: UInt32 { action.indices[0] }

    func testWildcardPairsEveryNamespaceIncludingItself() {
        let learner = learnOnce("--cb_explore_adf -q ::", shared: shared, action: action)
        // VW expands ':' over the namespaces in sorted order: AA, AU, UU.
        let expected: Set<Int> = [slot(hU), slot(hA), slot(FeatureHashing.constantHash),
                                  slot(FeatureHashing.quadraticHash(hU, hU)),
                                  slot(FeatureHashing.quadraticHash(hA, hU)),
                                  slot(FeatureHashing.quadraticHash(hA, hA))]
        XCTAssertEqual(expected.count, 6)
        XCTAssertEqual(touchedSlots(learner), expected)
    }

    func testExplicitPairOnly() {
        let learner = learnOnce("--cb_explore_adf -q UA", shared: shared, action: action)
        XCTAssertEqual(touchedSlots(learner), [slot(hU), slot(hA), slot(FeatureHashing.constantHash),
                                               slot(FeatureHashing.quadraticHash(hU, hA))])
        let reversed = learnOnce("--cb_explore_adf -q AU --noconstant", shared: shared, action: action)
        XCTAssertEqual(touchedSlots(reversed), [slot(hU), slot(hA), slot(FeatureHashing.quadraticHash(hA, hU))])
    }

    func testDuplicateTermsFollowVW() {
        // Without wildcards the first spelling wins; with one, VW sorts and keeps "AU".
        let first = learnOnce("--cb_explore_adf -q UA -q AU --noconstant", shared: shared, action: action)
        XCTAssertEqual(touchedSlots(first), [slot(hU), slot(hA), slot(FeatureHashing.quadraticHash(hU, hA))])
        let sorted = learnOnce("--cb_explore_adf -q UA -q A: --noconstant", shared: shared, action: action)
        XCTAssertEqual(touchedSlots(sorted), [slot(hU), slot(hA), slot(FeatureHashing.quadraticHash(hA, hU)),
                                              slot(FeatureHashing.quadraticHash(hA, hA))])
    }

    func testPartialWildcard() {
        let learner = learnOnce("--cb_explore_adf -q U: --noconstant", shared: shared, action: action)
        XCTAssertEqual(touchedSlots(learner), [slot(hU), slot(hA), slot(FeatureHashing.quadraticHash(hU, hA)),
                                               slot(FeatureHashing.quadraticHash(hU, hU))])
    }

    func testSelfInteractionTakesPairsIOnlyUpToJ() {
        let s = features([("U", [("x", 2.0), ("y", 3.0)])])
        let learner = learnOnce("--cb_explore_adf -q UU --noconstant", shared: s, action: HashedFeatures())
        let (x, y) = (s.indices[0], s.indices[1])
        let xy = slot(FeatureHashing.quadraticHash(x, y))
        XCTAssertEqual(touchedSlots(learner), [slot(x), slot(y), slot(FeatureHashing.quadraticHash(x, x)), xy,
                                               slot(FeatureHashing.quadraticHash(y, y))])
        // The pair's value is the product of the values: the normalizer holds max |x|.
        XCTAssertEqual(learner.slotState(xy).normalizer, 6)
        XCTAssertEqual(learner.slotState(slot(FeatureHashing.quadraticHash(y, y))).normalizer, 9)
    }

    func testSameKeyNamespacesMergeActionFirst() {
        // A shared and an action namespace with the same first byte are one namespace to -q, with
        // the action's features first (VW appends the shared features to the action's).
        let s = features([("user", [("s", "1")])])
        let a = features([("uxx", [("t", "1")])])
        let learner = learnOnce("--cb_explore_adf -q uu --noconstant", shared: s, action: a)
        let (hs, ht) = (s.indices[0], a.indices[0])
        XCTAssertEqual(touchedSlots(learner), [slot(hs), slot(ht), slot(FeatureHashing.quadraticHash(ht, ht)),
                                               slot(FeatureHashing.quadraticHash(ht, hs)),
                                               slot(FeatureHashing.quadraticHash(hs, hs))])
    }

    func testWildcardSkipsNonPrintableNamespaces() {
        // VW expands ':' over namespaces ' '...'~' only; "émo" starts with byte 0xC3.
        let s = features([("émo", [("m", "1")])])
        let learner = learnOnce("--cb_explore_adf -q :: --noconstant", shared: s, action: action)
        XCTAssertEqual(touchedSlots(learner), [slot(s.indices[0]), slot(hA), slot(FeatureHashing.quadraticHash(hA, hA))])
    }

    func testCubicAndItsSorting() {
        let s = features([("U", [("u", "1")])])
        let learner = learnOnce("--cb_explore_adf --interactions UAU --noconstant", shared: s, action: action)
        // "UAU" has exactly two equal namespaces: VW sorts it to "AUU".
        XCTAssertEqual(touchedSlots(learner), [slot(hU), slot(hA), slot(FeatureHashing.cubicHash(hA, hU, hU))])
        let plain = learnOnce("--cb_explore_adf --cubic UAC --noconstant",
                              shared: features([("U", [("u", "1")]), ("C", [("c", "1")])]), action: action)
        let hC = FeatureHashing.textFeatureHash(name: "c", value: "1", namespaceHash: FeatureHashing.namespaceHash("C"))
        XCTAssertEqual(touchedSlots(plain), [slot(hU), slot(hA), slot(hC), slot(FeatureHashing.cubicHash(hU, hA, hC))])
    }

    func testNoInteractionsWithoutNamespaces() {
        let learner = learnOnce("--cb_explore_adf -q UA", shared: HashedFeatures(), action: action)
        XCTAssertEqual(touchedSlots(learner), [slot(hA), slot(FeatureHashing.constantHash)])
    }
}
