import Foundation
import PersonalizerEngine
import PersonalizerProtocol
import PersonalizerTransport
import Synchronization
import XCTest

/// A disk that can be made to fail, shared with the file operations' closures.
final class DiskSwitch: @unchecked Sendable {
    private let flag = Mutex(false)
    var isOn: Bool {
        get { flag.withLock { $0 } }
        set { flag.withLock { $0 = newValue } }
    }
}

/// The decode → engine → encode path in process, without sockets or threads: the test drives
/// the trainer with `trainerStep` and its own clock.
final class RequestProcessorTests: XCTestCase {
    private var clock = ManualClock()
    private var loop: LearningLoop!
    private var processor: RequestProcessor!
    private let output = ByteBuffer()
    private var nextID: UInt64 = 1

    private func makeProcessor(ringCapacity: Int = 1024, settings: (inout LoopSettings) -> Void = { _ in }) throws {
        var loopSettings = LoopSettings()
        loopSettings.rewardWaitTimeSeconds = 10
        loopSettings.modelUpdateIntervalSeconds = 1
        settings(&loopSettings)
        var limits = ServerLimits()
        limits.ringCapacity = ringCapacity
        loop = try LearningLoop(name: "default", settings: loopSettings, ringCapacity: ringCapacity, clock: clock,
                                onSpaceAvailable: {})
        processor = RequestProcessor(loops: ["default": loop], limits: limits, clock: clock)
    }

    /// Sends one call; returns the decoded response, or nil when the processor asked to retry.
    private func call(_ call: Call) -> Response? {
        let id = nextID
        nextID += 1
        let bytes = MessageCodec.encode(Request(id: id, call: call))
        let outcome = bytes.withUnsafeBytes { processor.process($0, into: output) }
        if case .retryLater = outcome {
            XCTAssertTrue(output.isEmpty, "nothing is answered when the request must wait")
            return nil
        }
        let frame = output.readableBytes
        let length = Int(UInt32(bigEndian: frame.loadUnaligned(as: UInt32.self)))
        XCTAssertEqual(frame.count, 4 + length, "exactly one framed response")
        let response = MessageCodec.decodeResponse(UnsafeRawBufferPointer(rebasing: frame[4...]))
        output.clear()
        XCTAssertEqual(response?.id, id)
        return response
    }

    private func rank(_ eventID: String, segment: String = "s") -> RankResult? {
        let rank = RankCall(context: [FeatureNamespace("user", [.text("segment", segment)])],
                            actions: (0..<3).map { RankAction(id: "a\($0)", features: [FeatureNamespace("item", [.text("id", "a\($0)")])]) },
                            eventID: eventID)
        guard case .rank(let result) = call(.rank(rank))?.result else { return nil }
        return result
    }

    private func status() -> LoopStatus {
        guard case .status(let status) = call(.status)?.result else { XCTFail("no status"); return LoopStatus() }
        return status
    }

    func testRankRewardAndLearningThroughTheTrainer() throws {
        try makeProcessor()
        let result = try XCTUnwrap(rank("e1"))
        XCTAssertEqual(result.eventID, "e1")
        XCTAssertEqual(result.ranking.first?.id, result.rewardActionID)
        XCTAssertEqual(call(.reward(eventID: "e1", value: 1))?.result, .reward)
        XCTAssertEqual(status().pendingEvents, 1)

        loop.trainerStep(now: clock.nowNanoseconds())
        XCTAssertEqual(status().learnedEvents, 0, "the window is still open")
        clock.advance(seconds: 10)
        loop.trainerStep(now: clock.nowNanoseconds())
        var current = status()
        XCTAssertEqual(current.learnedEvents, 1)
        XCTAssertEqual(current.pendingEvents, 0)
        XCTAssertEqual(current.modelVersion, 1, "published at the update interval after learning")
        XCTAssertEqual(rank("e2")?.modelVersion, 1, "the next Rank uses the new snapshot")

        clock.advance(seconds: 5)
        loop.trainerStep(now: clock.nowNanoseconds())
        current = status()
        XCTAssertEqual(current.modelVersion, 1, "no new version without new learning")
    }

