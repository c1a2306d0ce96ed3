/// The fields of a `Request` that every call needs.
struct RequestHeader {
    var id: UInt64 = 0
    var loop = UnsafeRawBufferPointer(start: nil, count: 0)
    var token = UnsafeRawBufferPointer(start: nil, count: 0)
}

/// The call a request makes, with its arguments as slices of the frame. A Rank's arguments are
/// in the `RankView` it was read into.
enum RequestCall {
    case rank
    case reward(eventID: UnsafeRawBufferPointer, value: Double)
    case activate(eventID: UnsafeRawBufferPointer)
    case status
}

/// Reads a `Request` straight from its wire bytes: the header, the call, and a Rank's content
/// into a `RankView`. No copy, no allocation once the view's arrays have grown, and about a
/// tenth of the time protobuf-c's unpack (malloc for every message and string) and free take.
///
/// protobuf-c stays the definition of the format. The reader follows its decoding rules —
/// the last value of a scalar or string wins; a later member of a oneof replaces an earlier
/// one, even another occurrence of the same member (a second `rank` is not merged into the
/// first); every occurrence of a message field must itself parse; unknown fields are skipped;
/// a bool is read under any wire type; strings end at their first NUL, as protobuf-c's C
/// strings do — and it declines (returns nil) whenever the frame is malformed or makes no call,
/// so that protobuf-c decides which error the frame gets. `RequestWireReaderTests` and the fuzz
/// target check, input by input, that reader and protobuf-c agree (`WireReaderDifferential`).
enum RequestWireReader {
    // Field numbers, from proto/personalizer/v1/personalizer.proto.
    private enum RequestField {
        static let id: UInt32 = 1, loop: UInt32 = 2, token: UInt32 = 3
        static let rank: UInt32 = 10, reward: UInt32 = 11, activate: UInt32 = 12, status: UInt32 = 13
    }
    private enum RankField {
        static let contextFeatures: UInt32 = 1, actions: UInt32 = 2, excludedActionIDs: UInt32 = 3
        static let eventID: UInt32 = 4, deferActivation: UInt32 = 5
    }

    /// Fills `header` (and `view`, for a Rank) when `frame` is a well-formed `Request` that
    /// makes a call.
    /// - Returns: the call; nil for anything else (no call, malformed bytes), when `header`
    ///   and `view` are meaningless.
    /// - Parameter knownActions: actions read before; one found there is not read again (its
    ///   bytes parse as they did), only marked with its slot.
    static func read(_ frame: UnsafeRawBufferPointer, header: inout RequestHeader, into view: inout RankView,
                     knownActions: ActionFeatureCache? = nil) -> RequestCall? {
        header = RequestHeader()
        do {
            return try readRequest(frame, header: &header, view: &view, knownActions: knownActions)
        } catch {
            return nil
        }
    }

    /// Reads the namespaces of action `index`, found in the cache (and so not read), for when
    /// the request needs them after all. Its bytes were read in full before: they parse.
    static func readNamespaces(of index: Int, into view: inout RankView) {
        var action = view.actions[index]
        action.namespaceStart = view.namespaces.count
        action.namespaceCount = 0
        action.keptSlot = -1
        do {
            var scanner = WireScanner(action.bytes)
            while let field = try scanner.next() {
                guard field.number == 2 else { continue }
                try expect(field, WireField.lengthDelimited)
                try readNamespace(field.payload, into: &view)
                action.namespaceCount += 1
            }
        } catch {
            preconditionFailure("the bytes of an action read before no longer parse")
        }
        view.actions[index] = action
    }

