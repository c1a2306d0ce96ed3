import Foundation
@testable import PersonalizerTransport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// One busy client must not hold the loop: a connection gets a bounded number of frames per
/// iteration, the listener a bounded number of accepts, and the rest waits for the next iteration.
final class FairnessTests: XCTestCase {
    func testAPipeliningClientGetsAtMostItsBudgetPerIterationAndTheOthersAreServedInBetween() throws {
        let harness = try EchoHarness(framesPerTurn: 8, acceptsPerTurn: 16)
        let busy = try harness.connect()
        let quiet = try harness.connect()
        let burst = (0..<200).flatMap { frame([UInt8(truncatingIfNeeded: $0), 0xAB]) }
        try send(burst, to: busy)
        try send(frame([0xEE]), to: quiet)
        harness.run(untilFrames: 201)

        let byConnection = Dictionary(grouping: harness.handler.frames, by: \.connection)
        XCTAssertEqual(byConnection.count, 2)
        let busyID = try XCTUnwrap(byConnection.first { $0.value.count == 200 }?.key)
        let quietID = try XCTUnwrap(byConnection.first { $0.value.count == 1 }?.key)
        let busyTurns = Dictionary(grouping: byConnection[busyID]!, by: \.turn)
        XCTAssertGreaterThanOrEqual(busyTurns.count, 200 / 8, "the burst is spread over iterations")
        XCTAssertLessThanOrEqual(busyTurns.values.map(\.count).max() ?? 0, 8, "no iteration handles more than the budget")
        let quietTurn = byConnection[quietID]![0].turn
        XCTAssertLessThanOrEqual(quietTurn, busyTurns.keys.min()!, "the quiet client is not made to wait for the burst")

        // Every answer arrives, in order, on the right connection.
        XCTAssertEqual(try receive(200 * 6, from: busy), burst)
        XCTAssertEqual(try receive(5, from: quiet), frame([0xEE]))
        close(busy)
        close(quiet)
    }

    func testAConnectionFloodIsAcceptedInBatchesWhileConnectedClientsAreServed() throws {
        let harness = try EchoHarness(framesPerTurn: 32, acceptsPerTurn: 16)
        let client = try harness.connect()
        try send(frame([0x01]), to: client)
        let flood = try (0..<100).map { _ in try harness.connect() }
        harness.run(untilFrames: 1, accepted: 101)

        XCTAssertEqual(harness.accepts.count, 101, "every connection is accepted in the end")
        let perTurn = Dictionary(grouping: harness.accepts, by: { $0 }).mapValues(\.count)
        XCTAssertLessThanOrEqual(perTurn.values.max() ?? 0, 16, "no iteration accepts more than the budget")
        let answered = try XCTUnwrap(harness.acceptsBeforeFirstFrame)
        XCTAssertLessThan(answered, 101, "the connected client is served before the whole flood is accepted")
        XCTAssertEqual(try receive(5, from: client), frame([0x01]))
        for descriptor in flood + [client] { close(descriptor) }
    }

    /// Frames split over many reads: the bytes of a partial frame move from the loop's shared
    /// read buffer to the connection's own, and the frame is answered once it is whole.
    func testFramesSplitAcrossReadsAreReassembled() throws {
        let harness = try EchoHarness(framesPerTurn: 32, acceptsPerTurn: 16)
        let client = try harness.connect()
        let frames = (0..<40).map { index in frame((0..<(index * 37 % 300)).map { UInt8(truncatingIfNeeded: $0 &+ index) }) }
        let stream = frames.flatMap { $0 }
        let writer = Thread {
            var offset = 0
            var size = 1
            while offset < stream.count {
                let end = min(stream.count, offset + size)
                try? send(Array(stream[offset..<end]), to: client)
                offset = end
                size = size % 97 + 3  // chunks from 1 to 99 bytes, cutting headers and payloads
                usleep(200)
            }
        }
        writer.start()
        harness.run(untilFrames: frames.count)
        XCTAssertEqual(try receive(stream.count, from: client), stream)
        close(client)
    }

    func testAMassDisconnectIsClosedInBatches() throws {
        let harness = try EchoHarness(framesPerTurn: 32, acceptsPerTurn: 16)
        let clients = try (0..<100).map { _ in try harness.connect() }
        harness.onAllAccepted(100) { connections in
            for connection in connections { connection.close() }
        }
        harness.run(untilFrames: 0, accepted: 100, closed: 100)

        XCTAssertEqual(harness.handler.closes.count, 100, "every connection is closed in the end")
        let perTurn = Dictionary(grouping: harness.handler.closes, by: { $0 }).mapValues(\.count)
        XCTAssertLessThanOrEqual(perTurn.values.max() ?? 0, 32, "no iteration closes more than the budget")
        XCTAssertGreaterThanOrEqual(perTurn.count, 4)
        for descriptor in clients { close(descriptor) }
    }
}

