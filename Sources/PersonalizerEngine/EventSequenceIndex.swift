/// The joiner's index from a pending event's id to its sequence number.
///
/// An open-addressing table of (keyed hash of the id's bytes, sequence) with linear probing and
/// backward-shift deletion, so nothing piles up as windows close. The ids themselves stay in the
/// joiner's entries: a probe that meets the id's hash asks the caller whether that sequence's id
/// is the one sought, so two ids with one hash are still told apart. (A `[String: UInt64]`
/// hashed every id with SipHash three times per event — at rank, reward and window close —
/// about a fifth of the trainer's work.)
final class EventSequenceIndex {
    private struct Slot {
        var hash: UInt64
        /// `Slot.empty` when the slot is free.
        var sequence: UInt64
        static let empty = UInt64.max
    }

    private var slots: UnsafeMutableBufferPointer<Slot>
    private var mask: Int
    private(set) var count = 0
    private let seed = UInt64.random(in: 0...UInt64.max)

    init(initialCapacity: Int = 1024) {
        var capacity = 16
        while capacity < initialCapacity { capacity <<= 1 }
        slots = Self.emptySlots(capacity)
        mask = capacity - 1
    }

    deinit { slots.deallocate() }

    /// The hash this index keys `eventID` by.
    @inline(__always)
    func hash(_ eventID: String) -> UInt64 {
        var id = eventID
        return id.withUTF8 { KeyedByteHash.hash(UnsafeRawBufferPointer($0), seed: seed) }
    }

    /// The slot and sequence of the id with `hash` for which `isID` holds, if it is indexed.
    @inline(__always)
    func find(_ hash: UInt64, isID: (UInt64) -> Bool) -> (slot: Int, sequence: UInt64)? {
        var index = Int(truncatingIfNeeded: hash) & mask
        while slots[index].sequence != Slot.empty {
            if slots[index].hash == hash && isID(slots[index].sequence) { return (index, slots[index].sequence) }
            index = (index + 1) & mask
        }
        return nil
    }

    /// Indexes `sequence` under `hash` (the caller has checked its id is not indexed yet).
    func insert(_ hash: UInt64, sequence: UInt64) {
        precondition(sequence != Slot.empty, "sequence number out of range")
        if (count + 1) * 2 > slots.count { grow() }
        place(Slot(hash: hash, sequence: sequence))
        count += 1
    }

    /// Empties `slot` (from `find`) and moves back the entries after it that probing would no
    /// longer reach.
    func remove(slot: Int) {
        var hole = slot
        var next = (hole + 1) & mask
        while slots[next].sequence != Slot.empty {
            let home = Int(truncatingIfNeeded: slots[next].hash) & mask
            // The entry may fill the hole when the hole lies on its probe path (from home to next).
            if (next &- home) & mask >= (next &- hole) & mask {
                slots[hole] = slots[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        slots[hole].sequence = Slot.empty
        count -= 1
    }

    private func place(_ slot: Slot) {
        var index = Int(truncatingIfNeeded: slot.hash) & mask
        while slots[index].sequence != Slot.empty { index = (index + 1) & mask }
        slots[index] = slot
    }

    private func grow() {
        let old = slots
        slots = Self.emptySlots(old.count * 2)
        mask = slots.count - 1
        for slot in old where slot.sequence != Slot.empty { place(slot) }
        old.deallocate()
    }

    private static func emptySlots(_ capacity: Int) -> UnsafeMutableBufferPointer<Slot> {
        let slots = UnsafeMutableBufferPointer<Slot>.allocate(capacity: capacity)
        slots.initialize(repeating: Slot(hash: 0, sequence: Slot.empty))
        return slots
    }
}
