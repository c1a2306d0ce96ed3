import Foundation
import PersonalizerClient
import PersonalizerProtocol
import XCTest

/// Start-up, refusals at start-up, and shutdown of the real server.
final class LifecycleIntegrationTests: XCTestCase {
    func testInvalidConfigurationIsRefusedNamingTheSetting() throws {
        let cases = [
            (#"{"loops": {"default": {"rewardWaitTimeSeconds": "soon"}}}"#, "loops.default.rewardWaitTimeSeconds"),
            (#"{"loops": {"news": {"explorationPercentage": 1.5}}}"#, "loops.news.explorationPercentage"),
            (#"{"loops": {"news": {"rewardAggregation": "max"}}}"#, "rewardAggregation"),
            (#"{"loops": {"news": {"learningPolicy": "--cb_explore_adf --bogus"}}}"#, "--bogus"),
            (#"{"loops": {"news": {"colour": 1}}}"#, "unknown setting \"colour\""),
            (#"{"loops": {"default": {"modelUpdateIntervalSeconds": 0}}}"#, "modelUpdateIntervalSeconds"),
            (#"{"limits": {"maxActionsPerRank": 0}}"#, "limits.maxActionsPerRank"),
            (#"{"loops": "#, "not valid JSON"),
        ]
        for (config, expected) in cases {
            let server = try ServerProcess(config: config, waitUntilReady: false)
            XCTAssertEqual(server.waitForExit(), 78, "exit code for \(config)")
            XCTAssertTrue(server.standardError.contains(expected), "\(config): \(server.standardError)")
        }
    }

    func testStaleSocketIsReplacedAndALiveServerIsRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stale-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("p.sock").path
        // A socket file whose server is gone: bound, never listened on, closed.
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8))
            raw[path.utf8.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0)
        close(descriptor)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))

        let first = try ServerProcess(socketPath: path)
        XCTAssertNoThrow(try first.client().status())
        let second = try ServerProcess(socketPath: path, waitUntilReady: false)
        XCTAssertEqual(second.waitForExit(), 1)
        XCTAssertTrue(second.standardError.contains("already listening on \(path)"), second.standardError)
        XCTAssertNoThrow(try first.client().status(), "the first server is untouched")
        XCTAssertEqual(first.stop(), 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "socket file removed at shutdown")
    }

    func testTooLongSocketPathIsAClearError() throws {
        let longPath = "/tmp/" + String(repeating: "x", count: 120) + ".sock"
        let server = try ServerProcess(socketPath: longPath, waitUntilReady: false)
        XCTAssertEqual(server.waitForExit(), 1)
        XCTAssertTrue(server.standardError.contains("longer than the 107"), server.standardError)
    }

    func testSigtermAnswersWhatWasReadThenExitsCleanly() throws {
        let server = try ServerProcess()
        let client = try server.client()
        let count = 300
        var bytes: [UInt8] = []
        for index in 0..<count {
            bytes += MessageCodec.frame(Request(id: UInt64(index + 1), call: .rank(RankCall(
                actions: [RankAction(id: "a"), RankAction(id: "b")], eventID: "shutdown-\(index)"))))
        }
        try client.sendBytes(bytes)
        let first = try client.receive()
        XCTAssertEqual(first.id, 1)
        kill(server.process.processIdentifier, SIGTERM)
        // Every response that arrives is whole and in order; then the server closes the connection.
        var next: UInt64 = 2
        while true {
            do {
                let response = try client.receive()
                XCTAssertEqual(response.id, next)
                next += 1
            } catch ClientError.closed {
                break
            }
        }
        XCTAssertEqual(next, UInt64(count + 1), "all requests already read were answered")
        XCTAssertEqual(server.stop(), 0)
        XCTAssertTrue(server.standardOutput.contains("listening on \(server.socketPath)"), server.standardOutput)
        XCTAssertFalse(FileManager.default.fileExists(atPath: server.socketPath))
    }
}
