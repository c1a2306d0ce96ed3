import Foundation
@testable import PersonalizerEngine
import PersonalizerModel
import Synchronization
import XCTest

/// A temporary folder, removed at the end of the test.
final class TemporaryDirectory {
    let path: String
    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("pz-\(UUID().uuidString.prefix(8))").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

func sampleExample(_ seed: Int) -> EncodedExample {
    var shared = HashedFeatures()
    shared.beginNamespace(name: "user")
    shared.addText(name: "segment", value: "s\(seed % 7)")
    shared.addNumber(name: "age", value: Double(20 + seed % 50))
    var actions: [HashedFeatures] = []
    for index in 0..<3 {
        var action = HashedFeatures()
        action.beginNamespace(name: "item")
        action.addText(name: "id", value: "a\(index)")
        actions.append(action)
    }
    return EncodedExample(RankedExample(shared: shared, actions: actions, chosenIndex: seed % 3, probability: 0.5,
                                        modelVersion: 7))
}

final class EventLogTests: XCTestCase {
    private func records(_ count: Int) -> [LogRecord] {
        (0..<count).map { index in
            switch index % 4 {
            case 0: .rank(eventID: "e\(index)", time: UInt64(index), deferred: index % 8 == 0, example: sampleExample(index),
                          export: RankExport(request: [1, 2, UInt8(index % 256)], chosenRequestIndex: 1, probabilities: [0.1, 0.9]))
            case 1: .reward(eventID: "e\(index - 1)", time: UInt64(index), value: Double(index) / 3)
            case 2: .activate(eventID: "e\(index - 2)", time: UInt64(index))
            default: .outcome(eventID: "e\(index - 3)", time: UInt64(index), reward: 0.5, rewarded: true, learned: index % 2 == 1)
            }
        }
    }

    private func describe(_ record: LogRecord) -> String { "\(record)" }

    private func replayAll(_ log: EventLog) throws -> [String] {
        var seen: [String] = []
        try log.replay(from: log.startPosition) { _, record in seen.append(describe(record)) }
        return seen
    }

    func testRecordsRoundTripAcrossSegments() throws {
        let directory = TemporaryDirectory()
        let written = records(200)
        do {
            let log = try EventLog(directory: directory.path, segmentLimit: 2048)
            for (index, record) in written.enumerated() {
                log.append(record)
                if index % 7 == 6 { try log.write(sync: index % 14 == 13) }
            }
            try log.write(sync: true)
            XCTAssertGreaterThan(log.segmentNumbers.count, 3, "small segments rotate")
        }
        let reopened = try EventLog(directory: directory.path, segmentLimit: 2048)
        XCTAssertTrue(reopened.recoveryNotes.isEmpty, "\(reopened.recoveryNotes)")
        XCTAssertEqual(try replayAll(reopened), written.map(describe))
    }

    /// Synced log pages leave the page cache (the next writes reuse them rather than take
    /// fresh ones): the whole pages an fsync covered, and all of a closed segment. The partly
    /// written last page stays, so the next write need not read it back.
    func testSyncedPagesLeaveThePageCache() throws {
        let directory = TemporaryDirectory()
        let log = try EventLog(directory: directory.path, segmentLimit: 1 << 16)
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        var records = 0
        while log.writtenPosition.offset < UInt64(6 * pageSize) || log.writtenPosition.offset % UInt64(pageSize) == 0 {
            log.append(.reward(eventID: "event-\(records)", time: UInt64(records), value: 1))
            records += 1
            try log.write(sync: false)
        }
        XCTAssertEqual(log.segmentNumbers.count, 1)
        let segmentPath = log.path(of: log.segmentNumbers[0])
        let wholePages = Int(log.writtenPosition.offset) / pageSize
        XCTAssertEqual(try residentPages(segmentPath).prefix(wholePages).filter { $0 }.count, wholePages,
                       "written pages are cached before the sync")

        let syncer = LogSyncer(descriptor: log.sharedDescriptor, operations: .system, counters: LoopCounters(),
                               mode: .interval, interval: 1_000_000_000, clock: ManualClock(), log: { _ in },
                               onDurable: {})
        syncer.noteWritten(events: UInt64(records))
        XCTAssertTrue(syncer.syncNow())
        let afterSync = try residentPages(segmentPath)
        XCTAssertEqual(afterSync.prefix(wholePages).filter { $0 }.count, 0, "synced whole pages are released")
        XCTAssertTrue(afterSync[wholePages], "the partly written last page stays")

        // Fill the segment until it rotates: the closed one is released entirely.
        while log.segmentNumbers.count == 1 {
            log.append(.reward(eventID: "event-\(records)", time: UInt64(records), value: 1))
            records += 1
            try log.write(sync: false)
        }
        XCTAssertEqual(try residentPages(segmentPath).filter { $0 }.count, 0, "a closed segment is released")
        let reopened = try EventLog(directory: directory.path, segmentLimit: 1 << 16)
        XCTAssertEqual(try replayAll(reopened).count, records, "released pages are read back from disk")
    }

    /// Which pages of a file are in the page cache.
    private func residentPages(_ path: String) throws -> [Bool] {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw StorageError("opening", path: path) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_size > 0 else { return [] }
        let size = Int(info.st_size)
        guard let mapping = mmap(nil, size, PROT_READ, MAP_SHARED, descriptor, 0), mapping != MAP_FAILED else {
            throw StorageError("mapping", path: path)
        }
        defer { munmap(mapping, size) }
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        var vector = [UInt8](repeating: 0, count: (size + pageSize - 1) / pageSize)
        guard mincore(mapping, size, &vector) == 0 else { throw StorageError("mincore on", path: path) }
        return vector.map { $0 & 1 == 1 }
    }

