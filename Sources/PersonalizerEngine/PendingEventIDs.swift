/// The event ids whose reward window is still open, as the I/O thread sees them: a Rank that
/// reuses one gets ALREADY_EXISTS. Ids leave the set when their window closes (by the clock of
/// the Rank that created them), so an id may be reused once its window is over.
struct PendingEventIDs {
    private var deadlines: [String: UInt64] = [:]
    private var order: [(id: String, deadline: UInt64)] = []
    private var head = 0

    var count: Int { deadlines.count }

    mutating func contains(_ id: String, now: UInt64) -> Bool {
        expire(upTo: now)
        return deadlines[id] != nil
    }

    mutating func insert(_ id: String, deadline: UInt64) {
        deadlines[id] = deadline
        order.append((id, deadline))
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
