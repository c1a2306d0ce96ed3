import PersonalizerEngine

/// Finds action ids of one Rank by their bytes: duplicate detection and excluded-id lookup in
/// O(actions), reusing its memory across requests (no allocation in steady state). Raw memory,
/// not arrays: this runs for every action of every Rank, and an array would check its
/// uniqueness on each write. Slots come from a keyed hash with a seed of the process's own, so
/// a client cannot pick ids that all land in one slot and make a Rank quadratic.
final class ActionIDTable {
    /// Index into `ids` of the id in each slot, -1 when free.
    private var slots: UnsafeMutableBufferPointer<Int32>
    private var ids: UnsafeMutableBufferPointer<UnsafeRawBufferPointer>
    private var idCount = 0
    private var mask = 0
    private let seed = UInt64.random(in: 1...UInt64.max)

    init() {
        slots = .allocate(capacity: 16)
        slots.initialize(repeating: -1)
        ids = .allocate(capacity: 8)
        mask = 15
    }

    deinit {
        slots.deallocate()
        ids.deallocate()
    }

    /// Starts over for a request of `count` actions.
    func reset(expecting count: Int) {
        var size = 16
        while size < count * 2 { size <<= 1 }
        if slots.count != size {
            slots.deallocate()
            slots = .allocate(capacity: size)
        }
        slots.update(repeating: -1)
        if ids.count < count {
            ids.deallocate()
            ids = .allocate(capacity: count)
        }
        mask = size - 1
        idCount = 0
    }

    /// Adds the next action's id. Returns the index of an earlier action with the same id, if any.
    func insert(_ id: UnsafeRawBufferPointer) -> Int? {
        var slot = slot(of: id)
        while slots[slot] >= 0 {
            let existing = Int(slots[slot])
            if ids[existing].equals(id) { return existing }
            slot = (slot + 1) & mask
        }
        precondition(idCount < ids.count, "more ids than the table was reset for")
        slots[slot] = Int32(idCount)
        ids[idCount] = id
        idCount += 1
        return nil
    }

    func index(of id: UnsafeRawBufferPointer) -> Int? {
        var slot = slot(of: id)
        while slots[slot] >= 0 {
            let existing = Int(slots[slot])
            if ids[existing].equals(id) { return existing }
            slot = (slot + 1) & mask
        }
        return nil
    }

    /// Where probing for `id` starts.
    @inline(__always)
    private func slot(of id: UnsafeRawBufferPointer) -> Int {
        Int(truncatingIfNeeded: KeyedByteHash.hash(id, seed: seed)) & mask
    }
}
