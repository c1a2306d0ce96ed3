/// A growable byte buffer with separate read and write positions, reused across reads and
/// writes so that steady-state I/O allocates nothing. Owned by one thread (the I/O loop).
/// Its memory is allocated at the first write, so an idle or refused connection costs none.
///
/// Layout: `[0, readerIndex)` consumed, `[readerIndex, writerIndex)` readable,
/// `[writerIndex, capacity)` writable.
public final class ByteBuffer {
    private var storage: UnsafeMutableRawPointer?
    /// Bytes allocated (0 until the first write).
    public private(set) var capacity = 0
    private let initialCapacity: Int
    public private(set) var readerIndex = 0
    public private(set) var writerIndex = 0

    public init(capacity: Int = 64 * 1024) {
        initialCapacity = max(capacity, 16)
    }

    deinit { storage?.deallocate() }

    public var readableCount: Int { writerIndex - readerIndex }
    public var isEmpty: Bool { readerIndex == writerIndex }

    /// The bytes not consumed yet. Valid until the next mutating call.
    public var readableBytes: UnsafeRawBufferPointer {
        guard let storage else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: storage + readerIndex, count: readableCount)
    }

    /// Makes room for at least `count` more bytes, first by moving unread bytes to the front,
    /// then by doubling, and returns the writable region.
    @discardableResult
    public func reserveWritable(_ count: Int) -> UnsafeMutableRawBufferPointer {
        if capacity - writerIndex < count {
            if readerIndex > 0 { compact() }
            if capacity - writerIndex < count {
                var newCapacity = max(capacity, initialCapacity)
                while newCapacity - writerIndex < count { newCapacity *= 2 }
                let newStorage = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
                if let storage {
                    newStorage.copyMemory(from: storage, byteCount: writerIndex)
                    storage.deallocate()
                }
                storage = newStorage
                capacity = newCapacity
            }
        }
        return UnsafeMutableRawBufferPointer(start: storage! + writerIndex, count: capacity - writerIndex)
    }

    /// Marks `count` bytes written into the region `reserveWritable` returned.
    public func commitWritten(_ count: Int) {
        precondition(count >= 0 && writerIndex + count <= capacity, "commit past the end of the buffer")
        writerIndex += count
    }

    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let region = reserveWritable(bytes.count)
        region.baseAddress!.copyMemory(from: base, byteCount: bytes.count)
        writerIndex += bytes.count
    }

    public func appendBigEndian(_ value: UInt32) {
        let region = reserveWritable(4)
        region.storeBytes(of: value.bigEndian, as: UInt32.self)
        writerIndex += 4
    }

    /// Overwrites four bytes already written (used to fill in a frame's length afterwards).
    public func setBigEndian(_ value: UInt32, at index: Int) {
        precondition(index >= 0 && index + 4 <= writerIndex)
        (storage! + index).storeBytes(of: value.bigEndian, as: UInt32.self)
    }

    public func consume(_ count: Int) {
        precondition(count >= 0 && count <= readableCount, "consume past the readable bytes")
        readerIndex += count
        if readerIndex == writerIndex { readerIndex = 0; writerIndex = 0 }
    }

    public func clear() { readerIndex = 0; writerIndex = 0 }

    /// Drops everything from `index` on (undoes a partly written frame).
    public func truncate(to index: Int) {
        precondition(index >= readerIndex && index <= writerIndex)
        writerIndex = index
    }

    /// Moves the unread bytes to the front so the free space is contiguous.
    public func compact() {
        guard readerIndex > 0, let storage else { return }
        let count = readableCount
        if count > 0 { storage.copyMemory(from: storage + readerIndex, byteCount: count) }
        readerIndex = 0
        writerIndex = count
    }

    /// Gives up a large buffer after a burst, so one big message does not pin memory forever.
    public func shrinkIfIdle(to idleCapacity: Int) {
        guard isEmpty, capacity > idleCapacity * 4 else { return }
        storage?.deallocate()
        storage = nil
        capacity = 0
        readerIndex = 0
        writerIndex = 0
    }
}
