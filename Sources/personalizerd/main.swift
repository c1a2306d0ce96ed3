import ArgumentParser
import Foundation
import PersonalizerEngine
import PersonalizerServer

struct PersonalizerDaemon: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "personalizerd",
        abstract: "Serves Rank and Reward over a Unix socket and learns online from the joined events.")

    @Option(help: "Unix socket to listen on (default: DATA_DIR/personalizer.sock).")
    var socket: String?

    @Option(name: .customLong("data-dir"), help: "Directory for the server's data.")
    var dataDir = "./data"

    @Option(help: "JSON configuration file with loops and limits.")
    var config: String?

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let configuration: Configuration
        do {
            configuration = try config.map { path throws(ConfigurationError) in try Configuration.load(path: path) }
                ?? Configuration()
        } catch {
            FileHandle.standardError.write(Data("personalizerd: invalid configuration: \(error)\n".utf8))
            throw ExitCode(78)  // EX_CONFIG
        }
        do {
            try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        } catch {
            throw ValidationError("cannot create data directory \(dataDir): \(error.localizedDescription)")
        }
        let socketPath = socket ?? (dataDir as NSString).appendingPathComponent("personalizer.sock")
        let server: PersonalizerServer
        do {
            server = try PersonalizerServer(configuration: configuration, socketPath: socketPath, dataDirectory: dataDir)
        } catch {
            FileHandle.standardError.write(Data("personalizerd: \(error)\n".utf8))
            throw ExitCode(1)
        }
        server.run()
    }
}

PersonalizerDaemon.main()
