/// The messages of personalizer.v1 that a Request holds, and which of their fields are messages.
enum MessageKind {
    case request, rank, namespace, action, feature, reward, activate, status

    func child(_ field: UInt32) -> MessageKind? {
        switch (self, field) {
        case (.request, 10): .rank
        case (.request, 11): .reward
        case (.request, 12): .activate
        case (.request, 13): .status
        case (.rank, 1), (.action, 2): .namespace
        case (.rank, 2): .action
        case (.namespace, 2): .feature
        default: nil
        }
    }
}

/// One field of a message as a tree node: a field holding a known message keeps its fields as
/// children, so that an edit deep inside re-encodes the length of every enclosing message.
struct WireNode {
    var number: UInt32
    var wireType: UInt8
    /// The tag's bytes (possibly a non-minimal encoding).
    var tag: [UInt8]
    /// Wire types 0, 1, 5: the value's bytes. Wire type 2 without `children`: the payload.
    var value: [UInt8] = []
    /// Wire type 2 holding a message: its fields, and what message it is.
    var children: [WireNode]?
    var kind: MessageKind?
    /// The children's bytes while they are unchanged, so that serializing re-encodes only the
    /// messages an edit went through.
    var cachedPayload: [UInt8]?
    /// Wire type 2: the length prefix is padded to at least this many bytes.
    var lengthBytes = 1

    init(number: UInt32, wireType: UInt8, value: [UInt8] = [], children: [WireNode]? = nil, kind: MessageKind? = nil) {
        self.number = number
        self.wireType = wireType
        tag = WireBytes.tag(number, wireType)
        self.value = value
        self.children = children
        self.kind = kind
    }
}

enum WireTree {
    /// The fields of a well-formed message; nil if the bytes do not parse.
    static func parse(_ bytes: ArraySlice<UInt8>, as kind: MessageKind) -> [WireNode]? {
        var nodes: [WireNode] = []
        var position = bytes.startIndex
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while position < bytes.endIndex, shift < 64 {
                let byte = bytes[position]
                position += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        while position < bytes.endIndex {
            let tagStart = position
            guard let key = varint(), key >> 3 != 0 else { return nil }
            var node = WireNode(number: UInt32(key >> 3), wireType: UInt8(key & 7))
            node.tag = Array(bytes[tagStart..<position])
            let valueStart = position
            switch node.wireType {
            case WireBytes.WireType.varint:
                guard varint() != nil else { return nil }
                node.value = Array(bytes[valueStart..<position])
            case WireBytes.WireType.fixed64, WireBytes.WireType.fixed32:
                let size = node.wireType == WireBytes.WireType.fixed64 ? 8 : 4
                guard bytes.endIndex - position >= size else { return nil }
                position += size
                node.value = Array(bytes[valueStart..<position])
            case WireBytes.WireType.lengthDelimited:
                guard let length = varint(), length <= UInt64(bytes.endIndex - position) else { return nil }
                let payload = bytes[position..<(position + Int(length))]
                position += Int(length)
                if let childKind = kind.child(node.number), let children = parse(payload, as: childKind) {
                    node.children = children
                    node.kind = childKind
                    node.cachedPayload = Array(payload)
                } else {
                    node.value = Array(payload)
                }
            default:
                return nil
            }
            nodes.append(node)
        }
        return nodes
    }

    static func serialize(_ nodes: [WireNode]) -> [UInt8] {
        var bytes: [UInt8] = []
        append(nodes, to: &bytes)
        return bytes
    }

    private static func append(_ nodes: [WireNode], to bytes: inout [UInt8]) {
        for node in nodes {
            bytes += node.tag
            if node.wireType == WireBytes.WireType.lengthDelimited {
                let payload = node.children.map { node.cachedPayload ?? serialize($0) } ?? node.value
                bytes += WireBytes.varint(UInt64(payload.count), minBytes: node.lengthBytes)
                bytes += payload
            } else {
                bytes += node.value
            }
        }
    }

    /// Runs `body` on the fields of the message at `path` (child indices from the root).
    static func withMessage(_ nodes: inout [WireNode], at path: ArraySlice<Int>, _ body: (inout [WireNode]) -> Void) {
        guard let first = path.first else { return body(&nodes) }
        nodes[first].cachedPayload = nil
        withMessage(&nodes[first].children!, at: path.dropFirst(), body)
    }

    static func node(_ nodes: [WireNode], at path: [Int]) -> WireNode {
        var current = nodes[path[0]]
        for index in path.dropFirst() { current = current.children![index] }
        return current
    }
}
