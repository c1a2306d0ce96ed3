import Foundation
import PersonalizerLoad
import XCTest

/// Short live runs: against an echo thread in the test (raw mode, closed and open loop) and
/// against a real `personalizerd` (response mode, Rank+Reward, Status polling).
final class RunnerTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pl-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    private func options(socket: String) -> LoadOptions {
        var options = LoadOptions()
        options.socketPath = socket
        options.durationSeconds = 0.4
        options.warmupSeconds = 0.1
        options.drainSeconds = 2
        return options
    }

    func testClosedLoopAgainstARawEcho() throws {
        let echo = try TestEcho(path: directory.appendingPathComponent("echo.sock").path, replyBytes: 300)
        defer { echo.stop() }
        var options = options(socket: echo.path)
        options.expect = .raw
        options.connections = 2
        options.depth = 8
        options.mix = .rankReward
        let report = try LoadRunner.run(options, progress: false)
        XCTAssertFalse(report.failed, "\(report.connectionFailures)")
        XCTAssertEqual(report.errors + report.protocolErrors, 0, report.firstError ?? "")
        XCTAssertGreaterThan(report.rank.count, 50)
        XCTAssertGreaterThan(report.reward.count, 50)
        XCTAssertEqual(report.rank.replyBytes, 304, "every reply frame is 4 + 300 bytes")
        XCTAssertGreaterThan(report.rank.latency.p50, 0)
        XCTAssertLessThanOrEqual(report.rank.latency.p50, report.rank.latency.p99)
        XCTAssertNotNil(report.averageReward)
    }

    func testOpenLoopKeepsItsRate() throws {
        let echo = try TestEcho(path: directory.appendingPathComponent("echo.sock").path, replyBytes: 16)
        defer { echo.stop() }
        var options = options(socket: echo.path)
        options.expect = .raw
        options.mix = .status
        options.rate = 2000
        options.durationSeconds = 1
        let report = try LoadRunner.run(options, progress: false)
        XCTAssertEqual(report.status.perSecond, 2000, accuracy: 300, "late calls are sent at once, so the count holds")
        XCTAssertEqual(report.rank.count, 0)
    }

    func testRankRewardAgainstTheRealServer() throws {
        guard let binary = Self.personalizerd else { throw XCTSkip("personalizerd is not built next to the tests") }
        let socket = directory.appendingPathComponent("s.sock").path
        let config = directory.appendingPathComponent("config.json")
        try #"{"loops": {"default": {"rewardWaitTimeSeconds": 0.1, "modelUpdateIntervalSeconds": 0.2}}}"#
            .write(to: config, atomically: true, encoding: .utf8)
        let server = Process()
        server.executableURL = binary
        server.arguments = ["--socket", socket, "--data-dir", directory.appendingPathComponent("data").path,
                            "--config", config.path]
        server.standardOutput = FileHandle.nullDevice
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: socket), Date() < deadline { usleep(20_000) }

        var options = options(socket: socket)
        options.mix = .rankReward
        options.connections = 2
        options.depth = 4
        options.durationSeconds = 1.5
        options.serverPID = server.processIdentifier
        let report = try LoadRunner.run(options, progress: false)
        XCTAssertFalse(report.failed, "\(report.connectionFailures)")
        XCTAssertEqual(report.errors + report.protocolErrors, 0, report.firstError ?? "")
        XCTAssertGreaterThan(report.rank.count, 100)
        XCTAssertGreaterThan(report.reward.count, 100)
        let start = try XCTUnwrap(report.serverStart)
        let end = try XCTUnwrap(report.serverEnd)
        XCTAssertGreaterThanOrEqual(end.rankCalls - start.rankCalls, report.rank.count)
        XCTAssertGreaterThan(end.learnedEvents, 0, "the trainer learned from the joined events")
        XCTAssertFalse(report.timeline.isEmpty)
        XCTAssertNotNil(report.serverRSSEnd)
        XCTAssertGreaterThan(report.serverCPUSeconds ?? 0, 0, "the server's CPU time over the window")
        XCTAssertGreaterThan(report.cpuMicrosecondsPerCall(report.clientCPUSeconds) ?? 0, 0)
        XCTAssertTrue(report.table.contains("CPU per pair"))
        XCTAssertGreaterThan(report.rank.replyBytes, 100)

        options.loop = "missing"
        XCTAssertThrowsError(try LoadRunner.run(options, progress: false)) { error in
            XCTAssertTrue("\(error)".contains("NOT_FOUND"), "\(error)")
        }
    }

    /// The server binary next to the test bundle (SwiftPM puts every product in one folder), or $PERSONALIZERD.
    static var personalizerd: URL? {
        if let path = ProcessInfo.processInfo.environment["PERSONALIZERD"] { return URL(fileURLWithPath: path) }
        let candidates = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent(),
                          URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        for folder in candidates {
            let url = folder.appendingPathComponent("personalizerd")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }
}

/// A blocking echo for tests: one thread per connection answers every frame with a fixed frame.
final class TestEcho: @unchecked Sendable {
    let path: String
    private let listener: Int32
    private let reply: [UInt8]
    private let lock = NSLock()
    private var clients: [Int32] = []
    private var acceptThread: Thread?

    init(path: String, replyBytes: Int) throws {
        self.path = path
        reply = [UInt8(replyBytes >> 24), UInt8((replyBytes >> 16) & 0xFF), UInt8((replyBytes >> 8) & 0xFF),
                 UInt8(replyBytes & 0xFF)] + [UInt8](repeating: 0x2A, count: replyBytes)
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8))
            raw[path.utf8.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw CocoaError(.fileWriteUnknown) }
        let thread = Thread { [self] in acceptLoop() }
        acceptThread = thread
        thread.start()
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            lock.withLock { clients.append(client) }
            Thread { [self] in serve(client) }.start()
        }
    }

    private func serve(_ client: Int32) {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var filled = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress! + filled, $0.count - filled, 0) }
            guard count > 0 else { return }
            filled += count
            var start = 0
            var out: [UInt8] = []
            while filled - start >= 4 {
                let length = Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
                guard filled - start >= 4 + length else { break }
                start += 4 + length
                out += reply
            }
            buffer.withUnsafeMutableBytes { raw in
                raw.baseAddress!.copyMemory(from: raw.baseAddress! + start, byteCount: filled - start)
            }
            filled -= start
            var offset = 0
            while offset < out.count {
                let written = out.withUnsafeBytes { send(client, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
                guard written > 0 else { return }
                offset += written
            }
        }
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        lock.withLock { for client in clients { shutdown(client, Int32(SHUT_RDWR)) } }
        unlink(path)
    }
}
