@testable import PersonalizerEngine
import XCTest

final class PendingEventIDsTests: XCTestCase {
    func testIDsExpireWithTheirWindow() {
        var pending = PendingEventIDs()
        pending.insert("a", deadline: 10)
        pending.insert("b", deadline: 20)
        XCTAssertTrue(pending.contains("a", now: 9))
        XCTAssertFalse(pending.contains("a", now: 10))
        XCTAssertTrue(pending.contains("b", now: 10))
        pending.insert("a", deadline: 30)
        XCTAssertTrue(pending.contains("a", now: 25), "a reused id gets its own window")
        XCTAssertFalse(pending.contains("b", now: 25))
        XCTAssertEqual(pending.count, 1)
    }
}

private extension PendingEventIDs {
    mutating func insert(_ id: String, deadline: UInt64) {
        var id = id
        id.withUTF8 { insert(UnsafeRawBufferPointer($0), deadline: deadline) }
    }

    mutating func contains(_ id: String, now: UInt64) -> Bool {
        var id = id
        return id.withUTF8 { contains(UnsafeRawBufferPointer($0), now: now) }
    }
}
