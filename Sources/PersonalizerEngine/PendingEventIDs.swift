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

/// A 128-bit keyed digest of an event id's bytes, both halves seeded at random per process:
/// SipHash (Swift's `Hasher`, a keyed pseudo-random function, so clients cannot aim ids at a
/// collision they cannot see), and `KeyedByteHash`, independent of it, so that even ids that
/// meet by chance in the first 64 bits are told apart. One SipHash pass, not two: the digest is
/// computed for every Rank and every Reward. A Rank computes its id's digest once, for the
/// check and the insert.
public struct EventIDDigest: Equatable, Sendable {
    private let first: UInt64
    private let second: UInt64
    private static let secondSeed = UInt64.random(in: 1...UInt64.max)

    public init(_ bytes: UnsafeRawBufferPointer) {
        var hasher = Hasher()
        hasher.combine(bytes: bytes)
        first = UInt64(bitPattern: Int64(hasher.finalize()))
        second = KeyedByteHash.hash(bytes, seed: Self.secondSeed)
    }

    init(first: UInt64, second: UInt64) {
        self.first = first
        self.second = second
    }

    /// Where the digest goes in a power-of-two table (mask it): its bits are already uniform.
    var tableIndex: Int { Int(truncatingIfNeeded: first) }
}
