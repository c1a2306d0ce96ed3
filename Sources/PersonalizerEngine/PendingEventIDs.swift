/// The event ids whose reward window is still open, as the I/O thread sees them: a Rank that
/// reuses one gets ALREADY_EXISTS. Ids leave the set when their window closes (by the clock of
/// the Rank that created them), so an id may be reused once its window is over.
///
/// Ids are kept as 128-bit keyed digests (two SipHash passes with the process's random seed),
/// not as strings, so that a Rank allocates nothing here; two distinct ids would have to
/// collide in 128 bits for one to be refused wrongly, and the seed keeps clients from aiming
/// for that.
struct PendingEventIDs {
    private var deadlines: [EventIDDigest: UInt64] = [:]
    private var order: [(id: EventIDDigest, deadline: UInt64)] = []
    private var head = 0

    var count: Int { deadlines.count }

    mutating func contains(_ id: UnsafeRawBufferPointer, now: UInt64) -> Bool {
        expire(upTo: now)
        return deadlines[EventIDDigest(id)] != nil
    }

    mutating func insert(_ id: UnsafeRawBufferPointer, deadline: UInt64) {
        let digest = EventIDDigest(id)
        deadlines[digest] = deadline
        order.append((digest, deadline))
    }

    private mutating func expire(upTo now: UInt64) {
        while head < order.count, order[head].deadline <= now {
            let entry = order[head]
            if deadlines[entry.id] == entry.deadline { deadlines[entry.id] = nil }
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
}

/// A 128-bit keyed digest of an event id's bytes.
struct EventIDDigest: Hashable {
    private let first: Int
    private let second: Int

    init(_ bytes: UnsafeRawBufferPointer) {
        var hasher = Hasher()
        hasher.combine(bytes.count)
        hasher.combine(bytes: bytes)
        first = hasher.finalize()
        hasher = Hasher()
        hasher.combine(~bytes.count)
        hasher.combine(bytes: bytes)
        second = hasher.finalize()
    }
}
