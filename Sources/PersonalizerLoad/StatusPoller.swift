#if canImport(Glibc)
import Glibc
#endif

/// Asks the server for its Status on a connection of its own (the main thread's, once a second).
final class StatusPoller {
    private let descriptor: Int32
    private let template: RequestTemplate
    private var sequence: UInt64 = 0
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    init(socketPath: String, loop: String) throws(LoadError) {
        descriptor = try UnixSocket.connect(path: socketPath, receiveTimeout: 2)
        template = TemplateSet.statusOnly(loop: loop)
    }

    deinit { close(descriptor) }

    enum Answer {
        case status(ServerStatus)
        case error(code: UInt32, message: String)
    }

    /// One Status round trip; throws when the server does not answer with a Response.
    func poll() throws(LoadError) -> Answer {
        let id = RequestTemplate.requestID(sequence: sequence)
        sequence += 1
        var frame = template.frame
        frame.withUnsafeMutableBytes {
            RequestTemplate.patch($0.baseAddress!, template: template, requestID: id, eventSequence: 0, value: 0)
        }
        let sent = frame.withUnsafeBytes { UnixSocket.sendAll(descriptor, $0) }
        guard sent else { throw LoadError("sending Status: \(errnoText())") }
        var filled = 0
        while true {
            if filled >= 4 {
                let length = Int(buffer[0]) << 24 | Int(buffer[1]) << 16 | Int(buffer[2]) << 8 | Int(buffer[3])
                guard length <= buffer.count - 4 else { throw LoadError("a Status reply of \(length) bytes") }
                if filled >= 4 + length {
                    let answer = buffer.withUnsafeBytes { raw -> Answer? in
                        let payload = UnsafeRawBufferPointer(rebasing: raw[4..<(4 + length)])
                        guard let reply = ResponseScanner.scan(payload), reply.id == id,
                              reply.kind == .status || reply.kind == .error else { return nil }
                        if reply.kind == .error {
                            let message = UnsafeRawBufferPointer(rebasing: payload[reply.errorMessageOffset..<(reply.errorMessageOffset + reply.errorMessageLength)])
                            return .error(code: reply.errorCode, message: String(decoding: message, as: UTF8.self))
                        }
                        return .status(reply.status)
                    }
                    guard let answer else {
                        throw LoadError("the reply to Status is not a personalizer.v1.Response for it (is this the real server? use --expect raw for the echo)")
                    }
                    return answer
                }
            }
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress! + filled, $0.count - filled, 0) }
            if count > 0 { filled += count; continue }
            if count < 0, errno == EINTR { continue }
            throw LoadError(count == 0 ? "the server closed the Status connection"
                                       : "no answer to Status: \(errno == EAGAIN ? "timed out" : errnoText())")
        }
    }
}

extension TemplateSet {
    /// Just the Status template (no environment needed).
    static func statusOnly(loop: String) -> RequestTemplate {
        RequestTemplate(request(loop: loop, call: 13, WireBytes()))
    }
}
