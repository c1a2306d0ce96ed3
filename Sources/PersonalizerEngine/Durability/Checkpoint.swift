#if canImport(Glibc)
import Glibc
#endif
import PersonalizerModel

/// Everything a loop's trainer knows, at a point of its log: a checkpoint's content.
public struct LoopCheckpoint: Equatable, Sendable {
    /// Replay resumes here.
    public var position: LogPosition
    public var modelVersion: UInt64
    public var learnedSincePublish: UInt64
    public var learnerState: [UInt8]
    public var joinCounters: JoinCounters
    public var pending: [PendingJoinRecord]
    public var counts: TrainerCounts

    /// A pending event as saved (the joiner's `PendingJoin` with a concrete payload).
    public struct PendingJoinRecord: Equatable, Sendable {
        public var eventID: String
        public var example: EncodedExample
        public var deadline: UInt64
        public var reward: Double
        public var rewardCount: Int
        public var isDeferred: Bool
        public var isActivated: Bool
    }

    static let magic: [UInt8] = Array("PZCKPT01".utf8)

    func encoded() -> [UInt8] {
        var body = BinaryWriter()
        body.u64(position.segment)
        body.u64(position.offset)
        body.u64(modelVersion)
        body.u64(learnedSincePublish)
        for value in [joinCounters.unmatchedRewards, joinCounters.unmatchedActivations,
                      joinCounters.droppedNotActivated, joinCounters.duplicateRanks] { body.u64(value) }
        for value in counts.values { body.u64(value) }
        body.blob(learnerState)
        body.u32(UInt32(pending.count))
        for event in pending {
            body.string(event.eventID)
            body.u64(event.deadline)
            body.f64(event.reward)
            body.u32(UInt32(event.rewardCount))
            body.bool(event.isDeferred)
            body.bool(event.isActivated)
            event.example.bytes.withUnsafeBytes { body.append($0) }
        }
        var file = BinaryWriter()
        file.bytes = Self.magic
        file.u64(UInt64(body.bytes.count))
        file.u32(CRC32C.checksum(body.bytes))
        file.bytes += body.bytes
        return file.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(FormatError) -> LoopCheckpoint {
        guard bytes.count >= magic.count + 12, Array(bytes.prefix(magic.count)) == magic else {
            throw FormatError("not a checkpoint (bad header)")
        }
        let result: Result<LoopCheckpoint, FormatError> = bytes.withUnsafeBytes { raw in
            Result { () throws(FormatError) -> LoopCheckpoint in try decodeBody(raw) }
        }
        return try result.get()
    }

    private static func decodeBody(_ raw: UnsafeRawBufferPointer) throws(FormatError) -> LoopCheckpoint {
        do {
            var header = BinaryReader(UnsafeRawBufferPointer(rebasing: raw[magic.count...]))
            let length = try header.u64()
            let checksum = try header.u32()
            let start = magic.count + 12
            guard length == UInt64(raw.count - start) else {
                throw FormatError("checkpoint is \(raw.count - start) bytes, header says \(length)")
            }
            let body = UnsafeRawBufferPointer(rebasing: raw[start...])
            guard CRC32C.checksum(body) == checksum else { throw FormatError("checkpoint checksum mismatch") }
            var reader = BinaryReader(body)
            let position = LogPosition(segment: try reader.u64(), offset: try reader.u64())
            let version = try reader.u64()
            let learnedSincePublish = try reader.u64()
            var joinCounters = JoinCounters()
            joinCounters.unmatchedRewards = try reader.u64()
            joinCounters.unmatchedActivations = try reader.u64()
            joinCounters.droppedNotActivated = try reader.u64()
            joinCounters.duplicateRanks = try reader.u64()
            var counts = TrainerCounts()
            for index in counts.values.indices { counts.values[index] = try reader.u64() }
            let learnerState = try reader.blob()
            let pendingCount = try reader.count(max: reader.remaining)
            var pending: [PendingJoinRecord] = []
            for _ in 0..<pendingCount {
                let eventID = try reader.string()
                let deadline = try reader.u64()
                let reward = try reader.f64()
                let rewardCount = Int(try reader.u32())
                let isDeferred = try reader.bool()
                let isActivated = try reader.bool()
                let example = EncodedExample(checked: try reader.exampleBytes())
                pending.append(PendingJoinRecord(
                    eventID: eventID, example: example, deadline: deadline, reward: reward, rewardCount: rewardCount,
                    isDeferred: isDeferred, isActivated: isActivated))
            }
            guard reader.isAtEnd else { throw FormatError("unexpected bytes after the checkpoint") }
            return LoopCheckpoint(position: position, modelVersion: version, learnedSincePublish: learnedSincePublish,
                                  learnerState: learnerState, joinCounters: joinCounters, pending: pending,
                                  counts: counts)
        }
    }
}

/// The trainer's own totals that Status reports and a restart must keep.
public struct TrainerCounts: Equatable, Sendable {
    /// learned, resolved, rank, reward, activate and over-capacity events applied.
    public var values: [UInt64] = [0, 0, 0, 0, 0, 0]
    public var learned: UInt64 { get { values[0] } set { values[0] = newValue } }
    public var resolved: UInt64 { get { values[1] } set { values[1] = newValue } }
    public var ranks: UInt64 { get { values[2] } set { values[2] = newValue } }
    public var rewards: UInt64 { get { values[3] } set { values[3] = newValue } }
    public var activations: UInt64 { get { values[4] } set { values[4] = newValue } }
    public var overCapacity: UInt64 { get { values[5] } set { values[5] = newValue } }
    public init() {}
}

/// A loop's checkpoint files: `checkpoint-N.bin`, the newest two kept. Written atomically: a
/// temporary file, fsync, rename, fsync of the folder — a crash leaves the old one or the new one.
public final class CheckpointStore: Sendable {
    public let directory: String
    private let operations: FileOperations
    public static let kept = 2

