#if canImport(Glibc)
import Glibc
#endif

/// A place in the log: a segment and a byte offset in it.
public struct LogPosition: Sendable, Equatable, Comparable, CustomStringConvertible {
    public var segment: UInt64
    public var offset: UInt64

    public init(segment: UInt64, offset: UInt64) {
        self.segment = segment
        self.offset = offset
    }

    public static func < (a: LogPosition, b: LogPosition) -> Bool {
        (a.segment, a.offset) < (b.segment, b.offset)
    }

    public var description: String { "segment \(a: segment) offset \(offset)" }
}

extension String.StringInterpolation {
    fileprivate mutating func appendInterpolation(a segment: UInt64) { appendLiteral(EventLog.segmentName(segment)) }
}

/// A loop's append-only event log: numbered segment files of framed records.
///
/// Record frame: u32 payload length, u32 CRC-32C of the payload, the payload (a `LogRecord`), all
/// little-endian. A segment starts with an 8-byte magic. Appends collect in memory and reach the
/// file in one `write` per trainer pass; `write(sync: true)` also fsyncs (otherwise `LogSyncer`
/// does, on its own thread). A crash can tear only
/// the last record of the last segment: opening the log finds it by its length or CRC, reports
/// it and truncates it. A failed write (full disk, I/O error) keeps every unwritten record in
/// memory, cuts any partly written record off the file, and is retried by the next commit.
public final class EventLog {
    public static let magic: [UInt8] = Array("PZLOG001".utf8)
    public static let frameHeaderSize = 8

    public let directory: String
    public let segmentLimit: Int
    private let operations: FileOperations
    private var segments: [UInt64] = []
    private var descriptor: Int32 = -1
    /// The segment being written, for the thread that fsyncs it.
    let sharedDescriptor = SharedDescriptor()
    private var writtenOffset: UInt64 = 0
    private var pending = PendingBytes()
    private var pendingRecords = 0
    /// Time of the newest record in each closed segment (for retention).
    private var newestTimes: [UInt64: UInt64] = [:]
    private var newestPendingTime: UInt64 = 0
    private var newestWrittenTime: UInt64 = 0

    /// What opening the log found and repaired.
    public private(set) var recoveryNotes: [String] = []
    /// The last write or sync failure, until a commit succeeds again.
    public private(set) var lastError: StorageError?
    /// Records appended but not yet written.
    public var pendingCount: Int { pendingRecords }

    public init(directory: String, segmentLimit: Int = 64 << 20, operations: FileOperations = .system)
        throws(StorageError)
    {
        self.directory = directory
        self.segmentLimit = segmentLimit
        self.operations = operations
        try Files.makeDirectory(directory)
        segments = try Files.list(directory).compactMap(Self.segmentNumber).sorted()
        for segment in segments.dropLast() {
            newestTimes[segment] = Files.modificationTimeNanoseconds(path(of: segment)) ?? 0
            closedSegmentBytes[segment] = UInt64(max(0, Files.size(path(of: segment)) ?? 0))
        }
        if let last = segments.last {
            try openForAppend(last, repairTail: true)
        } else {
            try startSegment(1)
        }
    }

    deinit {
        pending.deallocate()
        if descriptor >= 0 {
            _ = sharedDescriptor.replace(with: -1)
            close(descriptor)
        }
    }

    /// Changes the segment being written; the syncer sees the change at its next fsync.
    private func setDescriptor(_ newValue: Int32) {
        descriptor = newValue
        _ = sharedDescriptor.replace(with: newValue)
    }

    static func segmentName(_ segment: UInt64) -> String {
        let digits = String(segment)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".log"
    }

    static func segmentNumber(_ name: String) -> UInt64? {
        guard name.hasSuffix(".log"), name.count == 24 else { return nil }
        return UInt64(name.dropLast(4))
    }

    func path(of segment: UInt64) -> String { directory + "/" + Self.segmentName(segment) }

    /// The position after the last record written to the file.
    public var writtenPosition: LogPosition { LogPosition(segment: segments.last!, offset: writtenOffset) }

    /// The first position of the log (where a replay with no checkpoint starts).
    public var startPosition: LogPosition {
        LogPosition(segment: segments.first!, offset: UInt64(Self.magic.count))
    }

    public var segmentNumbers: [UInt64] { segments }

    /// When the segment being written last changed on disk (what a new process knows of the
    /// last sync before it started).
    public var lastModifiedNanoseconds: UInt64 { Files.modificationTimeNanoseconds(path(of: segments.last!)) ?? 0 }

    /// Sizes of the closed segments (the one being written is `writtenOffset` long).
    private var closedSegmentBytes: [UInt64: UInt64] = [:]

    /// Bytes on disk, all segments (kept up to date without touching the disk).
    public var totalBytes: Int64 {
        Int64(closedSegmentBytes.values.reduce(0, +) + writtenOffset)
    }

    // MARK: appending

    public func append(_ record: LogRecord) {
        let start = beginFrame()
        record.encode(into: &pending)
        endFrame(at: start, time: record.time)
    }

