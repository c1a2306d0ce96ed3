/// Deterministic sampling of the action to show: the same event id gives the same choice, so a
/// decision can be reproduced from the log.
public enum Sampling {
    /// A 64-bit hash of the event id (MurmurHash64A, which mixes every byte into all 64 bits).
    public static func seed(eventId: UnsafeRawBufferPointer) -> UInt64 {
        let m: UInt64 = 0xc6a4_a793_5bd1_e995
        let r: UInt64 = 47
        let count = eventId.count
        var h: UInt64 = 0x5eed_5a11_9e37_79b9 ^ (UInt64(truncatingIfNeeded: count) &* m)
        var index = 0
        if let base = eventId.baseAddress {
            while count - index >= 8 {
                var k = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                k = k &* m
                k ^= k >> r
                k = k &* m
                h ^= k
                h = h &* m
                index += 8
            }
            if index < count {
                var tail: UInt64 = 0
                var shift: UInt64 = 0
                while index < count {
                    tail |= UInt64(base.load(fromByteOffset: index, as: UInt8.self)) << shift
                    shift += 8
                    index += 1
                }
                h ^= tail
                h = h &* m
            }
        }
        h ^= h >> r
        h = h &* m
        h ^= h >> r
        return h
    }

    public static func seed(eventId: String) -> UInt64 {
        FeatureHashing.withBytes(eventId) { seed(eventId: $0) }
    }

    /// Same as `seed(eventId:)` (spelling used by the protocol layer).
    public static func seed(eventID: UnsafeRawBufferPointer) -> UInt64 { seed(eventId: eventID) }
    public static func seed(eventID: String) -> UInt64 { seed(eventId: eventID) }

    /// Picks an index with the given probabilities: one SplitMix64 draw, uniform in [0, 1),
    /// then a walk of the cumulative distribution. Never returns an index whose probability is
    /// 0 (rounding at the end falls back to the last positive one). Does not allocate.
    public static func sample(probabilities: UnsafeBufferPointer<Double>, seed: UInt64) -> Int {
        precondition(!probabilities.isEmpty, "cannot sample from no actions")
        var total = 0.0
        var lastPositive = -1
        for (index, p) in probabilities.enumerated() where p > 0 {
            total += p
            lastPositive = index
        }
        guard lastPositive >= 0 else { return 0 } // no positive probability: the first action
        // Scale by the actual total so a distribution summing to 1 ± rounding still works.
        let u = uniform(seed) * total
        var cumulative = 0.0
        for (index, p) in probabilities.enumerated() where p > 0 {
            cumulative += p
            if u < cumulative { return index }
        }
        return lastPositive
    }

    /// SplitMix64's output for `seed`, as a double uniform in [0, 1) with 53 random bits.
    @inline(__always)
    public static func uniform(_ seed: UInt64) -> Double {
        var z = seed &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        z ^= z >> 31
        return Double(z >> 11) * 0x1.0p-53
    }
}
