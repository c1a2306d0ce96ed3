/// Finds action ids of one Rank by their bytes: duplicate detection and excluded-id lookup in
/// O(actions), reusing its storage across requests (no allocation in steady state).
struct ActionIDTable {
    private var slots: [Int32] = []
    private var ids: [UnsafeRawBufferPointer] = []
    private var mask = 0

    /// Starts over for a request of `count` actions.
    mutating func reset(expecting count: Int) {
        var size = 16
        while size < count * 2 { size <<= 1 }
        if slots.count != size {
            slots = Array(repeating: -1, count: size)
        } else {
            for index in slots.indices { slots[index] = -1 }
        }
        mask = size - 1
        ids.removeAll(keepingCapacity: true)
    }

    /// Adds the next action's id. Returns the index of an earlier action with the same id, if any.
    mutating func insert(_ id: UnsafeRawBufferPointer) -> Int? {
        var slot = Self.hash(id) & mask
        while slots[slot] >= 0 {
            let existing = Int(slots[slot])
            if ids[existing].equals(id) { return existing }
            slot = (slot + 1) & mask
        }
        slots[slot] = Int32(ids.count)
        ids.append(id)
        return nil
    }

    func index(of id: UnsafeRawBufferPointer) -> Int? {
        var slot = Self.hash(id) & mask
        while slots[slot] >= 0 {
            let existing = Int(slots[slot])
            if ids[existing].equals(id) { return existing }
            slot = (slot + 1) & mask
        }
        return nil
    }

    /// FNV-1a, enough to spread short ids.
    private static func hash(_ bytes: UnsafeRawBufferPointer) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int(truncatingIfNeeded: hash ^ (hash >> 29))
    }
}
