/// The online learner: a hashed linear regressor of action costs, trained like Vowpal Wabbit's
/// `--cb_explore_adf` (cb_adf over csoaa_ldf over gd, squared loss).
///
/// Mutable and owned by one trainer thread at a time (`@unchecked Sendable` so ownership can be
/// handed over once). Readers never see it: they get immutable `ScoringModel` copies.
///
/// Weight table layout, as VW's: per slot 4 floats — weight, AdaGrad sum of squared gradients,
/// largest |x| seen (the normalizer), and the learning-rate factor of the last update. With
/// `--cb_type dr` two models interleave (slot = 2·hash + model), as VW's `params_per_weight`.
public final class LinearLearner: @unchecked Sendable {
    public let policy: LearningPolicy
    public internal(set) var examplesLearned: UInt64 = 0

    let walker: ExampleWalker
    let bits: Int
    let slotCount: Int
    let mask: UInt32
    /// log2 of the models per slot (0, or 1 for dr).
    let modelShift: UInt32
    let table: UnsafeMutablePointer<Float>
    let rule: UpdateRule

    // Learner state beyond the table (VW: shared_data and gd state).
    var eventSum: UInt64 = 0
    var actionSum: UInt64 = 0
    var minLabel: Float = 0
    var maxLabel: Float = 0
    /// Lazy l2 shrinkage of every weight, and lazy l1 truncation (VW's contraction / gravity).
    var contraction: Double = 1
    var gravity: Double = 0
    /// Per model: Σ importance weight · Σ normalized x², and Σ importance weight.
    var normalizedSumNormX: (Double, Double) = (0, 0)
    var totalWeight: (Double, Double) = (0, 0)
    /// VW keeps the last global normalization factor across examples.
    var updateMultiplier: Float = 1

    // Reused scratch: the visited features of the example being learned, and per-action costs.
    var scratch = LearnScratch(capacity: 1024)
    var costScratch: UnsafeMutablePointer<Float>
    var costScratchCapacity: Int

    public init(policy: LearningPolicy) {
        precondition((1...30).contains(policy.bits), "bits must be in 1...30, not \(policy.bits)")
        self.policy = policy
        walker = ExampleWalker(plan: InteractionPlan(policy.interactions), constant: !policy.noConstant)
        bits = policy.bits
        slotCount = 1 << policy.bits
        mask = UInt32(truncatingIfNeeded: slotCount - 1)
        modelShift = policy.weightsPerSlot == 2 ? 1 : 0
        rule = UpdateRule(policy)
        table = allocateZeroed(Float.self, count: slotCount * 4)
        if rule.initialT > 0 {
            // VW: as if initial_t examples with squared gradient 1 had been seen already.
            for slot in 0..<slotCount { table[slot << 2 | 1] = rule.initialT }
            normalizedSumNormX = (Double(rule.initialT), Double(rule.initialT))
            totalWeight = (Double(rule.initialT), Double(rule.initialT))
        }
        costScratchCapacity = 16
        costScratch = .allocate(capacity: costScratchCapacity)
    }

    deinit {
        freeZeroed(table)
        scratch.deallocate()
        costScratch.deallocate()
    }

    // MARK: - Learning

    /// Learns one joined event: `actions` in the order they were scored, `chosen` the index
    /// shown with `probability`, `cost` = −reward. Does not allocate in steady state.
    ///
    /// - mtr: the chosen action's example regresses its cost with importance weight
    ///   (1/p)·(events/actions seen), as VW's cb_adf does;
    /// - ips: every action regresses cost/p (chosen) or 0 (others), weight 1;
    /// - dr: a second model (the reward regressor) learns the chosen cost with weight 1/p and
    ///   estimates each action's cost ĉ; every action then regresses ĉ, plus (cost − ĉ)/p for
    ///   the chosen one.
    /// With SquareCB there is no importance weighting (p is taken as 1), which is SquareCB's
    /// design. (VW 9.11 resets p to 1 for every action but the last one, an off-by-one we do
    /// not copy.)
    public func learn(shared: HashedFeatures, actions: [HashedFeatures], chosen: Int,
                      probability: Double, cost: Double) {
        shared.withBlock { shared in
            actions.withBlocks { actions in
                learn(shared: shared, actions: actions, chosen: chosen, probability: probability, cost: cost)
            }
        }
    }

    /// Whether `learn` reads only the chosen action's features (and the number of actions):
    /// true with `--cb_type mtr`, which regresses the chosen action's cost alone.
    public var learnsFromChosenActionOnly: Bool { policy.costEstimator == .mtr }

