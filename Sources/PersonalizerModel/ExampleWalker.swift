/// Which features of a (shared, action) example to visit. Scoring splits the example so the
/// part that is the same for every action (shared features and their interactions among
/// themselves) is computed once per request, not once per action.
enum WalkPart {
    case all
    /// Linear shared features and interactions made only of shared features.
    case sharedOnly
    /// Everything else: action features, the constant, interactions touching the action.
    case actionDependent
}

/// Enumerates the features of one ADF example the way VW sees it: the action's features, the
/// shared features copied in after them (same-key namespaces merge, action first), the
/// constant, and the policy's interactions over the union of namespaces. A self-interaction
/// takes only pairs i <= j of the merged namespace.
struct ExampleWalker {
    let plan: InteractionPlan
    let constant: Bool

    @inline(__always)
    func walk<K: FeatureKernel>(shared s: FeatureBlock, action a: FeatureBlock, sharedKeys: KeySet,
                                actionKeys: KeySet, part: WalkPart, kernel: inout K) {
        if part != .sharedOnly, let indices = a.indices.baseAddress, let values = a.values.baseAddress {
            kernel.run(prefix: 0, scale: 1, indices: indices, values: values, count: a.indices.count)
        }
        if part != .actionDependent, let indices = s.indices.baseAddress, let values = s.values.baseAddress {
            kernel.run(prefix: 0, scale: 1, indices: indices, values: values, count: s.indices.count)
        }
        if part != .sharedOnly && constant {
            kernel.feature(FeatureHashing.constantHash, 1)
        }
        let keys = part == .sharedOnly ? sharedKeys : sharedKeys.union(actionKeys)
        if plan.hasQuadratic {
            var x = keys.next(from: 0)
            while let k0 = x {
                var y = keys.next(from: 0)
                while let k1 = y {
                    if plan.emitsQuadratic(k0, k1)
                        && (part != .actionDependent || actionKeys.contains(UInt8(k0)) || actionKeys.contains(UInt8(k1))) {
                        pair(UInt8(k0), UInt8(k1), a: a, s: s, part: part, kernel: &kernel)
                    }
                    y = keys.next(from: k1 + 1)
                }
                x = keys.next(from: k0 + 1)
            }
        }
        if plan.hasCubic {
            var x = keys.next(from: 0)
            while let k0 = x {
                var y = keys.next(from: k0)
                while let k1 = y {
                    var z = keys.next(from: k1)
                    while let k2 = z {
                        let touchesAction = actionKeys.contains(UInt8(k0)) || actionKeys.contains(UInt8(k1))
                            || actionKeys.contains(UInt8(k2))
                        if part != .actionDependent || touchesAction,
                           let (t0, t1, t2) = plan.cubicArrangement(UInt8(k0), UInt8(k1), UInt8(k2)) {
                            triple(t0, t1, t2, a: a, s: s, part: part, kernel: &kernel)
                        }
                        z = keys.next(from: k2 + 1)
                    }
                    y = keys.next(from: k1 + 1)
                }
                x = keys.next(from: k0 + 1)
            }
        }
    }

    /// Span `u` of the merged span list: the action's spans, then the shared ones.
    @inline(__always)
    private func span(_ u: Int, _ a: FeatureBlock, _ s: FeatureBlock) -> (FeatureBlock, NamespaceSpan) {
        u < a.spans.count ? (a, a.spans[u]) : (s, s.spans[u - a.spans.count])
    }

    /// A run of second-element features for `pair`: where it starts and how long it is, and
    /// whether it is the first element's own span (a self-interaction starts at the first
    /// element's position, not the span's).
    private struct PairRun {
        var indices: UnsafePointer<UInt32>
        var values: UnsafePointer<Float>
        var start: Int
        var end: Int
        var isOwnSpan: Bool
    }

