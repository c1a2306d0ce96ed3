/// The quadratic interactions that touch an action, worked out once for a set of action
/// namespace keys and reused for every action of a request that has the same keys (usually all
/// of them), instead of searching the policy's interactions again for each action.
///
/// Applies when the policy has no cubic terms and the action's namespace keys are disjoint from
/// the context's: the usual request, where the action namespaces are the actions' own. Scoring
/// with the terms visits exactly the features, in exactly the order, of the walker's
/// `.actionDependent` part, so the sums are bit-identical; every other case goes to the walker.
struct ActionTerms {
    /// Pairs (first key, second key), in the walker's order.
    private let pairs: UnsafeMutablePointer<(UInt8, UInt8)>
    private let capacity: Int
    private var count = 0
    /// The action keys the terms were worked out for, once `isPrepared`.
    private var actionKeys = KeySet()
    private var isPrepared = false

    /// Terms held in `storage` (the caller's, for the duration of one request).
    init(storage: UnsafeMutableBufferPointer<(UInt8, UInt8)>) {
        pairs = storage.baseAddress.unsafelyUnwrapped
        capacity = storage.count
    }

    /// Works out the terms for `actionKeys`, unless they are the ones held. False when the
    /// fast path does not apply (cubic terms, keys shared with the context, too many terms).
    @inline(__always)
    mutating func prepare(plan: InteractionPlan, sharedKeys: KeySet, actionKeys: KeySet) -> Bool {
        if isPrepared && actionKeys == self.actionKeys { return true }
        isPrepared = false
        guard !plan.hasCubic, sharedKeys.isDisjoint(with: actionKeys),
              collectPairs(plan: plan, keys: sharedKeys.union(actionKeys), actionKeys: actionKeys) else { return false }
        self.actionKeys = actionKeys
        isPrepared = true
        return true
    }

    /// The emitted pairs that touch the action, in the walker's order (first key, then second,
    /// both ascending).
    private mutating func collectPairs(plan: InteractionPlan, keys: KeySet, actionKeys: KeySet) -> Bool {
        count = 0
        guard plan.hasQuadratic else { return true }
        var x = keys.next(from: 0)
        while let k0 = x {
            var y = keys.next(from: 0)
            while let k1 = y {
                if plan.emitsQuadratic(k0, k1)
                    && (actionKeys.contains(UInt8(k0)) || actionKeys.contains(UInt8(k1))) {
                    guard count < capacity else { return false }
                    pairs[count] = (UInt8(k0), UInt8(k1))
                    count += 1
                }
                y = keys.next(from: k1 + 1)
            }
            x = keys.next(from: k0 + 1)
        }
        return true
    }

