@testable import PersonalizerProtocol
import XCTest

/// The table finds a Rank's duplicate and excluded action ids by their bytes.
final class ActionIDTableTests: XCTestCase {
    func testFindsEveryIdAndEveryDuplicateAcrossRequests() {
        let table = ActionIDTable()
        for round in 0..<3 {
            // Ids of 1 to 40 bytes sharing prefixes, in requests that grow and shrink.
            let count = [300, 7, 120][round]
            let ids = (0..<count).map { index in
                Array((String(repeating: "a", count: index % 33) + "\(index)-\(round)").utf8)
            }
            let storage = ids + [ids[0], ids[count / 2], ids[count - 1]]
            storage.withBuffers { buffers in
                table.reset(expecting: buffers.count)
                for index in 0..<count { XCTAssertNil(table.insert(buffers[index]), "round \(round), id \(index)") }
                XCTAssertEqual(table.insert(buffers[count]), 0)
                XCTAssertEqual(table.insert(buffers[count + 1]), count / 2)
                XCTAssertEqual(table.insert(buffers[count + 2]), count - 1)
                for index in 0..<count { XCTAssertEqual(table.index(of: buffers[index]), index) }
            }
            let absent = Array("absent-\(round)".utf8)
            absent.withUnsafeBytes { XCTAssertNil(table.index(of: $0)) }
        }
    }
}

private extension Array where Element == [UInt8] {
    /// Views of every element's bytes, valid inside `body`.
    func withBuffers<R>(_ body: ([UnsafeRawBufferPointer]) -> R) -> R {
        let joined = flatMap { $0 }
        return joined.withUnsafeBytes { all in
            var offset = 0
            let buffers = map { element -> UnsafeRawBufferPointer in
                defer { offset += element.count }
                return UnsafeRawBufferPointer(rebasing: all[offset..<(offset + element.count)])
            }
            return body(buffers)
        }
    }
}
