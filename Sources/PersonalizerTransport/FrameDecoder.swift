/// Splits a byte stream into frames: a 4-byte big-endian length N, then N bytes of payload.
/// Pure: it only looks at the bytes it is given, so it is tested byte by byte.
public struct FrameDecoder: Sendable {
    public static let headerSize = 4

    public let maxFrameBytes: Int

    public init(maxFrameBytes: Int) {
        precondition(maxFrameBytes > 0)
        self.maxFrameBytes = maxFrameBytes
    }

    public enum Result: Equatable {
        /// A whole frame: its payload lies at `payloadOffset..<payloadOffset+payloadCount` of the
        /// bytes given; `payloadOffset + payloadCount` bytes (header included) may be consumed.
        case frame(payloadOffset: Int, payloadCount: Int)
        /// More bytes are needed.
        case needMoreBytes
        /// The length prefix exceeds the limit: the stream cannot be trusted any more.
        case tooLarge(length: UInt64)
    }

    /// Looks at the start of `bytes` for one frame.
    public func decode(_ bytes: UnsafeRawBufferPointer) -> Result {
        guard bytes.count >= Self.headerSize else { return .needMoreBytes }
        let length = Int(UInt32(bigEndian: bytes.loadUnaligned(as: UInt32.self)))
        if length > maxFrameBytes { return .tooLarge(length: UInt64(length)) }
        guard bytes.count - Self.headerSize >= length else { return .needMoreBytes }
        return .frame(payloadOffset: Self.headerSize, payloadCount: length)
    }
}
