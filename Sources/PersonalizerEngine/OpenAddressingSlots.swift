/// A slot of an `OpenAddressingSlots` table.
protocol OpenAddressingSlot {
    /// A free slot.
    static var free: Self { get }
    var isUsed: Bool { get }
    /// The slot's key bits (already a keyed hash): where its probe starts, once masked.
    var home: Int { get }
}

/// The memory and probing of an open-addressing table: linear probing from each slot's home,
/// growth at half full, and backward-shift deletion, so no tombstones pile up as entries
/// leave. What a slot holds and when two slots match is the caller's (`PendingEventIDs`,
/// `EventSequenceIndex`).
final class OpenAddressingSlots<Slot: OpenAddressingSlot> {
    private var slots: UnsafeMutableBufferPointer<Slot>
    private var mask: Int
    private(set) var count = 0

    init(initialCapacity: Int) {
        var capacity = 16
        while capacity < initialCapacity { capacity <<= 1 }
        slots = Self.freeSlots(capacity)
        mask = capacity - 1
    }

    deinit { slots.deallocate() }

    /// The slot at `index` (from `firstIndex`), to read or update in place (same home).
    @inline(__always)
    subscript(index: Int) -> Slot {
        get { slots[index] }
        set { slots[index] = newValue }
    }

    /// The index of the first used slot probed from `home` for which `matches` holds.
    @inline(__always)
    func firstIndex(home: Int, where matches: (Slot) -> Bool) -> Int? {
        var index = home & mask
        while slots[index].isUsed {
            if matches(slots[index]) { return index }
            index = (index + 1) & mask
        }
        return nil
    }

    /// Adds `slot` (the caller knows no slot matches it yet).
    func insert(_ slot: Slot) {
        if (count + 1) * 2 > slots.count { grow() }
        place(slot)
        count += 1
    }

    /// Frees `index` and moves back the slots after it that probing would no longer reach.
    func remove(at index: Int) {
        var hole = index
        var next = (hole + 1) & mask
        while slots[next].isUsed {
            let home = slots[next].home & mask
            // The slot may fill the hole when the hole lies on its probe path (from home to next).
            if (next &- home) & mask >= (next &- hole) & mask {
                slots[hole] = slots[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        slots[hole] = .free
        count -= 1
    }

    private func place(_ slot: Slot) {
        var index = slot.home & mask
        while slots[index].isUsed { index = (index + 1) & mask }
        slots[index] = slot
    }

    private func grow() {
        let old = slots
        slots = Self.freeSlots(old.count * 2)
        mask = slots.count - 1
        for slot in old where slot.isUsed { place(slot) }
        old.deallocate()
    }

    private static func freeSlots(_ capacity: Int) -> UnsafeMutableBufferPointer<Slot> {
        let slots = UnsafeMutableBufferPointer<Slot>.allocate(capacity: capacity)
        slots.initialize(repeating: .free)
        return slots
    }
}
