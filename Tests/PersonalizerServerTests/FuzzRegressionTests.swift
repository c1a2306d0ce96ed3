import Foundation
import XCTest

/// Every committed fuzz input — the seed corpus (fuzz/corpus/) and the inputs of past findings
/// (fuzz/regressions/) — replayed through the fuzz harness by the plain build of
/// `personalizer-fuzz`, in a child process so that a crash fails this test instead of ending
/// the test run. The harness checks each answer against the wire contract (see
/// Sources/PersonalizerFuzz/Harness.swift); exit status 0 means no finding.
final class FuzzRegressionTests: XCTestCase {
    /// The package root (this file is Tests/PersonalizerServerTests/FuzzRegressionTests.swift).
    private static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The replayer next to the test bundle (SwiftPM puts every product in one folder).
    private static var replayer: URL? {
        let candidates = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent(),
                          URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        return candidates.map { $0.appendingPathComponent("personalizer-fuzz") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    private func replay(_ folders: [String], timeout: TimeInterval = 300) throws -> (status: Int32, output: String) {
        let binary = try XCTUnwrap(Self.replayer, "personalizer-fuzz is not next to the test bundle (swift build --build-tests builds it)")
        let process = Process()
        process.executableURL = binary
        process.arguments = folders.map { Self.packageRoot.appendingPathComponent($0).path }
        // Output to a file: a chatty failure cannot fill a pipe and stall the child.
        let log = FileManager.default.temporaryDirectory
            .appendingPathComponent("personalizer-fuzz-replay-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            XCTFail("personalizer-fuzz did not finish replaying within \(timeout) s")
        }
        process.waitUntilExit()
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return (process.terminationStatus, output)
    }

    func testCommittedFuzzInputsReplayWithoutFindings() throws {
        let corpus = Self.packageRoot.appendingPathComponent("fuzz/corpus").path
        let seeds = try FileManager.default.contentsOfDirectory(atPath: corpus).filter { !$0.hasPrefix(".") }
        XCTAssertGreaterThan(seeds.count, 50, "the seed corpus is missing (make fuzz-seeds writes it)")
        let result = try replay(["fuzz/corpus", "fuzz/regressions"])
        XCTAssertEqual(result.status, 0, "a committed fuzz input is a finding again:\n\(result.output)")
        XCTAssertTrue(result.output.contains("no findings"), result.output)
    }
}
