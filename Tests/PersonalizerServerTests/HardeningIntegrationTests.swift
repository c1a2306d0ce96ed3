import Foundation
import PersonalizerClient
import PersonalizerProtocol
import XCTest

/// Limits and refusals for broken, slow and unwelcome clients, against the real server. Each
/// checks the exact answer and that other clients keep being served.
final class HardeningIntegrationTests: XCTestCase {
    private func assertServing(_ server: ServerProcess, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNoThrow(try server.client(timeout: 5).status(), "server stopped serving", file: file, line: line)
    }

    private func actions() -> [RankAction] { [RankAction(id: "a"), RankAction(id: "b")] }

    func testConnectionsOverTheLimitAreAnsweredAndClosed() throws {
        let server = try ServerProcess(config: #"{"limits": {"maxConnections": 3}}"#)
        defer { server.stop() }
        Thread.sleep(forTimeInterval: 0.2)  // the readiness probe's connection is gone by now
        let admitted = try (0..<3).map { _ in try server.client() }
        for client in admitted { XCTAssertNoThrow(try client.status()) }
        let extra = try server.client()
        let refusal = try extra.receive()
        XCTAssertEqual(refusal.id, 0)
        guard case .error(let code, let message) = refusal.result else { return XCTFail("expected an error frame") }
        XCTAssertEqual(code, StatusCode.resourceExhausted.rawValue)
        XCTAssertTrue(message.contains("too many connections (limit 3)"), message)
        XCTAssertNoThrow(try extra.waitForClose())
        for client in admitted { XCTAssertNoThrow(try client.status(), "admitted clients unaffected") }
        admitted[0].close()
        XCTAssertTrue(eventually { (try? server.client().status()) != nil }, "a freed slot is usable again")
    }

    func testAReaderThatNeverReadsIsDisconnectedAtTheOutputLimit() throws {
        let server = try ServerProcess(config: #"{"limits": {"maxBufferedOutputBytes": 65536}}"#)
        defer { server.stop() }
        let greedy = try server.client(timeout: 2)
        let batch = (0..<500).flatMap { index in
            MessageCodec.frame(Request(id: UInt64(index), call: .status))
        }
        // Status answers are ~30 bytes: a few thousand unread ones pass the limit, after the
        // socket's own buffers fill.
        var closed = false
        for _ in 0..<400 where !closed {
            do { try greedy.sendBytes(batch) } catch { closed = true }
        }
        if !closed { XCTAssertNoThrow(try greedy.waitForClose(), "the server closed the connection") }
        assertServing(server)
    }

    func testHalfAFrameThenSilenceIsClosedButAnIdleConnectionStays() throws {
        let server = try ServerProcess(config: #"{"limits": {"partialFrameTimeoutSeconds": 0.5}}"#)
        defer { server.stop() }
        let idle = try server.client()
        let stalled = try server.client(timeout: 5)
        let frame = MessageCodec.frame(Request(id: 1, call: .status))
        try stalled.sendBytes(Array(frame.prefix(5)))
        let started = Date()
        XCTAssertNoThrow(try stalled.waitForClose())
        XCTAssertLessThan(Date().timeIntervalSince(started), 3, "closed within the timeout and the 1 s sweep")
        XCTAssertNoThrow(try idle.status(), "an idle connection without a partial frame stays open")
        assertServing(server)
    }

    func testThousandsOfIdleConnectionsDoNotStopTheOthers() throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let idle = try (0..<2000).map { _ in try server.client() }
        let client = try server.client()
        let start = Date()
        for _ in 0..<200 { _ = try client.status() }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        XCTAssertNoThrow(try idle.last!.status())
    }

    func testSocketIsOwnerOnlyByDefaultAndModeCanWidenIt() throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let attributes = try FileManager.default.attributesOfItem(atPath: server.socketPath)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        let shared = try ServerProcess(extraArguments: ["--socket-mode", "0660"])
        defer { shared.stop() }
        let sharedAttributes = try FileManager.default.attributesOfItem(atPath: shared.socketPath)
        XCTAssertEqual((sharedAttributes[.posixPermissions] as? NSNumber)?.intValue, 0o660)
        let wrong = try ServerProcess(extraArguments: ["--socket-mode", "0044"], waitUntilReady: false)
        XCTAssertNotEqual(wrong.waitForExit(), 0)
        XCTAssertTrue(wrong.standardError.contains("--socket-mode"), wrong.standardError)
    }

    /// Connects as user `nobody` (uid 65534) and returns the server's first answer to a Status.
    private func answerToNobody(_ server: ServerProcess) throws -> Response? {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python),
              FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            throw XCTSkip("needs /usr/bin/python3 and setpriv to connect as another user")
        }
        let frame = MessageCodec.frame(Request(id: 7, call: .status))
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
            try: s.sendall(bytes.fromhex(sys.argv[2]))
            except (BrokenPipeError, ConnectionResetError): pass  # refused on accept: the answer is waiting
            data = b""
            while True:
                try: chunk = s.recv(65536)
                except ConnectionResetError: break
                if not chunk: break
                data += chunk
                if len(data) >= 4 and len(data) >= 4 + int.from_bytes(data[:4], "big"): break
            print(data.hex())
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", python, "-c", script,
                             server.socketPath, frame.map { String(format: "%02x", $0) }.joined()]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        var bytes: [UInt8] = []
        var hex = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
        while hex.count >= 2 {
            bytes.append(UInt8(hex.prefix(2), radix: 16)!)
            hex = hex.dropFirst(2)
        }
        guard bytes.count > 4 else { return nil }
        return bytes.withUnsafeBytes { MessageCodec.decodeResponse(UnsafeRawBufferPointer(rebasing: $0[4...])) }
    }

    func testPeersNotOnTheAllowListArePermissionDenied() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("allow-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        chmod(directory.path, 0o755)
        let refusing = try ServerProcess(extraArguments: ["--socket-mode", "0666", "--allow-uid", "4242"],
                                         socketPath: directory.appendingPathComponent("a.sock").path)
        defer { refusing.stop() }
        let refused = try XCTUnwrap(try answerToNobody(refusing))
        guard case .error(let code, let message) = refused.result else { return XCTFail("expected a refusal: \(refused)") }
        XCTAssertEqual(code, StatusCode.permissionDenied.rawValue)
        XCTAssertTrue(message.contains("user id 65534 may not connect"), message)
        XCTAssertNoThrow(try refusing.client().status(), "the server's own user is always allowed")

        let allowing = try ServerProcess(extraArguments: ["--socket-mode", "0666", "--allow-uid", "65534"],
                                         socketPath: directory.appendingPathComponent("b.sock").path)
        defer { allowing.stop() }
        let allowed = try XCTUnwrap(try answerToNobody(allowing))
        XCTAssertEqual(allowed.id, 7)
        guard case .status = allowed.result else { return XCTFail("expected a status: \(allowed)") }
    }

    func testALoopWithATokenRefusesRequestsWithoutIt() throws {
        let server = try ServerProcess(config: #"{"loops": {"secure": {"token": "s3cret-token"}}}"#)
        defer { server.stop() }
        let missing = try server.client(loop: "secure")
        XCTAssertThrowsError(try missing.status()) { error in
            guard case ClientError.server(let code, let message) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(code, StatusCode.unauthenticated.rawValue)
            XCTAssertFalse(message.contains("s3cret"), "a token never appears in a message")
        }
        let wrong = try PersonalizerClient(socketPath: server.socketPath, loop: "secure", token: "s3cret-tokeN")
        XCTAssertThrowsError(try wrong.rank(RankCall(actions: actions())))
        let right = try PersonalizerClient(socketPath: server.socketPath, loop: "secure", token: "s3cret-token")
        XCTAssertNoThrow(try right.rank(RankCall(actions: actions())))
        XCTAssertNoThrow(try server.client().status(), "loops without a token are open")
        XCTAssertEqual(server.stop(), 0)
        XCTAssertFalse(server.standardOutput.contains("s3cret") || server.standardError.contains("s3cret"))
    }

    func testPastMaxPendingEventsRanksAreAnsweredLoggedAndNotLearned() throws {
        let server = try ServerProcess(config: """
            {"loops": {"default": {"maxPendingEvents": 5, "rewardWaitTimeSeconds": 0.3, "modelUpdateIntervalSeconds": 0.05}}}
            """)
        defer { server.stop() }
        let client = try server.client()
        for index in 0..<12 {
            XCTAssertNoThrow(try client.rank(RankCall(actions: actions(), eventID: "p\(index)")), "serving never stops")
        }
        var status = try client.status()
        XCTAssertEqual(status.rankCalls, 12)
        XCTAssertTrue(try eventually { try client.status().overCapacityEvents == 7 })
        XCTAssertTrue(try eventually { try client.status().pendingEvents == 0 })
        status = try client.status()
        XCTAssertEqual(status.learnedEvents, 5, "only the events within the limit are learned")
        XCTAssertNoThrow(try client.rank(RankCall(actions: actions(), eventID: "after")), "room again once windows close")
    }
}
