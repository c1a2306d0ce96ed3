#if canImport(Glibc)
import Glibc
#endif
import CProtobufC
import PersonalizerEngine
import PersonalizerProto

/// Turns a loop's log into Vowpal Wabbit's decision-service JSON (`--dsjson`): one line per
/// event whose reward window closed, with its features, the actions it chose among, their
/// probabilities, the reward and the model version.
///
/// Line layout: `_label_cost` (−reward), `_label_probability`, `_label_Action` and `_labelIndex`
/// (the chosen action, 1- and 0-based, into `c._multi`), `o` (the reward as observed, when one
/// came), `Timestamp`, `Version`, `EventId`, `a` (the ranking as 1-based indexes into `_multi`,
/// chosen first), `c` (context namespaces, and `_multi`: the candidate actions' namespaces, with
/// the action id as `_id`), `p` (probabilities aligned with `a`), `VWState.m` (the model
/// version that decided), and `_skipLearn: true` for a deferred event that was never activated.
public struct DecisionServiceExporter {
    private struct PendingRank {
        let time: UInt64
        let export: RankExport
        let modelVersion: UInt64
    }

    private var ranks: [String: PendingRank] = [:]
    private let since: UInt64
    public private(set) var skippedWithoutRequest = 0
    public private(set) var undecodable = 0

    /// - Parameter since: only events ranked at or after this time (nanoseconds since 1970).
    public init(since: UInt64 = 0) { self.since = since }

    /// Feeds one log record; returns a JSON line when the record completes an event.
    public mutating func consume(_ record: LogRecord) -> String? {
        switch record {
        case .rank(let eventID, let time, _, let example, let export, _):
            guard time >= since else { return nil }
            guard let export else {
                skippedWithoutRequest += 1
                return nil
            }
            ranks[eventID] = PendingRank(time: time, export: export, modelVersion: example.modelVersion)
            return nil
        case .outcome(let eventID, _, let reward, let rewarded, let learned):
            guard let rank = ranks.removeValue(forKey: eventID) else { return nil }
            guard let line = Self.line(eventID: eventID, rank: rank, reward: reward, rewarded: rewarded,
                                       learned: learned) else {
                undecodable += 1
                return nil
            }
            return line
        default:
            return nil
        }
    }

    private static func line(eventID: String, rank: PendingRank, reward: Double, rewarded: Bool,
                             learned: Bool) -> String? {
        let decoded = rank.export.request.withUnsafeBytes { raw in
            personalizer__v1__request__unpack(nil, raw.count, raw.baseAddress?.assumingMemoryBound(to: UInt8.self))
        }
        guard let request = decoded else { return nil }
        defer { personalizer__v1__request__free_unpacked(request, nil) }
        guard request.pointee.call_case == PERSONALIZER__V1__REQUEST__CALL_RANK else { return nil }
        let call = request.pointee.rank.pointee
        let probabilities = rank.export.probabilities
        guard probabilities.count == call.n_actions, rank.export.chosenRequestIndex < call.n_actions else { return nil }
        var excluded = Set<String>()
        for index in 0..<call.n_excluded_action_ids { excluded.insert(String(cString: call.excluded_action_ids[index]!)) }

        // Candidates in request order become `_multi`; the ranking lists them chosen first.
        var multi: [Int] = []
        for index in 0..<call.n_actions where !excluded.contains(String(cString: call.actions[index]!.pointee.id)) {
            multi.append(index)
        }
        guard let chosenSlot = multi.firstIndex(of: rank.export.chosenRequestIndex) else { return nil }
        let others = multi.indices.filter { $0 != chosenSlot }.sorted {
            probabilities[multi[$0]] != probabilities[multi[$1]] ? probabilities[multi[$0]] > probabilities[multi[$1]] : $0 < $1
        }
        let ranking = [chosenSlot] + others

        var json = JSONWriter()
        json.open("{")
        json.key("_label_cost"); json.number(-reward)
        json.key("_label_probability"); json.number(probabilities[rank.export.chosenRequestIndex])
        json.key("_label_Action"); json.integer(chosenSlot + 1)
        json.key("_labelIndex"); json.integer(chosenSlot)
        if rewarded {
            json.key("o"); json.open("[")
            json.open("{"); json.key("v"); json.number(reward); json.key("EventId"); json.string(eventID); json.close("}")
            json.close("]")
        }
        json.key("Timestamp"); json.string(Self.timestamp(rank.time))
        json.key("Version"); json.string("1")
        json.key("EventId"); json.string(eventID)
        json.key("a"); json.open("[")
        for slot in ranking { json.integer(slot + 1) }
        json.close("]")
        json.key("c"); json.open("{")
        writeNamespaces(call.context_features, count: call.n_context_features, into: &json)
        json.key("_multi"); json.open("[")
        for index in multi {
            let action = call.actions[index]!.pointee
            json.open("{")
            json.key("_id"); json.string(String(cString: action.id))
            writeNamespaces(action.features, count: action.n_features, into: &json)
            json.close("}")
        }
        json.close("]")
        json.close("}")
        json.key("p"); json.open("[")
        for slot in ranking { json.number(probabilities[multi[slot]]) }
        json.close("]")
        json.key("VWState"); json.open("{"); json.key("m"); json.string(String(rank.modelVersion)); json.close("}")
        if !learned { json.key("_skipLearn"); json.raw("true") }
        json.close("}")
        return json.text
    }

