#if canImport(Glibc)
import Glibc
#endif
import PersonalizerProtocol

/// Why a call failed: the server's answer, or the connection.
public enum ClientError: Error, Equatable, CustomStringConvertible {
    /// The server answered with an error (gRPC canonical code).
    case server(code: UInt32, message: String)
    /// Connecting, sending or receiving failed.
    case transport(String)
    /// No response within the timeout.
    case timeout
    /// The server closed the connection.
    case closed

    public var description: String {
        switch self {
        case .server(let code, let message): "server error \(StatusCode(rawValue: code).map { "\($0)" } ?? "\(code)"): \(message)"
        case .transport(let what): "transport error: \(what)"
        case .timeout: "timed out waiting for the server"
        case .closed: "the server closed the connection"
        }
    }
}

/// A blocking client for one connection. Calls may also be pipelined: `send` several requests,
/// then `receive` their responses (in order, each with its request's id).
public final class PersonalizerClient {
    public let loop: String
    /// Sent with every request, for loops that require a token.
    public var token: String
    public var timeoutSeconds: Double
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private var nextID: UInt64 = 1

    public init(socketPath: String, loop: String = "", token: String = "", timeoutSeconds: Double = 5) throws(ClientError) {
        self.loop = loop
        self.token = token
        self.timeoutSeconds = timeoutSeconds
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw .transport("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            Glibc.close(descriptor)
            throw .transport("socket path too long: \(socketPath)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if connected != 0 {
            let reason = String(cString: strerror(errno))
            Glibc.close(descriptor)
            throw .transport("connect \(socketPath): \(reason)")
        }
    }

    deinit { close() }

    public func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    // MARK: calls

    public func rank(_ rank: RankCall) throws(ClientError) -> RankResult {
        guard case .rank(let result) = try call(.rank(rank)) else { throw .transport("unexpected response to rank") }
        return result
    }

    public func reward(eventID: String, value: Double) throws(ClientError) {
        guard case .reward = try call(.reward(eventID: eventID, value: value)) else {
            throw .transport("unexpected response to reward")
        }
    }

    public func activate(eventID: String) throws(ClientError) {
        guard case .activate = try call(.activate(eventID: eventID)) else {
            throw .transport("unexpected response to activate")
        }
    }

    public func status() throws(ClientError) -> LoopStatus {
        guard case .status(let status) = try call(.status) else { throw .transport("unexpected response to status") }
        return status
    }

    /// Sends one call and waits for its answer; a server error is thrown.
    public func call(_ call: Call) throws(ClientError) -> ResponseResult {
        let id = try send(call)
        let response = try receive()
        guard response.id == id else { throw .transport("response id \(response.id) does not match request \(id)") }
        if case .error(let code, let message) = response.result { throw .server(code: code, message: message) }
        return response.result
    }

    // MARK: pipelining and raw access

    /// Sends a request without waiting; returns its id.
    @discardableResult
    public func send(_ call: Call) throws(ClientError) -> UInt64 {
        let id = nextID
        nextID += 1
        try sendBytes(MessageCodec.frame(Request(id: id, loop: loop, token: token, call: call)))
        return id
    }

    /// Writes bytes as they are (tests use it for broken frames).
    public func sendBytes(_ bytes: [UInt8]) throws(ClientError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                Glibc.send(descriptor, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { try waitFor(events: Int16(POLLOUT)); continue }
                throw .transport("send: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    /// The next response, whatever its id.
    public func receive() throws(ClientError) -> Response {
        while true {
            if buffer.count >= 4 {
                let length = Int(buffer[0]) << 24 | Int(buffer[1]) << 16 | Int(buffer[2]) << 8 | Int(buffer[3])
                if buffer.count >= 4 + length {
                    let response = buffer.withUnsafeBytes { raw in
                        MessageCodec.decodeResponse(UnsafeRawBufferPointer(rebasing: raw[4..<(4 + length)]))
                    }
                    buffer.removeFirst(4 + length)
                    guard let response else { throw .transport("the server sent a frame that is not a Response") }
                    return response
                }
            }
            try readMore()
        }
    }

    /// Shuts down the sending side (the server sees end of stream) and keeps reading.
    public func finishSending() { shutdown(descriptor, Int32(SHUT_WR)) }

    /// Waits until the server closes the connection; throws `.timeout` if it does not.
    public func waitForClose() throws(ClientError) {
        while true {
            do {
                try readMore()
            } catch .closed {
                return
            }
        }
    }

    private func readMore() throws(ClientError) {
        try waitFor(events: Int16(POLLIN))
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        if count == 0 { throw .closed }
        if count < 0 {
            if errno == EINTR || errno == EAGAIN { return }
            if errno == ECONNRESET { throw .closed }
            throw .transport("recv: \(String(cString: strerror(errno)))")
        }
        buffer.append(contentsOf: chunk[0..<count])
    }

    private func waitFor(events: Int16) throws(ClientError) {
        var entry = pollfd(fd: descriptor, events: events, revents: 0)
        let milliseconds = Int32(max(0, min(timeoutSeconds * 1000, Double(Int32.max))))
        while true {
            let ready = poll(&entry, 1, milliseconds)
            if ready > 0 { return }
            if ready == 0 { throw .timeout }
            if errno != EINTR { throw .transport("poll: \(String(cString: strerror(errno)))") }
        }
    }
}
