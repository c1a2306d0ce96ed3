/// A fast keyed hash of a byte string for the server's own tables (action cache slots, the
/// joiner's event index): multiply-xorshift over sixteen bytes a round in two independent lanes
/// (one lane is a chain of dependent multiplies, the bottleneck). The seed is random per
/// process, so clients cannot aim ids or actions at one slot; the tables compare the bytes
/// themselves, so equal hashes never make two keys one.
public enum KeyedByteHash {
    @inline(__always)
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let count = bytes.count
        guard count > 0, let base = bytes.baseAddress else { return mix(seed, 0) }
        var h0 = seed ^ (UInt64(count) &* 0x9E37_79B9_7F4A_7C15)
        var h1 = seed &+ 0x6A09_E667_F3BC_C909
        var offset = 0
        while count &- offset >= 16 {
            h0 = (h0 ^ base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h1 = (h1 ^ base.loadUnaligned(fromByteOffset: offset &+ 8, as: UInt64.self)) &* 0x94D0_49BB_1331_11EB
            h0 ^= h0 >> 31
            h1 ^= h1 >> 29
            offset &+= 16
        }
        // The last 1...16 bytes, as two words that may overlap what came before.
        var tail0: UInt64 = 0, tail1: UInt64 = 0
        if count >= 8 {
            tail0 = base.loadUnaligned(fromByteOffset: count >= 16 ? count &- 16 : 0, as: UInt64.self)
            tail1 = base.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
        } else {
            for index in 0..<count { tail0 |= UInt64(base.load(fromByteOffset: index, as: UInt8.self)) << (8 &* UInt64(index)) }
        }
        h0 = (h0 ^ tail0) &* 0xBF58_476D_1CE4_E5B9
        h1 = (h1 ^ tail1) &* 0x94D0_49BB_1331_11EB
        return mix(h0 ^ (h0 >> 31), h1 ^ (h1 >> 29))
    }

    @inline(__always)
    private static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var h = a &+ b
        h = (h ^ (h >> 32)) &* 0xD6E8_FEB8_6659_FD93
        return h ^ (h >> 32)
    }
}