    @inline(__always)
    private func pair<K: FeatureKernel>(_ k0: UInt8, _ k1: UInt8, a: FeatureBlock, s: FeatureBlock,
                                        part: WalkPart, kernel: inout K) {
        let na = a.spans.count
        let total = na + s.spans.count
        let same = k0 == k1
        let prime = FeatureHashing.interactionPrime
        withUnsafeTemporaryAllocation(of: PairRun.self, capacity: total) { runs in
            var u0 = part == .sharedOnly ? na : 0
            while u0 < total {
                let (b0, sp0) = span(u0, a, s)
                if sp0.interactionKey == k0 && sp0.count > 0 {
                    let shared0 = u0 >= na
                    let first1 = max(same ? u0 : 0, part == .sharedOnly ? na : 0)
                    // Interactions touching the action take their second element from it when
                    // the first is shared.
                    let end1 = part == .actionDependent && shared0 ? na : total
                    // The second elements' spans, found once for all of this span's features
                    // (visited in the same order as before, so sums are bit-identical).
                    var runCount = 0
                    var u1 = first1
                    while u1 < end1 {
                        let (b1, sp1) = span(u1, a, s)
                        if sp1.interactionKey == k1 {
                            runs[runCount] = PairRun(indices: b1.indices.baseAddress.unsafelyUnwrapped,
                                                     values: b1.values.baseAddress.unsafelyUnwrapped,
                                                     start: Int(sp1.start), end: Int(sp1.start) + Int(sp1.count),
                                                     isOwnSpan: same && u1 == u0)
                            runCount += 1
                        }
                        u1 += 1
                    }
                    let start0 = Int(sp0.start)
                    for i in start0..<(start0 + Int(sp0.count)) {
                        let h0 = prime &* b0.indices[i]
                        let v0 = b0.values[i]
                        for r in 0..<runCount {
                            let run = runs[r]
                            let j = run.isOwnSpan ? i : run.start
                            if j < run.end {
                                kernel.run(prefix: h0, scale: v0, indices: run.indices + j, values: run.values + j,
                                           count: run.end - j)
                            }
                        }
                    }
                }
                u0 += 1
            }
        }
    }

    @inline(__always)
    private func triple<K: FeatureKernel>(_ k0: UInt8, _ k1: UInt8, _ k2: UInt8, a: FeatureBlock,
                                          s: FeatureBlock, part: WalkPart, kernel: inout K) {
        let na = a.spans.count
        let total = na + s.spans.count
        let same01 = k0 == k1
        let same12 = k1 == k2
        let prime = FeatureHashing.interactionPrime
        let sharedFloor = part == .sharedOnly ? na : 0
        var u0 = sharedFloor
        while u0 < total {
            let (b0, sp0) = span(u0, a, s)
            if sp0.interactionKey == k0 && sp0.count > 0 {
                let shared0 = u0 >= na
                let start0 = Int(sp0.start)
                for i in start0..<(start0 + Int(sp0.count)) {
                    let h0 = prime &* b0.indices[i]
                    let v0 = b0.values[i]
                    var u1 = max(same01 ? u0 : 0, sharedFloor)
                    while u1 < total {
                        let (b1, sp1) = span(u1, a, s)
                        if sp1.interactionKey == k1 {
                            let shared1 = u1 >= na
                            let end2 = part == .actionDependent && shared0 && shared1 ? na : total
                            let end1 = Int(sp1.start) + Int(sp1.count)
                            var j = same01 && u1 == u0 ? i : Int(sp1.start)
                            while j < end1 {
                                let h01 = prime &* (h0 ^ b1.indices[j])
                                let v01 = v0 * b1.values[j]
                                var u2 = max(same12 ? u1 : 0, sharedFloor)
                                while u2 < end2 {
                                    let (b2, sp2) = span(u2, a, s)
                                    if sp2.interactionKey == k2 {
                                        let end = Int(sp2.start) + Int(sp2.count)
                                        let k = same12 && u2 == u1 ? j : Int(sp2.start)
                                        if k < end {
                                            kernel.run(prefix: h01, scale: v01,
                                                       indices: b2.indices.baseAddress.unsafelyUnwrapped + k,
                                                       values: b2.values.baseAddress.unsafelyUnwrapped + k,
                                                       count: end - k)
                                        }
                                    }
                                    u2 += 1
                                }
                                j += 1
                            }
                        }
                        u1 += 1
                    }
                }
            }
            u0 += 1
        }
    }
}
