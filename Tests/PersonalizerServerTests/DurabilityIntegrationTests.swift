import Foundation
import PersonalizerClient
import PersonalizerEngine
import PersonalizerProtocol
import Synchronization
import XCTest

/// Crashes (`kill -9`) under load, restarts, and what survives them, against the real server.
final class DurabilityIntegrationTests: XCTestCase {
    private func config(_ durability: String) -> String {
        """
        {"loops": {"default": {"durability": "\(durability)", "rewardWaitTimeSeconds": 0.2,
                               "modelUpdateIntervalSeconds": 0.05, "checkpointIntervalSeconds": 0.3,
                               "fsyncIntervalMilliseconds": 50}}}
        """
    }

    private func actions() -> [RankAction] {
        (0..<4).map { RankAction(id: "a\($0)", features: [FeatureNamespace("item", [.text("id", "a\($0)")])]) }
    }

    private struct Acknowledged: Sendable {
        var ranks: [(id: String, at: Date)] = []
        var rewards = 0
    }

    /// Ranks and rewards from `clients` threads until the server dies; returns what it acknowledged.
    private func loadUntilKilled(_ server: ServerProcess, clients: Int = 3, killAfter: Double = 1.5) throws -> (Acknowledged, Date) {
        let acknowledged = Mutex(Acknowledged())
        let done = DispatchSemaphore(value: 0)
        for worker in 0..<clients {
            let client = try server.client(timeout: 5)
            let actions = self.actions()
            nonisolated(unsafe) let unsafeClient = client
            Thread {
                var index = 0
                while true {
                    do {
                        let result = try unsafeClient.rank(RankCall(
                            context: [FeatureNamespace("user", [.text("segment", "s\(index % 5)")])],
                            actions: actions, eventID: "w\(worker)-\(index)"))
                        acknowledged.withLock { $0.ranks.append((result.eventID, Date())) }
                        if index % 2 == 0 {
                            try unsafeClient.reward(eventID: result.eventID, value: result.rewardActionID == "a\(index % 4)" ? 1 : 0)
                            acknowledged.withLock { $0.rewards += 1 }
                        }
                        index += 1
                    } catch {
                        break
                    }
                }
                done.signal()
            }.start()
        }
        Thread.sleep(forTimeInterval: killAfter)
        let killedAt = Date()
        server.crash()
        for _ in 0..<clients { done.wait() }
        return (acknowledged.withLock { $0 }, killedAt)
    }

    /// Event ids of the ranks in a loop's log, read as the export tool reads it.
    private func loggedRanks(_ dataDirectory: String) throws -> Set<String> {
        var ids = Set<String>()
        try EventLog.read(directory: dataDirectory + "/loops/default/log") { record in
            if case .rank(let id, _, _, _, _, _) = record { ids.insert(id) }
        }
        return ids
    }

    /// A loop rebuilt in process from the log alone (no checkpoint) must hold the same model as
    /// the server that crashed, restarted and stopped cleanly on that log.
    private func assertRestartedModelEqualsPureReplay(_ dataDirectory: String, settings: LoopSettings,
                                                      file: StaticString = #filePath, line: UInt = #line) throws {
        let fromCheckpoint = try LearningLoop(name: "default", settings: settings, ringCapacity: 16,
                                              dataDirectory: dataDirectory)
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("replay-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.createDirectory(at: copy.appendingPathComponent("loops/default"),
                                                withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dataDirectory + "/loops/default/log",
                                         toPath: copy.appendingPathComponent("loops/default/log").path)
        let replayed = try LearningLoop(name: "default", settings: settings, ringCapacity: 16, dataDirectory: copy.path)
        XCTAssertGreaterThan(replayed.counters.learnedEvents.load(), 0, file: file, line: line)
        XCTAssertEqual(fromCheckpoint.learnerState(), replayed.learnerState(),
                       "checkpointed model differs from a replay of the log", file: file, line: line)
        XCTAssertEqual(fromCheckpoint.counters.learnedEvents.load(), replayed.counters.learnedEvents.load(),
                       file: file, line: line)
    }

    private func loopSettings(_ durability: DurabilityMode) -> LoopSettings {
        var settings = LoopSettings()
        settings.durability = durability
        settings.rewardWaitTimeSeconds = 0.2
        settings.modelUpdateIntervalSeconds = 0.05
        return settings
    }

    func testKillNineInAckModeLosesNoAcknowledgedEvent() throws {
        let server = try ServerProcess(config: config("ack"))
        let (acknowledged, _) = try loadUntilKilled(server)
        XCTAssertGreaterThan(acknowledged.ranks.count, 50)
        let logged = try loggedRanks(server.dataDirectory)
        let lost = acknowledged.ranks.filter { !logged.contains($0.id) }
        XCTAssertEqual(lost.count, 0, "acknowledged but not in the log: \(lost.prefix(5).map(\.id))")

        let restarted = try ServerProcess(config: config("ack"), reusing: server)
        let client = try restarted.client()
        XCTAssertGreaterThanOrEqual(try client.status().rankCalls, UInt64(acknowledged.ranks.count))
        XCTAssertTrue(try eventually { try client.status().pendingEvents == 0 }, "windows close after the restart")
        XCTAssertEqual(try client.status().learnedEvents, UInt64(logged.count), "every logged event learned")
        XCTAssertEqual(restarted.stop(), 0)
        print("ack mode: \(acknowledged.ranks.count) ranks acknowledged before kill -9, all \(logged.count) logged")
        try assertRestartedModelEqualsPureReplay(server.dataDirectory, settings: loopSettings(.ack))
    }

