import CProtobufC
import PersonalizerEngine
import PersonalizerProto
import PersonalizerProtocol
import PersonalizerTransport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The fuzz harness: pushes bytes through the code the server runs for a connection —
/// `FrameDecoder` over a `ByteBuffer` of input, each frame through `RequestProcessor.process`
/// over real in-memory `LearningLoop`s whose trainers are stepped on this thread — and checks
/// every answer against the wire contract:
///
/// - the decoder's verdict matches the length prefix (frame, need more bytes, too large);
/// - `RequestWireReader` accepts exactly the frames protobuf-c decodes as a call and reads the
///   same call and content from them (`WireReaderDifferential`);
/// - a processed frame appends exactly one framed `Response`, a held-back one (`retryLater`)
///   appends nothing and goes through once the trainer drained the ring;
/// - every response decodes (protobuf-c) and echoes the request's id (0 for an undecodable
///   frame), an error carries a known code and a message;
/// - a Rank is answered only for a request that passes an independent check of the documented
///   validation rules, and refused (INVALID_ARGUMENT) otherwise; its ranking holds every action
///   once, the chosen one first with reward_action_id, finite probabilities summing to 1 over
///   the candidates, the excluded ones last with 0;
/// - Status counts exactly the calls that were answered, and once every window has closed no
///   event is left pending and every ranked event was learned or dropped.
///
/// Any violation prints what happened and aborts, which libFuzzer reports as a crash.
///
/// Every input gets new loops and a new processor, so an input always replays the same way.
final class FuzzSession {
    /// What the first byte of an input selects.
    struct Control {
        /// The rest of the input is a program for `RequestGenerator` rather than raw wire bytes.
        var generated: Bool
        /// Raw mode: how the stream is cut into reads (whole, 1-byte, 7-byte, 61-byte pieces).
        var chunkSize: Int
        /// Small limits, so that every limit is reachable by a short input.
        var tightLimits: Bool
        /// Frames between trainer passes (0: only when the ring is full).
        var stepEvery: Int
        /// How far the clock moves at each trainer pass.
        var advanceNanoseconds: UInt64

        /// Bit 0: the default loop interacts every namespace pair (`-q ::`, the server's default
        /// policy; its interaction table is costly to build, so not every input pays for it);
        /// bits 1-4: the loops "sum", "soft", "square", "first" exist. A request naming a loop
        /// that does not exist gets NOT_FOUND, as from the server.
        var loops: UInt8

        init(_ byte: UInt8, loops: UInt8) {
            self.loops = loops
            generated = byte & 1 != 0
            chunkSize = [Int.max, 1, 7, 61][Int(byte >> 1) & 3]
            tightLimits = byte & 8 != 0
            stepEvery = [1, 5, 37, 0][Int(byte >> 4) & 3]
            advanceNanoseconds = [0, 1_000_000, 700_000_000, 6_000_000_000][Int(byte >> 6) & 3]
        }
    }

    static let loopNames = ["default", "sum", "soft", "square", "first"]
    /// The loops of this session, in `loopNames` order.
    let loopNames: [String]
    static let rewardWaitSeconds = 5.0
    static let ringCapacity = 64

    let control: Control
    let clock = ManualClock()
    let limits: ServerLimits
    let loops: [String: LearningLoop]
    let processor: RequestProcessor
    private let decoder: FrameDecoder
    private let input = ByteBuffer(capacity: 64)
    private let output = ByteBuffer(capacity: 64)
    private(set) var isClosed = false
    private var framesSinceStep = 0

    /// What the harness expects of each loop, from the answers it saw.
    struct Expected {
        var rankCalls: UInt64 = 0
        var rewardCalls: UInt64 = 0
        var activateCalls: UInt64 = 0
        /// Event ids answered by a Rank, with the end of their reward windows.
        var deadlines: [String: UInt64] = [:]
    }
    private(set) var expected: [String: Expected] = [:]
    /// Event ids the server answered with (client's or generated), for the generator to reuse.
    private(set) var seenEventIDs: [String] = []
    private(set) var framesProcessed = 0

