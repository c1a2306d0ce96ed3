/// One namespace's run of features inside a `HashedFeatures`.
public struct NamespaceSpan: Sendable, Equatable {
    /// First byte of the namespace name, as VW's `-q` uses it (' ' for the default namespace).
    /// Two namespaces with the same first byte are separate spans with the same key, and
    /// interactions treat them as one namespace, as VW does.
    public var interactionKey: UInt8
    /// Hash of the namespace name: the seed of its features' hashes.
    public var namespaceHash: UInt32
    public var start: Int32
    public var count: Int32

    @inlinable
    public init(interactionKey: UInt8, namespaceHash: UInt32, start: Int32, count: Int32) {
        self.interactionKey = interactionKey
        self.namespaceHash = namespaceHash
        self.start = start
        self.count = count
    }
}

/// The hashed features of one part of an example: the shared context, or one action.
///
/// Flat and reusable: `removeAll(keepingCapacity:)` keeps the storage, so a request handler can
/// rebuild it for every request without allocating. Hashes are unmasked; the model masks them.
public struct HashedFeatures: Sendable, Equatable {
    // Storage is internal (usable from inlinable builders) so spans always stay consistent.
    @usableFromInline var storedIndices: [UInt32] = []
    @usableFromInline var storedValues: [Float] = []
    @usableFromInline var storedSpans: [NamespaceSpan] = []

    /// Unmasked feature hashes, namespace after namespace.
    @inlinable public var indices: [UInt32] { storedIndices }
    /// Feature values, aligned with `indices`.
    @inlinable public var values: [Float] { storedValues }
    /// The namespaces, in the order they were begun.
    @inlinable public var spans: [NamespaceSpan] { storedSpans }

    @inlinable
    public init() {}

    @inlinable
    public init(reservingFeatures features: Int, namespaces: Int = 4) {
        storedIndices.reserveCapacity(features)
        storedValues.reserveCapacity(features)
        storedSpans.reserveCapacity(namespaces)
    }

    /// Refills from stored parts, keeping the storage (the trainer decodes every event into the
    /// same buffers): `spanCount` namespaces described by `span`, then the features' hashes and
    /// values as little-endian 32-bit words. The spans' counts must add up to the features'.
    @inlinable
    public mutating func reload(spanCount: Int, span: (Int) -> (key: UInt8, hash: UInt32, count: Int32),
                                indices: UnsafeRawBufferPointer, values: UnsafeRawBufferPointer) {
        removeAll(keepingCapacity: true)
        var start: Int32 = 0
        for index in 0..<spanCount {
            let (key, hash, count) = span(index)
            storedSpans.append(NamespaceSpan(interactionKey: key, namespaceHash: hash, start: start, count: count))
            start += count
        }
        precondition(Int(start) * 4 == indices.count && indices.count == values.count, "spans do not cover the features")
        // Grown in place, then copied whole: the source may be unaligned.
        let count = Int(start)
        storedIndices.append(contentsOf: repeatElement(0, count: count))
        storedValues.append(contentsOf: repeatElement(0, count: count))
        storedIndices.withUnsafeMutableBytes { $0.copyMemory(from: indices) }
        storedValues.withUnsafeMutableBytes { $0.copyMemory(from: values) }
    }

    /// Number of features (all namespaces).
    @inlinable public var count: Int { storedIndices.count }
    @inlinable public var isEmpty: Bool { storedIndices.isEmpty }

    @inlinable
    public mutating func removeAll(keepingCapacity: Bool = true) {
        storedIndices.removeAll(keepingCapacity: keepingCapacity)
        storedValues.removeAll(keepingCapacity: keepingCapacity)
        storedSpans.removeAll(keepingCapacity: keepingCapacity)
    }

    /// Starts a namespace with a precomputed key and hash.
    @inlinable
    public mutating func beginNamespace(key: UInt8, hash: UInt32) {
        storedSpans.append(NamespaceSpan(interactionKey: key, namespaceHash: hash,
                                   start: Int32(truncatingIfNeeded: storedIndices.count), count: 0))
    }

    /// Starts a namespace; following features belong to it. An empty name is VW's default
    /// namespace (key ' ', hash 0).
    @inlinable
    public mutating func beginNamespace(name: UnsafeRawBufferPointer) {
        beginNamespace(key: FeatureHashing.interactionKey(name), hash: FeatureHashing.namespaceHash(name))
    }

    @inlinable
    public mutating func beginNamespace(name: String) {
        FeatureHashing.withBytes(name) { beginNamespace(name: $0) }
    }

    /// Adds a feature by its hash (already seeded with the current namespace's hash).
    @inlinable
    public mutating func add(hash: UInt32, value: Float) {
        if storedSpans.isEmpty { beginNamespace(key: FeatureHashing.defaultNamespaceKey, hash: 0) }
        storedIndices.append(hash)
        storedValues.append(value)
        storedSpans[storedSpans.count - 1].count += 1
    }

    /// Adds a categorical feature `name=value` with weight 1.
    @inlinable
    public mutating func addText(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        add(hash: FeatureHashing.textFeatureHash(name: name, value: value, namespaceHash: currentNamespaceHash),
            value: 1)
    }

    @inlinable
    public mutating func addText(name: String, value: String) {
        add(hash: FeatureHashing.textFeatureHash(name: name, value: value, namespaceHash: currentNamespaceHash),
            value: 1)
    }

    /// Adds a numeric feature; zero values are dropped, as VW drops them.
    @inlinable
    public mutating func addNumber(name: UnsafeRawBufferPointer, value: Double) {
        let x = Float(value)
        guard x != 0 else { return }
        add(hash: FeatureHashing.numberFeatureHash(name: name, namespaceHash: currentNamespaceHash), value: x)
    }

    @inlinable
    public mutating func addNumber(name: String, value: Double) {
        let x = Float(value)
        guard x != 0 else { return }
        add(hash: FeatureHashing.numberFeatureHash(name: name, namespaceHash: currentNamespaceHash), value: x)
    }

    /// Seed of the next feature: the current namespace's hash (the default namespace's, 0,
    /// before any `beginNamespace`).
    @inlinable
    var currentNamespaceHash: UInt32 { storedSpans.isEmpty ? 0 : storedSpans[storedSpans.count - 1].namespaceHash }
}
