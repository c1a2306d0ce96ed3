import PersonalizerModel

#if _endian(big)
#error("the log and checkpoint formats are little-endian; BinarySink.features copies arrays as they are")
#endif

/// Where little-endian binary encodings go: a growing array (`BinaryWriter`), a ring record
/// (`RawBinaryWriter`), or nowhere, to measure (`ByteCounter`). Log records and checkpoints are
/// written by one generic code path for all three.
protocol BinarySink {
    mutating func append(_ bytes: UnsafeRawBufferPointer)
    /// Appends a fixed-width integer, little-endian (a sink may store it directly).
    mutating func integer<T: FixedWidthInteger>(_ value: T)
    /// Appends hashed features (a sink that only measures adds their size at once).
    mutating func features(_ block: FeatureBlock)
}

extension BinarySink {
    @inline(__always)
    mutating func integer<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { append($0) } }

    @inline(__always) mutating func u8(_ value: UInt8) { integer(value) }
    @inline(__always) mutating func bool(_ value: Bool) { u8(value ? 1 : 0) }
    @inline(__always) mutating func u32(_ value: UInt32) { integer(value) }
    @inline(__always) mutating func u64(_ value: UInt64) { integer(value) }
    @inline(__always) mutating func f32(_ value: Float) { u32(value.bitPattern) }
    @inline(__always) mutating func f64(_ value: Double) { u64(value.bitPattern) }

    mutating func blob(_ value: UnsafeRawBufferPointer) {
        u32(UInt32(value.count))
        append(value)
    }

    mutating func blob(_ value: [UInt8]) { value.withUnsafeBytes { blob($0) } }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { blob(UnsafeRawBufferPointer($0)) }
    }

    mutating func features(_ block: FeatureBlock) {
        // Keep `ByteCounter.features` in step with this layout.
        u32(UInt32(block.spans.count))
        for span in block.spans {
            u8(span.interactionKey)
            u32(span.namespaceHash)
            u32(UInt32(span.count))
        }
        u32(UInt32(block.indices.count))
        // Little-endian machines store the arrays exactly as they are encoded.
        append(UnsafeRawBufferPointer(block.indices))
        append(UnsafeRawBufferPointer(block.values))
    }

    /// What the trainer learns from: the decision and the hashed features.
    mutating func example(_ value: RankedExampleView) {
        u64(value.modelVersion)
        u32(UInt32(value.chosenIndex))
        f64(value.probability)
        features(value.shared)
        u32(UInt32(value.actions.count))
        for action in value.actions { features(action) }
    }
}

/// Encodes into a growing array (checkpoints, tests).
struct BinaryWriter: BinarySink {
    var bytes: [UInt8] = []

    @inline(__always)
    mutating func append(_ value: UnsafeRawBufferPointer) { bytes.append(contentsOf: value) }
}

/// Encodes into memory of its own that grows by doubling and is never shrunk (the event log's
/// pending writes): appends are plain copies and stores, with no array bookkeeping or reference
/// counting per record. The owner calls `deallocate`.
struct PendingBytes: BinarySink {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 1 << 16) {
        self.capacity = capacity
        base = .allocate(byteCount: capacity, alignment: 16)
    }

    func deallocate() { base.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    @inline(__always)
    private mutating func reserve(_ extra: Int) {
        if extra > capacity - count { grow(to: count + extra) }
    }

    @inline(never)
    private mutating func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        bigger.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = bigger
        capacity = newCapacity
    }

    @inline(__always)
    mutating func append(_ value: UnsafeRawBufferPointer) {
        reserve(value.count)
        if let source = value.baseAddress, value.count > 0 {
            (base + count).copyMemory(from: source, byteCount: value.count)
        }
        count += value.count
    }

    @inline(__always)
    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        reserve(MemoryLayout<T>.size)
        base.storeBytes(of: value.littleEndian, toByteOffset: count, as: T.self)
        count += MemoryLayout<T>.size
    }

    /// Stores `value` over bytes already appended (a frame header filled in afterwards).
    mutating func store(_ value: UInt32, at offset: Int) {
        precondition(offset >= 0 && offset + 4 <= count, "store outside the appended bytes")
        base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
    }

    mutating func removeAll() { count = 0 }
}

/// Encodes into memory reserved for it (a ring record of a size measured by `ByteCounter`).
struct RawBinaryWriter: BinarySink {
    private let region: UnsafeMutableRawBufferPointer
    private(set) var count = 0

    init(_ region: UnsafeMutableRawBufferPointer) { self.region = region }

    @inline(__always)
    mutating func append(_ value: UnsafeRawBufferPointer) {
        precondition(value.count <= region.count - count, "record larger than measured")
        if let source = value.baseAddress, value.count > 0 {
            (region.baseAddress! + count).copyMemory(from: source, byteCount: value.count)
        }
        count += value.count
    }

    /// A store, not a call to copy a few bytes.
    @inline(__always)
    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        let size = MemoryLayout<T>.size
        precondition(size <= region.count - count, "record larger than measured")
        region.baseAddress.unsafelyUnwrapped.storeBytes(of: value.littleEndian, toByteOffset: count, as: T.self)
        count += size
    }
}

/// Counts the bytes an encoding takes.
struct ByteCounter: BinarySink {
    private(set) var count = 0

    @inline(__always)
    mutating func append(_ value: UnsafeRawBufferPointer) { count += value.count }

    @inline(__always)
    mutating func integer<T: FixedWidthInteger>(_ value: T) { count += MemoryLayout<T>.size }