    /// The action-dependent part of one action's score: its own features, the constant, and
    /// the interactions in these terms. `a`'s keys must be the ones the terms were prepared for.
    @inline(__always)
    func sum<W: WeightSource>(shared s: FeatureBlock, action a: FeatureBlock, constant: Bool, weights: W) -> Float {
        var kernel = DotKernel(weights)
        if let indices = a.indices.baseAddress, let values = a.values.baseAddress {
            kernel.run(prefix: 0, scale: 1, indices: indices, values: values, count: a.indices.count)
        }
        if constant { kernel.feature(FeatureHashing.constantHash, 1) }
        let actionIndices = a.indices.baseAddress, actionValues = a.values.baseAddress
        let sharedIndices = s.indices.baseAddress, sharedValues = s.values.baseAddress
        let prime = FeatureHashing.interactionPrime
        for term in 0..<count {
            let (k0, k1) = pairs[term]
            if actionKeys.contains(k0) {
                let same = k0 == k1
                let secondIsAction = same || actionKeys.contains(k1)
                // The context's namespace with key k1, found once for every feature of the action's.
                let second = secondIsAction ? nil : Self.onlySpan(k1, in: s.spans)
                for u0 in 0..<a.spans.count {
                    let span0 = a.spans[u0]
                    guard span0.interactionKey == k0 else { continue }
                    let start0 = Int(span0.start)
                    for i in start0..<(start0 + Int(span0.count)) {
                        let h0 = prime &* actionIndices.unsafelyUnwrapped[i]
                        let v0 = actionValues.unsafelyUnwrapped[i]
                        if secondIsAction {
                            // Action × action: a self-interaction takes pairs i <= j of the merged namespace.
                            for u1 in (same ? u0 : 0)..<a.spans.count {
                                let span1 = a.spans[u1]
                                guard span1.interactionKey == k1 else { continue }
                                let j = same && u1 == u0 ? i : Int(span1.start)
                                let end = Int(span1.start) + Int(span1.count)
                                if j < end {
                                    kernel.run(prefix: h0, scale: v0, indices: actionIndices.unsafelyUnwrapped + j,
                                               values: actionValues.unsafelyUnwrapped + j, count: end - j)
                                }
                            }
                        } else if let (j, n) = second {
                            kernel.run(prefix: h0, scale: v0, indices: sharedIndices.unsafelyUnwrapped + j,
                                       values: sharedValues.unsafelyUnwrapped + j, count: n)
                        } else {
                            for span1 in s.spans where span1.interactionKey == k1 && span1.count > 0 {
                                let j = Int(span1.start)
                                kernel.run(prefix: h0, scale: v0, indices: sharedIndices.unsafelyUnwrapped + j,
                                           values: sharedValues.unsafelyUnwrapped + j, count: Int(span1.count))
                            }
                        }
                    }
                }
            } else {
                // Context first, the action second (the walker takes only the action's spans).
                let second = Self.onlySpan(k1, in: a.spans)
                for span0 in s.spans where span0.interactionKey == k0 {
                    let start0 = Int(span0.start)
                    for i in start0..<(start0 + Int(span0.count)) {
                        let h0 = prime &* sharedIndices.unsafelyUnwrapped[i]
                        let v0 = sharedValues.unsafelyUnwrapped[i]
                        if let (j, n) = second {
                            kernel.run(prefix: h0, scale: v0, indices: actionIndices.unsafelyUnwrapped + j,
                                       values: actionValues.unsafelyUnwrapped + j, count: n)
                            continue
                        }
                        for span1 in a.spans where span1.interactionKey == k1 && span1.count > 0 {
                            let j = Int(span1.start)
                            kernel.run(prefix: h0, scale: v0, indices: actionIndices.unsafelyUnwrapped + j,
                                       values: actionValues.unsafelyUnwrapped + j, count: Int(span1.count))
                        }
                    }
                }
            }
        }
        return kernel.sum
    }

    /// The start and length of the one non-empty span with `key`, when there is exactly one
    /// (the usual case); nil when there are none or several.
    @inline(__always)
    private static func onlySpan(_ key: UInt8, in spans: UnsafeBufferPointer<NamespaceSpan>) -> (Int, Int)? {
        var found: (Int, Int)?
        for span in spans where span.interactionKey == key && span.count > 0 {
            guard found == nil else { return nil }
            found = (Int(span.start), Int(span.count))
        }
        return found
    }
}

extension ExampleWalker {
    /// Scores every action in context `s` into `costs`: the part that is the same for every
    /// action (shared features and their interactions among themselves) once, then each
    /// action's own part. Learner and snapshot both score through here, so the same weights
    /// give bit-identical scores. Does not allocate.
    @inline(__always)
    func score<W: WeightSource>(shared s: FeatureBlock, actions: UnsafeBufferPointer<HashedFeatures>, weights: W,
                                into costs: UnsafeMutableBufferPointer<Double>) {
        let sharedKeys = KeySet(s)
        var sharedKernel = DotKernel(weights)
        walk(shared: s, action: s, sharedKeys: sharedKeys, actionKeys: KeySet(), part: .sharedOnly, kernel: &sharedKernel)
        let sharedPart = sharedKernel.sum
        withUnsafeTemporaryAllocation(of: (UInt8, UInt8).self, capacity: 64) { storage in
            var terms = ActionTerms(storage: storage)
            for index in 0..<actions.count {
                costs[index] = actions[index].withBlock { a in
                    let actionKeys = KeySet(a)
                    if terms.prepare(plan: plan, sharedKeys: sharedKeys, actionKeys: actionKeys) {
                        return Double(sharedPart + terms.sum(shared: s, action: a, constant: constant, weights: weights))
                    }
                    var kernel = DotKernel(weights)
                    walk(shared: s, action: a, sharedKeys: sharedKeys, actionKeys: actionKeys, part: .actionDependent,
                         kernel: &kernel)
                    return Double(sharedPart + kernel.sum)
                }
            }
        }
    }
}
