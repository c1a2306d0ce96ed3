import PersonalizerTransport
import XCTest

final class FrameDecoderTests: XCTestCase {
    private func frame(_ payload: [UInt8]) -> [UInt8] {
        let length = UInt32(payload.count)
        return [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
            + payload
    }

    /// Feeds `stream` to a ByteBuffer in chunks of `chunk` bytes, decoding after each, as the
    /// connection does; returns the payloads in order.
    private func decodeAll(_ stream: [UInt8], chunk: Int, limit: Int = 1 << 20) -> (frames: [[UInt8]], tooLarge: UInt64?) {
        let decoder = FrameDecoder(maxFrameBytes: limit)
        let buffer = ByteBuffer(capacity: 16)
        var frames: [[UInt8]] = []
        var offset = 0
        while offset < stream.count {
            let end = min(stream.count, offset + chunk)
            stream[offset..<end].withUnsafeBytes { buffer.append($0) }
            offset = end
            decoding: while true {
                switch decoder.decode(buffer.readableBytes) {
                case .frame(let payloadOffset, let count):
                    frames.append(Array(buffer.readableBytes[payloadOffset..<(payloadOffset + count)]))
                    buffer.consume(payloadOffset + count)
                case .needMoreBytes:
                    break decoding
                case .tooLarge(let length):
                    return (frames, length)
                }
            }
        }
        XCTAssertTrue(buffer.isEmpty, "bytes left over after the last frame")
        return (frames, nil)
    }

    func testFramesSurviveAnySplitOfTheStream() {
        let payloads: [[UInt8]] = [[1, 2, 3], [], Array(repeating: 7, count: 300), [9], Array(0...255)]
        let stream = payloads.flatMap(frame)
        for chunk in [1, 2, 3, 4, 5, 7, 64, stream.count] {
            let result = decodeAll(stream, chunk: chunk)
            XCTAssertEqual(result.frames, payloads, "chunk size \(chunk)")
            XCTAssertNil(result.tooLarge)
        }
    }

    func testByteByByteNeedsMoreUntilTheLastByte() {
        let decoder = FrameDecoder(maxFrameBytes: 100)
        let bytes = frame([10, 20, 30])
        for length in 0..<bytes.count {
            bytes[0..<length].withUnsafeBytes { XCTAssertEqual(decoder.decode($0), .needMoreBytes, "prefix \(length)") }
        }
        bytes.withUnsafeBytes { XCTAssertEqual(decoder.decode($0), .frame(payloadOffset: 4, payloadCount: 3)) }
    }

    func testLengthOverTheLimitIsReportedBeforeThePayloadArrives() {
        let decoder = FrameDecoder(maxFrameBytes: 1000)
        ([0, 0, 0x03, 0xE9] as [UInt8]).withUnsafeBytes { XCTAssertEqual(decoder.decode($0), .tooLarge(length: 1001)) }
        ([0, 0, 0x03, 0xE8] as [UInt8]).withUnsafeBytes { XCTAssertEqual(decoder.decode($0), .needMoreBytes) }
        ([0xFF, 0xFF, 0xFF, 0xFF] as [UInt8]).withUnsafeBytes { XCTAssertEqual(decoder.decode($0), .tooLarge(length: 0xFFFF_FFFF)) }
    }

    func testFramesBeforeAnOversizedOneAreDelivered() {
        let stream = frame([1]) + frame([2, 2]) + [0x7F, 0, 0, 0]
        let result = decodeAll(stream, chunk: 3, limit: 16)
        XCTAssertEqual(result.frames, [[1], [2, 2]])
        XCTAssertEqual(result.tooLarge, 0x7F00_0000)
    }
}

final class ByteBufferTests: XCTestCase {
    func testGrowsCompactsAndKeepsUnreadBytes() {
        let buffer = ByteBuffer(capacity: 16)
        let first = Array(UInt8(0)..<UInt8(12))
        first.withUnsafeBytes { buffer.append($0) }
        buffer.consume(10)
        XCTAssertEqual(Array(buffer.readableBytes), [10, 11])
        XCTAssertEqual(buffer.capacity, 16)
        // Needs compaction (only 4 free at the end) but no growth.
        Array(repeating: UInt8(5), count: 12).withUnsafeBytes { buffer.append($0) }
        XCTAssertEqual(buffer.capacity, 16)
        XCTAssertEqual(Array(buffer.readableBytes), [10, 11] + Array(repeating: 5, count: 12))
        // Needs growth.
        Array(repeating: UInt8(6), count: 40).withUnsafeBytes { buffer.append($0) }
        XCTAssertGreaterThanOrEqual(buffer.capacity, 54)
        XCTAssertEqual(buffer.readableCount, 54)
        XCTAssertEqual(Array(buffer.readableBytes.prefix(3)), [10, 11, 5])
        buffer.consume(54)
        XCTAssertTrue(buffer.isEmpty)
        XCTAssertEqual(buffer.readerIndex, 0, "an emptied buffer starts over at the front")
    }

    func testNoMemoryUntilTheFirstWrite() {
        let buffer = ByteBuffer(capacity: 64 * 1024)
        XCTAssertEqual(buffer.capacity, 0)
        XCTAssertEqual(buffer.readableBytes.count, 0)
        buffer.compact()
        buffer.consume(0)
        ([1, 2, 3] as [UInt8]).withUnsafeBytes { buffer.append($0) }
        XCTAssertEqual(buffer.capacity, 64 * 1024)
        XCTAssertEqual(Array(buffer.readableBytes), [1, 2, 3])
        buffer.consume(3)
        buffer.shrinkIfIdle(to: 1024)
        XCTAssertEqual(buffer.capacity, 0, "an idle big buffer gives its memory back")
    }

    func testBigEndianLengthAndTruncate() {
        let buffer = ByteBuffer(capacity: 16)
        buffer.appendBigEndian(0x0102_0304)
        XCTAssertEqual(Array(buffer.readableBytes), [1, 2, 3, 4])
        buffer.setBigEndian(0x0A0B_0C0D, at: 0)
        XCTAssertEqual(Array(buffer.readableBytes), [10, 11, 12, 13])
        buffer.truncate(to: 2)
        XCTAssertEqual(Array(buffer.readableBytes), [10, 11])
    }
}
