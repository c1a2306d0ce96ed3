/// The event ids whose reward window is still open, as the I/O thread sees them: a Rank that
/// reuses one gets ALREADY_EXISTS. Ids leave the set when their window closes (by the clock of
/// the Rank that created them), so an id may be reused once its window is over.
///
/// Ids are kept as 128-bit keyed digests (`EventIDDigest`), not as strings, so that a Rank
/// allocates nothing here. The digests sit in an open-addressing table (`OpenAddressingSlots`)
/// indexed by their own bits: they are already keyed hashes, hashing them again would only
/// cost time.
final class PendingEventIDs {
    fileprivate struct Slot: OpenAddressingSlot {
        var digest: EventIDDigest
        var deadline: UInt64
        var isUsed: Bool
        static let free = Slot(digest: EventIDDigest(first: 0, second: 0), deadline: 0, isUsed: false)
        var home: Int { digest.tableIndex }
    }

    private let slots: OpenAddressingSlots<Slot>
    var count: Int { slots.count }
    /// Insertions in deadline order (windows all have the loop's length), for expiry.
    private var order: [(digest: EventIDDigest, deadline: UInt64)] = []
    private var head = 0

    init(initialCapacity: Int = 1024) {
        slots = OpenAddressingSlots(initialCapacity: initialCapacity)
    }

    func contains(_ digest: EventIDDigest, now: UInt64) -> Bool {
        expire(upTo: now)
        return find(digest) != nil
    }

    func insert(_ digest: EventIDDigest, deadline: UInt64) {
        if let index = find(digest) {
            slots[index].deadline = deadline
        } else {
            slots.insert(Slot(digest: digest, deadline: deadline, isUsed: true))
        }
        order.append((digest, deadline))
    }

    private func expire(upTo now: UInt64) {
        while head < order.count, order[head].deadline <= now {
            let entry = order[head]
            // A later insert of the same id moved its deadline: that one expires it.
            if let index = find(entry.digest), slots[index].deadline == entry.deadline { slots.remove(at: index) }
            head += 1
        }
        if head == order.count {
            order.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 4096, head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }

    @inline(__always)
    private func find(_ digest: EventIDDigest) -> Int? {
        slots.firstIndex(home: digest.tableIndex) { $0.digest == digest }
    }
}

/// A 128-bit keyed digest of an event id's bytes: two SipHash passes with the process's random
/// seed. Two distinct ids would have to collide in 128 bits for one to be refused wrongly, and
/// the seed keeps clients from aiming for that. A Rank computes its id's digest once, for the
/// check and the insert.
public struct EventIDDigest: Equatable, Sendable {
    private let first: UInt64
    private let second: UInt64

    public init(_ bytes: UnsafeRawBufferPointer) {
        var hasher = Hasher()
        hasher.combine(bytes.count)
        hasher.combine(bytes: bytes)
        first = UInt64(bitPattern: Int64(hasher.finalize()))
        hasher = Hasher()
        hasher.combine(~bytes.count)
        hasher.combine(bytes: bytes)
        second = UInt64(bitPattern: Int64(hasher.finalize()))
    }

    init(first: UInt64, second: UInt64) {
        self.first = first
        self.second = second
    }

    /// Where the digest goes in a power-of-two table (mask it): its bits are already uniform.
    var tableIndex: Int { Int(truncatingIfNeeded: first) }
}
