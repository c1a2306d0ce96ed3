import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// Listens on a Unix domain socket path and hands each accepted connection to `handler`.
///
/// Fairness: one iteration of the loop accepts at most `acceptsPerTurn` connections. libuv
/// accepts every pending connection in one go unless the callback leaves one unaccepted, in which
/// case it keeps that one and stops watching the socket until `uv_accept`; a flood of connections
/// therefore waits in the kernel's backlog, a batch per iteration, while the clients already
/// connected go on being served.
public final class UnixListener: NextTurnWork {
    public let path: String
    private let loop: EventLoop
    private let handle: UnsafeMutablePointer<uv_pipe_t>
    private let decoder: FrameDecoder
    private unowned let handler: ConnectionHandler
    private var nextConnectionID: UInt64 = 1
    private var open = true
    private let acceptsPerTurn: Int
    private let backlog: Int32
    private let framesPerTurn: Int
    private var acceptedThisTurn = 0
    /// The next iteration is asked for: it starts the count again.
    private var isScheduled = false
    /// libuv holds a connection left unaccepted, and does not watch the socket until it is taken.
    private var isHoldingConnection = false
    /// Called for each accepted connection; it calls `connection.start()` to begin reading, or
    /// refuses the connection. Without it every connection starts reading.
    public var onAccept: ((Connection) -> Void)?

    /// Binds and listens. A socket file left by a server that is gone is replaced; a live
    /// server on the same path is an error, as is a path too long for `sun_path`.
    /// - Parameters:
    ///   - mode: the socket file's permissions (0600: only this user may connect). The file is
    ///     created with them, never wider, even for a moment.
    ///   - acceptsPerTurn: connections accepted per iteration of the loop at most.
    ///   - framesPerTurn: frames one connection may have handled per read at most.
    public init(loop: EventLoop, path: String, maxFrameBytes: Int, handler: ConnectionHandler,
                mode: mode_t = 0o600, backlog: Int32 = 511,
                acceptsPerTurn: Int = 16, framesPerTurn: Int = 128) throws(TransportError) {
        precondition(acceptsPerTurn > 0 && framesPerTurn > 0)
        self.path = path
        self.loop = loop
        self.decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
        self.handler = handler
        self.acceptsPerTurn = acceptsPerTurn
        self.backlog = backlog
        self.framesPerTurn = framesPerTurn
        try Self.checkPathLength(path)
        try Self.removeStaleSocket(at: path)
        handle = .allocate(capacity: 1)
        let status = uv_pipe_init(loop.raw, handle, 0)
        guard status == 0 else {
            handle.deallocate()
            throw TransportError("creating the listening socket", UVError(status))
        }
        handle.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        let previousMask = umask(~mode & 0o777)
        let bound = uv_pipe_bind(handle, path)
        umask(previousMask)
        if bound == 0, chmod(path, mode) != 0 {
            closeHandle(unlink: true)
            throw TransportError("setting the mode of \(path): \(String(cString: strerror(errno)))")
        }
        if bound < 0 {
            closeHandle(unlink: false)
            throw TransportError("binding \(path)", UVError(bound))
        }
        let listening = uv_listen(stream, backlog, listenerHasConnection)
        if listening < 0 {
            closeHandle(unlink: true)
            throw TransportError("listening on \(path)", UVError(listening))
        }
    }

    private var stream: UnsafeMutablePointer<uv_stream_t> {
        UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self)
    }

    /// Stops accepting and removes the socket file.
    public func close() {
        guard open else { return }
        closeHandle(unlink: true)
    }

    private func closeHandle(unlink removeFile: Bool) {
        open = false
        uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self), freeClosedHandle)
        if removeFile { unlink(path) }
    }

    /// libuv holds one accepted connection and calls this; leaving it unaccepted pauses the socket.
    fileprivate func connectionArrived() {
        guard open else { return }
        if acceptedThisTurn == acceptsPerTurn {
            isHoldingConnection = true
        } else {
            acceptedThisTurn += 1
            accept()
        }
        scheduleNextTurn()
    }

    private func scheduleNextTurn() {
        guard !isScheduled else { return }
        isScheduled = true
        loop.runNextTurn(self)
    }

    /// Starts the count of accepts again and takes the connection libuv held back, if any
    /// (which makes libuv watch the socket again).
    public func runNextTurn() {
        isScheduled = false
        acceptedThisTurn = 0
        guard open else { return }
        if isHoldingConnection {
            isHoldingConnection = false
            acceptedThisTurn = 1
            accept()
        }
        if acceptedThisTurn > 0 { scheduleNextTurn() }
    }

    private func accept() {
        let connection: Connection
        do {
            connection = try Connection(id: nextConnectionID, loop: loop, decoder: decoder,
                                        framesPerTurn: framesPerTurn, handler: handler)
        } catch {
            return
        }
        nextConnectionID += 1
        if uv_accept(stream, connection.stream) != 0 {
            connection.close()
            // libuv dropped that connection and, outside its callback, would not watch the
            // socket again by itself; listening again does (harmless inside the callback).
            uv_listen(stream, backlog, listenerHasConnection)
            return
        }
        // The handler may refuse it (closing it after an error frame); otherwise it reads.
        if let onAccept { onAccept(connection) } else { connection.start() }
    }

    static func checkPathLength(_ path: String) throws(TransportError) {
        let limit = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1
        if path.utf8.count > limit {
            throw TransportError(
                "socket path is \(path.utf8.count) bytes, longer than the \(limit) a Unix socket address holds: \(path)")
        }
        if path.isEmpty { throw TransportError("socket path is empty") }
    }

    /// A socket file nobody listens on is stale (its server died); anything else at the path stays.
    static func removeStaleSocket(at path: String) throws(TransportError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw TransportError("\(path) exists and is not a socket; refusing to replace it")
        }
        if isAcceptingConnections(path) {
            throw TransportError("another server is already listening on \(path)")
        }
        unlink(path)
    }

    /// Whether something accepts connections on the socket at `path` right now.
    static func isAcceptingConnections(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { Glibc.close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0
    }
}

private func listenerHasConnection(_ server: UnsafeMutablePointer<uv_stream_t>?, _ status: Int32) {
    guard status == 0, let data = server?.pointee.data else { return }
    Unmanaged<UnixListener>.fromOpaque(data).takeUnretainedValue().connectionArrived()
}
