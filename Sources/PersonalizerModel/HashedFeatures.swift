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
/// A value (copy on write) over flat storage that a request handler rebuilds for every request:
/// `removeAll()` keeps the memory, and adding a feature is two stores and a count, with one
/// uniqueness check and no reference counting of per-array buffers. Hashes are unmasked; the
/// model masks them.
public struct HashedFeatures: Sendable, Equatable {
    @usableFromInline var storage: FeatureStorage

    @inlinable
    public init() { storage = FeatureStorage.empty }

    @inlinable
    public init(reservingFeatures features: Int, namespaces: Int = 4) {
        storage = FeatureStorage(capacity: features, spanCapacity: namespaces)
    }

    /// Unmasked feature hashes, namespace after namespace (a copy).
    public var indices: [UInt32] { Array(UnsafeBufferPointer(start: storage.indices, count: storage.count)) }
    /// Feature values, aligned with `indices` (a copy).
    public var values: [Float] { Array(UnsafeBufferPointer(start: storage.values, count: storage.count)) }
    /// The namespaces, in the order they were begun (a copy).
    public var spans: [NamespaceSpan] { Array(UnsafeBufferPointer(start: storage.spans, count: storage.spanCount)) }

    /// The namespaces, hashes and values in place, for reading without copying; valid inside `body`.
    @inlinable @inline(__always)
    public func withParts<R>(_ body: (_ spans: UnsafeBufferPointer<NamespaceSpan>, _ indices: UnsafeBufferPointer<UInt32>,
                                      _ values: UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) {
            try body(UnsafeBufferPointer(start: storage.spans, count: storage.spanCount),
                     UnsafeBufferPointer(start: storage.indices, count: storage.count),
                     UnsafeBufferPointer(start: storage.values, count: storage.count))
        }
    }

    /// Refills from stored parts, keeping the storage (the trainer decodes every event into the
    /// same buffers): `spanCount` namespaces described by `span`, then the features' hashes and
    /// values as little-endian 32-bit words. The spans' counts must add up to the features'.
    @inlinable
    public mutating func reload(spanCount: Int, span: (Int) -> (key: UInt8, hash: UInt32, count: Int32),
                                indices: UnsafeRawBufferPointer, values: UnsafeRawBufferPointer) {
        removeAll()
        let storage = uniqueStorage()
        storage.reserveSpans(spanCount)
        var start: Int32 = 0
        for index in 0..<spanCount {
            let (key, hash, count) = span(index)
            storage.spans[index] = NamespaceSpan(interactionKey: key, namespaceHash: hash, start: start, count: count)
            start += count
        }
        storage.spanCount = spanCount
        precondition(Int(start) * 4 == indices.count && indices.count == values.count, "spans do not cover the features")
        let count = Int(start)
        storage.reserveFeatures(count)
        // Copied whole: the source may be unaligned.
        UnsafeMutableRawPointer(storage.indices).copyMemory(from: indices.baseAddress!, byteCount: indices.count)
        UnsafeMutableRawPointer(storage.values).copyMemory(from: values.baseAddress!, byteCount: values.count)
        storage.count = count
    }

    /// Number of features (all namespaces).
    @inlinable public var count: Int { storage.count }
    @inlinable public var isEmpty: Bool { storage.count == 0 }
    /// Features it holds without growing.
    @inlinable public var capacity: Int { storage.capacity }

    /// Empties the features; the storage is kept either way (the parameter is kept for callers
    /// written against arrays).
    @inlinable
    public mutating func removeAll(keepingCapacity: Bool = true) {
        guard storage.count > 0 || storage.spanCount > 0 else { return }
        let storage = uniqueStorage()
        storage.count = 0
        storage.spanCount = 0
    }

    /// Makes this equal to `other`, copying into this value's own storage (kept from one use
    /// to the next) rather than sharing `other`'s.
    @inlinable
    public mutating func assign(_ other: HashedFeatures) {
        guard storage !== other.storage else { return }
        let storage = uniqueStorage()
        let source = other.storage
        storage.count = 0
        storage.spanCount = 0
        storage.reserveFeatures(source.count)
        storage.reserveSpans(source.spanCount)
        storage.indices.update(from: source.indices, count: source.count)
        storage.values.update(from: source.values, count: source.count)
        storage.spans.update(from: source.spans, count: source.spanCount)
        storage.count = source.count
        storage.spanCount = source.spanCount
    }

