#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PersonalizerEngine
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

    /// The first slot of the set that `bytes` go to.
    @inline(__always)
    private func firstSlot(of bytes: UnsafeRawBufferPointer) -> Int {
        (Int(truncatingIfNeeded: KeyedByteHash.hash(bytes, seed: seed)) & setMask) << 1
    }

    @inline(__always)
    private static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
        memcmp(a, b, count) == 0
    }
}
