#if canImport(Glibc)
import Glibc
#endif

/// Views of protobuf-c's NUL-terminated strings as bytes, without copying.
extension UnsafeMutablePointer where Pointee == CChar {
    @inline(__always)
    var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: UnsafeRawPointer(self), count: strlen(self))
    }
}

extension UnsafeRawBufferPointer {
    /// The bytes as a Swift string, for messages and for ids that outlive the request.
    var string: String { String(decoding: self, as: UTF8.self) }

    /// At most `limit` bytes, for quoting client input in an error message.
    func quoted(limit: Int = 64) -> String {
        let shown = count > limit ? UnsafeRawBufferPointer(rebasing: self[0..<limit]).string + "…" : string
        return "\"\(shown)\""
    }

    @inline(__always)
    func equals(_ other: UnsafeRawBufferPointer) -> Bool {
        count == other.count && (count == 0 || memcmp(baseAddress!, other.baseAddress!, count) == 0)
    }
}
