import CLibUV

/// A libuv error code with libuv's own name and text (`ECONNRESET: connection reset by peer`).
public struct UVError: Error, Equatable, CustomStringConvertible, Sendable {
    public let code: Int32

    public init(_ code: Int32) { self.code = code }

    public var name: String { String(cString: uv_err_name(code)) }
    public var description: String { "\(name): \(String(cString: uv_strerror(code)))" }

    public static let endOfFile = UVError(Int32(UV_EOF.rawValue))

    /// Throws when a libuv call returned a negative status.
    @inline(__always)
    static func check(_ status: Int32, _ what: @autoclosure () -> String) throws(TransportError) {
        if status < 0 { throw TransportError(what(), UVError(status)) }
    }
}

/// A transport failure: what was being done, and libuv's reason.
public struct TransportError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let cause: UVError?

    public init(_ operation: String, _ cause: UVError? = nil) {
        self.operation = operation
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(operation): \(cause)" }
        return operation
    }
}
