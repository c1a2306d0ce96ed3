import PersonalizerEngine
import PersonalizerTransport

/// Holds a connection's answers back until the events they acknowledge are on disk (loops in
/// `ack` durability), without reordering them: the connection may send only up to the start of
/// the first answer whose event is not durable yet.
final class DurabilityGate {
    private struct Hold {
        let start: UInt64
        let producer: LoopProducer
        let ordinal: UInt64
    }

    private var holds: [Hold] = []
    private var head = 0

    var isEmpty: Bool { head == holds.count }

    /// The answer that starts at stream position `start` waits for event `ordinal` of `producer`.
    func hold(from start: UInt64, producer: LoopProducer, ordinal: UInt64) {
        holds.append(Hold(start: start, producer: producer, ordinal: ordinal))
    }

    /// Releases what became durable; returns the send limit (nil: everything may go).
    func sendLimit() -> UInt64? {
        while head < holds.count, holds[head].producer.isDurable(holds[head].ordinal) { head += 1 }
        if head == holds.count {
            holds.removeAll(keepingCapacity: true)
            head = 0
            return nil
        }
        return holds[head].start
    }
}
