#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PersonalizerModel

/// The hashed features of actions seen recently, keyed by the action's wire bytes (its id and
/// namespaces, exactly as sent). Clients usually rank from a stable catalog, so most actions
/// of a request were in an earlier one: their namespaces need not be read, validated and
/// hashed again, which is most of the per-request work before scoring.
///
/// Only actions that were read and validated in full are kept, with what the request needs of
/// them besides their features: where their id lies in their bytes, and their namespace and
/// feature counts (the request's limits still count them). The result is the same whether an
/// action is found or not: the bytes are compared whole, a message's bytes parse the same
/// wherever they appear, and equal bytes hash to equal features.
///
/// Fixed memory (`slotCount` entries of at most `maxActionBytes` bytes each), two-way
/// set-associative: an action goes to one of the two slots of its set, replacing the one used
/// less recently. (Direct-mapped, two actions of a small catalog that share a slot would push
/// each other out on every request; with the per-process seed, that happened to about one
/// server in twenty-five with a 10-action catalog.) Owned by the I/O thread; allocates only
/// when an entry first grows.
final class ActionFeatureCache {
    /// Entries by default.
    static let defaultSlotCount = 1024
    /// Larger actions are not kept (they are rare, and a copy of each would cost more memory).
    static let maxActionBytes = 512

    private struct Entry {
        var features = HashedFeatures()
        var byteCount = -1  // -1: empty
        /// The id: bytes `idStart..<idStart + idCount` of the action.
        var idStart = 0
        var idCount = 0
        var namespaceCount = 0
        var featureCount = 0
        /// When the entry was last found or kept (`uses` then).
        var lastUse: UInt64 = 0
        /// Changes whenever the slot takes another action, so a reference taken earlier can tell.
        var generation: UInt64 = 0
        /// The action's own part of its score (`ScoringModel.predictCosts(...ownParts:...)`)
        /// under the model `ownPartModel`; NaN when not known.
        var ownPart: Float = .nan
        var ownPartModel: UInt64 = 0
    }

    /// One slot as it was when an action was found in it.
    struct EntryReference {
        let slot: Int
        let generation: UInt64
    }

    /// Raw memory, so a field is read in place (an array element would be copied whole, its
    /// features retained and released, on every access).
    private let entries: UnsafeMutablePointer<Entry>
    private let slotCount: Int
    /// `slotCount` × `maxActionBytes` bytes: each slot's key.
    private let keys: UnsafeMutableRawPointer
    /// Sets of two slots, minus one (-1: no slots).
    private let setMask: Int
    private let seed: UInt64
    private var uses: UInt64 = 0
    /// Actions found (tests check the cache is used).
    private(set) var hits = 0

    /// - Parameter slotCount: a power of two, or 0 for a cache that keeps nothing.
    init(slotCount: Int = defaultSlotCount) {
        precondition(slotCount == 0 || (slotCount >= 2 && slotCount & (slotCount &- 1) == 0),
                     "slot count must be 0 or a power of two from 2")
        entries = .allocate(capacity: slotCount)
        entries.initialize(repeating: Entry(), count: slotCount)
        self.slotCount = slotCount
        keys = .allocate(byteCount: max(1, slotCount * Self.maxActionBytes), alignment: 8)
        setMask = slotCount / 2 - 1
        seed = UInt64.random(in: 1...UInt64.max)
    }

    deinit {
        keys.deallocate()
        entries.deinitialize(count: slotCount)
        entries.deallocate()
    }

    /// The slot that holds `bytes`, if any.
    @inline(__always)
    func slot(holding bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count > 0, bytes.count <= Self.maxActionBytes, setMask >= 0 else { return nil }
        let first = firstSlot(of: bytes)
        guard let slot = holding(bytes, from: first) else { return nil }
        hits += 1
        uses += 1
        entries[slot].lastUse = uses
        return slot
    }

    /// The slot of the set starting at `first` that holds `bytes`, if any.
    @inline(__always)
    private func holding(_ bytes: UnsafeRawBufferPointer, from first: Int) -> Int? {
        for slot in first...(first + 1) where entries[slot].byteCount == bytes.count
            && Self.equal(keys + slot * Self.maxActionBytes, bytes.baseAddress.unsafelyUnwrapped, bytes.count) {
            return slot
        }
        return nil
    }