    /// Appends a record already encoded (as the I/O thread encodes events into the ring).
    public func append(encoded record: UnsafeRawBufferPointer, time: UInt64) {
        let start = beginFrame()
        pending.append(record)
        endFrame(at: start, time: time)
    }

    private func beginFrame() -> Int {
        let start = pending.count
        pending.u32(0)
        pending.u32(0)
        return start
    }

    /// Fills in the frame's length and checksum once its record is in place.
    private func endFrame(at start: Int, time: UInt64) {
        let length = pending.count - start - Self.frameHeaderSize
        let checksum = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: pending.bytes[(start + Self.frameHeaderSize)...]))
        pending.store(UInt32(length), at: start)
        pending.store(checksum, at: start + 4)
        pendingRecords += 1
        newestPendingTime = max(newestPendingTime, time)
    }

    /// Writes what was appended (one `write`), and fsyncs when `sync`. On failure nothing
    /// appended is lost: the records stay pending and the next call tries again.
    public func write(sync: Bool) throws(StorageError) {
        do throws(StorageError) {
            if pendingRecords > 0 {
                if writtenOffset > UInt64(Self.magic.count),
                   writtenOffset + UInt64(pending.count) > UInt64(segmentLimit) {
                    try rotate()
                }
                try writePending()
            }
            if sync {
                guard operations.fsync(descriptor) == 0 else {
                    throw StorageError("syncing", path: path(of: segments.last!))
                }
            }
            lastError = nil
        } catch {
            lastError = error
            throw error
        }
    }

    private func writePending() throws(StorageError) {
        let count = pending.count
        var done = 0
        while done < count {
            let written = operations.write(descriptor, pending.base + done, count - done)
            if written < 0 {
                if errno == EINTR { continue }
                let failure = StorageError("writing", path: path(of: segments.last!))
                // Cut off a partly written batch, so the file ends on a whole record.
                if done > 0 { _ = ftruncate(descriptor, off_t(writtenOffset)) }
                throw failure
            }
            done += written
        }
        writtenOffset += UInt64(count)
        pending.removeAll()
        pendingRecords = 0
        newestWrittenTime = max(newestWrittenTime, newestPendingTime)
    }

    private func rotate() throws(StorageError) {
        let current = segments.last!
        guard operations.fsync(descriptor) == 0 else { throw StorageError("syncing", path: path(of: current)) }
        SyncedPageRelease.releaseAll(descriptor)
        let closing = descriptor
        setDescriptor(-1)
        close(closing)
        newestTimes[current] = newestWrittenTime
        closedSegmentBytes[current] = writtenOffset
        try startSegment(current + 1)
    }

    private func startSegment(_ segment: UInt64) throws(StorageError) {
        let path = path(of: segment)
        let created = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
        guard created >= 0 else { throw StorageError("creating", path: path) }
        let written = Self.magic.withUnsafeBytes { operations.write(created, $0.baseAddress!, $0.count) }
        guard written == Self.magic.count, operations.fsync(created) == 0 else {
            let failure = StorageError("writing the header of", path: path)
            close(created)
            unlink(path)
            throw failure
        }
        try Files.syncDirectory(directory)
        setDescriptor(created)
        segments.append(segment)
        writtenOffset = UInt64(Self.magic.count)
    }

    private func openForAppend(_ segment: UInt64, repairTail: Bool) throws(StorageError) {
        let path = path(of: segment)
        let bytes = try Files.readAll(path)
        var end = UInt64(Self.magic.count)
        if bytes.count < Self.magic.count || Array(bytes.prefix(Self.magic.count)) != Self.magic {
            recoveryNotes.append("\(Self.segmentName(segment)): missing or damaged header; segment restarted")
            end = 0
        } else {
            let scan = bytes.withUnsafeBytes { Self.scan($0, from: Self.magic.count) }
            end = UInt64(scan.validEnd)
            newestWrittenTime = scan.newestTime
            if let problem = scan.problem {
                recoveryNotes.append("\(Self.segmentName(segment)): \(problem) at offset \(scan.validEnd); "
                    + "truncated \(bytes.count - scan.validEnd) bytes")
            }
        }
        let opened = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard opened >= 0 else { throw StorageError("opening", path: path) }
        if end == 0 {
            // Rewrite the header of a segment that lost it (crash right after creation).
            guard ftruncate(opened, 0) == 0 else { close(opened); throw StorageError("truncating", path: path) }
            let written = Self.magic.withUnsafeBytes { operations.write(opened, $0.baseAddress!, $0.count) }
            guard written == Self.magic.count else { close(opened); throw StorageError("writing the header of", path: path) }
            end = UInt64(Self.magic.count)
        } else if end < UInt64(bytes.count) {
            guard ftruncate(opened, off_t(end)) == 0 else { close(opened); throw StorageError("truncating", path: path) }
        }
        if end != UInt64(bytes.count), operations.fsync(opened) != 0 {
            close(opened)
            throw StorageError("syncing", path: path)
        }
        setDescriptor(opened)
        writtenOffset = end
    }

    /// Walks the frames of one segment's bytes from `start`; stops at the first damaged one.
    static func scan(_ bytes: UnsafeRawBufferPointer, from start: Int,
                     _ body: (Int, LogRecord) -> Void = { _, _ in }) -> (validEnd: Int, newestTime: UInt64, problem: String?) {
        var offset = start
        var newest: UInt64 = 0
        while offset < bytes.count {
            guard bytes.count - offset >= frameHeaderSize else {
                return (offset, newest, "torn record header")
            }
            let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            let checksum = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
            guard length <= bytes.count - offset - frameHeaderSize else {
                return (offset, newest, "torn record (\(length) bytes announced, \(bytes.count - offset - frameHeaderSize) present)")
            }
            let payload = UnsafeRawBufferPointer(rebasing: bytes[(offset + frameHeaderSize)..<(offset + frameHeaderSize + length)])
            guard CRC32C.checksum(payload) == checksum else {
                return (offset, newest, "record with a bad checksum")
            }
            let record: LogRecord
            do {
                record = try LogRecord.decode(payload)
            } catch {
                return (offset, newest, "undecodable record (\(error))")
            }
            newest = max(newest, record.time)
            offset += frameHeaderSize + length
            body(offset, record)
        }
        return (offset, newest, nil)
    }

    // MARK: reading

    /// Calls `body` with every record written at or after `position`, in order, with the position
    /// after it. Damage in a segment is reported in the result and ends the replay there.
    @discardableResult
    public func replay(from position: LogPosition, _ body: (LogPosition, LogRecord) -> Void) throws(StorageError) -> [String] {
        var notes: [String] = []
        for segment in segments where segment >= position.segment {
            let bytes = try Files.readAll(path(of: segment))
            let start = segment == position.segment ? Int(position.offset) : Self.magic.count
            guard bytes.count >= Self.magic.count, Array(bytes.prefix(Self.magic.count)) == Self.magic else {
                notes.append("\(Self.segmentName(segment)): damaged header; replay stopped")
                return notes
            }
            guard start <= bytes.count else {
                notes.append("\(Self.segmentName(segment)): shorter than the checkpoint's position \(start)")
                return notes
            }
            let scan = bytes.withUnsafeBytes { raw in
                Self.scan(raw, from: start) { offset, record in
                    body(LogPosition(segment: segment, offset: UInt64(offset)), record)
                }
            }
            if let problem = scan.problem {
                notes.append("\(Self.segmentName(segment)): \(problem) at offset \(scan.validEnd); replay stopped")
                return notes
            }
        }
        return notes
    }

    /// Reads the records of the log in `directory` without changing anything (the server may be
    /// writing it: a torn last record is simply where the reading stops).
    /// - Returns: notes on damage found before the end.
    @discardableResult
    public static func read(directory: String, _ body: (LogRecord) -> Void) throws(StorageError) -> [String] {
        let segments = try Files.list(directory).compactMap(segmentNumber).sorted()
        var notes: [String] = []
        for (index, segment) in segments.enumerated() {
            let bytes = try Files.readAll(directory + "/" + segmentName(segment))
            guard bytes.count >= magic.count, Array(bytes.prefix(magic.count)) == magic else {
                notes.append("\(segmentName(segment)): damaged header; skipped")
                continue
            }
            let result = bytes.withUnsafeBytes { raw in
                Self.scan(raw, from: magic.count) { _, record in body(record) }
            }
            if let problem = result.problem, index < segments.count - 1 {
                notes.append("\(segmentName(segment)): \(problem) at offset \(result.validEnd); rest of the segment skipped")
            }
        }
        return notes
    }

    // MARK: retention

    /// Deletes closed segments whose newest record is older than `cutoff` and that lie wholly
    /// before `keepFrom` (the oldest position a checkpoint may still replay from).
    /// - Returns: the deleted segments' numbers.
    @discardableResult
    public func deleteSegments(newestBefore cutoff: UInt64, keepFrom: LogPosition) -> [UInt64] {
        var deleted: [UInt64] = []
        for segment in segments.dropLast() {
            guard segment < keepFrom.segment, let newest = newestTimes[segment], newest < cutoff else { break }
            if unlink(path(of: segment)) == 0 || errno == ENOENT {
                deleted.append(segment)
                newestTimes[segment] = nil
                closedSegmentBytes[segment] = nil
            } else {
                break
            }
        }
        if !deleted.isEmpty {
            segments.removeFirst(deleted.count)
            try? Files.syncDirectory(directory)
        }
        return deleted
    }

    /// Time of the oldest record still in the log, if any.
    public func oldestRecordTime() -> UInt64? {
        for segment in segments {
            guard let bytes = try? Files.read(path(of: segment), upTo: Self.magic.count + (1 << 20)) else { continue }
            var first: UInt64?
            _ = bytes.withUnsafeBytes { raw in
                Self.scan(UnsafeRawBufferPointer(rebasing: raw[0..<min(raw.count, Self.magic.count + 1 << 20)]),
                          from: Self.magic.count) { _, record in
                    if first == nil { first = record.time }
                }
            }
            if let first { return first }
        }
        return nil
    }

    /// Makes a closed segment's newest time what the retention check sees (tests use it to age data).
    func setNewestTime(_ time: UInt64, of segment: UInt64) { newestTimes[segment] = time }
}
