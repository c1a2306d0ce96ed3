/// A set of namespace keys (bytes), as a 256-bit bitmap: building and scanning it per example
/// costs a few instructions and never allocates.
struct KeySet: Equatable {
    var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0

    @inline(__always)
    mutating func insert(_ key: UInt8) {
        let bit = UInt64(1) << UInt64(key & 63)
        switch key >> 6 {
        case 0: w0 |= bit
        case 1: w1 |= bit
        case 2: w2 |= bit
        default: w3 |= bit
        }
    }

    @inline(__always)
    func contains(_ key: UInt8) -> Bool {
        let word: UInt64
        switch key >> 6 {
        case 0: word = w0
        case 1: word = w1
        case 2: word = w2
        default: word = w3
        }
        return word & (UInt64(1) << UInt64(key & 63)) != 0
    }

    @inline(__always)
    func isDisjoint(with other: KeySet) -> Bool {
        (w0 & other.w0) | (w1 & other.w1) | (w2 & other.w2) | (w3 & other.w3) == 0
    }

    @inline(__always)
    func union(_ other: KeySet) -> KeySet {
        KeySet(w0: w0 | other.w0, w1: w1 | other.w1, w2: w2 | other.w2, w3: w3 | other.w3)
    }

    /// The keys of the namespaces that have at least one feature (the constant excluded: it
    /// lives outside the spans).
    @inline(__always)
    init(_ block: FeatureBlock) {
        for span in block.spans where span.count > 0 { insert(span.interactionKey) }
    }

    init() {}

    init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0; self.w1 = w1; self.w2 = w2; self.w3 = w3
    }

    /// The smallest key >= `from`, or nil (ascending iteration without allocating).
    @inline(__always)
    func next(from: Int) -> Int? {
        var wordIndex = from >> 6
        guard wordIndex < 4 else { return nil }
        var word = self.word(wordIndex) & (~UInt64(0) << UInt64(from & 63))
        while true {
            if word != 0 { return wordIndex << 6 | word.trailingZeroBitCount }
            wordIndex += 1
            guard wordIndex < 4 else { return nil }
            word = self.word(wordIndex)
        }
    }

    @inline(__always)
    func word(_ index: Int) -> UInt64 {
        switch index {
        case 0: return w0
        case 1: return w1
        case 2: return w2
        default: return w3
        }
    }
}

/// The interactions of a policy, compiled the way Vowpal Wabbit compiles them, so the same
/// feature pairs land in the same weight slots:
/// - at parse time VW drops terms that are permutations of an earlier term and sorts a term
///   that has exactly two equal namespaces ('aba' becomes 'aab');
/// - when any term has a wildcard ':', VW expands the wildcards over the printable namespaces
///   seen (' '...'~'; never the constant), sorts all resulting terms, keeps the
///   lexicographically smallest arrangement of each namespace multiset, and sorts again terms
///   with exactly two equal namespaces.
/// Absent namespaces contribute no features, so expanding over the namespaces present in an
/// example is equivalent to VW's "seen so far".
///
/// Quadratic arrangements are precomputed in a 256×256 bit table; cubic ones are decided per
/// namespace multiset from the (few) cubic terms.
final class InteractionPlan: @unchecked Sendable {
    /// Bit (a·256 + b): emit the pair in arrangement (a, b).
    private let quadraticTable: UnsafeMutablePointer<UInt64>?
    let hasQuadratic: Bool
    /// Cubic terms after VW's parse-time filtering, packed k0 | k1 << 8 | k2 << 16.
    private let cubicTerms: [UInt32]
    let hasCubic: Bool
    /// Whether VW's wildcard compilation (sort, keep the smallest arrangement) applies.
    private let wildcardMode: Bool

    init(_ interactions: [Interaction]) {
        let filtered = Self.parseTimeFilter(interactions.map(\.keys))
        wildcardMode = filtered.contains { $0.contains(Interaction.wildcard) }
        let quadratic = filtered.filter { $0.count == 2 }
        let cubic = filtered.filter { $0.count == 3 }
        cubicTerms = cubic.map { UInt32($0[0]) | UInt32($0[1]) << 8 | UInt32($0[2]) << 16 }
        hasCubic = !cubic.isEmpty
        hasQuadratic = !quadratic.isEmpty
        if hasQuadratic {
            let table = UnsafeMutablePointer<UInt64>.allocate(capacity: 1024)
            table.initialize(repeating: 0, count: 1024)
            for a in 0..<256 {
                for b in a..<256 {
                    if let (x, y) = Self.quadraticArrangement(UInt8(a), UInt8(b), terms: quadratic,
                                                              wildcardMode: wildcardMode) {
                        let bit = Int(x) << 8 | Int(y)
                        table[bit >> 6] |= UInt64(1) << UInt64(bit & 63)
                    }
                }
            }
            quadraticTable = table
        } else {
            quadraticTable = nil
        }
    }

    deinit { quadraticTable?.deallocate() }

    @inline(__always)
    func emitsQuadratic(_ a: Int, _ b: Int) -> Bool {
        let bit = a << 8 | b
        return quadraticTable.unsafelyUnwrapped[bit >> 6] & (UInt64(1) << UInt64(bit & 63)) != 0
    }

    @inline(__always)
    static func isPrintable(_ key: UInt8) -> Bool { key >= 0x20 && key <= 0x7E }