    func testKillNineInIntervalModeLosesAtMostTheLastInterval() throws {
        let server = try ServerProcess(config: config("interval"))
        let (acknowledged, killedAt) = try loadUntilKilled(server)
        XCTAssertGreaterThan(acknowledged.ranks.count, 50)
        let logged = try loggedRanks(server.dataDirectory)
        let lost = acknowledged.ranks.filter { !logged.contains($0.id) }
        // A killed process loses what the trainer had not written yet; the fsync interval (50 ms)
        // bounds it.
        let oldestLost = lost.map { killedAt.timeIntervalSince($0.at) }.max() ?? 0
        XCTAssertLessThan(oldestLost, 0.05, "an event acknowledged \(oldestLost) s before the kill was lost")
        print("interval mode: \(acknowledged.ranks.count) ranks acknowledged before kill -9, \(lost.count) lost, "
            + "the oldest acknowledged \(Int(oldestLost * 1000)) ms before the kill")

        let restarted = try ServerProcess(config: config("interval"), reusing: server)
        let client = try restarted.client()
        XCTAssertTrue(try eventually { try client.status().pendingEvents == 0 && client.status().lastFsyncUnixMilliseconds > 0 })
        let status = try client.status()
        XCTAssertEqual(status.learnedEvents, UInt64(logged.count))
        XCTAssertGreaterThan(status.logBytes, 0)
        XCTAssertGreaterThan(status.lastFsyncUnixMilliseconds, 0)
        XCTAssertGreaterThan(status.oldestEventUnixMilliseconds, 0)
        XCTAssertEqual(status.storageError, "")
        XCTAssertEqual(restarted.stop(), 0)
        try assertRestartedModelEqualsPureReplay(server.dataDirectory, settings: loopSettings(.interval))
    }

    func testExportWritesOneDecisionServiceLinePerClosedEvent() throws {
        let server = try ServerProcess(config: config("interval"))
        defer { server.stop() }
        let client = try server.client()
        var expected: [String: (chosen: String, reward: Double?)] = [:]
        for index in 0..<30 {
            let result = try client.rank(RankCall(
                context: [FeatureNamespace("user", [.text("segment", "s\(index % 3)"), .number("age", Double(20 + index))])],
                actions: actions(), excludedActionIDs: index % 5 == 0 ? ["a3"] : [], eventID: "x\(index)",
                deferActivation: index % 10 == 9))
            var reward: Double?
            if index % 2 == 0 {
                reward = Double(index) / 10
                try client.reward(eventID: result.eventID, value: reward!)
            }
            expected[result.eventID] = (result.rewardActionID, reward)
        }
        XCTAssertTrue(try eventually { try client.status().pendingEvents == 0 })
        // Let the trainer write its last records.
        Thread.sleep(forTimeInterval: 0.2)

        let tool = Process()
        tool.executableURL = ServerProcess.binary.deletingLastPathComponent().appendingPathComponent("personalizer")
        tool.arguments = ["export", "--data-dir", server.dataDirectory, "--loop", "default"]
        let output = Pipe()
        tool.standardOutput = output
        tool.standardError = Pipe()
        try tool.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        tool.waitUntilExit()
        XCTAssertEqual(tool.terminationStatus, 0)
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(lines.count, 30)
        for line in lines {
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let id = try XCTUnwrap(object["EventId"] as? String)
            let want = try XCTUnwrap(expected[id])
            let context = try XCTUnwrap(object["c"] as? [String: Any])
            let multi = try XCTUnwrap(context["_multi"] as? [[String: Any]])
            let chosen = try XCTUnwrap(object["_label_Action"] as? Int)
            XCTAssertEqual(multi[chosen - 1]["_id"] as? String, want.chosen, id)
            XCTAssertEqual((object["a"] as? [Int])?.first, chosen)
            XCTAssertEqual(multi.count, id == "x0" || id == "x5" || id == "x10" || id == "x15" || id == "x20" || id == "x25" ? 3 : 4,
                           "excluded actions are not candidates")
            let probabilities = try XCTUnwrap(object["p"] as? [Double])
            XCTAssertEqual(probabilities.reduce(0, +), 1, accuracy: 1e-9)
            XCTAssertEqual(object["_label_probability"] as? Double, probabilities[0])
            XCTAssertEqual(object["_label_cost"] as? Double, -(want.reward ?? 0), id)
            XCTAssertEqual(object["o"] != nil, want.reward != nil, id)
            let deferred = Int(id.dropFirst())! % 10 == 9
            XCTAssertEqual(object["_skipLearn"] as? Bool, deferred ? true : nil, id)
            XCTAssertEqual((context["user"] as? [String: Any])?["segment"] as? String, "s\(Int(id.dropFirst())! % 3)")
        }
    }
}
