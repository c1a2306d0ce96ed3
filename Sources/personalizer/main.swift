import ArgumentParser
import Foundation
import PersonalizerEngine
import PersonalizerProtocol

struct Personalizer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "personalizer",
        abstract: "Tools for a Personalizer data directory.",
        subcommands: [Export.self])
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Writes a loop's joined events as Vowpal Wabbit decision-service JSON, one per line.",
        discussion: "Reads the loop's event log without changing it (safe while the server runs). "
            + "Train on it with: vw --dsjson --cb_explore_adf -d events.json")

    @Option(name: .customLong("data-dir"), help: "The server's data directory.")
    var dataDir = "./data"

    @Option(help: "The loop to export.")
    var loop = "default"

    @Option(help: "Only events ranked at or after this time: ISO 8601 (2026-11-23T10:00:00Z) or Unix seconds.")
    var since: String?

    func run() throws {
        var sinceNanoseconds: UInt64 = 0
        if let since {
            guard let parsed = Self.parseTime(since) else {
                throw ValidationError("--since: not an ISO 8601 time or Unix seconds: \(since)")
            }
            sinceNanoseconds = parsed
        }
        let directory = "\(dataDir)/loops/\(loop)/log"
        guard FileManager.default.fileExists(atPath: directory) else {
            throw ValidationError("no event log for loop \"\(loop)\" in \(dataDir) (looked for \(directory))")
        }
        var exporter = DecisionServiceExporter(since: sinceNanoseconds)
        var lines = 0
        var output = FileHandleOutput()
        let notes = try EventLog.read(directory: directory) { record in
            if let line = exporter.consume(record) {
                output.write(line)
                lines += 1
            }
        }
        output.flush()
        for note in notes { FileHandle.standardError.write(Data("personalizer export: \(note)\n".utf8)) }
        FileHandle.standardError.write(Data("personalizer export: \(lines) events\n".utf8))
    }

    static func parseTime(_ text: String) -> UInt64? {
        if let seconds = Double(text), seconds >= 0 { return UInt64(seconds * 1e9) }
        let formatter = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime]] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text), date.timeIntervalSince1970 >= 0 {
                return UInt64(date.timeIntervalSince1970 * 1e9)
            }
        }
        return nil
    }
}

/// Buffers lines to standard output.
struct FileHandleOutput {
    private var buffer = Data()
    mutating func write(_ line: String) {
        buffer.append(contentsOf: line.utf8)
        buffer.append(0x0A)
        if buffer.count > 1 << 20 { flush() }
    }
    mutating func flush() {
        FileHandle.standardOutput.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}

Personalizer.main()