    /// VW `sort_and_filter_duplicate_interactions` on the terms as given (':' a plain byte).
    static func parseTimeFilter(_ terms: [[UInt8]]) -> [[UInt8]] {
        var seen: Set<[UInt8]> = []
        var result: [[UInt8]] = []
        for term in terms {
            let sorted = term.sorted()
            guard seen.insert(sorted).inserted else { continue }
            result.append(hasExactlyOnePair(sorted) ? sorted : term)
        }
        return result
    }

    /// VW's `must_be_left_sorted` on a sorted term: some namespace repeats but not all are equal.
    static func hasExactlyOnePair(_ sorted: [UInt8]) -> Bool {
        guard sorted.count == 3 else { return false }
        let pairs = (sorted[0] == sorted[1] ? 1 : 0) + (sorted[1] == sorted[2] ? 1 : 0)
        return pairs == 1
    }

    /// The arrangement in which the namespace pair {a, b} (a <= b) is interacted, or nil.
    static func quadraticArrangement(_ a: UInt8, _ b: UInt8, terms: [[UInt8]],
                                     wildcardMode: Bool) -> (UInt8, UInt8)? {
        let w = Interaction.wildcard
        var best: (UInt8, UInt8)?
        func offer(_ x: UInt8, _ y: UInt8) {
            if let current = best {
                if wildcardMode && (x, y) < current { best = (x, y) }
            } else {
                best = (x, y)
            }
        }
        for term in terms {
            let t0 = term[0], t1 = term[1]
            switch (t0 == w, t1 == w) {
            case (false, false):
                if (t0 == a && t1 == b) || (t0 == b && t1 == a) { offer(t0, t1) }
            case (true, true):
                // VW's quadratic fast path yields pairs in ascending order.
                if isPrintable(a) && isPrintable(b) { offer(a, b) }
            case (false, true):
                if t0 == a && isPrintable(b) { offer(a, b) }
                if t0 == b && isPrintable(a) { offer(b, a) }
            case (true, false):
                if t1 == b && isPrintable(a) { offer(a, b) }
                if t1 == a && isPrintable(b) { offer(b, a) }
            }
            if best != nil && !wildcardMode { break } // first surviving term wins
        }
        return best
    }

    /// The arrangement of the namespace multiset {a, b, c} (a <= b <= c), or nil.
    /// Runs per example for cubic terms only; no allocation.
    @inline(__always)
    func cubicArrangement(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> (UInt8, UInt8, UInt8)? {
        let w = Interaction.wildcard
        var best: UInt32 = .max // packed k0 << 16 | k1 << 8 | k2: compares lexicographically
        for packed in cubicTerms {
            let t0 = UInt8(truncatingIfNeeded: packed)
            let t1 = UInt8(truncatingIfNeeded: packed >> 8)
            let t2 = UInt8(truncatingIfNeeded: packed >> 16)
            // Remove the fixed namespaces from the multiset; what is left fills the wildcards.
            var left = (a, b, c, 3)
            var wildcards = 0
            if t0 == w { wildcards += 1 } else if !Self.remove(t0, from: &left) { continue }
            if t1 == w { wildcards += 1 } else if !Self.remove(t1, from: &left) { continue }
            if t2 == w { wildcards += 1 } else if !Self.remove(t2, from: &left) { continue }
            guard left.3 == wildcards else { continue }
            // Wildcard fillers in VW's generation order.
            let f0: UInt8, f1: UInt8, f2: UInt8
            switch wildcards {
            case 0: (f0, f1, f2) = (0, 0, 0)
            case 1: (f0, f1, f2) = (left.0, 0, 0)
            case 2: (f0, f1, f2) = (left.0, left.1, 0)      // VW's quadratic fast path: ascending
            default: (f0, f1, f2) = (left.2, left.1, left.0) // combinations generator: descending
            }
            if wildcards >= 1 && !Self.isPrintable(f0) { continue }
            if wildcards >= 2 && !Self.isPrintable(f1) { continue }
            if wildcards >= 3 && !Self.isPrintable(f2) { continue }
            var next = 0
            func filled(_ key: UInt8) -> UInt8 {
                guard key == w else { return key }
                defer { next += 1 }
                return next == 0 ? f0 : (next == 1 ? f1 : f2)
            }
            let k0 = filled(t0), k1 = filled(t1), k2 = filled(t2)
            let candidate = UInt32(k0) << 16 | UInt32(k1) << 8 | UInt32(k2)
            if best == .max || (wildcardMode && candidate < best) { best = candidate }
            if !wildcardMode { break } // first surviving term wins
        }
        guard best != .max else { return nil }
        // Exactly two equal namespaces: VW sorts the term so the equal ones are adjacent.
        if (a == b) != (b == c) { return (a, b, c) }
        return (UInt8(truncatingIfNeeded: best >> 16), UInt8(truncatingIfNeeded: best >> 8),
                UInt8(truncatingIfNeeded: best))
    }

    @inline(__always)
    private static func remove(_ key: UInt8, from left: inout (UInt8, UInt8, UInt8, Int)) -> Bool {
        if left.3 > 0 && left.0 == key {
            left = (left.1, left.2, 0, left.3 - 1)
            return true
        }
        if left.3 > 1 && left.1 == key {
            left = (left.0, left.2, 0, left.3 - 1)
            return true
        }
        if left.3 > 2 && left.2 == key {
            left = (left.0, left.1, 0, left.3 - 1)
            return true
        }
        return false
    }
}
