import CProtobufC
import PersonalizerProto

#if canImport(Glibc)
import Glibc
#endif

/// `RequestWireReader` against protobuf-c (the definition of the format) on the same bytes:
/// the reader must accept exactly the frames protobuf-c decodes as a call, and read the same
/// call and content from them. Run on every frame by the fuzz target and on hand-written and
/// mutated frames by `RequestWireReaderTests`. Not on the request path: it unpacks with
/// protobuf-c and allocates.
package enum WireReaderDifferential {
    package enum Verdict: Equatable {
        /// Both read the same call, with the same content.
        case bothAccept
        /// protobuf-c fails or finds no call, and the reader declines.
        case bothDecline
        /// What differs.
        case mismatch(String)
    }

    /// nil when reader and protobuf-c agree on `frame`, else what differs.
    package static func differential(_ frame: UnsafeRawBufferPointer) -> String? {
        if case .mismatch(let message) = compare(frame) { return message }
        return nil
    }

    package static func compare(_ frame: UnsafeRawBufferPointer) -> Verdict {
        var header = RequestHeader()
        var view = RankView()
        let call = RequestWireReader.read(frame, header: &header, into: &view)
        guard let request = personalizer__v1__request__unpack(
            nil, frame.count, frame.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else {
            return call.map { .mismatch("the reader reads a \($0.name) from a frame protobuf-c does not unpack") }
                ?? .bothDecline
        }
        defer { personalizer__v1__request__free_unpacked(request, nil) }
        let unpacked = request.pointee
        let expectedName = callName(unpacked.call_case)
        guard let call else {
            return expectedName.map { .mismatch("protobuf-c unpacks a \($0) the reader declines") } ?? .bothDecline
        }
        guard call.name == expectedName else {
            return .mismatch("the reader reads a \(call.name), protobuf-c \(expectedName ?? "no call")")
        }

        var differences = Differences()
        differences.value("id", reader: header.id, protobufC: unpacked.id)
        differences.bytes("loop", reader: header.loop, protobufC: unpacked.loop)
        differences.bytes("token", reader: header.token, protobufC: unpacked.token)
        switch call {
        case .rank:
            let rank = unpacked.rank.pointee
            differences.view(view, rank, source: "reader")
            // The view protobuf-c's message fills (the fallback path) must say the same.
            var filled = RankView()
            filled.fill(from: rank)
            differences.view(filled, rank, source: "fill(from:)")
        case .reward(let eventID, let value):
            differences.bytes("reward.event_id", reader: eventID, protobufC: unpacked.reward.pointee.event_id)
            differences.bits("reward.value", reader: value, protobufC: unpacked.reward.pointee.value)
        case .activate(let eventID):
            differences.bytes("activate.event_id", reader: eventID, protobufC: unpacked.activate.pointee.event_id)
        case .status:
            break
        }
        return differences.lines.isEmpty ? .bothAccept : .mismatch(differences.lines.joined(separator: "; "))
    }

    private static func callName(_ callCase: Personalizer__V1__Request__CallCase) -> String? {
        switch callCase {
        case PERSONALIZER__V1__REQUEST__CALL_RANK: "rank"
        case PERSONALIZER__V1__REQUEST__CALL_REWARD: "reward"
        case PERSONALIZER__V1__REQUEST__CALL_ACTIVATE: "activate"
        case PERSONALIZER__V1__REQUEST__CALL_STATUS: "status"
        default: nil
        }
    }
}

extension RequestCall {
    /// The call's field name in `Request`.
    var name: String {
        switch self {
        case .rank: "rank"
        case .reward: "reward"
        case .activate: "activate"
        case .status: "status"
        }
    }
}

/// The differences found between a `RankView` and protobuf-c's message, as "path: view …,
/// protobuf-c …" lines (the first few). Paths are closures: built only for a difference.
private struct Differences {
    private(set) var lines: [String] = []
    private var source = "reader"
    private static let maxLines = 8

    mutating func note(_ line: String) {
        if lines.count < Self.maxLines { lines.append(line) }
    }

    mutating func value<T: Equatable>(_ path: @autoclosure () -> String, reader: T, protobufC: T) {
        if reader != protobufC { note("\(path()): \(source) \(reader), protobuf-c \(protobufC)") }
    }

    /// Doubles by bit pattern (NaN payloads and the sign of zero count).
    mutating func bits(_ path: @autoclosure () -> String, reader: Double, protobufC: Double) {
        if reader.bitPattern != protobufC.bitPattern {
            note("\(path()): \(source) \(reader) (0x\(String(reader.bitPattern, radix: 16))), "
                 + "protobuf-c \(protobufC) (0x\(String(protobufC.bitPattern, radix: 16)))")
        }
    }

    /// protobuf-c's string as a C string: its bytes up to the first NUL.
    mutating func bytes(_ path: @autoclosure () -> String, reader: UnsafeRawBufferPointer,
                        protobufC: UnsafeMutablePointer<CChar>?) {
        let expected = protobufC.map { UnsafeRawBufferPointer(start: $0, count: strlen($0)) }
            ?? UnsafeRawBufferPointer(start: nil, count: 0)
        if !reader.equals(expected) {
            note("\(path()): \(source) \(Self.describe(reader)), protobuf-c \(Self.describe(expected))")
        }
    }

    mutating func view(_ view: RankView, _ rank: Personalizer__V1__RankRequest, source: String) {
        self.source = source
        bytes("event_id", reader: view.eventID, protobufC: rank.event_id)
        value("defer_activation", reader: view.deferActivation, protobufC: rank.defer_activation != 0)

        value("context_features.count", reader: view.contextNamespaces.count, protobufC: rank.n_context_features)
        for index in 0..<min(view.contextNamespaces.count, rank.n_context_features) {
            let namespaceIndex = view.contextNamespaces[index]
            guard view.namespaces.indices.contains(namespaceIndex) else {
                note("context_features[\(index)]: \(source) points at namespace \(namespaceIndex) of \(view.namespaces.count)")
                continue
            }
            namespace({ "context_features[\(index)]" }, view, view.namespaces[namespaceIndex],
                      rank.context_features[index]!.pointee)
        }

        value("actions.count", reader: view.actions.count, protobufC: rank.n_actions)
        for index in 0..<min(view.actions.count, rank.n_actions) {
            let action = view.actions[index]
            let expected = rank.actions[index]!.pointee
            bytes("actions[\(index)].id", reader: action.id, protobufC: expected.id)
            value("actions[\(index)].features.count", reader: action.namespaceCount, protobufC: expected.n_features)
            let range = view.namespaceRange(of: action)
            guard range.lowerBound >= 0, range.upperBound <= view.namespaces.count else {
                note("actions[\(index)]: \(source) namespaces \(range) of \(view.namespaces.count)")
                continue
            }
            for offset in 0..<min(range.count, expected.n_features) {
                namespace({ "actions[\(index)].features[\(offset)]" }, view, view.namespaces[range.lowerBound + offset],
                          expected.features[offset]!.pointee)
            }
        }

        value("excluded_action_ids.count", reader: view.excludedActionIDs.count,
              protobufC: rank.n_excluded_action_ids)
        for index in 0..<min(view.excludedActionIDs.count, rank.n_excluded_action_ids) {
            bytes("excluded_action_ids[\(index)]", reader: view.excludedActionIDs[index],
                  protobufC: rank.excluded_action_ids[index])
        }
    }

    private mutating func namespace(_ path: () -> String, _ view: RankView, _ namespace: RankViewNamespace,
                                    _ expected: Personalizer__V1__Namespace) {
        bytes("\(path()).name", reader: namespace.name, protobufC: expected.name)
        value("\(path()).features.count", reader: namespace.featureCount, protobufC: expected.n_features)
        let range = view.featureRange(of: namespace)
        guard range.lowerBound >= 0, range.upperBound <= view.features.count else {
            note("\(path()): \(source) features \(range) of \(view.features.count)")
            return
        }
        for offset in 0..<min(range.count, expected.n_features) {
            feature({ "\(path()).features[\(offset)]" }, view.features[range.lowerBound + offset],
                    expected.features[offset]!.pointee)
        }
    }

    private mutating func feature(_ path: () -> String, _ feature: RankViewFeature, _ expected: Personalizer__V1__Feature) {
        bytes("\(path()).name", reader: feature.name, protobufC: expected.name)
        switch expected.value_case {
        case PERSONALIZER__V1__FEATURE__VALUE_TEXT:
            value("\(path()).value", reader: feature.value, protobufC: .text)
            if feature.value == .text { bytes("\(path()).text", reader: feature.text, protobufC: expected.text) }
        case PERSONALIZER__V1__FEATURE__VALUE_NUMBER:
            value("\(path()).value", reader: feature.value, protobufC: .number)
            if feature.value == .number { bits("\(path()).number", reader: feature.number, protobufC: expected.number) }
        default:
            value("\(path()).value", reader: feature.value, protobufC: .none)
        }
    }

    /// Bytes as a quoted string, non-printable bytes escaped, with the count.
    static func describe(_ bytes: UnsafeRawBufferPointer) -> String {
        var text = "\""
        for byte in bytes.prefix(48) {
            if byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                text += "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return text + (bytes.count > 48 ? "…" : "") + "\" (\(bytes.count) bytes)"
    }
}
