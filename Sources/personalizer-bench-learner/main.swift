// personalizer-bench-learner: the learner micro-benchmark, and a replay tool for comparing the
// learner with Vowpal Wabbit example by example.
//
//   personalizer-bench-learner throughput --examples FILE [--policy ARGS] [--rounds N] [--json]
//       rates (events/s) of PersonalizerModel on the examples of FILE: learn (a fresh learner
//       learns every example), predict (a snapshot scores every action, explores and samples,
//       as a Rank does after decoding) and cycle (predict with the learner's current weights,
//       then learn: what VW does per event)
//   personalizer-bench-learner replay --examples FILE --policy ARGS
//       for every example: the predicted costs of its actions before learning it, one line each
//
// FILE is Vowpal Wabbit multiline text for --cb_explore_adf: a `shared |ns ...` line, one line
// per action (the chosen one prefixed `0:COST:PROB `), a blank line between examples. Text
// tokens are hashed as VW hashes them (`name=value` is one token), `name:value` as a number.
// The examples are parsed and hashed before any timing: the rates are the learner's own.

import Foundation
import PersonalizerModel

struct Example {
    var shared = HashedFeatures()
    var actions: [HashedFeatures] = []
    var chosen = 0
    var cost = 0.0
    var probability = 1.0
}

enum BenchError: Error, CustomStringConvertible {
    case usage(String)
    case parse(line: Int, String)

    var description: String {
        switch self {
        case .usage(let message): return message
        case .parse(let line, let message): return "line \(line): \(message)"
        }
    }
}

// MARK: - Parsing VW text

func hashToken(_ token: Substring, seed: UInt32) -> UInt32 {
    var copy = String(token)
    return copy.withUTF8 { FeatureHashing.hashString(UnsafeRawBufferPointer($0), seed: seed) }
}

/// Adds the `|ns feature ...` segments of one line to `features`.
func addNamespaces(_ text: Substring, to features: inout HashedFeatures, line: Int) throws {
    for segment in text.split(separator: "|", omittingEmptySubsequences: true) {
        let tokens = segment.split(separator: " ", omittingEmptySubsequences: true)
        // "| a b" (a space right after the bar) is the default namespace.
        let defaultNamespace = segment.first == " "
        features.beginNamespace(name: defaultNamespace ? "" : String(tokens.first ?? ""))
        let namespaceHash = features.spans.last?.namespaceHash ?? 0
        for token in tokens.dropFirst(defaultNamespace ? 0 : 1) {
            if let colon = token.lastIndex(of: ":") {
                guard let value = Double(token[token.index(after: colon)...]) else {
                    throw BenchError.parse(line: line, "bad feature value in \(token)")
                }
                let x = Float(value)
                if x != 0 { features.add(hash: hashToken(token[..<colon], seed: namespaceHash), value: x) }
            } else {
                features.add(hash: hashToken(token, seed: namespaceHash), value: 1)
            }
        }
    }
}

func parseExamples(path: String) throws -> [Example] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw BenchError.usage("cannot read \(path)")
    }
    let text = String(decoding: data, as: UTF8.self)
    var examples: [Example] = []
    var current: Example?
    var lineNumber = 0
    func finish() throws {
        guard let example = current else { return }
        guard !example.actions.isEmpty else { throw BenchError.parse(line: lineNumber, "example without actions") }
        examples.append(example)
        current = nil
    }
    for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
        lineNumber += 1
        let line = rawLine.trimmingCharacters(in: .whitespaces)
        if line.isEmpty { try finish(); continue }
        if line.hasPrefix("shared ") || line.hasPrefix("shared|") {
            try finish()
            var example = Example()
            try addNamespaces(line.dropFirst(6), to: &example.shared, line: lineNumber)
            current = example
            continue
        }
        guard current != nil else { throw BenchError.parse(line: lineNumber, "action line before a shared line") }
        var body = Substring(line)
        if let bar = line.firstIndex(of: "|"), bar != line.startIndex {
            let label = line[..<bar].trimmingCharacters(in: .whitespaces)
            body = line[bar...]
            if !label.isEmpty {
                let parts = label.split(separator: ":")
                guard parts.count == 3, let cost = Double(parts[1]), let probability = Double(parts[2]) else {
                    throw BenchError.parse(line: lineNumber, "label \(label) is not ACTION:COST:PROB")
                }
                current!.chosen = current!.actions.count
                current!.cost = cost
                current!.probability = probability
            }
        }
        var action = HashedFeatures()
        try addNamespaces(body, to: &action, line: lineNumber)
        current!.actions.append(action)
    }
    try finish()
    return examples
}