    public init(directory: String, operations: FileOperations = .system) throws(StorageError) {
        self.directory = directory
        self.operations = operations
        try Files.makeDirectory(directory)
    }

    static func number(_ name: String) -> UInt64? {
        guard name.hasPrefix("checkpoint-"), name.hasSuffix(".bin") else { return nil }
        return UInt64(name.dropFirst("checkpoint-".count).dropLast(4))
    }

    func path(_ number: UInt64) -> String { "\(directory)/checkpoint-\(number).bin" }

    /// Checkpoint numbers on disk, newest first.
    public func numbers() -> [UInt64] {
        ((try? Files.list(directory)) ?? []).compactMap(Self.number).sorted(by: >)
    }

    public func write(_ checkpoint: LoopCheckpoint) throws(StorageError) {
        let number = (numbers().first ?? 0) + 1
        let temporary = "\(directory)/checkpoint.tmp"
        let bytes = checkpoint.encoded()
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw StorageError("creating", path: temporary) }
        var done = 0
        while done < bytes.count {
            let written = bytes.withUnsafeBytes { operations.write(descriptor, $0.baseAddress! + done, $0.count - done) }
            if written < 0 {
                if errno == EINTR { continue }
                let failure = StorageError("writing", path: temporary)
                close(descriptor)
                unlink(temporary)
                throw failure
            }
            done += written
        }
        guard operations.fsync(descriptor) == 0 else {
            let failure = StorageError("syncing", path: temporary)
            close(descriptor)
            unlink(temporary)
            throw failure
        }
        close(descriptor)
        guard rename(temporary, path(number)) == 0 else { throw StorageError("renaming into", path: path(number)) }
        try Files.syncDirectory(directory)
        for old in numbers().dropFirst(Self.kept) { unlink(path(old)) }
    }

    /// The newest checkpoint that reads back whole; damaged ones are skipped and reported.
    public func loadNewest() -> (checkpoint: LoopCheckpoint?, notes: [String]) {
        var notes: [String] = []
        for number in numbers() {
            do {
                let bytes = try Files.readAll(path(number))
                return (try LoopCheckpoint.decode(bytes), notes)
            } catch let error as FormatError {
                notes.append("checkpoint-\(number).bin: \(error); using an older one")
            } catch {
                notes.append("checkpoint-\(number).bin: \(error); using an older one")
            }
        }
        return (nil, notes)
    }

    /// Positions the kept checkpoints replay from, oldest first (the log must keep them).
    public func positions() -> [LogPosition] {
        numbers().compactMap { number in
            guard let bytes = try? Files.readAll(path(number)), bytes.count >= LoopCheckpoint.magic.count + 28 else {
                return nil
            }
            return bytes.withUnsafeBytes { raw in
                var reader = BinaryReader(UnsafeRawBufferPointer(rebasing: raw[(LoopCheckpoint.magic.count + 12)...]))
                guard let segment = try? reader.u64(), let offset = try? reader.u64() else { return nil }
                return LogPosition(segment: segment, offset: offset)
            }
        }.sorted()
    }
}