    init(control: Control) {
        self.control = control
        var limits = ServerLimits()
        limits.ringCapacity = Self.ringCapacity
        if control.tightLimits {
            limits.maxFrameBytes = 600
            limits.maxActionsPerRank = 4
            limits.maxIdLength = 8
            limits.maxNamespacesPerRank = 6
            limits.maxFeaturesPerRank = 10
        }
        self.limits = limits
        decoder = FrameDecoder(maxFrameBytes: limits.maxFrameBytes)
        var loops: [String: LearningLoop] = [:]
        loopNames = Self.loopNames.enumerated().filter { $0.offset == 0 || control.loops & (1 << $0.offset) != 0 }
            .map(\.element)
        for name in loopNames {
            do {
                loops[name] = try LearningLoop(name: name, settings: Self.settings(for: name, control: control),
                                               ringCapacity: Self.ringCapacity, clock: clock)
            } catch {
                fatalError("fuzz harness: loop \(name) does not start: \(error)")
            }
            expected[name] = Expected()
        }
        self.loops = loops
        processor = RequestProcessor(loops: loops, limits: limits, clock: clock)
    }

    /// Five loops that between them use every exploration, cost estimator and reward rule.
    static func settings(for name: String, control: Control) -> LoopSettings {
        var settings = LoopSettings()
        settings.rewardWaitTimeSeconds = rewardWaitSeconds
        settings.modelUpdateIntervalSeconds = 0.5
        settings.durability = .off
        switch name {
        case "default":
            settings.learningPolicy = control.loops & 1 != 0
                ? LoopSettings().learningPolicy + " -b 12"
                : "--cb_explore_adf --epsilon 0.2 --power_t 0 -l 0.5 --cb_type mtr -b 12"
        case "sum":
            settings.rewardAggregation = .sum
            settings.defaultReward = -1
            settings.explorationPercentage = 0.5
            settings.learningPolicy = "--cb_explore_adf --cb_type ips -b 10 --cubic abc --cubic u:: -l 2 --l2 0.001"
        case "soft":
            settings.learningPolicy = "--cb_explore_adf --softmax --lambda 5 --cb_type dr -b 10 --cubic :::"
        case "square":
            settings.learningPolicy = "--cb_explore_adf --squarecb --gamma_scale 100 --cb_type mtr -b 10 --interactions u:i --l1 0.0001"
        case "first":
            settings.learnOnFirstReward = true
            settings.defaultReward = 1
            settings.rewardWaitTimeSeconds = 1
            settings.learningPolicy = "--cb_explore_adf --first 2 -b 8 --noconstant --power_t 0.5"
        default:
            break
        }
        return settings
    }

    // MARK: the connection's read path

    /// Bytes as one read of the socket delivers them.
    func feed(_ bytes: UnsafeRawBufferPointer) {
        guard !isClosed, bytes.count > 0 else { return }
        input.append(bytes)
        processInput()
    }

