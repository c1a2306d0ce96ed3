import Foundation
import PersonalizerClient
import XCTest

/// A real `personalizerd` process on a temporary socket and data directory.
final class ServerProcess {
    let directory: URL
    let socketPath: String
    let process = Process()
    private let output = Pipe()
    private let errors = Pipe()
    private(set) var standardOutput = ""
    private(set) var standardError = ""

    /// The binary next to the test bundle (SwiftPM puts every product in one folder), or $PERSONALIZERD.
    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["PERSONALIZERD"] { return URL(fileURLWithPath: path) }
        let candidates = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent(),
                          URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        for folder in candidates {
            let url = folder.appendingPathComponent("personalizerd")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return candidates[0].appendingPathComponent("personalizerd")
    }

    /// Writes `config` (JSON text) if given, starts the server and waits until it accepts.
    /// The data directory (`--data-dir`).
    var dataDirectory: String { directory.appendingPathComponent("data").path }

    /// - Parameter reusing: a stopped or killed server whose directory (data and socket) to use.
    init(config: String? = nil, extraArguments: [String] = [], socketPath: String? = nil,
         waitUntilReady: Bool = true, reusing previous: ServerProcess? = nil) throws {
        directory = previous?.directory ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("personalizer-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        previous?.keepDirectory = true
        self.socketPath = socketPath ?? directory.appendingPathComponent("s.sock").path
        var arguments = ["--socket", self.socketPath, "--data-dir", directory.appendingPathComponent("data").path]
        if let config {
            let path = directory.appendingPathComponent("config.json")
            try config.write(to: path, atomically: true, encoding: .utf8)
            arguments += ["--config", path.path]
        }
        process.executableURL = Self.binary
        process.arguments = arguments + extraArguments
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        if waitUntilReady { try self.waitUntilReady() }
    }

    func waitUntilReady(seconds: Double = 20) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if !process.isRunning {
                collectOutput()
                throw ServerTestError("personalizerd exited (\(process.terminationStatus)): \(standardError)")
            }
            if let client = try? PersonalizerClient(socketPath: socketPath, timeoutSeconds: 1) {
                client.close()
                return
            }
            usleep(20_000)
        }
        throw ServerTestError("personalizerd did not accept connections within \(seconds) s")
    }

    func client(loop: String = "", timeout: Double = 10) throws -> PersonalizerClient {
        try PersonalizerClient(socketPath: socketPath, loop: loop, timeoutSeconds: timeout)
    }

    /// Sends SIGTERM and waits; returns the exit status.
    @discardableResult
    func stop(timeout: Double = 20) -> Int32 {
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            collectOutput()
            return -1
        }
        process.waitUntilExit()
        collectOutput()
        return process.terminationStatus
    }

    /// Kills the process with SIGKILL (a crash) and waits for it.
    func crash() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        collectOutput()
    }

    /// Waits for the process to exit by itself (a refused start).
    func waitForExit(timeout: Double = 20) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        guard !process.isRunning else { return nil }
        collectOutput()
        return process.terminationStatus
    }

    private func collectOutput() {
        standardOutput = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        standardError = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    /// Set when a later server reuses the directory, which then removes it.
    fileprivate var keepDirectory = false

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        if !keepDirectory { try? FileManager.default.removeItem(at: directory) }
    }
}

struct ServerTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Polls until `condition` holds or `seconds` pass.
func eventually(seconds: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}
