import Foundation
import PersonalizerClient
import PersonalizerProtocol
import XCTest

/// Framing, pipelining and refusals, against the real server.
final class ProtocolIntegrationTests: XCTestCase {
    private static let config = """
        {"loops": {"default": {}, "other": {}},
         "limits": {"maxActionsPerRank": 8, "maxIdLength": 32, "maxFrameBytes": 65536}}
        """

    private func actions(_ count: Int) -> [RankAction] {
        (0..<count).map { RankAction(id: "a\($0)", features: [FeatureNamespace("item", [.text("id", "a\($0)")])]) }
    }

    /// The server still answers another client.
    private func assertServing(_ server: ServerProcess, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let client = try server.client()
            _ = try client.status()
            _ = try client.rank(RankCall(actions: actions(2)))
        } catch {
            XCTFail("server stopped serving: \(error)", file: file, line: line)
        }
    }

    private func expectError(_ code: StatusCode, containing text: String, _ body: () throws -> Void,
                             file: StaticString = #filePath, line: UInt = #line) {
        do {
            try body()
            XCTFail("expected \(code)", file: file, line: line)
        } catch let ClientError.server(actual, message) {
            XCTAssertEqual(actual, code.rawValue, message, file: file, line: line)
            XCTAssertTrue(message.contains(text), "message \"\(message)\" lacks \"\(text)\"", file: file, line: line)
        } catch {
            XCTFail("expected \(code), got \(error)", file: file, line: line)
        }
    }

    func testThousandPipelinedRequestsComeBackWithTheirIDs() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try server.client()
        var bytes: [UInt8] = []
        var expected: [UInt64] = []
        for index in 0..<1000 {
            let id = UInt64(10_000 + index * 3)
            let call: Call = switch index % 3 {
            case 0: .rank(RankCall(actions: actions(3), eventID: "pipelined-\(index)"))
            case 1: .reward(eventID: "pipelined-\(index - 1)", value: 1)
            default: .status
            }
            bytes += MessageCodec.frame(Request(id: id, call: call))
            expected.append(id)
        }
        try client.sendBytes(bytes)
        var received: [UInt64] = []
        for _ in 0..<1000 {
            let response = try client.receive()
            if case .error(let code, let message) = response.result { XCTFail("error \(code): \(message)") }
            received.append(response.id)
        }
        XCTAssertEqual(received, expected)
    }

    func testConnectionsAreIndependentAndManyCanBeOpen() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let clients = try (0..<64).map { _ in try server.client() }
        for (index, client) in clients.enumerated() {
            try client.send(.rank(RankCall(actions: actions(2), eventID: "conn-\(index)")))
        }
        for client in clients.reversed() {
            guard case .rank = try client.receive().result else { return XCTFail("not a rank response") }
        }
        for client in clients { client.close() }
        assertServing(server)
    }

    func testOversizedLengthGetsAnErrorAndOnlyThatConnectionCloses() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let bystander = try server.client()
        let client = try server.client()
        try client.sendBytes([0x00, 0x10, 0x00, 0x01])  // 1 MiB + 1 > 64 KiB limit
        let response = try client.receive()
        guard case .error(let code, let message) = response.result else { return XCTFail("expected an error") }
        XCTAssertEqual(code, StatusCode.resourceExhausted.rawValue)
        XCTAssertTrue(message.contains("larger than the limit"), message)
        XCTAssertNoThrow(try client.waitForClose())
        XCTAssertNoThrow(try bystander.status())
        assertServing(server)
    }

    func testTruncatedFrameThenCloseLeavesTheServerServing() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try server.client()
        let frame = MessageCodec.frame(Request(id: 1, call: .status))
        try client.sendBytes(Array(frame.prefix(frame.count - 1)))
        client.close()
        assertServing(server)
    }

    func testGarbageAndEmptyRequestsGetInvalidArgumentAndTheConnectionStays() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try server.client()
        try client.sendBytes(MessageCodec.frame([0xFF, 0xFF, 0xFF, 0xFF, 0x0F]))
        guard case .error(let code, let message) = try client.receive().result else { return XCTFail("expected an error") }
        XCTAssertEqual(code, StatusCode.invalidArgument.rawValue)
        XCTAssertTrue(message.contains("not a valid personalizer.v1.Request"), message)
        expectError(.invalidArgument, containing: "no call set") { _ = try client.call(.none) }
        XCTAssertNoThrow(try client.status(), "the same connection still works")
    }

    func testEveryInvalidRankIsRefusedWithItsReason() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try server.client()
        let cases: [(RankCall, String)] = [
            (RankCall(actions: []), "no actions"),
            (RankCall(actions: [RankAction(id: "x"), RankAction(id: "y"), RankAction(id: "x")]), "duplicate action id \"x\""),
            (RankCall(actions: actions(2), excludedActionIDs: ["a0", "a1"]), "every action is excluded"),
            (RankCall(actions: actions(2), excludedActionIDs: ["zz"]), "excluded action id \"zz\" is not one of the actions"),
            (RankCall(context: [FeatureNamespace("user", [.number("age", .nan)])], actions: actions(2)), "\"age\""),
            (RankCall(context: [FeatureNamespace("user", [.number("age", .infinity)])], actions: actions(2)), "not a finite number"),
            (RankCall(actions: [RankAction(id: "x", features: [FeatureNamespace("i", [.number("w", -.infinity)])])]),
             "action \"x\""),
            (RankCall(actions: actions(9)), "9 actions, more than the limit of 8"),
            (RankCall(actions: [RankAction(id: String(repeating: "x", count: 33))]), "longer than the limit of 32"),
            (RankCall(actions: [RankAction(id: "")]), "empty id"),
            (RankCall(actions: actions(2), eventID: String(repeating: "e", count: 33)), "event id of 33 bytes"),
        ]
        for (call, reason) in cases {
            expectError(.invalidArgument, containing: reason) { _ = try client.rank(call) }
        }
        XCTAssertEqual(try client.status().rankCalls, 0, "nothing refused was counted as a rank")
    }

    func testUnknownLoopPendingEventAndBadRewards() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let stranger = try server.client(loop: "nope")
        expectError(.notFound, containing: "no loop named \"nope\"") { _ = try stranger.status() }
        let client = try server.client()
        _ = try client.rank(RankCall(actions: actions(2), eventID: "same"))
        expectError(.alreadyExists, containing: "\"same\" is still pending") {
            _ = try client.rank(RankCall(actions: actions(2), eventID: "same"))
        }
        // Loops are independent: the same id is free in another loop.
        XCTAssertNoThrow(try server.client(loop: "other").rank(RankCall(actions: actions(2), eventID: "same")))
        expectError(.invalidArgument, containing: "not a finite number") { try client.reward(eventID: "same", value: .nan) }
        expectError(.invalidArgument, containing: "event id is empty") { try client.reward(eventID: "", value: 1) }
        expectError(.invalidArgument, containing: "event id is empty") { try client.activate(eventID: "") }
        XCTAssertNoThrow(try client.reward(eventID: "same", value: -1e300), "any finite value is accepted")
    }

    /// A ring of 2 events fills at once under pipelining: connections pause (counted) and
    /// resume; every request is still answered and every event learned.
    func testBackpressureLosesNothing() throws {
        let server = try ServerProcess(config: """
            {"loops": {"default": {"rewardWaitTimeSeconds": 0.05, "modelUpdateIntervalSeconds": 0.05}},
             "limits": {"ringCapacity": 2}}
            """)
        defer { server.stop() }
        let clients = try (0..<3).map { _ in try server.client() }
        let perClient = 2000
        for (clientIndex, client) in clients.enumerated() {
            var bytes: [UInt8] = []
            for index in 0..<perClient {
                bytes += MessageCodec.frame(Request(id: UInt64(index + 1), call:
                    .rank(RankCall(actions: actions(3), eventID: "bp-\(clientIndex)-\(index)"))))
            }
            try client.sendBytes(bytes)
        }
        for client in clients {
            for index in 0..<perClient {
                let response = try client.receive()
                XCTAssertEqual(response.id, UInt64(index + 1))
                guard case .rank = response.result else { return XCTFail("expected a rank response: \(response)") }
            }
        }
        let status = try clients[0].status()
        XCTAssertEqual(status.rankCalls, UInt64(perClient * clients.count))
        XCTAssertGreaterThan(status.backpressureStalls, 0, "a 2-slot ring must have filled")
        XCTAssertTrue(try eventually { try clients[0].status().learnedEvents == UInt64(perClient * clients.count) })
    }
}