// MARK: - Measuring

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// One round of learning every example in order with a fresh learner; returns events/s.
func learnRound(_ examples: [Example], policy: LearningPolicy) -> (rate: Double, learner: LinearLearner) {
    let learner = LinearLearner(policy: policy)
    let start = now()
    for example in examples {
        learner.learn(shared: example.shared, actions: example.actions, chosen: example.chosen,
                      probability: example.probability, cost: example.cost)
    }
    let seconds = Double(now() - start) / 1e9
    return (Double(examples.count) / seconds, learner)
}

/// One round of what a Rank does after decoding: score every action with a snapshot, turn the
/// costs into probabilities, sample one. Returns events/s and a checksum (so nothing is elided).
func predictRound(_ examples: [Example], model: ScoringModel, policy: LearningPolicy) -> (rate: Double, checksum: Int) {
    let maxActions = examples.map(\.actions.count).max() ?? 1
    let costs = UnsafeMutableBufferPointer<Double>.allocate(capacity: maxActions)
    let probabilities = UnsafeMutableBufferPointer<Double>.allocate(capacity: maxActions)
    defer { costs.deallocate(); probabilities.deallocate() }
    var checksum = 0
    let start = now()
    for (index, example) in examples.enumerated() {
        let k = example.actions.count
        let c = UnsafeMutableBufferPointer(rebasing: costs[0..<k])
        let p = UnsafeMutableBufferPointer(rebasing: probabilities[0..<k])
        model.predictCosts(shared: example.shared, actions: example.actions, into: c)
        policy.exploration.probabilities(costs: UnsafeBufferPointer(c), examplesLearned: model.examplesLearned, into: p)
        checksum &+= Sampling.sample(probabilities: UnsafeBufferPointer(p), seed: UInt64(index))
    }
    let seconds = Double(now() - start) / 1e9
    return (Double(examples.count) / seconds, checksum)
}

/// One round of the whole per-event cycle with a fresh learner, as VW runs it: predict every
/// action with the current weights, turn the costs into probabilities, then learn the example.
func cycleRound(_ examples: [Example], policy: LearningPolicy) -> (rate: Double, checksum: Int) {
    let learner = LinearLearner(policy: policy)
    let maxActions = examples.map(\.actions.count).max() ?? 1
    let costs = UnsafeMutableBufferPointer<Double>.allocate(capacity: maxActions)
    let probabilities = UnsafeMutableBufferPointer<Double>.allocate(capacity: maxActions)
    defer { costs.deallocate(); probabilities.deallocate() }
    var checksum = 0
    let start = now()
    for (index, example) in examples.enumerated() {
        let k = example.actions.count
        for a in 0..<k { costs[a] = learner.predictCost(shared: example.shared, action: example.actions[a]) }
        let c = UnsafeBufferPointer(rebasing: costs[0..<k])
        let p = UnsafeMutableBufferPointer(rebasing: probabilities[0..<k])
        policy.exploration.probabilities(costs: c, examplesLearned: learner.examplesLearned, into: p)
        checksum &+= Sampling.sample(probabilities: UnsafeBufferPointer(p), seed: UInt64(index))
        learner.learn(shared: example.shared, actions: example.actions, chosen: example.chosen,
                      probability: example.probability, cost: example.cost)
    }
    let seconds = Double(now() - start) / 1e9
    return (Double(examples.count) / seconds, checksum)
}

