import Foundation
@testable import PersonalizerEngine
import PersonalizerModel
import Synchronization
import XCTest

/// Lines a loop reported, collected across threads.
final class Notes: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
    func contain(_ predicate: (String) -> Bool) -> Bool { all.contains(where: predicate) }
}

/// A loop on disk, driven by hand: events go in through its producer, the trainer runs one pass
/// at a time on this thread, the clock moves only when told. "Crashing" is dropping the loop
/// without `stop()`: what its passes wrote is what a killed process leaves.
final class RecoveryTests: XCTestCase {
    private let clock = ManualClock()

    private func settings(_ change: (inout LoopSettings) -> Void = { _ in }) -> LoopSettings {
        var settings = LoopSettings()
        settings.rewardWaitTimeSeconds = 1
        settings.modelUpdateIntervalSeconds = 0.5
        settings.checkpointIntervalSeconds = 1_000
        change(&settings)
        return settings
    }

    private func loop(_ directory: String?, _ settings: LoopSettings, operations: FileOperations = .system,
                      notes: Notes? = nil) throws -> LearningLoop {
        try LearningLoop(name: "default", settings: settings, ringCapacity: 4096, dataDirectory: directory,
                         clock: clock, fileOperations: operations,
                         log: { line in notes?.append(line) })
    }

    /// Ranks `count` events (rewarding two of three), moving the clock and running the trainer.
    private func feed(_ loops: [LearningLoop], from start: Int, count: Int) {
        for index in start..<(start + count) {
            let now = clock.nowNanoseconds()
            for loop in loops {
                XCTAssertTrue(loop.producer.submit(.rank(eventID: "e\(index)", time: now, deferred: false,
                                                         example: sampleExample(index), export: nil)))
                if index % 3 != 0 {
                    XCTAssertTrue(loop.producer.submit(
                        .reward(eventID: "e\(index)", time: now, value: index % 3 == 1 ? 1 : 0.25)))
                }
            }
            clock.advance(seconds: 0.05)
            if index % 5 == 4 { for loop in loops { loop.trainerStep(now: clock.nowNanoseconds()) } }
        }
        for loop in loops { loop.trainerStep(now: clock.nowNanoseconds()) }
    }

    func testRestartAfterACrashGivesTheModelOfARunWithoutOne() throws {
        let directory = TemporaryDirectory()
        let reference = try loop(nil, settings())
        var crashed: LearningLoop? = try loop(directory.path, settings())
        feed([reference, crashed!], from: 0, count: 300)
        XCTAssertGreaterThan(reference.counters.learnedEvents.load(), 250)
        XCTAssertEqual(crashed!.learnerState(), reference.learnerState(), "logging changes nothing")
        crashed = nil  // no stop(): no final checkpoint

        let notes = Notes()
        let restarted = try loop(directory.path, settings(), notes: notes)
        XCTAssertEqual(restarted.learnerState(), reference.learnerState(), "replayed from the log alone")
        XCTAssertEqual(restarted.counters.learnedEvents.load(), reference.counters.learnedEvents.load())
        XCTAssertEqual(restarted.counters.modelVersion.load(), reference.counters.modelVersion.load())
        XCTAssertEqual(restarted.counters.rankCalls.load(), 300)
        XCTAssertEqual(restarted.counters.pendingEvents, reference.counters.pendingEvents)
        XCTAssertEqual(restarted.producer.withSnapshot { $0.version }, reference.counters.modelVersion.load())
        XCTAssertTrue(notes.contain { $0.contains("recovered model version") }, "\(notes.all)")

        // Both go on identically: pending events are still joined with their rewards.
        feed([reference, restarted], from: 300, count: 100)
        clock.advance(seconds: 5)
        reference.trainerStep(now: clock.nowNanoseconds())
        restarted.trainerStep(now: clock.nowNanoseconds())
        XCTAssertEqual(restarted.learnerState(), reference.learnerState())
        XCTAssertEqual(restarted.counters.unmatchedRewards.load(), reference.counters.unmatchedRewards.load())
    }

