import Synchronization

/// An immutable model snapshot for scoring: the policy model's weights (effective weights, with
/// any l1/l2 already applied), the policy, and how many examples it had learned.
///
/// Safe to share between threads: nothing mutates after init, and it frees its memory in
/// deinit. An untrained model predicts 0 for every action.
public final class ScoringModel: @unchecked Sendable {
    public let policy: LearningPolicy
    public let examplesLearned: UInt64
    /// Unique among the models of the process: what a caller keeps an action's own part
    /// (`predictCosts(shared:actions:ownParts:into:)`) for.
    public let identity = ScoringModel.nextIdentity.wrappingAdd(1, ordering: .relaxed).oldValue
    private static let nextIdentity = Atomic<UInt64>(1)

    let walker: ExampleWalker
    let weights: UnsafeMutablePointer<Float>
    let mask: UInt32

    init(policy: LearningPolicy, walker: ExampleWalker, weights: UnsafeMutablePointer<Float>, mask: UInt32,
         examplesLearned: UInt64) {
        self.policy = policy
        self.walker = walker
        self.weights = weights
        self.mask = mask
        self.examplesLearned = examplesLearned
    }

    /// An untrained model (every prediction 0).
    public convenience init(untrained policy: LearningPolicy) {
        let slots = (1 << policy.bits) / policy.weightsPerSlot
        self.init(policy: policy,
                  walker: ExampleWalker(plan: InteractionPlan(policy.interactions), constant: !policy.noConstant),
                  weights: allocateZeroed(Float.self, count: slots),
                  mask: UInt32(truncatingIfNeeded: slots - 1), examplesLearned: 0)
    }

    deinit { freeZeroed(weights) }

    /// The predicted cost of `action` in context `shared` (lower is better); identical to the
    /// learner's `predictCost` when this copy was made.
    public func predictCost(shared: HashedFeatures, action: HashedFeatures) -> Double {
        predictCosts(shared: shared, actions: [action])[0]
    }

    /// Scores every action into `costs` (same count), reusing the actions' own parts (their
    /// features, the constant, their interactions among themselves: what does not depend on
    /// the context) that this model computed in an earlier request. The shared part (shared
    /// features and their interactions among themselves) is computed once. Does not allocate.
    ///
    /// - Parameter ownParts: nil, or an entry per action: the part kept from before, or NaN.
    ///   Unknown parts are computed and written back, and an entry may be left NaN (that
    ///   action's score is not split). The costs are the same either way.
    public func predictCosts(shared: FeatureBlock, actions: UnsafeBufferPointer<FeatureBlock>,
                             ownParts: UnsafeMutableBufferPointer<Float>? = nil,
                             into costs: UnsafeMutableBufferPointer<Double>) {
        score(shared: shared, actions: actions, ownParts: ownParts, includingShared: true, into: costs)
    }

    /// The same over owning values.
    public func predictCosts(shared: HashedFeatures, actions: [HashedFeatures],
                             into costs: UnsafeMutableBufferPointer<Double>) {
        shared.withBlock { shared in
            actions.withBlocks { predictCosts(shared: shared, actions: $0, into: costs) }
        }
    }

    /// Array convenience (allocates the result).
    public func predictCosts(shared: HashedFeatures, actions: [HashedFeatures]) -> [Double] {
        var costs = [Double](repeating: 0, count: actions.count)
        costs.withUnsafeMutableBufferPointer { predictCosts(shared: shared, actions: actions, into: $0) }
        return costs
    }

    /// Scores every action as `predictCosts` does, less the shared part that every action's
    /// cost has in common (the shared features and their interactions among themselves), which
    /// is not computed. The differences between actions are the same (to rounding, and closer
    /// without a large common term), and they are all that exploration and ranking look at:
    /// every strategy gives the same probabilities when all costs move by one amount. With
    /// `-q ::` over several context namespaces that part is a good share of the work. Does not
    /// allocate.
    public func predictRelativeCosts(shared: FeatureBlock, actions: UnsafeBufferPointer<FeatureBlock>,
                                     ownParts: UnsafeMutableBufferPointer<Float>? = nil,
                                     into costs: UnsafeMutableBufferPointer<Double>) {
        score(shared: shared, actions: actions, ownParts: ownParts, includingShared: false, into: costs)
    }

    @inline(__always)
    private func score(shared: FeatureBlock, actions: UnsafeBufferPointer<FeatureBlock>,
                       ownParts: UnsafeMutableBufferPointer<Float>?, includingShared: Bool,
                       into costs: UnsafeMutableBufferPointer<Double>) {
        precondition(costs.count >= actions.count, "costs buffer is smaller than the actions")
        precondition(ownParts.map { $0.count >= actions.count } ?? true, "own parts buffer is smaller than the actions")
        walker.score(shared: shared, actions: actions, weights: CompactWeights(weights: weights, mask: mask),
                     ownParts: ownParts?.baseAddress, includingShared: includingShared, into: costs)
    }
}

/// A snapshot's compact weight array (one float per slot).
struct CompactWeights: WeightSource {
    let weights: UnsafeMutablePointer<Float>
    let mask: UInt32

    @inline(__always)
    func weight(_ hash: UInt32) -> Float { weights[Int(hash & mask)] }

    @inline(__always)
    func weights(_ hashes: SIMD4<UInt32>) -> SIMD4<Float> {
        let slots = hashes & SIMD4(repeating: mask)
        return SIMD4(weights[Int(slots[0])], weights[Int(slots[1])], weights[Int(slots[2])], weights[Int(slots[3])])
    }
}
