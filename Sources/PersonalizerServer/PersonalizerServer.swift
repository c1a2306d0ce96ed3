import Foundation
import PersonalizerEngine
import PersonalizerProtocol
import PersonalizerTransport

/// The server: one I/O thread (the caller of `run`) running the libuv loop, one trainer thread
/// per learning loop. Frames go transport → `RequestProcessor` → the loop's ring → its trainer.
public final class PersonalizerServer: ConnectionHandler {
    public let socketPath: String
    public let configuration: Configuration
    private let eventLoop: EventLoop
    private let processor: RequestProcessor
    private let loops: [String: LearningLoop]
    private var listener: UnixListener?
    private var connections: [UInt64: Connection] = [:]
    /// Connections paused because a loop's ring was full, by loop name, in the order they paused.
    private var waitingForRoom: [String: [Connection]] = [:]
    /// Connections with answers held until their events are durable.
    private var waitingForDisk: [UInt64: (Connection, DurabilityGate)] = [:]
    private var isShuttingDown = false
    private var trainersStopped = false
    private let log: (String) -> Void

    /// Prints a line to standard output at once (it is often a pipe, which would buffer).
    public static func printLine(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Builds the loops and binds the socket; `run()` then serves.
    /// Who may connect: the socket file's mode, and (when not empty) the only peer user ids
    /// accepted besides the server's own.
    public struct Access: Sendable {
        public var socketMode: mode_t = 0o600
        public var allowedUserIDs: Set<UInt32> = []
        public init(socketMode: mode_t = 0o600, allowedUserIDs: Set<UInt32> = []) {
            self.socketMode = socketMode
            self.allowedUserIDs = allowedUserIDs
        }
    }

    private let access: Access
    private let ownUserID = getuid()

    public init(configuration: Configuration, socketPath: String, dataDirectory: String? = nil,
                access: Access = Access(),
                log: @escaping @Sendable (String) -> Void = PersonalizerServer.printLine) throws {
        self.access = access
        self.socketPath = socketPath
        self.configuration = configuration
        self.log = log
        eventLoop = try EventLoop()
        let waker = eventLoop.waker
        var loops: [String: LearningLoop] = [:]
        for (name, settings) in configuration.loops {
            loops[name] = try LearningLoop(name: name, settings: settings,
                                           ringCapacity: configuration.limits.ringCapacity, ringBytes: configuration.limits.ringBytes,
                                           dataDirectory: dataDirectory, log: { log("personalizerd: \($0)") },
                                           onSpaceAvailable: { waker.wake() }, onDurable: { waker.wake() })
        }
        self.loops = loops
        processor = RequestProcessor(loops: loops, limits: configuration.limits)
        eventLoop.onWake { [unowned self] in
            resumeWaitingConnections()
            releaseDurableAnswers()
        }
        do {
            listener = try UnixListener(loop: eventLoop, path: socketPath,
                                        maxFrameBytes: configuration.limits.maxFrameBytes, handler: self,
                                        mode: access.socketMode)
        } catch {
            eventLoop.closeLoopHandles()
            eventLoop.run()
            eventLoop.close()
            throw error
        }
        listener?.onAccept = { [unowned self] connection in admit(connection) }
        eventLoop.every(milliseconds: 1000) { [unowned self] in closeStalledConnections() }
        try eventLoop.onSignals([SIGINT, SIGTERM]) { [unowned self] signal in
            log("personalizerd: signal \(signal), shutting down")
            beginShutdown()
        }
    }

    /// Serves until SIGINT or SIGTERM: then stops accepting, answers what was already read,
    /// stops the trainers, removes the socket file and returns.
    public func run() {
        for loop in loops.values { loop.start() }
        log("personalizerd: listening on \(socketPath) (loops: \(loops.keys.sorted().joined(separator: ", ")))")
        eventLoop.run()
        stopTrainers()
        eventLoop.close()
        log("personalizerd: stopped")
    }

    /// Starts the same shutdown a signal does (loop thread only).
    public func beginShutdown() {
        guard !isShuttingDown else { return }
        isShuttingDown = true
        listener?.close()
        listener = nil
        for connection in connections.values { connection.stopReading() }
        finishShutdownIfIdle()
    }

    private func finishShutdownIfIdle() {
        guard isShuttingDown, connections.isEmpty else { return }
        stopTrainers()
        eventLoop.closeLoopHandles()
    }

    private func stopTrainers() {
        guard !trainersStopped else { return }
        trainersStopped = true
        for loop in loops.values { loop.stop() }
    }

    private func resumeWaitingConnections() {
        guard !waitingForRoom.isEmpty else { return }
        let waiting = waitingForRoom
        waitingForRoom.removeAll(keepingCapacity: true)
        for connections in waiting.values {
            for connection in connections where !connection.isClosed { connection.resume() }
        }
    }

    /// Accepts a connection, or answers why not and closes it.
    private func admit(_ connection: Connection) {
        if !access.allowedUserIDs.isEmpty {
            let peer = connection.peerUserID
            guard let peer, peer == ownUserID || access.allowedUserIDs.contains(peer) else {
                refuse(connection, RequestError(.permissionDenied,
                    "user id \(peer.map(String.init) ?? "unknown") may not connect to this server"))
                return
            }
        }
        guard connections.count < configuration.limits.maxConnections else {
            refuse(connection, RequestError(.resourceExhausted,
                "too many connections (limit \(configuration.limits.maxConnections)); try again later"))
            return
        }
        connections[connection.id] = connection
        connection.start()
    }

    private func refuse(_ connection: Connection, _ error: RequestError) {
        processor.writeRefusal(error, into: connection.output)
        connection.closeAfterFlush()
    }

    /// Closes connections that sent part of a frame and then nothing for the timeout: they hold
    /// a buffer and a slot for nothing. Idle connections with no partial frame stay open, and give
    /// their buffers back after a second of silence.
    private func closeStalledConnections() {
        let now = eventLoop.nowMilliseconds
        let timeout = UInt64(configuration.limits.partialFrameTimeoutSeconds * 1000)
        for connection in connections.values where now &- connection.lastReadMilliseconds >= 1000 {
            if connection.hasPartialFrame {
                if now &- connection.lastReadMilliseconds >= timeout { connection.close() }
            } else {
                connection.releaseIdleBuffers()
            }
        }
    }

    private func releaseDurableAnswers() {
        guard !waitingForDisk.isEmpty else { return }
        for (id, (connection, gate)) in waitingForDisk {
            connection.sendLimit = gate.sendLimit()
            if gate.isEmpty { waitingForDisk[id] = nil }
            connection.flush()
        }
    }

    // MARK: ConnectionHandler

    public func handleFrame(_ payload: UnsafeRawBufferPointer, on connection: Connection) -> FrameDisposition {
        // A client that sends but never reads must not grow our memory without bound.
        if connection.unsentByteCount > configuration.limits.maxBufferedOutputBytes {
            log("personalizerd: closing connection \(connection.id): \(connection.unsentByteCount) bytes of answers unread")
            connection.close()
            return .consumed
        }
        let start = connection.outputPosition
        switch processor.process(payload, into: connection.output) {
        case .done:
            if let (producer, ordinal) = processor.awaitingDurability {
                processor.awaitingDurability = nil
                let gate: DurabilityGate
                if let existing = waitingForDisk[connection.id] {
                    gate = existing.1
                } else {
                    gate = DurabilityGate()
                    waitingForDisk[connection.id] = (connection, gate)
                }
                gate.hold(from: start, producer: producer, ordinal: ordinal)
                connection.sendLimit = gate.sendLimit()
            }
            return .consumed
        case .retryLater(let loop):
            waitingForRoom[loop.name, default: []].append(connection)
            return .retryLater
        }
    }

    public func frameTooLarge(length: UInt64, on connection: Connection) {
        processor.writeFrameTooLarge(length: length, into: connection.output)
    }

    public func connectionDidClose(_ connection: Connection) {
        connections[connection.id] = nil
        waitingForDisk[connection.id] = nil
        finishShutdownIfIdle()
    }
}
