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

    @Option(name: .customLong("socket-mode"), help: "Permissions of the socket file, in octal (0600: this user only; 0660: and its group).")
    var socketMode = "0600"

    @Option(name: .customLong("allow-uid"), parsing: .upToNextOption,
            help: "Only these peer user ids may connect (besides the server's own); checked with SO_PEERCRED.")
    var allowUID: [UInt32] = []

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        guard let mode = mode_t(socketMode, radix: 8), mode <= 0o777, mode & 0o600 == 0o600 else {
            throw ValidationError("--socket-mode: an octal mode from 0600 to 0777 that lets the owner read and write, got \(socketMode)")
        }
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
            server = try PersonalizerServer(
                configuration: configuration, socketPath: socketPath, dataDirectory: dataDir,
                access: PersonalizerServer.Access(socketMode: mode, allowedUserIDs: Set(allowUID)))
        } catch {
            FileHandle.standardError.write(Data("personalizerd: \(error)\n".utf8))
            throw ExitCode(1)
        }
        server.run()
    }
}

PersonalizerDaemon.main()
