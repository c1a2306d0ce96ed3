/// The quadratic interactions that touch an action, worked out once for a set of action
/// namespace keys and reused for every action of a request that has the same keys (usually all
/// of them), instead of searching the policy's interactions again for each action.
///
/// Applies when the policy has no cubic terms and the action's namespace keys are disjoint from
/// the context's: the usual request, where the action namespaces are the actions' own. Then the
/// context side of every context × action term is the same for all actions, so it is laid out
/// once per request in one list per action key: the context features that come first in their
/// term (stored already multiplied by the interaction prime, and marked to take the action's
/// hash as it is), then those that come second (marked to take it multiplied). An action
/// feature then meets the whole list in one vector run, padded to whole vectors, instead of one
/// short run per context feature.
///
/// What an action feature adds is its value times a sum over that list that depends on its
/// hash alone (`contextSum`), and actions share hashes: every numeric feature of a name has
/// one hash whatever its value, and categories, brands or topics recur across a request's
/// actions. So each hash's sum is worked out once per request and reused for the other
/// actions. The terms are the walker's `.actionDependent` ones, grouped and added in another
/// order (the same order for an action whether its sums were reused or not, so scores do not
/// depend on which other actions a request holds). Every other case goes to the walker.
struct ActionTerms {
    /// The context list of one action key: a range of the entries, a whole number of vectors.
    fileprivate struct KeyLists {
        var key: UInt8
        var start: Int32, count: Int32
    }

    /// Scratch space for one request, on the caller's stack: each array at most 1 KB, what
    /// `withUnsafeTemporaryAllocation` keeps off the heap without asking the runtime.
    struct Storage {
        static let pairCapacity = 64
        static let keyCapacity = 8
        static let entryCapacity = 232
        /// Entries, with room for each key's padding.
        static let entrySlots = entryCapacity + 3 * keyCapacity
        /// Most slots of the context sums' table (a power of two). A request uses as many as
        /// twice its action features, and fills three quarters: the hashes after that have
        /// their sums worked out each time.
        static let sumSlots = 128
        let pairs: UnsafeMutablePointer<(UInt8, UInt8)>
        fileprivate let keyLists: UnsafeMutablePointer<KeyLists>
        let hashes: UnsafeMutablePointer<UInt32>
        let values: UnsafeMutablePointer<Float>
        /// Per entry, which prefix its term takes: 0 the action feature's hash, all ones the hash
        /// multiplied by the interaction prime (the context feature comes second).
        let selectors: UnsafeMutablePointer<UInt32>
        /// The context sums' table: keys (occupied bit, action key, hash; 0 when free) and sums.
        let sumKeys: UnsafeMutablePointer<UInt64>
        let sums: UnsafeMutablePointer<Float>