    /// Starts a namespace with a precomputed key and hash.
    @inlinable
    public mutating func beginNamespace(key: UInt8, hash: UInt32) {
        let storage = uniqueStorage()
        storage.reserveSpans(storage.spanCount + 1)
        storage.spans[storage.spanCount] = NamespaceSpan(interactionKey: key, namespaceHash: hash,
                                                         start: Int32(truncatingIfNeeded: storage.count), count: 0)
        storage.spanCount += 1
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
        if storage.spanCount == 0 { beginNamespace(key: FeatureHashing.defaultNamespaceKey, hash: 0) }
        let storage = uniqueStorage()
        let count = storage.count
        if count == storage.capacity { storage.reserveFeatures(count + 1) }
        storage.indices[count] = hash
        storage.values[count] = value
        storage.count = count + 1
        storage.spans[storage.spanCount - 1].count += 1
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
    var currentNamespaceHash: UInt32 {
        storage.spanCount == 0 ? 0 : storage.spans[storage.spanCount - 1].namespaceHash
    }

    /// The storage, copied first if another value shares it.
    @inlinable @inline(__always)
    mutating func uniqueStorage() -> FeatureStorage {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        return storage
    }

    public static func == (a: HashedFeatures, b: HashedFeatures) -> Bool {
        a.withParts { spansA, indicesA, valuesA in
            b.withParts { spansB, indicesB, valuesB in
                spansA.elementsEqual(spansB) && indicesA.elementsEqual(indicesB) && valuesA.elementsEqual(valuesB)
            }
        }
    }
}

/// The memory behind `HashedFeatures`: three growable arrays without per-array headers. Only
/// a uniquely referenced storage is ever changed, so sharing it between threads is safe.
@usableFromInline
final class FeatureStorage: @unchecked Sendable {
    @usableFromInline var indices: UnsafeMutablePointer<UInt32>
    @usableFromInline var values: UnsafeMutablePointer<Float>
    @usableFromInline var spans: UnsafeMutablePointer<NamespaceSpan>
    @usableFromInline var count = 0
    @usableFromInline var capacity: Int
    @usableFromInline var spanCount = 0
    @usableFromInline var spanCapacity: Int

    /// Shared by every empty `HashedFeatures` until its first change (which copies it).
    @usableFromInline static let empty = FeatureStorage(capacity: 0, spanCapacity: 0)

    @usableFromInline
    init(capacity: Int, spanCapacity: Int) {
        self.capacity = max(capacity, 0)
        self.spanCapacity = max(spanCapacity, 0)
        indices = .allocate(capacity: max(self.capacity, 1))
        values = .allocate(capacity: max(self.capacity, 1))
        spans = .allocate(capacity: max(self.spanCapacity, 1))
    }

    deinit {
        indices.deallocate()
        values.deallocate()
        spans.deallocate()
    }

    @usableFromInline
    func copy() -> FeatureStorage {
        let copy = FeatureStorage(capacity: max(capacity, 8), spanCapacity: max(spanCapacity, 2))
        copy.indices.update(from: indices, count: count)
        copy.values.update(from: values, count: count)
        copy.spans.update(from: spans, count: spanCount)
        copy.count = count
        copy.spanCount = spanCount
        return copy
    }

    /// Room for `minimum` features (doubling, so appends are amortized constant time).
    @usableFromInline
    func reserveFeatures(_ minimum: Int) {
        guard minimum > capacity else { return }
        let newCapacity = max(minimum, capacity * 2, 8)
        let newIndices = UnsafeMutablePointer<UInt32>.allocate(capacity: newCapacity)
        let newValues = UnsafeMutablePointer<Float>.allocate(capacity: newCapacity)
        newIndices.update(from: indices, count: count)
        newValues.update(from: values, count: count)
        indices.deallocate()
        values.deallocate()
        indices = newIndices
        values = newValues
        capacity = newCapacity
    }

    @usableFromInline
    func reserveSpans(_ minimum: Int) {
        guard minimum > spanCapacity else { return }
        let newCapacity = max(minimum, spanCapacity * 2, 2)
        let newSpans = UnsafeMutablePointer<NamespaceSpan>.allocate(capacity: newCapacity)
        newSpans.update(from: spans, count: spanCount)
        spans.deallocate()
        spans = newSpans
        spanCapacity = newCapacity
    }
}