func throughput(examples: [Example], policyArguments: String, rounds: Int, json: Bool) throws {
    let policy = try LearningPolicy.parse(policyArguments)
    var learnRates: [Double] = []
    var predictRates: [Double] = []
    var cycleRates: [Double] = []
    var checksum = 0
    _ = learnRound(Array(examples.prefix(200)), policy: policy) // warm up
    for _ in 0..<rounds {
        let (rate, learner) = learnRound(examples, policy: policy)
        learnRates.append(rate)
        let model = learner.makeScoringModel()
        let predicted = predictRound(examples, model: model, policy: policy)
        predictRates.append(predicted.rate)
        checksum &+= predicted.checksum
        let cycle = cycleRound(examples, policy: policy)
        cycleRates.append(cycle.rate)
        checksum &+= cycle.checksum
    }
    let actions = examples.map(\.actions.count).reduce(0, +) / max(examples.count, 1)
    let contextFeatures = examples.map(\.shared.count).reduce(0, +) / max(examples.count, 1)
    if json {
        let result: [String: Any] = [
            "examples": examples.count, "rounds": rounds, "policy": policyArguments,
            "actions": actions, "context_features": contextFeatures,
            "learn_events_per_second": learnRates.map { $0.rounded() },
            "predict_events_per_second": predictRates.map { $0.rounded() },
            "cycle_events_per_second": cycleRates.map { $0.rounded() },
            "learn_median": median(learnRates).rounded(), "predict_median": median(predictRates).rounded(),
            "cycle_median": median(cycleRates).rounded(),
            "checksum": checksum,
        ]
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    } else {
        print("examples \(examples.count), \(actions) actions, \(contextFeatures) context features; policy \(policyArguments)")
        print(String(format: "learn   median %.0f events/s  (rounds: %@)", median(learnRates),
                     learnRates.map { String(format: "%.0f", $0) }.joined(separator: " ")))
        print(String(format: "predict median %.0f events/s  (rounds: %@)", median(predictRates),
                     predictRates.map { String(format: "%.0f", $0) }.joined(separator: " ")))
        print(String(format: "cycle   median %.0f events/s  (rounds: %@)", median(cycleRates),
                     cycleRates.map { String(format: "%.0f", $0) }.joined(separator: " ")))
    }
}

func replay(examples: [Example], policyArguments: String) throws {
    let policy = try LearningPolicy.parse(policyArguments)
    let learner = LinearLearner(policy: policy)
    var out = ""
    for example in examples {
        let costs = example.actions.map { learner.predictCost(shared: example.shared, action: $0) }
        out += costs.map { String(format: "%.7g", $0) }.joined(separator: " ") + "\n"
        learner.learn(shared: example.shared, actions: example.actions, chosen: example.chosen,
                      probability: example.probability, cost: example.cost)
        if out.utf8.count > 1 << 16 { print(out, terminator: ""); out = "" }
    }
    print(out, terminator: "")
}

// MARK: - Command line

func run() throws {
    var arguments = Array(CommandLine.arguments.dropFirst())
    guard let mode = arguments.first, ["throughput", "replay"].contains(mode) else {
        throw BenchError.usage("usage: personalizer-bench-learner throughput|replay --examples FILE [--policy ARGS] [--rounds N] [--json]")
    }
    arguments.removeFirst()
    var examplesPath: String?
    var policyArguments = "--cb_explore_adf --epsilon 0.2 --power_t 0 -l 0.5 --cb_type mtr -q ::"
    var rounds = 5
    var json = false
    while !arguments.isEmpty {
        let flag = arguments.removeFirst()
        switch flag {
        case "--json": json = true
        case "--examples", "--policy", "--rounds":
            guard !arguments.isEmpty else { throw BenchError.usage("\(flag) needs a value") }
            let value = arguments.removeFirst()
            if flag == "--examples" { examplesPath = value }
            if flag == "--policy" { policyArguments = value }
            if flag == "--rounds" {
                guard let n = Int(value), n > 0 else { throw BenchError.usage("--rounds needs a positive number") }
                rounds = n
            }
        default: throw BenchError.usage("unknown argument \(flag)")
        }
    }
    guard let examplesPath else { throw BenchError.usage("--examples FILE is required") }
    let examples = try parseExamples(path: examplesPath)
    guard !examples.isEmpty else { throw BenchError.usage("no examples in \(examplesPath)") }
    if mode == "throughput" {
        try throughput(examples: examples, policyArguments: policyArguments, rounds: rounds, json: json)
    } else {
        try replay(examples: examples, policyArguments: policyArguments)
    }
}

do {
    try run()
} catch {
    FileHandle.standardError.write(Data("personalizer-bench-learner: \(error)\n".utf8))
    exit(2)
}