    /// A crash can stop a write anywhere in the last record: every cut is detected, reported,
    /// truncated, and everything before it survives; new appends then follow cleanly.
    func testTornLastRecordAtEveryByteOffsetIsTruncated() throws {
        let directory = TemporaryDirectory()
        let written = records(9)
        var lastRecordStart: UInt64 = 0
        do {
            let log = try EventLog(directory: directory.path)
            for record in written.dropLast() { log.append(record) }
            try log.write(sync: true)
            lastRecordStart = log.writtenPosition.offset
            log.append(written.last!)
            try log.write(sync: true)
        }
        let segmentPath = directory.path + "/" + EventLog.segmentName(1)
        let full = try Data(contentsOf: URL(fileURLWithPath: segmentPath))
        for cut in Int(lastRecordStart)..<full.count {
            try full.prefix(cut).write(to: URL(fileURLWithPath: segmentPath))
            let log = try EventLog(directory: directory.path)
            if cut == Int(lastRecordStart) {
                XCTAssertTrue(log.recoveryNotes.isEmpty)
            } else {
                XCTAssertEqual(log.recoveryNotes.count, 1, "cut at \(cut)")
                XCTAssertTrue(log.recoveryNotes[0].contains("truncated \(cut - Int(lastRecordStart)) bytes"),
                              log.recoveryNotes[0])
            }
            XCTAssertEqual(log.writtenPosition.offset, lastRecordStart)
            XCTAssertEqual(try replayAll(log), written.dropLast().map(describe), "cut at \(cut)")
            // The log goes on after the repair.
            log.append(written.last!)
            try log.write(sync: true)
            XCTAssertEqual(try replayAll(log), written.map(describe))
        }
    }

    func testCorruptRecordStopsReplayAndIsReported() throws {
        let directory = TemporaryDirectory()
        let written = records(8)
        var secondRecord: UInt64 = 0
        do {
            let log = try EventLog(directory: directory.path)
            log.append(written[0])
            try log.write(sync: true)
            secondRecord = log.writtenPosition.offset
            for record in written.dropFirst() { log.append(record) }
            try log.write(sync: true)
        }
        let segmentPath = directory.path + "/" + EventLog.segmentName(1)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: segmentPath))
        bytes[Int(secondRecord) + 12] ^= 0xFF  // inside the second record's payload
        try bytes.write(to: URL(fileURLWithPath: segmentPath))
        let log = try EventLog(directory: directory.path)
        XCTAssertTrue(log.recoveryNotes.first?.contains("bad checksum") ?? false, "\(log.recoveryNotes)")
        XCTAssertEqual(try replayAll(log), [describe(written[0])])
    }

    func testFailedWritesKeepEverythingAndRecover() throws {
        let directory = TemporaryDirectory()
        let failing = Atomic<Bool>(false)
        let partial = Atomic<Bool>(false)
        let operations = FileOperations(
            write: { descriptor, bytes, count in
                if failing.load(ordering: .relaxed) {
                    // First write half of the batch, then fail: the log must cut the torn part.
                    if partial.exchange(false, ordering: .relaxed) { return write(descriptor, bytes, count / 2) }
                    errno = ENOSPC
                    return -1
                }
                return write(descriptor, bytes, count)
            },
            fsync: { fsync($0) })
        let written = records(12)
        let log = try EventLog(directory: directory.path, operations: operations)
        for record in written.prefix(4) { log.append(record) }
        try log.write(sync: true)
        failing.store(true, ordering: .relaxed)
        partial.store(true, ordering: .relaxed)
        for record in written[4..<8] { log.append(record) }
        XCTAssertThrowsError(try log.write(sync: true)) { error in
            XCTAssertTrue("\(error)".contains("No space left on device"), "\(error)")
        }
        XCTAssertNotNil(log.lastError)
        XCTAssertEqual(log.pendingCount, 4, "nothing accepted is dropped")
        for record in written[8...] { log.append(record) }
        XCTAssertThrowsError(try log.write(sync: false))
        failing.store(false, ordering: .relaxed)
        try log.write(sync: true)
        XCTAssertNil(log.lastError)
        XCTAssertEqual(try replayAll(log), written.map(describe))
        let reopened = try EventLog(directory: directory.path)
        XCTAssertTrue(reopened.recoveryNotes.isEmpty, "the torn half-write was cut off: \(reopened.recoveryNotes)")
        XCTAssertEqual(try replayAll(reopened), written.map(describe))
    }

    func testRetentionDeletesOnlyOldSegmentsNoCheckpointNeeds() throws {
        let directory = TemporaryDirectory()
        let log = try EventLog(directory: directory.path, segmentLimit: 1024)
        for record in records(120) {
            log.append(record)
            try log.write(sync: false)
        }
        let segments = log.segmentNumbers
        XCTAssertGreaterThan(segments.count, 4)
        let day: UInt64 = 86_400_000_000_000
        for (index, segment) in segments.dropLast().enumerated() { log.setNewestTime(UInt64(index + 1) * day, of: segment) }
        // Cutoff after day 3: segments 1...3 are old, but a checkpoint still needs segment 3.
        let deleted = log.deleteSegments(newestBefore: 3 * day + 1,
                                         keepFrom: LogPosition(segment: segments[2], offset: 8))
        XCTAssertEqual(deleted, [segments[0], segments[1]])
        XCTAssertEqual(log.segmentNumbers.first, segments[2])
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path + "/" + EventLog.segmentName(segments[0])))
        XCTAssertEqual(log.deleteSegments(newestBefore: .max, keepFrom: LogPosition(segment: .max, offset: 0)).count,
                       segments.count - 3, "never the segment being written")
    }
}