    /// The size of `BinarySink.features`'s encoding, without stepping through the namespaces:
    /// their count, 9 bytes each, the feature count, 8 bytes a feature.
    @inline(__always)
    mutating func features(_ block: FeatureBlock) {
        count += 4 + 9 * block.spans.count + 4 + 8 * block.indices.count
    }
}

/// A damaged or truncated encoding.
public struct FormatError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Reads what `BinaryWriter` wrote; every read is bounds-checked, so damaged input is an error,
/// never a crash.
struct BinaryReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }
    var remaining: Int { bytes.count - offset }

    /// Called for every field the trainer decodes: inlined, with the error built out of line.
    @inline(__always)
    private mutating func take(_ count: Int) throws(FormatError) -> Int {
        guard count >= 0, count <= bytes.count - offset else { throw shortInput(count) }
        let start = offset
        offset = start + count
        return start
    }

    @inline(never)
    private func shortInput(_ count: Int) -> FormatError {
        FormatError("needs \(count) bytes at offset \(offset), only \(bytes.count - offset) left")
    }

    mutating func skip(_ count: Int) throws(FormatError) { _ = try take(count) }

    @inline(__always) mutating func u8() throws(FormatError) -> UInt8 { bytes[try take(1)] }
    mutating func bool() throws(FormatError) -> Bool {
        let value = try u8()
        guard value <= 1 else { throw FormatError("invalid boolean \(value)") }
        return value == 1
    }
    @inline(__always) mutating func u32() throws(FormatError) -> UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: try take(4), as: UInt32.self))
    }
    @inline(__always) mutating func u64() throws(FormatError) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: try take(8), as: UInt64.self))
    }
    mutating func f32() throws(FormatError) -> Float { Float(bitPattern: try u32()) }
    mutating func f64() throws(FormatError) -> Double { Double(bitPattern: try u64()) }

    @inline(__always)
    mutating func count(max limit: Int) throws(FormatError) -> Int {
        let value = Int(try u32())
        guard value <= limit, value <= remaining else { throw countTooLarge(value) }
        return value
    }

    @inline(never)
    private func countTooLarge(_ value: Int) -> FormatError { FormatError("count \(value) exceeds what is left") }

    mutating func blob() throws(FormatError) -> [UInt8] {
        let count = try count(max: remaining)
        let start = try take(count)
        return Array(bytes[start..<(start + count)])
    }

    mutating func string() throws(FormatError) -> String {
        let count = try count(max: remaining)
        let start = try take(count)
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<(start + count)]), as: UTF8.self)
    }

    mutating func features() throws(FormatError) -> HashedFeatures {
        var features = HashedFeatures()
        try self.features(into: &features)
        return features
    }

    /// Reads features into `features`, reusing its storage.
    mutating func features(into features: inout HashedFeatures) throws(FormatError) {
        let layout = try featuresLayout()
        let bytes = self.bytes
        let total = layout.total
        features.reload(
            spanCount: layout.spanCount,
            span: { index in
                let offset = layout.spanStart + index * 9
                return (bytes[offset],
                        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 1, as: UInt32.self)),
                        Int32(truncatingIfNeeded: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 5, as: UInt32.self))))
            },
            // Stored little-endian, as the arrays are in memory: copied whole.
            indices: UnsafeRawBufferPointer(rebasing: bytes[layout.indexStart..<(layout.indexStart + total * 4)]),
            values: UnsafeRawBufferPointer(rebasing: bytes[(layout.indexStart + total * 4)..<(layout.indexStart + total * 8)]))
    }

    /// Where the parts of one `features` encoding lie, checked (the namespaces' sizes add up to
    /// the feature count, everything is in bounds); the reader moves past it.
    private mutating func featuresLayout() throws(FormatError) -> (spanStart: Int, spanCount: Int, indexStart: Int, total: Int) {
        let spanCount = try count(max: remaining / 9)
        let spanStart = try take(spanCount * 9)
        var total = 0
        for index in 0..<spanCount {
            total += Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: spanStart + index * 9 + 5, as: UInt32.self)))
        }
        guard try count(max: remaining / 8) == total else { throw FormatError("namespace sizes do not add up") }
        let indexStart = try take(total * 8)
        return (spanStart, spanCount, indexStart, total)
    }

    /// Checks that one example follows and returns its bytes, without building its arrays, and
    /// where in them the chosen action's features start.
    mutating func exampleBytes() throws(FormatError) -> (bytes: [UInt8], chosenActionOffset: Int) {
        let start = offset
        _ = try u64()  // model version
        let chosen = Int(try u32())
        _ = try f64()  // probability
        _ = try featuresLayout()
        let actionCount = try count(max: remaining)
        var chosenActionOffset = 0
        for index in 0..<actionCount {
            if index == chosen { chosenActionOffset = offset - start }
            _ = try featuresLayout()
        }
        guard chosen < actionCount else { throw FormatError("chosen action \(chosen) of \(actionCount)") }
        return (Array(bytes[start..<offset]), chosenActionOffset)
    }

    /// Moves to `position`, which a check of the same bytes found.
    mutating func move(to position: Int) {
        precondition(position >= 0 && position <= bytes.count, "position \(position) outside \(bytes.count) bytes")
        offset = position
    }

    mutating func example() throws(FormatError) -> RankedExample {
        let version = try u64()
        let chosen = Int(try u32())
        let probability = try f64()
        let shared = try features()
        let actionCount = try count(max: remaining)
        var actions: [HashedFeatures] = []
        for _ in 0..<actionCount { actions.append(try features()) }
        guard chosen < actions.count else { throw FormatError("chosen action \(chosen) of \(actions.count)") }
        return RankedExample(shared: shared, actions: actions, chosenIndex: chosen, probability: probability,
                             modelVersion: version)
    }
}
