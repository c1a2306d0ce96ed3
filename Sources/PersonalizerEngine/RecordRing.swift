import Synchronization

/// A bounded, lock-free, single-producer/single-consumer ring of variable-length byte records:
/// the I/O thread writes each event's log record straight into it, the trainer reads them in
/// batches. Nothing is allocated per record on either side.
///
/// Layout: records start at 8-byte aligned offsets as `[UInt32 length][UInt32 unused][bytes]`,
/// padded to 8 bytes. A record that does not fit before the end of the storage is preceded by a
/// wrap marker (length `UInt32.max`) and written at offset 0, so every record is contiguous.
/// A record may be at most half the storage: then it always fits once the ring has drained.
///
/// The synchronisation is the classic SPSC one (Lamport's ring with cached indices, as in
/// rigtorp's SPSCQueue and the LMAX Disruptor): byte positions that count up forever, `tail`
/// written by the producer (release) and `head` by the consumer (release, once per batch),
/// each side caching the other's index and reloading it only when it must. Records are also
/// counted, so the ring can be bounded in events as well as in bytes.
public final class RecordRing: @unchecked Sendable {
    /// Bytes of storage.
    public let byteCapacity: Int
    /// Records the ring holds at most.
    public let recordCapacity: Int
    private let storage: UnsafeMutableRawPointer
    private static let headerSize = 8
    private static let wrapMarker = UInt32.max

    // Producer's cache line.
    private let tail = Atomic<Int>(0)
    private let recordsIn = Atomic<Int>(0)
    private var cachedHead = 0
    private let producerPadding: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int)
        = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    // Consumer's cache line.
    private let head = Atomic<Int>(0)
    private let recordsOut = Atomic<Int>(0)
    private let consumerPadding: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int)
        = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    /// - Parameters:
    ///   - byteCapacity: storage, rounded up to a multiple of 8 and at least 64 bytes.
    ///   - recordCapacity: records in flight at most.
    public init(byteCapacity: Int, recordCapacity: Int) {
        precondition(byteCapacity > 0 && recordCapacity > 0, "ring capacities must be positive")
        self.byteCapacity = max(64, (byteCapacity + 7) & ~7)
        self.recordCapacity = recordCapacity
        storage = .allocate(byteCount: self.byteCapacity, alignment: 8)
    }

    deinit { storage.deallocate() }

    /// The largest record the ring takes.
    public var maxRecordBytes: Int { byteCapacity / 2 - Self.headerSize }

    @inline(__always)
    private static func footprint(_ count: Int) -> Int { headerSize + (count + 7) & ~7 }

    // MARK: producer side

    /// Whether a record of `count` bytes fits now. Producer thread only.
    @inline(__always)
    public func hasRoom(for count: Int) -> Bool {
        precondition(count <= maxRecordBytes, "a record of \(count) bytes is larger than the ring takes")
        let position = tail.load(ordering: .relaxed)
        if recordsIn.load(ordering: .relaxed) - recordsOut.load(ordering: .acquiring) >= recordCapacity { return false }
        let needed = bytesNeeded(count, at: position)
        if byteCapacity - (position - cachedHead) >= needed { return true }
        cachedHead = head.load(ordering: .acquiring)
        return byteCapacity - (position - cachedHead) >= needed
    }

    /// Bytes a record of `count` takes at `position`, with the skip to offset 0 if it wraps.
    @inline(__always)
    private func bytesNeeded(_ count: Int, at position: Int) -> Int {
        let offset = position % byteCapacity
        let footprint = Self.footprint(count)
        return offset + footprint <= byteCapacity ? footprint : byteCapacity - offset + footprint
    }

    /// Appends a record of exactly `count` bytes, written by `body`, after `hasRoom(for: count)`
    /// said yes. Producer thread only.
    @inline(__always)
    public func push(_ count: Int, _ body: (UnsafeMutableRawBufferPointer) -> Void) {
        var position = tail.load(ordering: .relaxed)
        var offset = position % byteCapacity
        let footprint = Self.footprint(count)
        if offset + footprint > byteCapacity {
            storage.storeBytes(of: Self.wrapMarker, toByteOffset: offset, as: UInt32.self)
            position += byteCapacity - offset
            offset = 0
        }
        storage.storeBytes(of: UInt32(count), toByteOffset: offset, as: UInt32.self)
        body(UnsafeMutableRawBufferPointer(start: storage + offset + Self.headerSize, count: count))
        recordsIn.store(recordsIn.load(ordering: .relaxed) + 1, ordering: .relaxed)
        tail.store(position + footprint, ordering: .releasing)
    }

    /// Records in the ring as the producer sees it (may overstate). Producer thread only.
    public var producerCount: Int {
        recordsIn.load(ordering: .relaxed) - recordsOut.load(ordering: .acquiring)
    }

    // MARK: consumer side

    /// Hands up to `limit` records, oldest first, to `body`, then frees them in one release
    /// store. The bytes are valid only during the call. Consumer thread only.
    /// - Returns: how many records were read.
    @discardableResult
    public func drain(limit: Int = .max, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        var position = head.load(ordering: .relaxed)
        let published = tail.load(ordering: .acquiring)
        var taken = 0
        while position != published && taken < limit {
            var offset = position % byteCapacity
            var length = storage.load(fromByteOffset: offset, as: UInt32.self)
            if length == Self.wrapMarker {
                position += byteCapacity - offset
                offset = 0
                length = storage.load(fromByteOffset: 0, as: UInt32.self)
            }
            body(UnsafeRawBufferPointer(start: storage + offset + Self.headerSize, count: Int(length)))
            position += Self.footprint(Int(length))
            taken += 1
        }
        if taken > 0 {
            recordsOut.store(recordsOut.load(ordering: .relaxed) + taken, ordering: .releasing)
            head.store(position, ordering: .releasing)
        }
        return taken
    }

    /// Whether the ring holds nothing, as seen now; either side may ask.
    public var isEmpty: Bool {
        head.load(ordering: .acquiring) == tail.load(ordering: .acquiring)
    }

    /// Records in the ring, as seen now (approximate while the other side works).
    public var count: Int {
        max(0, recordsIn.load(ordering: .acquiring) - recordsOut.load(ordering: .acquiring))
    }
}
