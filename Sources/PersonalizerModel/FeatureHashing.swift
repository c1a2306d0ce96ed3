/// Vowpal Wabbit-compatible feature hashing.
///
/// Matching VW's hashes bit for bit means `vw --audit` on the same data shows the same weight
/// slots, which makes side-by-side debugging possible.
public enum FeatureHashing {
    /// VW's hash of the constant (bias) feature.
    public static let constantHash: UInt32 = 11_650_396
    /// VW's namespace index of the constant feature; never part of interactions.
    public static let constantNamespaceKey: UInt8 = 128
    /// Key of VW's default namespace (an empty or blank namespace name).
    public static let defaultNamespaceKey: UInt8 = 0x20
    /// Multiplier VW uses to combine hashes of interacted features (the 32-bit FNV prime).
    public static let interactionPrime: UInt32 = 16_777_619

    /// VW's `hashstring`: trims bytes <= 0x20 at both ends; a string made only of ASCII digits
    /// hashes to its decimal value plus the seed (so "|ns 7" is weight 7 + hash(ns)); anything
    /// else is murmur3 with the seed. Values wrap to 32 bits, as VW's do once masked.
    @inlinable
    public static func hashString(_ bytes: UnsafeRawBufferPointer, seed: UInt32) -> UInt32 {
        let trimmed = trim(bytes)
        var value: UInt32 = 0
        for byte in trimmed {
            guard byte >= 0x30 && byte <= 0x39 else { return Murmur3Hasher.hash(trimmed, seed: seed) }
            value = value &* 10 &+ UInt32(byte &- 0x30)
        }
        return value &+ seed
    }

    /// Hash of a namespace name (VW: `hashstring(name, 0)`). An empty name is VW's default
    /// namespace, whose hash is 0.
    @inlinable
    public static func namespaceHash(_ name: UnsafeRawBufferPointer) -> UInt32 {
        hashString(name, seed: 0)
    }

    @inlinable
    public static func namespaceHash(_ name: String) -> UInt32 {
        withBytes(name) { namespaceHash($0) }
    }

    /// The interaction key of a namespace: its first byte, as VW's `-q` uses; blank names are
    /// VW's default namespace ' '.
    @inlinable
    public static func interactionKey(_ name: UnsafeRawBufferPointer) -> UInt8 {
        name.isEmpty ? defaultNamespaceKey : name[0]
    }

    /// Hash of the categorical feature `name=value`, seeded with the namespace hash: equal to
    /// VW's hash of the text-format token `|ns name=value`. Hashes the pieces as if joined;
    /// the '=' means VW's digit rule never applies, only its whitespace trimming.
    @inlinable
    public static func textFeatureHash(
        name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, namespaceHash: UInt32
    ) -> UInt32 {
        Murmur3Hasher.hash(trimLeading(name), separator: 0x3D /* = */, trimTrailing(value), seed: namespaceHash)
    }

    @inlinable
    public static func textFeatureHash(name: String, value: String, namespaceHash: UInt32) -> UInt32 {
        withBytes(name) { n in withBytes(value) { v in textFeatureHash(name: n, value: v, namespaceHash: namespaceHash) } }
    }

    /// Hash of the numeric feature `name` (VW text format `|ns name:3.5`), seeded with the
    /// namespace hash; VW's digit rule applies to all-digit names.
    @inlinable
    public static func numberFeatureHash(name: UnsafeRawBufferPointer, namespaceHash: UInt32) -> UInt32 {
        hashString(name, seed: namespaceHash)
    }

    @inlinable
    public static func numberFeatureHash(name: String, namespaceHash: UInt32) -> UInt32 {
        withBytes(name) { numberFeatureHash(name: $0, namespaceHash: namespaceHash) }
    }

    /// Hash of a pair of features for `-q`: `(16777619 * h1) ^ h2` (order matters).
    @inlinable @inline(__always)
    public static func quadraticHash(_ h1: UInt32, _ h2: UInt32) -> UInt32 {
        (interactionPrime &* h1) ^ h2
    }

    /// Hash of a triple for `--interactions abc`, as VW chains it.
    @inlinable @inline(__always)
    public static func cubicHash(_ h1: UInt32, _ h2: UInt32, _ h3: UInt32) -> UInt32 {
        (interactionPrime &* ((interactionPrime &* h1) ^ h2)) ^ h3
    }

    // MARK: - helpers

    @inlinable @inline(__always)
    static func isTrimmed(_ byte: UInt8) -> Bool { byte <= 0x20 }

    @inlinable @inline(__always)
    static func trimLeading(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var start = 0
        while start < bytes.count && isTrimmed(bytes[start]) { start += 1 }
        return start == 0 ? bytes : UnsafeRawBufferPointer(rebasing: bytes[start...])
    }

    @inlinable @inline(__always)
    static func trimTrailing(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var end = bytes.count
        while end > 0 && isTrimmed(bytes[end - 1]) { end -= 1 }
        return end == bytes.count ? bytes : UnsafeRawBufferPointer(rebasing: bytes[..<end])
    }

    @inlinable @inline(__always)
    static func trim(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        trimTrailing(trimLeading(bytes))
    }

    /// The UTF-8 bytes of a string without copying when it is native (the common case).
    @inlinable
    static func withBytes<R>(_ string: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        if let result = string.utf8.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        var copy = string
        return copy.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }
}