    /// The same, over borrowed views of features held elsewhere (the trainer's reused buffers):
    /// no reference counting per example.
    public func learn(shared: FeatureBlock, actions: UnsafeBufferPointer<FeatureBlock>, chosen: Int,
                      probability: Double, cost: Double) {
        precondition(actions.indices.contains(chosen), "chosen action \(chosen) is not one of \(actions.count)")
        learn(shared: shared, actions: actions, chosen: chosen, probability: probability, cost: Float(cost))
        examplesLearned += 1
    }

    private func learn(shared s: FeatureBlock, actions: UnsafeBufferPointer<FeatureBlock>, chosen: Int,
                       probability: Double, cost: Float) {
        let sharedKeys = KeySet(s)
        // SquareCB learns without importance weights (VW sets p = 1 for it).
        var p = Float(probability)
        if case .squareCB = policy.exploration { p = 1 }
        if !(p > 0) { p = 1e-5 } // VW's safe_probability
        let k = actions.count
        switch policy.costEstimator {
        case .mtr:
            // VW cb_adf MTR: weight 1/p times (events seen / actions seen).
            eventSum += 1
            actionSum += UInt64(k)
            let weight = (1 / p) * (Float(eventSum) / Float(actionSum))
            observeLabel(cost)
            let a = actions[chosen]
            _ = learnExample(shared: s, action: a, keys: (sharedKeys, KeySet(a)), label: cost, weight: weight, model: 0)
        case .ips:
            for index in 0..<k {
                let label = index == chosen ? cost / p : 0
                observeLabel(label)
                let a = actions[index]
                _ = learnExample(shared: s, action: a, keys: (sharedKeys, KeySet(a)), label: label, weight: 1, model: 0)
            }
        case .dr:
            ensureCostScratch(k)
            // The reward regressor (model 1) learns the observed cost with importance weight 1/p
            // and estimates the others; estimates are taken in action order, as VW does.
            for index in 0..<k {
                let a = actions[index]
                let keys = (sharedKeys, KeySet(a))
                let estimate: Float
                if index == chosen {
                    observeLabel(cost)
                    estimate = learnExample(shared: s, action: a, keys: keys, label: cost, weight: 1 / p, model: 1)
                } else {
                    estimate = clippedPrediction(shared: s, action: a, keys: keys, model: 1)
                }
                costScratch[index] = index == chosen ? estimate + (cost - estimate) / p : estimate
            }
            for index in 0..<k {
                let label = costScratch[index]
                observeLabel(label)
                let a = actions[index]
                _ = learnExample(shared: s, action: a, keys: (sharedKeys, KeySet(a)), label: label, weight: 1, model: 0)
            }
        }
    }

    /// VW's set_minmax: predictions used for gradients are clipped to the labels seen (and 0).
    @inline(__always)
    private func observeLabel(_ label: Float) {
        minLabel = min(minLabel, label)
        maxLabel = max(maxLabel, label)
    }

    private func ensureCostScratch(_ count: Int) {
        guard count > costScratchCapacity else { return }
        costScratch.deallocate()
        costScratchCapacity = max(count, costScratchCapacity * 2)
        costScratch = .allocate(capacity: costScratchCapacity)
    }

    /// VW gd learn on one example: predict, then the adaptive, normalized, importance-invariant
    /// update. Returns the (clipped) prediction before the update.
    private func learnExample(shared s: FeatureBlock, action a: FeatureBlock, keys: (KeySet, KeySet),
                              label: Float, weight: Float, model: UInt32) -> Float {
        // One pass visits the features, keeps their slots and values for the update, and
        // predicts with the weights as they are.
        var collector = CollectKernel(scratch: scratch, weights: tableWeights(model: model))
        walker.walk(shared: s, action: a, sharedKeys: keys.0, actionKeys: keys.1, part: .all, kernel: &collector)
        scratch = collector.scratch
        let count = collector.count
        let raw = collector.sum
        let prediction = raw.isNaN ? 0 : min(max(raw, minLabel), maxLabel)
        let loss = (prediction - label) * (prediction - label)
        guard loss > 0 else { return prediction }

        let gradSquared = weight * 4 * (prediction - label) * (prediction - label)
        var predPerUpdate: Float = 1
        if gradSquared != 0 {
            let sums = rule.accumulate(scratch, count: count, table: table, gradSquared: gradSquared)
            if model == 0 {
                normalizedSumNormX.0 += Double(weight) * Double(sums.normX)
                totalWeight.0 += Double(weight)
                updateMultiplier = rule.averageUpdate(totalWeight: Float(totalWeight.0),
                                                      normalizedSumNormX: Float(normalizedSumNormX.0))
            } else {
                normalizedSumNormX.1 += Double(weight) * Double(sums.normX)
                totalWeight.1 += Double(weight)
                updateMultiplier = rule.averageUpdate(totalWeight: Float(totalWeight.1),
                                                      normalizedSumNormX: Float(normalizedSumNormX.1))
            }
            predPerUpdate = sums.predPerUpdate * updateMultiplier
        }
        var update = UpdateRule.squaredLossUpdate(prediction: prediction, label: label,
                                                  updateScale: rule.eta * weight, predPerUpdate: predPerUpdate)
        if regularized && abs(update) > 1e-8 {
            let derivative = Double(2 * (prediction - label))
            let etaBar = abs(derivative) > 1e-8 ? Double(-update) / derivative : 0
            if abs(derivative) > 1e-8 { contraction *= 1 - rule.l2 * etaBar }
            update /= Float(contraction)
            gravity += etaBar * rule.l1
        }
        if update.isNaN { update = 0 }
        if update != 0 {
            let scaled = update * updateMultiplier
            let slots = scratch.slots, xs = scratch.xs
            for k in 0..<count where xs[k].isFinite {
                let w = table + (Int(slots[k]) << 2)
                w[0] += scaled * xs[k] * w[3]
            }
        }
        if contraction < 1e-9 || gravity > 1e3 { syncWeights() }
        return prediction
    }