        /// Runs `body` with scratch space on the stack.
        @inline(__always)
        static func with<R>(_ body: (Storage) -> R) -> R {
            withUnsafeTemporaryAllocation(of: (UInt8, UInt8).self, capacity: pairCapacity) { pairs in
                withUnsafeTemporaryAllocation(of: KeyLists.self, capacity: keyCapacity) { keyLists in
                    withUnsafeTemporaryAllocation(of: UInt32.self, capacity: entrySlots) { hashes in
                        withUnsafeTemporaryAllocation(of: Float.self, capacity: entrySlots) { values in
                            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: entrySlots) { selectors in
                                withUnsafeTemporaryAllocation(of: UInt64.self, capacity: sumSlots) { sumKeys in
                                    withUnsafeTemporaryAllocation(of: Float.self, capacity: sumSlots) { sums in
                                        body(Storage(pairs: pairs.baseAddress.unsafelyUnwrapped,
                                                     keyLists: keyLists.baseAddress.unsafelyUnwrapped,
                                                     hashes: hashes.baseAddress.unsafelyUnwrapped,
                                                     values: values.baseAddress.unsafelyUnwrapped,
                                                     selectors: selectors.baseAddress.unsafelyUnwrapped,
                                                     sumKeys: sumKeys.baseAddress.unsafelyUnwrapped,
                                                     sums: sums.baseAddress.unsafelyUnwrapped))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private let storage: Storage
    private var keyLists: UnsafeMutablePointer<KeyLists> { storage.keyLists }
    /// Action × action pairs (first key, second key), in the walker's order.
    private var pairCount = 0
    private var keyCount = 0
    private var entryCount = 0
    /// The action keys the terms were worked out for, once `isPrepared`.
    private var actionKeys = KeySet()
    private var isPrepared = false
    /// The context sums' slots in use (a power of two, minus one), how many sums may be kept,
    /// and how many are.
    private let sumMask: Int
    private let sumLimit: Int
    private var sumCount = 0

    /// Terms for a request whose actions have `actionFeatures` features in all.
    init(storage: Storage, actionFeatures: Int) {
        self.storage = storage
        let wanted = min(Storage.sumSlots, max(16, 2 * actionFeatures))
        let slots = 1 << (Int.bitWidth - (wanted - 1).leadingZeroBitCount)
        sumMask = slots - 1
        sumLimit = slots / 4 * 3
        storage.sumKeys.initialize(repeating: 0, count: slots)
    }

    /// Works out the terms for `actionKeys` in context `s`, unless they are the ones held. False
    /// when the fast path does not apply (cubic terms, keys shared with the context, more
    /// terms or context entries than the scratch space holds).
    @inline(__always)
    mutating func prepare(plan: InteractionPlan, shared s: FeatureBlock, sharedKeys: KeySet, actionKeys: KeySet) -> Bool {
        if isPrepared && actionKeys == self.actionKeys { return true }
        isPrepared = false
        guard !plan.hasCubic, sharedKeys.isDisjoint(with: actionKeys),
              collect(plan: plan, shared: s, sharedKeys: sharedKeys, actionKeys: actionKeys) else { return false }
        self.actionKeys = actionKeys
        isPrepared = true
        return true
    }

    private mutating func collect(plan: InteractionPlan, shared s: FeatureBlock, sharedKeys: KeySet,
                                  actionKeys: KeySet) -> Bool {
        pairCount = 0
        keyCount = 0
        entryCount = 0
        guard plan.hasQuadratic else { return true }
        var nextAction = actionKeys.next(from: 0)
        while let key = nextAction {
            guard keyCount < Storage.keyCapacity else { return false }
            let start = entryCount
            guard appendContextTerms(pairedWith: key, contextFirst: true, plan: plan, shared: s,
                                     sharedKeys: sharedKeys),
                  appendContextTerms(pairedWith: key, contextFirst: false, plan: plan, shared: s,
                                     sharedKeys: sharedKeys) else { return false }
            // Padding up to a whole vector: copies of the last entry with value 0, so the pad
            // reads a weight the list reads anyway.
            while entryCount > start && (entryCount - start) % 4 != 0 {
                storage.hashes[entryCount] = storage.hashes[entryCount - 1]
                storage.selectors[entryCount] = storage.selectors[entryCount - 1]
                storage.values[entryCount] = 0
                entryCount += 1
            }
            keyLists[keyCount] = KeyLists(key: UInt8(key), start: Int32(start), count: Int32(entryCount - start))
            keyCount += 1
            // Action × action, first key then second, both ascending (the walker's order).
            var nextSecond = actionKeys.next(from: 0)
            while let second = nextSecond {
                if plan.emitsQuadratic(key, second) {
                    guard pairCount < Storage.pairCapacity else { return false }
                    storage.pairs[pairCount] = (UInt8(key), UInt8(second))
                    pairCount += 1
                }
                nextSecond = actionKeys.next(from: second + 1)
            }
            nextAction = actionKeys.next(from: key + 1)
        }
        return true
    }

    /// Appends the context features of every term that pairs action key `key` with a context
    /// key, the context's side first (`contextFirst`: its features are the ones multiplied by
    /// the interaction prime) or second, context keys ascending.
    @inline(__always)
    private mutating func appendContextTerms(pairedWith key: Int, contextFirst: Bool, plan: InteractionPlan,
                                             shared s: FeatureBlock, sharedKeys: KeySet) -> Bool {
        var nextContext = sharedKeys.next(from: 0)
        while let contextKey = nextContext {
            let emitted = contextFirst ? plan.emitsQuadratic(contextKey, key) : plan.emitsQuadratic(key, contextKey)
            if emitted, !appendContext(UInt8(contextKey), from: s, multiplied: contextFirst) { return false }
            nextContext = sharedKeys.next(from: contextKey + 1)
        }
        return true
    }

    /// Appends the features of the context's namespaces with `key`, in order.
    private mutating func appendContext(_ key: UInt8, from s: FeatureBlock, multiplied: Bool) -> Bool {
        let factor = multiplied ? FeatureHashing.interactionPrime : 1
        for span in s.spans where span.interactionKey == key {
            let start = Int(span.start), count = Int(span.count)
            // Each key's padding has room of its own (`entrySlots`).
            guard entryCount + count <= Storage.entryCapacity + 3 * keyCount else { return false }
            for i in start..<(start + count) {
                storage.hashes[entryCount] = factor &* s.indices[i]
                storage.values[entryCount] = s.values[i]
                storage.selectors[entryCount] = multiplied ? 0 : ~0
                entryCount += 1
            }
        }
        return true
    }

    /// The part of an action's score that depends on the action alone: its own features, the
    /// constant, and the interactions among its own namespaces. For one model it is the same in
    /// every request, so a caller that sees the action again may keep it (see `score`).
    @inline(__always)
    func ownPart<W: WeightSource>(action a: FeatureBlock, constant: Bool, weights: W) -> Float {
        var kernel = DotKernel(weights)
        if constant { kernel.feature(FeatureHashing.constantHash, 1) }
        guard let actionIndices = a.indices.baseAddress, let actionValues = a.values.baseAddress else {
            return kernel.sum
        }
        kernel.run(prefix: 0, scale: 1, indices: actionIndices, values: actionValues, count: a.indices.count)
        let prime = FeatureHashing.interactionPrime
        // Action × action: a self-interaction takes pairs i <= j of the merged namespace.
        for term in 0..<pairCount {
            let (k0, k1) = storage.pairs[term]
            let same = k0 == k1
            for u0 in 0..<a.spans.count {
                let span0 = a.spans[u0]
                guard span0.interactionKey == k0 else { continue }
                let start0 = Int(span0.start)
                for i in start0..<(start0 + Int(span0.count)) {
                    let h0 = prime &* actionIndices[i]
                    let v0 = actionValues[i]
                    for u1 in (same ? u0 : 0)..<a.spans.count {
                        let span1 = a.spans[u1]
                        guard span1.interactionKey == k1 else { continue }
                        let j = same && u1 == u0 ? i : Int(span1.start)
                        let end = Int(span1.start) + Int(span1.count)
                        if j < end {
                            kernel.run(prefix: h0, scale: v0, indices: actionIndices + j, values: actionValues + j,
                                       count: end - j)
                        }
                    }
                }
            }
        }
        return kernel.sum
    }

    /// The part of an action's score that depends on the context too: the context × action
    /// interactions. `a`'s keys must be the ones the terms were prepared for.
    @inline(__always)
    mutating func crossPart<W: WeightSource>(action a: FeatureBlock, weights: W) -> Float {
        var part: Float = 0
        guard let actionIndices = a.indices.baseAddress, let actionValues = a.values.baseAddress else { return part }
        for span in a.spans where span.count > 0 {
            guard let lists = lists(for: span.interactionKey) else { continue }
            let start = Int(span.start)
            for i in start..<(start + Int(span.count)) {
                part += actionValues[i] * contextSum(hash: actionIndices[i], lists: lists, weights: weights)
            }
        }
        return part
    }

    /// The sum over the context list `lists` of weight × context value, for an action feature
    /// of hash `hash` in its key's namespaces: what that feature adds to a score, per unit of
    /// its value. Kept for the rest of the request (see the type's comment).
    @inline(__always)
    private mutating func contextSum<W: WeightSource>(hash: UInt32, lists: KeyLists, weights: W) -> Float {
        // Occupied bit, action key, hash: never 0, the free slot's key.
        let key = 1 << 63 | UInt64(lists.key) << 32 | UInt64(hash)
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 56) & sumMask
        while storage.sumKeys[slot] != 0 {
            if storage.sumKeys[slot] == key { return storage.sums[slot] }
            slot = (slot &+ 1) & sumMask
        }
        // A term's hash is the entry's ^ the prefix its selector picks: hash, or prime × hash.
        let plain = SIMD4<UInt32>(repeating: hash)
        let difference = SIMD4<UInt32>(repeating: hash ^ (FeatureHashing.interactionPrime &* hash))
        var lanes = SIMD4<Float>(repeating: 0)
        var entry = Int(lists.start)
        let end = entry + Int(lists.count)
        while entry < end {
            let context = UnsafeRawPointer(storage.hashes + entry).loadUnaligned(as: SIMD4<UInt32>.self)
            let selectors = UnsafeRawPointer(storage.selectors + entry).loadUnaligned(as: SIMD4<UInt32>.self)
            let values = UnsafeRawPointer(storage.values + entry).loadUnaligned(as: SIMD4<Float>.self)
            lanes += weights.weights(context ^ (plain ^ (difference & selectors))) * values
            entry += 4
        }
        let sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
        if sumCount < sumLimit {
            storage.sumKeys[slot] = key
            storage.sums[slot] = sum
            sumCount += 1
        }
        return sum
    }

    @inline(__always)
    private func lists(for key: UInt8) -> KeyLists? {
        for index in 0..<keyCount where keyLists[index].key == key { return keyLists[index] }
        return nil
    }
}

extension ExampleWalker {
    /// Scores every action in context `s` into `costs`: the part that is the same for every
    /// action (shared features and their interactions among themselves) once, then each
    /// action's own part and its context × action part. Learner and snapshot both score through
    /// here, so the same weights give bit-identical scores. Does not allocate.
    ///
    /// - Parameter ownParts: nil, or one entry per action: the action's own part (`ownPart`) as
    ///   this model computed it before for the same features, or NaN when unknown. Unknown ones
    ///   are computed and written back; an action the fast path does not cover is left NaN (its
    ///   score is not split). Given or computed, the score is the same, bit for bit.
    /// - Parameter includingShared: false leaves the shared part out of every score (and does
    ///   not compute it): each cost less the same amount, which is all that ranking needs.
    @inline(__always)
    func score<W: WeightSource>(shared s: FeatureBlock, actions: UnsafeBufferPointer<FeatureBlock>, weights: W,
                                ownParts: UnsafeMutablePointer<Float>? = nil, includingShared: Bool = true,
                                into costs: UnsafeMutableBufferPointer<Double>) {
        let sharedKeys = KeySet(s)
        var sharedPart: Float = 0
        if includingShared {
            var sharedKernel = DotKernel(weights)
            walk(shared: s, action: s, sharedKeys: sharedKeys, actionKeys: KeySet(), part: .sharedOnly,
                 kernel: &sharedKernel)
            sharedPart = sharedKernel.sum
        }
        ActionTerms.Storage.with { storage in
            var actionFeatures = 0
            for action in actions { actionFeatures += action.indices.count }
            var terms = ActionTerms(storage: storage, actionFeatures: actionFeatures)
            for index in 0..<actions.count {
                let a = actions[index]
                let actionKeys = KeySet(a)
                if terms.prepare(plan: plan, shared: s, sharedKeys: sharedKeys, actionKeys: actionKeys) {
                    var own = ownParts?[index] ?? .nan
                    if own.isNaN {
                        own = terms.ownPart(action: a, constant: constant, weights: weights)
                        ownParts?[index] = own
                    }
                    costs[index] = Double(sharedPart + (own + terms.crossPart(action: a, weights: weights)))
                    continue
                }
                ownParts?[index] = .nan
                var kernel = DotKernel(weights)
                walk(shared: s, action: a, sharedKeys: sharedKeys, actionKeys: actionKeys, part: .actionDependent,
                     kernel: &kernel)
                costs[index] = Double(sharedPart + kernel.sum)
            }
        }
    }
}
