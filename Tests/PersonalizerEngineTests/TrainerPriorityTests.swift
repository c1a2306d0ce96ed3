import Foundation
@testable import PersonalizerEngine
import XCTest

/// Learning yields to serving: the trainer thread runs at a lower priority than the threads that
/// answer requests, so on a busy CPU a waiting request is answered before the trainer goes on.
final class TrainerPriorityTests: XCTestCase {
    #if os(Linux)
    func testTheTrainerThreadRunsNicerThanTheThreadThatStartedIt() throws {
        let loop = try LearningLoop(name: "prio", settings: LoopSettings(), ringCapacity: 1024,
                                    dataDirectory: nil, log: { _ in })
        loop.start()
        defer { loop.stop() }
        let ownNice = try XCTUnwrap(Self.nice(ofThreadsNamed: nil).first)
        var trainerNice: [Int] = []
        for _ in 0..<200 where trainerNice.isEmpty {  // the thread names itself once it runs
            trainerNice = Self.nice(ofThreadsNamed: "trainer-prio")
            if trainerNice.isEmpty { usleep(5_000) }
        }
        XCTAssertEqual(trainerNice, [min(19, ownNice + 10)], "one trainer thread, ten nice levels below the caller")
    }

    /// Nice values of this process's threads with that name (`comm`), or of the calling thread.
    private static func nice(ofThreadsNamed name: String?) -> [Int] {
        let tasks = name == nil ? ["thread-self"] : ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? [])
        return tasks.compactMap { task in
            let base = name == nil ? "/proc/thread-self" : "/proc/self/task/\(task)"
            if let name {
                guard let comm = try? String(contentsOfFile: base + "/comm", encoding: .utf8),
                      comm.trimmingCharacters(in: .whitespacesAndNewlines) == String(name.prefix(15)) else { return nil }
            }
            guard let stat = try? String(contentsOfFile: base + "/stat", encoding: .utf8),
                  let end = stat.lastIndex(of: ")") else { return nil }
            // After the name: state is field 3, nice is field 19.
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            return fields.count > 16 ? Int(fields[16]) : nil
        }
    }
    #endif
}