    /// Namespaces as JSON objects; features of the unnamed namespace go at the top level, as VW reads them.
    private static func writeNamespaces(
        _ namespaces: UnsafeMutablePointer<UnsafeMutablePointer<Personalizer__V1__Namespace>?>?, count: Int,
        into json: inout JSONWriter
    ) {
        for index in 0..<count {
            let namespace = namespaces![index]!.pointee
            let name = String(cString: namespace.name)
            if !name.isEmpty { json.key(name); json.open("{") }
            for featureIndex in 0..<namespace.n_features {
                let feature = namespace.features[featureIndex]!.pointee
                json.key(String(cString: feature.name))
                if feature.value_case == PERSONALIZER__V1__FEATURE__VALUE_TEXT {
                    json.string(String(cString: feature.text))
                } else {
                    json.number(feature.number)
                }
            }
            if !name.isEmpty { json.close("}") }
        }
    }

    /// `2026-01-01T00:00:00.0000000Z`, the decision service's timestamp form.
    static func timestamp(_ nanoseconds: UInt64) -> String {
        var seconds = time_t(nanoseconds / 1_000_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let ticks = (nanoseconds % 1_000_000_000) / 100
        let fraction = String(ticks)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + String(repeating: "0", count: 7 - fraction.count) + fraction + "Z"
    }
}

/// Writes compact JSON, inserting commas where they belong.
struct JSONWriter {
    private(set) var text = ""
    private var needsComma = false

    private mutating func separate() {
        if needsComma { text += "," }
        needsComma = true
    }

    mutating func open(_ bracket: Character) {
        separate()
        text.append(bracket)
        needsComma = false
    }

    mutating func close(_ bracket: Character) {
        text.append(bracket)
        needsComma = true
    }

    mutating func key(_ name: String) {
        separate()
        appendQuoted(name)
        text += ":"
        needsComma = false
    }

    mutating func string(_ value: String) {
        separate()
        appendQuoted(value)
    }

    mutating func integer(_ value: Int) {
        separate()
        text += String(value)
    }

    /// A finite number; JSON has no NaN or infinity (the server never accepts them anyway).
    mutating func number(_ value: Double) {
        separate()
        text += value.isFinite ? (value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) + ".0" : "\(value)") : "0"
    }

    mutating func raw(_ literal: String) {
        separate()
        text += literal
    }

    private mutating func appendQuoted(_ value: String) {
        text += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        text += "\""
    }
}
