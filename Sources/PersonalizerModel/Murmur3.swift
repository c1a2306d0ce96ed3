/// MurmurHash3, x86 32-bit variant: the hash Vowpal Wabbit uses for namespaces and features.
///
/// The hasher is incremental so a feature "name=value" can be hashed from its pieces without
/// building the concatenation (no allocation on the request path). Feeding the pieces gives
/// exactly the hash of the concatenated bytes.
public struct Murmur3Hasher: Sendable {
    @usableFromInline static let c1: UInt32 = 0xcc9e_2d51
    @usableFromInline static let c2: UInt32 = 0x1b87_3593

    @usableFromInline var h1: UInt32
    /// Bytes not yet forming a 4-byte block, little-endian in the low `pendingCount` bytes.
    @usableFromInline var pending: UInt32 = 0
    @usableFromInline var pendingCount: Int = 0
    @usableFromInline var length: Int = 0

    @inlinable
    public init(seed: UInt32) { h1 = seed }

    @inlinable @inline(__always)
    static func mixBlock(_ h: UInt32, _ block: UInt32) -> UInt32 {
        var k1 = block &* c1
        k1 = (k1 << 15) | (k1 >> 17)
        k1 = k1 &* c2
        var h = h ^ k1
        h = (h << 13) | (h >> 19)
        return h &* 5 &+ 0xe654_6b64
    }

    /// Adds one byte to the pending block (the caller counts the length).
    @inlinable @inline(__always)
    mutating func push(_ byte: UInt8) {
        pending |= UInt32(byte) << UInt32(8 * pendingCount)
        pendingCount += 1
        if pendingCount == 4 {
            h1 = Self.mixBlock(h1, pending)
            pending = 0
            pendingCount = 0
        }
    }

    @inlinable @inline(__always)
    public mutating func combine(byte: UInt8) {
        length += 1
        push(byte)
    }

    @inlinable @inline(__always)
    public mutating func combine(_ bytes: UnsafeRawBufferPointer) {
        let count = bytes.count
        guard count > 0, let base = bytes.baseAddress else { return }
        length += count
        var index = 0
        // Finish a partial block left by an earlier piece, byte by byte.
        while pendingCount != 0 && index < count {
            push(base.load(fromByteOffset: index, as: UInt8.self))
            index += 1
        }
        // Whole blocks straight from memory (murmur reads blocks little-endian).
        var h = h1
        while count - index >= 4 {
            h = Self.mixBlock(h, UInt32(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt32.self)))
            index += 4
        }
        h1 = h
        while index < count {
            push(base.load(fromByteOffset: index, as: UInt8.self))
            index += 1
        }
    }

    @inlinable @inline(__always)
    public func finalize() -> UInt32 {
        var h = h1
        if pendingCount > 0 {
            var k1 = pending &* Self.c1
            k1 = (k1 << 15) | (k1 >> 17)
            k1 = k1 &* Self.c2
            h ^= k1
        }
        h ^= UInt32(truncatingIfNeeded: length)
        h ^= h >> 16
        h = h &* 0x85eb_ca6b
        h ^= h >> 13
        h = h &* 0xc2b2_ae35
        h ^= h >> 16
        return h
    }

    /// murmur3_x86_32 of `first`, then the byte `separator`, then `second`, as if joined (a
    /// feature's `name=value`), without joining them: whole blocks are loaded from either
    /// piece, and only the block that spans the separator, and the last one, are put together
    /// byte by byte.
    @inlinable
    public static func hash(_ first: UnsafeRawBufferPointer, separator: UInt8, _ second: UnsafeRawBufferPointer,
                            seed: UInt32) -> UInt32 {
        let firstCount = first.count, secondStart = firstCount + 1
        let total = secondStart + second.count
        @inline(__always) func byte(_ offset: Int) -> UInt32 {
            if offset < firstCount { return UInt32(first.load(fromByteOffset: offset, as: UInt8.self)) }
            if offset == firstCount { return UInt32(separator) }
            return UInt32(second.load(fromByteOffset: offset - secondStart, as: UInt8.self))
        }
        var h = seed
        var offset = 0
        while total - offset >= 4 {
            let block: UInt32
            if offset + 4 <= firstCount {
                block = first.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
            } else if offset >= secondStart {
                block = second.loadUnaligned(fromByteOffset: offset - secondStart, as: UInt32.self)
            } else {
                block = byte(offset) | byte(offset + 1) << 8 | byte(offset + 2) << 16 | byte(offset + 3) << 24
            }
            h = mixBlock(h, UInt32(littleEndian: block))
            offset += 4
        }
        var tail: UInt32 = 0
        var shift: UInt32 = 0
        while offset < total {
            tail |= byte(offset) << shift
            shift += 8
            offset += 1
        }
        var hasher = Murmur3Hasher(seed: h)
        hasher.pending = tail
        hasher.pendingCount = Int(shift / 8)
        hasher.length = total
        return hasher.finalize()
    }

    /// One-shot murmur3_x86_32 of `bytes`.
    @inlinable
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt32) -> UInt32 {
        var hasher = Murmur3Hasher(seed: seed)
        hasher.combine(bytes)
        return hasher.finalize()
    }
}
