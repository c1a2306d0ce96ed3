import PersonalizerProto

/// One feature of a Rank, as slices of the request (or of protobuf-c's strings).
struct RankViewFeature {
    enum Value: UInt8 { case none, text, number }

    var name: UnsafeRawBufferPointer
    var value: Value
    /// `value == .text`: the text.
    var text: UnsafeRawBufferPointer
    /// `value == .number`: the number.
    var number: Double
}

/// A namespace: its name and its run of `RankView.features`.
struct RankViewNamespace {
    var name: UnsafeRawBufferPointer
    var featureStart: Int
    var featureCount: Int
}

/// An action: its id and its run of `RankView.namespaces`.
struct RankViewAction {
    var id: UnsafeRawBufferPointer
    var namespaceStart: Int
    var namespaceCount: Int
    /// The action's message as it is on the wire (empty when filled from protobuf-c): what
    /// `ActionFeatureCache` knows it by.
    var bytes = UnsafeRawBufferPointer(start: nil, count: 0)
    /// The cache slot holding this action when it was found there; its namespaces were then
    /// not read (`namespaceCount` is 0 until `RequestWireReader.readNamespaces` reads them).
    var keptSlot = -1
}

/// A decoded `RankRequest`, flat, reused from one request to the next: the bytes it points at
/// belong to the frame (or to protobuf-c's unpacked message) and are valid while it is handled.
///
/// Filled either by `RequestWireReader` straight from the wire bytes (the fast path: no allocation
/// once the arrays have grown) or from protobuf-c's unpacked message (the definition, used when
/// the reader declines). The differential test proves both fill it the same way.
struct RankView {
    var eventID = UnsafeRawBufferPointer(start: nil, count: 0)
    var deferActivation = false
    var features: [RankViewFeature] = []
    var namespaces: [RankViewNamespace] = []
    /// Indices into `namespaces` of the context's namespaces, in request order.
    var contextNamespaces: [Int] = []
    var actions: [RankViewAction] = []
    var excludedActionIDs: [UnsafeRawBufferPointer] = []

    mutating func removeAll() {
        eventID = UnsafeRawBufferPointer(start: nil, count: 0)
        deferActivation = false
        features.removeAll(keepingCapacity: true)
        namespaces.removeAll(keepingCapacity: true)
        contextNamespaces.removeAll(keepingCapacity: true)
        actions.removeAll(keepingCapacity: true)
        excludedActionIDs.removeAll(keepingCapacity: true)
    }

    /// The namespaces of `action`.
    @inline(__always)
    func namespaceRange(of action: RankViewAction) -> Range<Int> {
        action.namespaceStart..<(action.namespaceStart + action.namespaceCount)
    }

    /// The features of `namespace`.
    @inline(__always)
    func featureRange(of namespace: RankViewNamespace) -> Range<Int> {
        namespace.featureStart..<(namespace.featureStart + namespace.featureCount)
    }

    // MARK: from protobuf-c

    /// Fills the view from protobuf-c's unpacked message (whose strings it points at).
    mutating func fill(from request: Personalizer__V1__RankRequest) {
        removeAll()
        eventID = request.event_id.bytes
        deferActivation = request.defer_activation != 0
        for index in 0..<request.n_context_features {
            contextNamespaces.append(namespaces.count)
            appendNamespace(request.context_features[index]!.pointee)
        }
        for index in 0..<request.n_actions {
            let action = request.actions[index]!.pointee
            let start = namespaces.count
            for namespaceIndex in 0..<action.n_features { appendNamespace(action.features[namespaceIndex]!.pointee) }
            actions.append(RankViewAction(id: action.id.bytes, namespaceStart: start, namespaceCount: action.n_features))
        }
        for index in 0..<request.n_excluded_action_ids {
            excludedActionIDs.append(request.excluded_action_ids[index]!.bytes)
        }
    }

    private mutating func appendNamespace(_ namespace: Personalizer__V1__Namespace) {
        let start = features.count
        for index in 0..<namespace.n_features {
            let feature = namespace.features[index]!.pointee
            let empty = UnsafeRawBufferPointer(start: nil, count: 0)
            switch feature.value_case {
            case PERSONALIZER__V1__FEATURE__VALUE_TEXT:
                features.append(RankViewFeature(name: feature.name.bytes, value: .text, text: feature.text.bytes, number: 0))
            case PERSONALIZER__V1__FEATURE__VALUE_NUMBER:
                features.append(RankViewFeature(name: feature.name.bytes, value: .number, text: empty, number: feature.number))
            default:
                features.append(RankViewFeature(name: feature.name.bytes, value: .none, text: empty, number: 0))
            }
        }
        namespaces.append(RankViewNamespace(name: namespace.name.bytes, featureStart: start,
                                        featureCount: namespace.n_features))
    }
}