private func frame(_ payload: [UInt8]) -> [UInt8] {
    withUnsafeBytes(of: UInt32(payload.count).bigEndian, Array.init) + payload
}

private func send(_ bytes: [UInt8], to descriptor: Int32) throws {
    var offset = 0
    while offset < bytes.count {
        let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, 0) }
        guard sent > 0 else { throw POSIXError(.EIO) }
        offset += sent
    }
}

private func receive(_ count: Int, from descriptor: Int32) throws -> [UInt8] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while bytes.count < count {
        let received = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard received > 0 else { break }
        bytes += chunk[0..<received]
    }
    return bytes
}

/// Answers every frame with the same frame and records which iteration of the loop handled it.
private final class EchoHandler: ConnectionHandler {
    var frames: [(connection: UInt64, turn: Int)] = []
    /// The iteration each connection finished closing in.
    var closes: [Int] = []
    var onClose: () -> Void = {}
    var turn = 0
    var onFrame: () -> Void = {}

    func handleFrame(_ payload: UnsafeRawBufferPointer, on connection: Connection) -> FrameDisposition {
        frames.append((connection.id, turn))
        withUnsafeBytes(of: UInt32(payload.count).bigEndian) { connection.output.append($0) }
        connection.output.append(payload)
        onFrame()
        return .consumed
    }

    func frameTooLarge(length: UInt64, on connection: Connection) {}
    func connectionDidClose(_ connection: Connection) {
        closes.append(turn)
        onClose()
    }
}

/// Counts the loop's iterations: it runs at the start of each one and asks for the next.
private final class IterationCounter: NextTurnWork {
    let loop: EventLoop
    let handler: EchoHandler
    var isCounting = true
    init(loop: EventLoop, handler: EchoHandler) {
        self.loop = loop
        self.handler = handler
    }
    func runNextTurn() {
        guard isCounting else { return }
        handler.turn += 1
        loop.runNextTurn(self)
    }
}

private final class EchoHarness {
    let loop: EventLoop
    let handler = EchoHandler()
    let listener: UnixListener
    let path: String
    private let directory: String
    private(set) var connections: [Connection] = []
    /// The iteration of each accept, in order.
    private(set) var accepts: [Int] = []
    private(set) var acceptsBeforeFirstFrame: Int?
    private var allAccepted: (count: Int, action: ([Connection]) -> Void)?

    init(framesPerTurn: Int, acceptsPerTurn: Int) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pz-fair-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = directory + "/s.sock"
        loop = try EventLoop()
        listener = try UnixListener(loop: loop, path: path, maxFrameBytes: 1 << 16, handler: handler,
                                    acceptsPerTurn: acceptsPerTurn, framesPerTurn: framesPerTurn)
        listener.onAccept = { [unowned self] connection in
            accepts.append(handler.turn)
            connections.append(connection)
            connection.start()
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// A blocking client socket, connected (it waits in the backlog until the loop accepts it).
    func connect() throws -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
        return descriptor
    }

    /// Runs `action` once `count` connections have been accepted.
    func onAllAccepted(_ count: Int, _ action: @escaping ([Connection]) -> Void) {
        allAccepted = (count, action)
    }

    /// Runs the loop until `frames` frames were handled, `accepted` connections accepted and
    /// `closed` closed (or ten seconds passed), then closes everything once the answers are sent.
    func run(untilFrames frames: Int, accepted: Int = 0, closed: Int = 0) {
        let counter = IterationCounter(loop: loop, handler: handler)
        loop.runNextTurn(counter)
        var finished = false
        let finish = { [unowned self] in
            guard !finished else { return }
            finished = true
            counter.isCounting = false
            listener.close()
            for connection in connections { connection.closeAfterFlush() }
            loop.closeLoopHandles()
        }
        let check = { [unowned self] in
            if acceptsBeforeFirstFrame == nil, !handler.frames.isEmpty { acceptsBeforeFirstFrame = accepts.count }
            if handler.frames.count >= frames, accepts.count >= accepted, handler.closes.count >= closed { finish() }
        }
        handler.onFrame = check
        handler.onClose = check
        let previous = listener.onAccept
        listener.onAccept = { [unowned self] connection in
            previous?(connection)
            if let allAccepted, accepts.count == allAccepted.count { allAccepted.action(connections) }
            check()
        }
        loop.every(milliseconds: 10_000) {
            XCTFail("the loop did not get through the work in time")
            finish()
        }
        loop.run()
        loop.close()
    }
}
