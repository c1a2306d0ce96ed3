import Synchronization

/// A bounded, lock-free, single-producer/single-consumer ring of `Element`s.
///
/// One thread pushes (the I/O thread), one thread drains (the trainer). The design is the
/// classic one (Lamport's ring with cached indices, as in rigtorp's SPSCQueue and the LMAX
/// Disruptor):
/// - `tail` (next slot to fill) is written only by the producer, `head` (next slot to drain) only
///   by the consumer; both count up forever and are reduced modulo the power-of-two capacity.
/// - The producer writes a slot, then publishes it with a release store of `tail`; the consumer
///   reads `tail` with acquire before touching the slots below it. Symmetrically the consumer
///   publishes freed slots with a release store of `head`, once per drained batch.
/// - The producer keeps a private copy of `head` and reloads it (acquire) only when the ring looks
///   full; the consumer reads `tail` once per drained batch. So the shared cache lines move once
///   per batch, not once per element.
/// - The two sides' fields sit on separate cache lines so they do not false-share.
///
/// Memory: `capacity` slots are allocated once; elements are moved in and out, never copied
/// twice. Elements left when the ring is released are destroyed.
public final class SPSCRing<Element>: @unchecked Sendable {
    public let capacity: Int
    private let mask: Int
    private let slots: UnsafeMutablePointer<Element>

    // Producer's cache line.
    private let tail = Atomic<Int>(0)
    private var cachedHead = 0
    private let producerPadding: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int)
        = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    // Consumer's cache line.
    private let head = Atomic<Int>(0)
    private let consumerPadding: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int)
        = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    /// - Parameter capacity: rounded up to a power of two, at least 2.
    public init(capacity: Int) {
        precondition(capacity > 0, "ring capacity must be positive")
        var size = 2
        while size < capacity { size <<= 1 }
        self.capacity = size
        mask = size - 1
        slots = .allocate(capacity: size)
    }

    deinit {
        var index = head.load(ordering: .relaxed)
        let end = tail.load(ordering: .relaxed)
        while index != end {
            (slots + (index & mask)).deinitialize(count: 1)
            index += 1
        }
        slots.deallocate()
    }

    // MARK: producer side

    /// Appends `element` unless the ring is full. Producer thread only.
    /// - Returns: false when full; the element was not taken.
    @inline(__always)
    public func tryPush(_ element: Element) -> Bool {
        let position = tail.load(ordering: .relaxed)
        if position - cachedHead == capacity {
            cachedHead = head.load(ordering: .acquiring)
            if position - cachedHead == capacity { return false }
        }
        (slots + (position & mask)).initialize(to: element)
        tail.store(position + 1, ordering: .releasing)
        return true
    }

    /// Elements in the ring as the producer sees it (may overstate: the consumer may have
    /// drained some since). Producer thread only.
    public var producerCount: Int {
        tail.load(ordering: .relaxed) - head.load(ordering: .acquiring)
    }

    // MARK: consumer side

    /// Moves up to `limit` elements out, oldest first, into `body`, and frees their slots in
    /// one release store. Consumer thread only.
    /// - Returns: how many elements were drained.
    @discardableResult
    public func drain(limit: Int = .max, _ body: (consuming Element) -> Void) -> Int {
        // One acquire load of `tail` per batch: a drain takes everything published so far.
        let start = head.load(ordering: .relaxed)
        let published = tail.load(ordering: .acquiring)
        if start == published { return 0 }
        let end = start + min(published - start, limit)
        var position = start
        while position != end {
            body((slots + (position & mask)).move())
            position += 1
        }
        head.store(end, ordering: .releasing)
        return end - start
    }

    /// Whether the ring holds nothing, as seen now (acquire); either side may ask.
    public var isEmpty: Bool {
        head.load(ordering: .acquiring) == tail.load(ordering: .acquiring)
    }

    /// Elements in the ring, as seen now (approximate while the other side works).
    public var count: Int {
        max(0, tail.load(ordering: .acquiring) - head.load(ordering: .acquiring))
    }
}