    func testCheckpointThenCrashAndACorruptCheckpointFallsBack() throws {
        let directory = TemporaryDirectory()
        let reference = try loop(nil, settings())
        var crashed: LearningLoop? = try loop(directory.path, settings())
        feed([reference, crashed!], from: 0, count: 100)
        crashed!.checkpoint(now: clock.nowNanoseconds())
        feed([reference, crashed!], from: 100, count: 100)
        crashed!.checkpoint(now: clock.nowNanoseconds())
        feed([reference, crashed!], from: 200, count: 100)
        crashed = nil

        let fromCheckpoint = try loop(directory.path, settings())
        XCTAssertEqual(fromCheckpoint.learnerState(), reference.learnerState(), "checkpoint plus replay")

        // Damage the newest checkpoint: the older one and a longer replay give the same model.
        let checkpoints = directory.path + "/loops/default/checkpoints"
        let newest = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: checkpoints)
            .filter { $0.hasPrefix("checkpoint-") }.sorted { $0.count == $1.count ? $0 > $1 : $0.count > $1.count }.first)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: checkpoints + "/" + newest))
        bytes[bytes.count / 2] ^= 0x55
        try bytes.write(to: URL(fileURLWithPath: checkpoints + "/" + newest))
        let notes = Notes()
        let fallback = try loop(directory.path, settings(), notes: notes)
        XCTAssertEqual(fallback.learnerState(), reference.learnerState(), "older checkpoint, longer replay")
        XCTAssertTrue(notes.contain { $0.contains("checksum mismatch; using an older one") },
                      "\(notes.all)")
    }

    func testATornTailIsReportedAndTheRestRecovered() throws {
        let directory = TemporaryDirectory()
        var crashed: LearningLoop? = try loop(directory.path, settings())
        feed([crashed!], from: 0, count: 50)
        let learned = crashed!.counters.learnedEvents.load()
        crashed = nil
        let segment = directory.path + "/loops/default/log/" + EventLog.segmentName(1)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: segment))
        handle.seekToEndOfFile()
        handle.write(Data([0x40, 0, 0, 0, 1, 2, 3]))  // half a record header and payload
        try handle.close()
        let notes = Notes()
        let restarted = try loop(directory.path, settings(), notes: notes)
        XCTAssertEqual(restarted.counters.learnedEvents.load(), learned)
        XCTAssertTrue(notes.contain { $0.contains("torn record") && $0.contains("truncated 7 bytes") },
                      "\(notes.all)")
    }

    func testAPolicyThatDoesNotFitTheCheckpointIsRefusedClearly() throws {
        let directory = TemporaryDirectory()
        var first: LearningLoop? = try loop(directory.path, settings())
        feed([first!], from: 0, count: 20)
        first!.checkpoint(now: clock.nowNanoseconds())
        first = nil
        XCTAssertThrowsError(try loop(directory.path, settings { $0.learningPolicy = "--cb_explore_adf -b 12" })) { error in
            XCTAssertTrue("\(error)".contains("does not fit the loop's learningPolicy"), "\(error)")
        }
    }

    /// Under a stream that never lets the ring empty, each pass still writes what it drained to
    /// the log and closes the windows that are due: a pass takes one batch, not the whole ring.
    func testAPassTakesOneBatchAndLogsItBeforeTheNext() throws {
        let directory = TemporaryDirectory()
        let total = Trainer.drainBatch * 2 + 100
        let busy = try LearningLoop(name: "default", settings: settings(), ringCapacity: total,
                                    dataDirectory: directory.path, clock: clock)
        let now = clock.nowNanoseconds()
        for index in 0..<total {
            XCTAssertTrue(busy.producer.submit(.rank(eventID: "e\(index)", time: now, deferred: false,
                                                     example: sampleExample(index), export: nil)))
        }
        clock.advance(seconds: 2)  // every window is due
        XCTAssertEqual(busy.trainer.step(now: clock.nowNanoseconds()), Trainer.drainBatch)
        XCTAssertEqual(busy.trainer.store?.log.pendingCount, 0, "the batch is written before the next pass")
        XCTAssertEqual(busy.counters.learnedEvents.load(), UInt64(Trainer.drainBatch),
                       "the batch's due windows closed in the same pass")
        XCTAssertFalse(busy.trainer.ring.isEmpty, "the rest waits for the next passes")
        XCTAssertEqual(busy.trainerStep(now: clock.nowNanoseconds()), total - Trainer.drainBatch)
        XCTAssertEqual(busy.counters.learnedEvents.load(), UInt64(total))
    }

    func testDurabilityOffKeepsNothingOnDisk() throws {
        let directory = TemporaryDirectory()
        var volatile: LearningLoop? = try loop(directory.path, settings { $0.durability = .off })
        feed([volatile!], from: 0, count: 30)
        XCTAssertGreaterThan(volatile!.counters.learnedEvents.load(), 0)
        XCTAssertTrue(volatile!.producer.isDurable(volatile!.producer.submittedEvents), "nothing waits for a disk")
        volatile = nil
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path + "/loops/default"))
        let restarted = try loop(directory.path, settings { $0.durability = .off })
        XCTAssertEqual(restarted.counters.learnedEvents.load(), 0, "a restart begins untrained")
    }

    func testRetentionRemovesOldSegmentsAndLeavesTheModel() throws {
        let directory = TemporaryDirectory()
        let loop = try loop(directory.path, settings { $0.logRetentionDays = 1 })
        feed([loop], from: 0, count: 20)
        loop.checkpoint(now: clock.nowNanoseconds())
        let before = loop.learnerState()
        let log = directory.path + "/loops/default/log"
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: log).count, 1)
        // Two days later everything logged so far is past retention; the active segment stays.
        clock.advance(seconds: 2 * 86_400)
        loop.applyRetention(now: clock.nowNanoseconds())
        XCTAssertEqual(loop.learnerState(), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: log).count, 1, "the active segment stays")
    }

    func testFullDiskIsReportedRetriedAndNothingIsLost() throws {
        let directory = TemporaryDirectory()
        let diskFull = Atomic<Bool>(false)
        let operations = FileOperations(
            write: { descriptor, bytes, count in
                if diskFull.load(ordering: .relaxed) { errno = ENOSPC; return -1 }
                return write(descriptor, bytes, count)
            },
            fsync: { fsync($0) })
        let reference = try loop(nil, settings())
        let notes = Notes()
        var failing: LearningLoop? = try loop(directory.path, settings { $0.durability = .ack }, operations: operations,
                                              notes: notes)
        feed([reference, failing!], from: 0, count: 30)
        XCTAssertNil(failing!.producer.storageError)
        diskFull.store(true, ordering: .relaxed)
        feed([reference, failing!], from: 30, count: 30)
        XCTAssertTrue(failing!.producer.storageError?.contains("No space left on device") ?? false)
        XCTAssertFalse(failing!.producer.isDurable(failing!.producer.submittedEvents), "not acknowledged")
        XCTAssertTrue(notes.contain { $0.contains("writing the event log fails") })
        XCTAssertEqual(failing!.learnerState(), reference.learnerState(), "learning goes on in memory")
        diskFull.store(false, ordering: .relaxed)
        failing!.trainerStep(now: clock.nowNanoseconds())
        XCTAssertNil(failing!.producer.storageError, "recovers by itself")
        XCTAssertTrue(failing!.producer.isDurable(failing!.producer.submittedEvents))
        XCTAssertTrue(notes.contain { $0.contains("writing the event log works again") })
        failing = nil
        let restarted = try loop(directory.path, settings())
        XCTAssertEqual(restarted.learnerState(), reference.learnerState(), "every event reached the disk in the end")
    }
}
