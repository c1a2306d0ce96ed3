@testable import PersonalizerEngine
import XCTest

final class CRC32CTests: XCTestCase {
    func testKnownValues() {
        // The check value of CRC-32C (RFC 3720's test vectors agree).
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum([]), 0)
    }

    /// The instruction and the tables agree on every length and alignment, in one piece or
    /// continued over two (on CPUs without the instruction both sides are the tables).
    func testInstructionAndTablesAgree() {
        var generator = SystemRandomNumberGenerator()
        let data = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        data.withUnsafeBytes { all in
            for _ in 0..<2000 {
                let start = Int.random(in: 0..<64, using: &generator)
                let count = Int.random(in: 0...(all.count - start), using: &generator)
                let piece = UnsafeRawBufferPointer(rebasing: all[start..<(start + count)])
                let expected = CRC32C.softwareChecksum(piece)
                XCTAssertEqual(CRC32C.checksum(piece), expected)
                let split = Int.random(in: 0...count, using: &generator)
                let first = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: piece[..<split]))
                XCTAssertEqual(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: piece[split...]), continuing: first), expected)
            }
        }
        print("CRC-32C uses the CPU's instruction: \(CRC32C.usesHardware)")
    }

    /// Every length around the steps the instruction's path takes in three blocks side by side
    /// (384 bytes), from every register value the continuation can bring.
    func testEveryLengthAroundTheThreeBlockSteps() {
        let data = (0..<1300).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        data.withUnsafeBytes { all in
            for count in 0...all.count {
                let piece = UnsafeRawBufferPointer(rebasing: all[..<count])
                XCTAssertEqual(CRC32C.checksum(piece), CRC32C.softwareChecksum(piece), "length \(count)")
                XCTAssertEqual(CRC32C.checksum(piece, continuing: 0xDEAD_BEEF),
                               CRC32C.softwareChecksum(piece, continuing: 0xDEAD_BEEF), "length \(count), continued")
            }
        }
    }
}