    private static func readRequest(_ frame: UnsafeRawBufferPointer, header: inout RequestHeader,
                                    view: inout RankView, knownActions: ActionFeatureCache?) throws(WireError) -> RequestCall? {
        var scanner = WireScanner(frame)
        var call: RequestCall?
        while let field = try scanner.next() {
            switch field.number {
            case RequestField.id:
                try expect(field, WireField.varint)
                header.id = field.scalar
            case RequestField.loop:
                try expect(field, WireField.lengthDelimited)
                header.loop = field.cStringBytes
            case RequestField.token:
                try expect(field, WireField.lengthDelimited)
                header.token = field.cStringBytes
            case RequestField.rank:
                try expect(field, WireField.lengthDelimited)
                try readRank(field.payload, into: &view, knownActions: knownActions)
                call = .rank
            case RequestField.reward:
                try expect(field, WireField.lengthDelimited)
                call = try readReward(field.payload)
            case RequestField.activate:
                try expect(field, WireField.lengthDelimited)
                call = try readActivate(field.payload)
            case RequestField.status:
                try expect(field, WireField.lengthDelimited)
                try skipFields(field.payload)
                call = .status
            default:
                break  // unknown field
            }
        }
        return call
    }

    /// Reward: 1 event id, 2 value.
    private static func readReward(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> RequestCall {
        var eventID = UnsafeRawBufferPointer(start: nil, count: 0)
        var value = 0.0
        var scanner = WireScanner(bytes)
        while let field = try scanner.next() {
            switch field.number {
            case 1:
                try expect(field, WireField.lengthDelimited)
                eventID = field.cStringBytes
            case 2:
                try expect(field, WireField.fixed64)
                value = Double(bitPattern: field.scalar)
            default:
                break
            }
        }
        return .reward(eventID: eventID, value: value)
    }

    /// Activate: 1 event id.
    private static func readActivate(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> RequestCall {
        var eventID = UnsafeRawBufferPointer(start: nil, count: 0)
        var scanner = WireScanner(bytes)
        while let field = try scanner.next() {
            guard field.number == 1 else { continue }
            try expect(field, WireField.lengthDelimited)
            eventID = field.cStringBytes
        }
        return .activate(eventID: eventID)
    }

    /// A message with no known fields (Status): its unknown fields must still parse.
    private static func skipFields(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
        var scanner = WireScanner(bytes)
        while try scanner.next() != nil {}
    }

    private static func readRank(_ bytes: UnsafeRawBufferPointer, into view: inout RankView,
                                 knownActions: ActionFeatureCache?) throws(WireError) {
        view.removeAll()
        var scanner = WireScanner(bytes)
        while let field = try scanner.next() {
            switch field.number {
            case RankField.contextFeatures:
                try expect(field, WireField.lengthDelimited)
                view.contextNamespaces.append(view.namespaces.count)
                try readNamespace(field.payload, into: &view)
            case RankField.actions:
                try expect(field, WireField.lengthDelimited)
                try readAction(field.payload, into: &view, knownActions: knownActions)
            case RankField.excludedActionIDs:
                try expect(field, WireField.lengthDelimited)
                view.excludedActionIDs.append(field.cStringBytes)
            case RankField.eventID:
                try expect(field, WireField.lengthDelimited)
                view.eventID = field.cStringBytes
            case RankField.deferActivation:
                // protobuf-c reads a bool under any wire type (`boolValue`).
                view.deferActivation = field.boolValue
            default:
                break
            }
        }
    }

    /// Action: 1 id, 2 namespaces.
    private static func readAction(_ bytes: UnsafeRawBufferPointer, into view: inout RankView,
                                   knownActions: ActionFeatureCache?) throws(WireError) {
        // The cache through the parameter, not a local binding (which would be retained across the append).
        if let slot = knownActions?.slot(holding: bytes), let id = knownActions?.id(in: bytes, slot: slot) {
            view.actions.append(RankViewAction(id: id, namespaceStart: view.namespaces.count, namespaceCount: 0,
                                               bytes: bytes, keptSlot: slot))
            return
        }
        var action = RankViewAction(id: UnsafeRawBufferPointer(start: nil, count: 0),
                                namespaceStart: view.namespaces.count, namespaceCount: 0, bytes: bytes)
        var scanner = WireScanner(bytes)
        while let field = try scanner.next() {
            switch field.number {
            case 1:
                try expect(field, WireField.lengthDelimited)
                action.id = field.cStringBytes
            case 2:
                try expect(field, WireField.lengthDelimited)
                // An action's namespaces are read before the next action's: they stay contiguous.
                try readNamespace(field.payload, into: &view)
                action.namespaceCount += 1
            default:
                break
            }
        }
        view.actions.append(action)
    }

    /// Namespace: 1 name, 2 features.
    private static func readNamespace(_ bytes: UnsafeRawBufferPointer, into view: inout RankView) throws(WireError) {
        var namespace = RankViewNamespace(name: UnsafeRawBufferPointer(start: nil, count: 0),
                                      featureStart: view.features.count, featureCount: 0)
        var scanner = WireScanner(bytes)
        while let field = try scanner.next() {
            switch field.number {
            case 1:
                try expect(field, WireField.lengthDelimited)
                namespace.name = field.cStringBytes
            case 2:
                try expect(field, WireField.lengthDelimited)
                view.features.append(try readFeature(field.payload))
                namespace.featureCount += 1
            default:
                break
            }
        }
        view.namespaces.append(namespace)
    }

    /// Feature: 1 name; oneof value { 2 text, 3 number }.
    @inline(__always)
    private static func readFeature(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> RankViewFeature {
        if let feature = readUsualFeature(bytes) { return feature }
        return try readAnyFeature(bytes)
    }

    /// A feature as encoders write it (name, then text or number; lengths under 128): read by
    /// position, without the general field loop. Anything else returns nil and takes that loop,
    /// which gives the same result for these bytes.
    @inline(__always)
    private static func readUsualFeature(_ bytes: UnsafeRawBufferPointer) -> RankViewFeature? {
        guard bytes.count >= 4, let base = bytes.baseAddress else { return nil }
        let end = bytes.count
        guard base.load(as: UInt8.self) == 0x0A else { return nil }  // field 1, length-delimited
        let nameLength = Int(base.load(fromByteOffset: 1, as: UInt8.self))
        let next = 2 + nameLength
        guard nameLength < 0x80, next + 2 <= end else { return nil }
        let name = UnsafeRawBufferPointer(start: base + 2, count: WireField.lengthBeforeNUL(base + 2, nameLength))
        switch base.load(fromByteOffset: next, as: UInt8.self) {
        case 0x12:  // field 2, length-delimited: text
            let textLength = Int(base.load(fromByteOffset: next + 1, as: UInt8.self))
            guard textLength < 0x80, next + 2 + textLength == end else { return nil }
            let text = UnsafeRawBufferPointer(start: base + next + 2,
                                              count: WireField.lengthBeforeNUL(base + next + 2, textLength))
            return RankViewFeature(name: name, value: .text, text: text, number: 0)
        case 0x19:  // field 3, fixed64: number
            guard next + 9 == end else { return nil }
            let bits = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: next + 1, as: UInt64.self))
            return RankViewFeature(name: name, value: .number, text: UnsafeRawBufferPointer(start: nil, count: 0),
                                   number: Double(bitPattern: bits))
        default:
            return nil
        }
    }

    /// A feature in any encoding protobuf-c accepts.
    private static func readAnyFeature(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> RankViewFeature {
        var feature = RankViewFeature(name: UnsafeRawBufferPointer(start: nil, count: 0), value: .none,
                                  text: UnsafeRawBufferPointer(start: nil, count: 0), number: 0)
        var scanner = WireScanner(bytes)
        while let field = try scanner.next() {
            switch field.number {
            case 1:
                try expect(field, WireField.lengthDelimited)
                feature.name = field.cStringBytes
            case 2:
                try expect(field, WireField.lengthDelimited)
                feature.value = .text
                feature.text = field.cStringBytes
                feature.number = 0
            case 3:
                try expect(field, WireField.fixed64)
                feature.value = .number
                feature.number = Double(bitPattern: field.scalar)
                feature.text = UnsafeRawBufferPointer(start: nil, count: 0)
            default:
                break
            }
        }
        return feature
    }

    @inline(__always)
    private static func expect(_ field: WireField, _ wireType: UInt8) throws(WireError) {
        guard field.wireType == wireType else { throw WireError() }
    }
}
