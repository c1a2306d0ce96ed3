import Foundation
@testable import PersonalizerTransport
import XCTest

final class EventLoopTests: XCTestCase {
    /// `every` runs its handler on the loop's thread, on an otherwise idle loop, and not after
    /// the loop has closed its handles.
    func testPeriodicWorkRunsOnTheLoopThreadUntilTheLoopCloses() throws {
        let loop = try EventLoop()
        var ticks = 0
        var ranElsewhere = false
        let loopThread = pthread_self()
        loop.every(milliseconds: 5) {
            if pthread_equal(pthread_self(), loopThread) == 0 { ranElsewhere = true }
            ticks += 1
            if ticks == 3 { loop.closeLoopHandles() }
        }
        let started = Date()
        loop.run()
        loop.close()
        XCTAssertEqual(ticks, 3)
        XCTAssertFalse(ranElsewhere)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "three ticks of 5 ms")
        Thread.sleep(forTimeInterval: 0.05)  // the timer, cancelled, must not wake a freed loop
        XCTAssertEqual(ticks, 3)
    }
}
