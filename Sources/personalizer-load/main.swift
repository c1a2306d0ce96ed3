#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import PersonalizerLoad

extension CallMix: ExpressibleByArgument {}
extension ReplyExpectation: ExpressibleByArgument {}

struct PersonalizerLoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "personalizer-load",
        abstract: "Drives a running personalizerd with a simulated personalization problem and measures it.",
        discussion: """
            Closed loop (the default) keeps --depth requests in flight on each connection. With --rate the \
            load is open: calls are due at fixed times and their latency counts from that time, so a slow \
            server's queueing shows. Rewards follow a hidden click model: a user segment prefers one topic, \
            so a server that learns gets a higher average reward over time. --expect raw drives any server \
            that answers each frame with a frame (the bench's raw echo baseline).
            """)

    @Option(help: "Unix socket of the server.")
    var socket = "./data/personalizer.sock"

    @Option(help: "Connections to open.")
    var connections = 1

    @Option(help: "Requests in flight per connection (pipeline depth).")
    var depth = 1

    @Option(help: "Threads driving the connections (each runs one poll loop).")
    var threads = 1

    @Option(help: "Seconds measured (after the warm-up).")
    var duration = 10.0

    @Option(help: "Seconds of load before measuring.")
    var warmup = 1.0

    @Option(help: "Open loop: Rank (or Status) calls per second over all connections. Without it: closed loop.")
    var rate: Double?

    @Option(help: "The loop to call (empty: default).")
    var loop = ""

    @Option(help: "Calls: rank, rank-reward or status.")
    var mix = CallMix.rank

    @Option(help: "Actions per Rank.")
    var actions = 10

    @Option(name: .customLong("action-features"), help: "Features per action.")
    var actionFeatures = 5

    @Option(name: .customLong("action-namespaces"), help: "Namespaces the action features are spread over.")
    var actionNamespaces = 1

    @Option(name: .customLong("context-features"), help: "Context features per Rank.")
    var contextFeatures = 15

    @Option(name: .customLong("context-namespaces"), help: "Namespaces the context features are spread over.")
    var contextNamespaces = 3

    @Option(help: "User segments of the simulated audience (each prefers one topic).")
    var segments = 8

    @Option(name: .customLong("reward-delay"), help: "Seconds between a Rank's answer and its Reward (rank-reward).")
    var rewardDelay = 0.0

    @Option(name: .customLong("reward-rate"), help: "Share of ranked events that get a Reward call, 0 to 1 (rank-reward).")
    var rewardRate = 1.0

    @Option(help: "Replies: response (personalizer.v1.Response) or raw (opaque frames, for the echo baseline).")
    var expect = ReplyExpectation.response

    @Option(help: "Seed of the simulated environment.")
    var seed: UInt64 = 1

    @Option(name: .customLong("server-pid"), help: "Sample this process's resident memory once a second.")
    var serverPID: Int32?

    @Option(help: "Seconds to wait at the end for the answers still in flight.")
    var drain = 5.0

    @Flag(name: .customLong("no-status"), help: "Do not poll the server's Status once a second.")
    var noStatus = false

    @Flag(help: "Print the summary as JSON on stdout.")
    var json = false

    var options: LoadOptions {
        var options = LoadOptions()
        options.socketPath = socket
        options.connections = connections
        options.depth = depth
        options.threads = threads
        options.durationSeconds = duration
        options.warmupSeconds = warmup
        options.rate = rate
        options.loop = loop
        options.mix = mix
        options.environment.actions = actions
        options.environment.actionFeatures = actionFeatures
        options.environment.actionNamespaces = actionNamespaces
        options.environment.contextFeatures = contextFeatures
        options.environment.contextNamespaces = contextNamespaces
        options.environment.segments = segments
        options.rewardDelaySeconds = rewardDelay
        options.rewardRate = rewardRate
        options.expect = expect
        options.seed = seed
        options.serverPID = serverPID
        options.drainSeconds = drain
        options.pollStatus = !noStatus
        return options
    }

    func validate() throws {
        do {
            try options.validate()
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let report: LoadReport
        do {
            report = try LoadRunner.run(options, progress: isatty(2) != 0)
        } catch {
            var message = "personalizer-load: \(error)\n"
            message.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
            throw ExitCode(1)
        }
        print(json ? report.json.text(indent: 2) : report.table)
        if report.failed { throw ExitCode(1) }
    }
}

PersonalizerLoadCommand.main()