    /// The stream in reads of `control.chunkSize` bytes.
    func feedStream(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count, !isClosed {
            let end = bytes.count - offset <= control.chunkSize ? bytes.count : offset + control.chunkSize
            feed(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
            offset = end
        }
    }

    func feed(_ bytes: [UInt8]) { bytes.withUnsafeBytes { feed($0) } }

    /// What `Connection.processInput` does: decode frames, hand each to the processor.
    private func processInput() {
        while !isClosed {
            let bytes = input.readableBytes
            let result = decoder.decode(bytes)
            checkDecoder(result, bytes)
            switch result {
            case .frame(let offset, let count):
                handleFrame(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]))
                input.consume(offset + count)
            case .needMoreBytes:
                return
            case .tooLarge(let length):
                let before = output.readableCount
                processor.writeFrameTooLarge(length: length, into: output)
                let response = takeOneResponse(after: before, context: "frame too large (\(length) bytes)")
                guard response.id == 0, case .error(let code, let message) = response.result,
                      code == StatusCode.resourceExhausted.rawValue, !message.isEmpty else {
                    fail("a frame of \(length) bytes over the limit was answered with \(response), not RESOURCE_EXHAUSTED")
                }
                // The server closes the connection: nothing after this is read.
                input.clear()
                isClosed = true
            }
        }
    }

    /// The decoder's verdict against the length prefix.
    private func checkDecoder(_ result: FrameDecoder.Result, _ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= 4 else {
            if result != .needMoreBytes { fail("decoder: \(result) for \(bytes.count) bytes (under a header)") }
            return
        }
        let length = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        let want: FrameDecoder.Result
        if length > limits.maxFrameBytes {
            want = .tooLarge(length: UInt64(length))
        } else if bytes.count - 4 < length {
            want = .needMoreBytes
        } else {
            want = .frame(payloadOffset: 4, payloadCount: length)
        }
        if result != want { fail("decoder: \(result) for a \(length)-byte prefix and \(bytes.count) bytes; want \(want)") }
    }

    /// One frame through the processor, as `PersonalizerServer.handleFrame` does it; on
    /// backpressure the trainer drains (the server waits for it) and the frame goes again.
    private func handleFrame(_ payload: UnsafeRawBufferPointer) {
        framesProcessed += 1
        // The wire reader must read every frame as protobuf-c does (accept, decline, call, content).
        if let mismatch = WireReaderDifferential.differential(payload) {
            fail("RequestWireReader and protobuf-c disagree: \(mismatch); frame \(hex(payload))")
        }
        let oracle = RequestOracle(payload, limits: limits)
        let before = output.readableCount
        var outcome = processor.process(payload, into: output)
        if case .retryLater(let loop) = outcome {
            if output.readableCount != before { fail("retryLater, but \(output.readableCount - before) bytes were written") }
            guard oracle.loopName.map({ loops[$0] === loop }) ?? false else {
                fail("retryLater names loop \(loop.name), the request names \(oracle.loopName ?? "none")")
            }
            loop.trainerStep(now: clock.nowNanoseconds())
            outcome = processor.process(payload, into: output)
            if case .retryLater = outcome { fail("still retryLater after the trainer drained loop \(loop.name)") }
        }
        processor.awaitingDurability = nil
        let (response, ranking) = takeOneResponseWithRanking(after: before, context: oracle.summary)
        check(response, ranking, for: oracle)

        framesSinceStep += 1
        if control.stepEvery > 0, framesSinceStep >= control.stepEvery { stepTrainers() }
    }

    /// Moves the clock and runs one pass of every trainer.
    func stepTrainers(advance: UInt64? = nil) {
        framesSinceStep = 0
        advanceClock(advance ?? control.advanceNanoseconds)
        let now = clock.nowNanoseconds()
        for name in loopNames { loops[name]!.trainerStep(now: now) }
    }

    func advanceClock(_ nanoseconds: UInt64) {
        if nanoseconds > 0 { clock.advance(seconds: Double(nanoseconds) / 1e9) }
    }

    /// The bytes appended since `before` must be exactly one framed response; returns it decoded.
    private func takeOneResponse(after before: Int, context: @autoclosure () -> String) -> Response {
        takeOneResponseWithRanking(after: before, context: context()).response
    }

    private func takeOneResponseWithRanking(after before: Int, context: @autoclosure () -> String)
        -> (response: Response, ranking: RawRanking?) {
        let all = output.readableBytes
        let written = all.count - before
        guard written >= 4 else { fail("\(context()): \(written) bytes written, not one framed response") }
        let body = UnsafeRawBufferPointer(rebasing: all[before...])
        let length = Int(body[0]) << 24 | Int(body[1]) << 16 | Int(body[2]) << 8 | Int(body[3])
        guard written == 4 + length else {
            fail("\(context()): \(written) bytes written, but the frame header says \(length) + 4")
        }
        guard let response = MessageCodec.decodeResponse(UnsafeRawBufferPointer(rebasing: body[4...])) else {
            fail("\(context()): the response does not decode: \(hex(body))")
        }
        let ranking = RawRanking(UnsafeRawBufferPointer(rebasing: body[4...]))
        output.clear()
        return (response, ranking)
    }

    // MARK: what an answer must be

    private func check(_ response: Response, _ rawRanking: RawRanking?, for oracle: RequestOracle) {
        func context() -> String { oracle.summary }
        if response.id != oracle.id { fail("\(context()): response id \(response.id), request id \(oracle.id)") }
        if case .error(let code, let message) = response.result {
            guard [3, 5, 6, 14].contains(code), !message.isEmpty else {
                fail("\(context()): error code \(code) / message \"\(message)\" is not a documented answer")
            }
        }
        guard let call = oracle.call else {
            expectError(response, code: StatusCode.invalidArgument, context())
            return
        }
        guard let loopName = oracle.loopName, loops[loopName] != nil else {
            expectError(response, code: StatusCode.notFound, context())
            return
        }
        let now = clock.nowNanoseconds()
        switch call {
        case .noCall:
            expectError(response, code: StatusCode.invalidArgument, context())
        case .status:
            guard case .status(let status) = response.result else { fail("\(context()): answered \(response.result)") }
            checkStatus(status, loop: loopName, context: context())
        case .reward(let valid):
            if valid {
                guard case .reward = response.result else { fail("\(context()): a valid Reward got \(response.result)") }
                expected[loopName]!.rewardCalls += 1
            } else {
                expectError(response, code: StatusCode.invalidArgument, context())
            }
        case .activate(let valid):
            if valid {
                guard case .activate = response.result else { fail("\(context()): a valid Activate got \(response.result)") }
                expected[loopName]!.activateCalls += 1
            } else {
                expectError(response, code: StatusCode.invalidArgument, context())
            }
        case .rank(let rank):
            if let problem = rank.problem {
                guard case .error(let code, _) = response.result, code == StatusCode.invalidArgument.rawValue else {
                    fail("\(context()): invalid (\(problem)) but answered \(response.result)")
                }
                return
            }
            if let eventID = rank.eventID, let deadline = expected[loopName]!.deadlines[eventID], deadline > now {
                expectError(response, code: StatusCode.alreadyExists, context())
                return
            }
            guard case .rank(let result) = response.result, let rawRanking else {
                fail("\(context()): a valid Rank got \(response.result)")
            }
            checkRanking(result, rawRanking, rank, loop: loopName, context: context())
            expected[loopName]!.rankCalls += 1
            let wait = UInt64(loops[loopName]!.settings.rewardWaitTimeSeconds * 1e9)
            expected[loopName]!.deadlines[result.eventID] = now &+ wait
            if seenEventIDs.count < 64 { seenEventIDs.append(result.eventID) }
        }
    }

    private func expectError(_ response: Response, code: StatusCode, _ context: @autoclosure () -> String) {
        guard case .error(let got, _) = response.result, got == code.rawValue else {
            fail("\(context()): expected \(code), got \(response.result)")
        }
    }

    private func checkRanking(_ result: RankResult, _ raw: RawRanking, _ rank: RequestOracle.Rank, loop: String,
                              context: @autoclosure () -> String) {
        let ranking = result.ranking
        guard ranking.count == rank.actionIDs.count, raw.ids.count == ranking.count else {
            fail("\(context()): \(ranking.count) ranked actions for \(rank.actionIDs.count) actions")
        }
        guard raw.ids.sorted(by: { $0.lexicographicallyPrecedes($1) })
                == rank.actionIDs.sorted(by: { $0.lexicographicallyPrecedes($1) }) else {
            fail("\(context()): ranking \(ranking.map(\.id)) is not the actions")
        }
        guard raw.rewardActionID == raw.ids[0] else {
            fail("\(context()): reward_action_id \(result.rewardActionID) is not ranking[0] \(ranking[0].id)")
        }
        let candidates = rank.actionIDs.count - rank.excluded.count
        var total = 0.0
        for (position, action) in ranking.enumerated() {
            let p = action.probability
            let isExcluded = rank.excluded.contains(raw.ids[position])
            if position < candidates {
                guard !isExcluded, p.isFinite, p >= 0, p <= 1 + 1e-9 else {
                    fail("\(context()): ranking[\(position)] \(action) (candidate part of \(ranking))")
                }
                total += p
            } else {
                guard isExcluded, p == 0 else {
                    fail("\(context()): ranking[\(position)] \(action) should be an excluded action with probability 0")
                }
            }
        }
        guard abs(total - 1) < 1e-6 else { fail("\(context()): probabilities sum to \(total): \(ranking)") }
        // After the chosen action, the other candidates by probability.
        if candidates > 2 {
            for position in 2..<candidates where ranking[position].probability > ranking[position - 1].probability {
                fail("\(context()): candidates after the chosen one are not by probability: \(ranking)")
            }
        }
        guard ranking[0].probability > 0 else { fail("\(context()): the chosen action has probability 0: \(ranking)") }
        if let eventID = rank.eventID {
            guard result.eventID == eventID else { fail("\(context()): event id \(result.eventID), sent \(eventID)") }
        } else {
            guard result.eventID.utf8.count == 32, result.eventID.utf8.allSatisfy({ isHexDigit($0) }) else {
                fail("\(context()): generated event id \"\(result.eventID)\" is not 32 hex digits")
            }
        }
        let published = loops[loop]!.counters.modelVersion.load()
        guard result.modelVersion <= published else {
            fail("\(context()): model_version \(result.modelVersion) is newer than the published \(published)")
        }
    }

    private func checkStatus(_ status: LoopStatus, loop: String, context: @autoclosure () -> String) {
        let want = expected[loop]!
        guard status.rankCalls == want.rankCalls, status.rewardCalls == want.rewardCalls,
              status.activateCalls == want.activateCalls else {
            fail("\(context()): status counts rank/reward/activate \(status.rankCalls)/\(status.rewardCalls)/"
                 + "\(status.activateCalls); answered \(want.rankCalls)/\(want.rewardCalls)/\(want.activateCalls)")
        }
        guard status.learnedEvents + status.droppedNotActivated + status.pendingEvents <= status.rankCalls,
              status.pendingEvents <= status.rankCalls else {
            fail("\(context()): learned \(status.learnedEvents) + dropped \(status.droppedNotActivated) + pending "
                 + "\(status.pendingEvents) > ranked \(status.rankCalls)")
        }
    }

    /// After the input: every window closes, every loop's trainer drains; then each loop's
    /// Status must show nothing pending and every ranked event learned or dropped.
    func finish() {
        // A partial frame left in the input is what a client that went away leaves: not answered.
        input.clear()
        stepTrainers(advance: UInt64(Self.rewardWaitSeconds * 1e9) + 1_000_000_000)
        stepTrainers(advance: 1_000_000_000)
        for (index, name) in loopNames.enumerated() {
            let id = UInt64(0xF1_0000 + index)
            var request = MessageCodec.encode(Request(id: id, loop: name, call: .status))
            request = MessageCodec.frame(request)
            let before = output.readableCount
            request.withUnsafeBytes { bytes in
                let payload = UnsafeRawBufferPointer(rebasing: bytes[4...])
                guard case .done = processor.process(payload, into: output) else { fail("final status: retryLater") }
            }
            let response = takeOneResponse(after: before, context: "final status of \(name)")
            guard response.id == id, case .status(let status) = response.result else {
                fail("final status of \(name): \(response)")
            }
            checkStatus(status, loop: name, context: "final status of \(name)")
            guard status.pendingEvents == 0,
                  status.learnedEvents + status.droppedNotActivated == status.rankCalls else {
                fail("loop \(name): after every window closed: ranked \(status.rankCalls), learned \(status.learnedEvents), "
                     + "dropped \(status.droppedNotActivated), pending \(status.pendingEvents)")
            }
        }
    }
}

@inline(__always)
private func isHexDigit(_ byte: UInt8) -> Bool { (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) }

func hex(_ bytes: UnsafeRawBufferPointer, limit: Int = 256) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    for byte in bytes.prefix(limit) { text.append(digits[Int(byte >> 4)]); text.append(digits[Int(byte & 15)]) }
    return String(decoding: text, as: UTF8.self) + (bytes.count > limit ? "… (\(bytes.count) bytes)" : "")
}

func hex(_ bytes: [UInt8], limit: Int = 256) -> String { bytes.withUnsafeBytes { hex($0, limit: limit) } }

/// Reports a broken invariant and aborts (libFuzzer saves the input as a crash).
func fail(_ message: String) -> Never {
    FuzzReport.write("personalizer-fuzz: INVARIANT BROKEN: \(message)\n")
    abort()
}

enum FuzzReport {
    static func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in _ = Glibc.write(2, bytes.baseAddress, bytes.count) }
    }
}