    /// The id of the action in `slot`, within `bytes` (the action's bytes, equal to the kept ones).
    @inline(__always)
    func id(in bytes: UnsafeRawBufferPointer, slot: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: bytes.baseAddress.unsafelyUnwrapped + entries[slot].idStart, count: entries[slot].idCount)
    }

    /// The namespace and feature counts of the action in `slot`.
    @inline(__always)
    func counts(_ slot: Int) -> (namespaces: Int, features: Int) {
        (entries[slot].namespaceCount, entries[slot].featureCount)
    }

    /// The hashed features of the action in `slot`.
    func features(_ slot: Int) -> HashedFeatures { entries[slot].features }

    /// A view of the hashed features of the action in `slot`, valid until the slot next takes
    /// an action (`keep`).
    @inline(__always)
    func block(_ slot: Int) -> FeatureBlock { entries[slot].features.unsafeBlock }

    /// The action in `slot`, for `ownPart` and `keepOwnPart` later in the request.
    @inline(__always)
    func reference(_ slot: Int) -> EntryReference { EntryReference(slot: slot, generation: entries[slot].generation) }

    /// The action's own part of its score under model `model`, or NaN (not known, or the slot
    /// has taken another action since).
    @inline(__always)
    func ownPart(_ reference: EntryReference, model: UInt64) -> Float {
        let slot = reference.slot
        return entries[slot].generation == reference.generation && entries[slot].ownPartModel == model
            ? entries[slot].ownPart : .nan
    }

    /// Keeps the action's own part under model `model`, unless the slot has taken another action.
    @inline(__always)
    func keepOwnPart(_ reference: EntryReference, model: UInt64, _ part: Float) {
        guard entries[reference.slot].generation == reference.generation else { return }
        entries[reference.slot].ownPart = part
        entries[reference.slot].ownPartModel = model
    }

    /// Keeps an action read and validated in full: `bytes`, its `id` (a slice of `bytes`), its
    /// counts and its hashed features, for the next requests.
    func keep(_ bytes: UnsafeRawBufferPointer, id: UnsafeRawBufferPointer, namespaceCount: Int, featureCount: Int,
              features: HashedFeatures) {
        guard bytes.count > 0, bytes.count <= Self.maxActionBytes, setMask >= 0 else { return }
        let base = bytes.baseAddress.unsafelyUnwrapped
        let idStart = id.baseAddress.map { $0 - base } ?? 0
        guard idStart >= 0, idStart + id.count <= bytes.count else { return }
        let first = firstSlot(of: bytes)
        // The slot that holds these bytes already, else an empty one, else the one used less recently.
        let slot = holding(bytes, from: first)
            ?? (entries[first].byteCount < 0 ? first
                : entries[first + 1].byteCount < 0 || entries[first + 1].lastUse < entries[first].lastUse ? first + 1
                : first)
        uses += 1
        entries[slot].lastUse = uses
        entries[slot].generation = uses
        entries[slot].ownPart = .nan
        (keys + slot * Self.maxActionBytes).copyMemory(from: base, byteCount: bytes.count)
        entries[slot].features.assign(features)
        entries[slot].byteCount = bytes.count
        entries[slot].idStart = idStart
        entries[slot].idCount = id.count
        entries[slot].namespaceCount = namespaceCount
        entries[slot].featureCount = featureCount
    }

    /// A keyed multiply-xorshift hash of the bytes, sixteen at a time in two independent lanes
    /// (one lane is a chain of dependent multiplies, the bottleneck): the first slot of their set.
    @inline(__always)
    private func firstSlot(of bytes: UnsafeRawBufferPointer) -> Int {
        let base = bytes.baseAddress.unsafelyUnwrapped
        let count = bytes.count
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
        // The last 1...16 bytes, as two words that may overlap what came before (count is at least 1).
        var tail0: UInt64 = 0, tail1: UInt64 = 0
        if count >= 16 {
            tail0 = base.loadUnaligned(fromByteOffset: count &- 16, as: UInt64.self)
            tail1 = base.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
        } else if count >= 8 {
            tail0 = base.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
            tail1 = base.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
        } else {
            for index in 0..<count { tail0 |= UInt64(base.load(fromByteOffset: index, as: UInt8.self)) << (8 &* UInt64(index)) }
        }
        h0 = (h0 ^ tail0) &* 0xBF58_476D_1CE4_E5B9
        h1 = (h1 ^ tail1) &* 0x94D0_49BB_1331_11EB
        var h = (h0 ^ (h0 >> 31)) &+ (h1 ^ (h1 >> 29))
        h = (h ^ (h >> 32)) &* 0xD6E8_FEB8_6659_FD93
        h ^= h >> 32
        return (Int(truncatingIfNeeded: h) & setMask) << 1
    }

    @inline(__always)
    private static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
        memcmp(a, b, count) == 0
    }
}
