/// The joiner's index from a pending event's id to its sequence number.
///
/// Slots hold a keyed hash of the id's bytes and the sequence (`OpenAddressingSlots`). The ids
/// themselves stay in the joiner's entries: a probe that meets the id's hash asks the caller
/// whether that sequence's id is the one sought, so two ids with one hash are still told
/// apart. (A `[String: UInt64]` hashed every id with SipHash three times per event — at rank,
/// reward and window close — about an eighth of the trainer's work.)
final class EventSequenceIndex {
    fileprivate struct Slot: OpenAddressingSlot {
        var hash: UInt64
        var sequence: UInt64
        static let free = Slot(hash: 0, sequence: .max)
        var isUsed: Bool { sequence != .max }
        var home: Int { Int(truncatingIfNeeded: hash) }
    }

    private let slots: OpenAddressingSlots<Slot>
    private let seed = UInt64.random(in: 0...UInt64.max)

    init(initialCapacity: Int = 1024) {
        slots = OpenAddressingSlots(initialCapacity: initialCapacity)
    }

    var count: Int { slots.count }

    /// The hash this index keys `eventID` by.
    @inline(__always)
    func hash(_ eventID: String) -> UInt64 {
        var id = eventID
        return id.withUTF8 { KeyedByteHash.hash(UnsafeRawBufferPointer($0), seed: seed) }
    }

    /// The slot and sequence of the id with `hash` for which `isID` holds, if it is indexed.
    @inline(__always)
    func find(_ hash: UInt64, isID: (UInt64) -> Bool) -> (slot: Int, sequence: UInt64)? {
        guard let index = slots.firstIndex(home: Int(truncatingIfNeeded: hash),
                                           where: { $0.hash == hash && isID($0.sequence) }) else { return nil }
        return (index, slots[index].sequence)
    }

    /// Indexes `sequence` under `hash` (the caller has checked its id is not indexed yet).
    func insert(_ hash: UInt64, sequence: UInt64) {
        precondition(sequence != .max, "sequence number out of range")
        slots.insert(Slot(hash: hash, sequence: sequence))
    }

    /// Removes the entry at `slot` (from `find`).
    func remove(slot: Int) { slots.remove(at: slot) }
}