    func testFullRingAsksForARetryAndChangesNothing() throws {
        try makeProcessor(ringCapacity: 2)
        XCTAssertNotNil(rank("e1"))
        XCTAssertNotNil(rank("e2"))
        XCTAssertNil(rank("e3"), "ring full")
        XCTAssertNil(call(.reward(eventID: "e1", value: 1)), "rewards wait too")
        XCTAssertEqual(status().rankCalls, 2, "the refused Rank was not counted")
        XCTAssertEqual(status().backpressureStalls, 2)
        loop.trainerStep(now: clock.nowNanoseconds())
        XCTAssertEqual(rank("e3")?.eventID, "e3", "the same request succeeds once there is room")
    }

    func testPendingEventIDIsFreeAgainAfterItsWindow() throws {
        try makeProcessor()
        XCTAssertNotNil(rank("same"))
        guard case .error(let code, _) = call(.rank(RankCall(actions: [RankAction(id: "x")], eventID: "same")))?.result else {
            return XCTFail("expected ALREADY_EXISTS")
        }
        XCTAssertEqual(code, StatusCode.alreadyExists.rawValue)
        clock.advance(seconds: 10)
        XCTAssertNotNil(rank("same"))
    }

    func testAckLoopRefusesCallsWithUnavailableWhileItsDiskFails() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ack-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        let diskFull = DiskSwitch()
        var settings = LoopSettings()
        settings.durability = .ack
        settings.rewardWaitTimeSeconds = 10
        let operations = FileOperations(
            write: { descriptor, bytes, count in
                if diskFull.isOn { errno = ENOSPC; return -1 }
                return write(descriptor, bytes, count)
            },
            fsync: { fsync($0) })
        loop = try LearningLoop(name: "default", settings: settings, ringCapacity: 64, dataDirectory: directory.path,
                                clock: clock, fileOperations: operations)
        processor = RequestProcessor(loops: ["default": loop], limits: ServerLimits(), clock: clock)
        XCTAssertNotNil(rank("before"))
        diskFull.isOn = true
        loop.trainerStep(now: clock.nowNanoseconds())  // the write fails: the loop knows now
        guard case .error(let code, let message) = call(.rank(RankCall(actions: [RankAction(id: "x")])))?.result else {
            return XCTFail("expected UNAVAILABLE")
        }
        XCTAssertEqual(code, StatusCode.unavailable.rawValue)
        XCTAssertTrue(message.contains("No space left on device"), message)
        guard case .error(let rewardCode, _) = call(.reward(eventID: "before", value: 1))?.result else {
            return XCTFail("expected UNAVAILABLE")
        }
        XCTAssertEqual(rewardCode, StatusCode.unavailable.rawValue)
        XCTAssertEqual(status().storageError.contains("No space left on device"), true, "Status says so")
        diskFull.isOn = false
        loop.trainerStep(now: clock.nowNanoseconds())
        XCTAssertNotNil(rank("after"), "serving recovers by itself once the disk has room")
        XCTAssertEqual(status().storageError, "")
    }

    func testLearningMovesTheRankingTowardTheRewardedAction() throws {
        try makeProcessor { $0.rewardWaitTimeSeconds = 0.001; $0.modelUpdateIntervalSeconds = 0.001 }
        for index in 0..<600 {
            guard let result = rank("learn-\(index)") else { return XCTFail("rank failed") }
            _ = call(.reward(eventID: result.eventID, value: result.rewardActionID == "a2" ? 1 : 0))
            clock.advance(seconds: 0.002)
            loop.trainerStep(now: clock.nowNanoseconds())
        }
        let result = try XCTUnwrap(rank("final"))
        let top = result.ranking.max { $0.probability < $1.probability }!
        XCTAssertEqual(top.id, "a2")
        XCTAssertEqual(top.probability, 0.8 + 0.2 / 3, accuracy: 1e-9)
    }
}