    private var regularized: Bool { rule.l1 > 0 || rule.l2 > 0 }

    /// VW's trunc_weight then contraction: the weight a prediction actually uses.
    @inline(__always)
    static func effectiveWeight(_ w: Float, _ gravity: Float, _ contraction: Float) -> Float {
        let truncated = gravity < abs(w) ? w - (w > 0 ? gravity : -gravity) : 0
        return truncated * contraction
    }

    /// Folds the lazy l1/l2 state into the weights (VW sync_weights).
    private func syncWeights() {
        if gravity == 0 && contraction == 1 { return }
        let g = Float(gravity), c = Float(contraction)
        for slot in 0..<slotCount {
            table[slot << 2] = Self.effectiveWeight(table[slot << 2], g, c)
        }
        gravity = 0
        contraction = 1
    }

    // MARK: - Prediction

    /// The predicted cost of `action` in the context `shared` (lower is better): the model's raw
    /// linear score, as VW ranks actions by. Equal to a `ScoringModel` copied now.
    public func predictCost(shared: HashedFeatures, action: HashedFeatures) -> Double {
        var cost: Double = 0
        shared.withBlock { s in
            action.withBlock { a in
                withUnsafePointer(to: a) { a in
                    withUnsafeMutablePointer(to: &cost) { cost in
                        walker.score(shared: s, actions: UnsafeBufferPointer(start: a, count: 1),
                                     weights: tableKernel(model: 0).weights,
                                     into: UnsafeMutableBufferPointer(start: cost, count: 1))
                    }
                }
            }
        }
        return cost
    }

    private func tableWeights(model: UInt32) -> TableWeights {
        TableWeights(table: table, shift: modelShift, model: model, mask: mask, regularized: regularized,
                     gravity: Float(gravity), contraction: Float(contraction))
    }

    private func tableKernel(model: UInt32) -> DotKernel<TableWeights> { DotKernel(tableWeights(model: model)) }

    /// A model's prediction clipped to the labels seen, as VW's gd returns it.
    private func clippedPrediction(shared s: FeatureBlock, action a: FeatureBlock, keys: (KeySet, KeySet),
                                   model: UInt32) -> Float {
        var kernel = tableKernel(model: model)
        walker.walk(shared: s, action: a, sharedKeys: keys.0, actionKeys: keys.1, part: .all, kernel: &kernel)
        return kernel.sum.isNaN ? 0 : min(max(kernel.sum, minLabel), maxLabel)
    }

    /// An immutable copy of what scoring needs: the policy model's effective weights.
    public func makeScoringModel() -> ScoringModel {
        let compactCount = slotCount >> Int(modelShift)
        let weights = allocateZeroed(Float.self, count: compactCount)
        let stride = 4 << Int(modelShift)
        if regularized {
            let g = Float(gravity), c = Float(contraction)
            for i in 0..<compactCount { weights[i] = Self.effectiveWeight(table[i * stride], g, c) }
        } else {
            for i in 0..<compactCount where table[i * stride] != 0 { weights[i] = table[i * stride] }
        }
        return ScoringModel(policy: policy, walker: walker, weights: weights,
                            mask: mask >> modelShift, examplesLearned: examplesLearned)
    }

    // MARK: - Inspection (tests, debugging against `vw --audit`)

    /// The stored weight, AdaGrad accumulator and normalizer of a raw slot (0..<2^bits).
    public func slotState(_ slot: Int) -> (weight: Float, gradientSquares: Float, normalizer: Float) {
        precondition(slot >= 0 && slot < slotCount)
        return (table[slot << 2], table[slot << 2 | 1], table[slot << 2 | 2])
    }

    /// The slot a feature hash uses in the policy model (model 0).
    public func slot(forHash hash: UInt32) -> Int {
        Int((hash << modelShift) & mask)
    }
}
