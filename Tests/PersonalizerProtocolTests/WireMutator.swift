/// A small seeded generator: the same seed gives the same inputs on every run and machine.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }
}

/// Mutates a Request's wire bytes the ways that stress a protobuf reader: field-level edits on
/// the message tree (lengths of enclosing messages re-encoded), then sometimes raw byte edits
/// that leave every length as it was.
struct WireMutator {
    var random: SplitMix64

    /// `tree` (a Request) with 1 to 4 field-level edits and, one time in three, 1 or 2 byte edits.
    /// `donor` is another Request whose fields may be spliced in.
    mutating func mutate(_ tree: [WireNode], donor: [WireNode]) -> [UInt8] {
        var tree = tree
        for _ in 0..<(1 + random.below(4)) { mutateTree(&tree, donor: donor) }
        var bytes = WireTree.serialize(tree)
        if random.chance(33) {
            for _ in 0..<(1 + random.below(2)) { mutateBytes(&bytes, donor: donor) }
        }
        return bytes
    }

    // MARK: field level

    /// A field of `tree`, reached by walking down from the root (nil for an empty message).
    private mutating func randomField(_ tree: [WireNode]) -> [Int]? {
        var path: [Int] = []
        var fields = tree
        while !fields.isEmpty {
            let index = random.below(fields.count)
            path.append(index)
            guard let children = fields[index].children, !children.isEmpty, random.chance(75) else { return path }
            fields = children
        }
        return path.isEmpty ? nil : path
    }

    /// A message of `tree` (the root is `[]`) and what it is.
    private mutating func randomMessage(_ tree: [WireNode]) -> ([Int], MessageKind) {
        var path: [Int] = []
        var kind = MessageKind.request
        var fields = tree
        while random.chance(70) {
            let messages = fields.indices.filter { fields[$0].children != nil }
            guard !messages.isEmpty else { break }
            let index = messages[random.below(messages.count)]
            path.append(index)
            kind = fields[index].kind!
            fields = fields[index].children!
        }
        return (path, kind)
    }

    private mutating func mutateTree(_ tree: inout [WireNode], donor: [WireNode]) {
        let (messagePath, kind) = randomMessage(tree)

        switch random.below(15) {
        case 0, 1:  // a field again, right after itself or anywhere in its message
            guard let path = randomField(tree) else { return insertUnknown(&tree, at: messagePath) }
            let node = WireTree.node(tree, at: path)
            WireTree.withMessage(&tree, at: path.dropLast()[...]) { fields in
                let index = random.chance(50) ? path.last! + 1 : random.below(fields.count + 1)
                fields.insert(node, at: index)
            }
        case 2:  // a field gone
            guard let path = randomField(tree) else { return }
            WireTree.withMessage(&tree, at: path.dropLast()[...]) { $0.remove(at: path.last!) }
        case 3:  // two fields of a message swapped
            WireTree.withMessage(&tree, at: messagePath[...]) { fields in
                guard fields.count >= 2 else { return }
                fields.swapAt(random.below(fields.count), random.below(fields.count))
            }
        case 4:  // a field of the other request spliced in anywhere
            guard let path = randomField(donor) else { return }
            let node = WireTree.node(donor, at: path)
            WireTree.withMessage(&tree, at: messagePath[...]) { $0.insert(node, at: random.below($0.count + 1)) }
        case 5:
            insertUnknown(&tree, at: messagePath)
        case 6:  // a field under another wire type
            guard let path = randomField(tree) else { return }
            editNode(&tree, at: path) { node, random in
                let old = WireTree.serialize([node]).dropFirst(node.tag.count)
                let wireType: UInt8 = random.chance(90) ? [0, 1, 2, 5][random.below(4)] : [3, 4, 6, 7][random.below(4)]
                node = WireNode(number: node.number, wireType: wireType, value: Self.value(forWireType: wireType, &random))
                if wireType == WireBytes.WireType.lengthDelimited { node.value = Array(old) }
            }
        case 7:  // a non-minimal tag
            guard let path = randomField(tree) else { return }
            editNode(&tree, at: path) { node, random in
                node.tag = WireBytes.tag(node.number, node.wireType, minBytes: 2 + random.below(4))
            }
        case 8:  // a non-minimal length prefix
            guard let path = randomField(tree) else { return }
            editNode(&tree, at: path) { node, random in node.lengthBytes = 2 + random.below(4) }
        case 9:  // a string's bytes: a NUL inside, other bytes, longer than 127, or empty
            guard let path = randomField(tree) else { return }
            editNode(&tree, at: path) { node, random in
                guard node.wireType == WireBytes.WireType.lengthDelimited, node.children == nil else { return }
                switch random.below(4) {
                case 0: node.value.insert(0, at: random.below(node.value.count + 1))
                case 1: node.value = random.bytes(random.below(8))
                case 2: node.value = Array(repeating: UInt8(ascii: "x"), count: 120 + random.below(20))
                default: node.value = []
                }
            }
        case 10:  // another call of the oneof, or another rank, at the top level
            let call: WireNode
            switch random.below(4) {
            case 0: call = WireNode(number: 11, wireType: 2, value: WireBytes.field(1, "e") + WireBytes.doubleField(2, 1))
            case 1: call = WireNode(number: 12, wireType: 2, value: WireBytes.field(1, "e"))
            case 2: call = WireNode(number: 13, wireType: 2)
            default:
                call = donor.first { $0.number == 10 } ?? WireNode(number: 10, wireType: 2, children: [], kind: .rank)
            }
            tree.insert(call, at: random.below(tree.count + 1))
        case 11:  // a member of a feature's oneof value
            guard kind == .feature || kind == .namespace || kind == .rank else { return insertUnknown(&tree, at: messagePath) }
            let member = random.chance(50)
                ? WireNode(number: 2, wireType: 2, value: Array("t\(random.below(10))".utf8))
                : WireNode(number: 3, wireType: 1, value: random.bytes(8))
            WireTree.withMessage(&tree, at: messagePath[...]) { $0.insert(member, at: random.below($0.count + 1)) }
        case 12:  // defer_activation, in any wire type
            let wireType: UInt8 = [0, 0, 1, 2, 5][random.below(5)]
            let value = Self.value(forWireType: wireType, &random)
            let node = WireNode(number: 5, wireType: wireType, value: value)
            WireTree.withMessage(&tree, at: messagePath[...]) { $0.insert(node, at: random.below($0.count + 1)) }
        default:  // a scalar's value
            guard let path = randomField(tree) else { return }
            editNode(&tree, at: path) { node, random in
                guard node.wireType != WireBytes.WireType.lengthDelimited else { return }
                node.value = Self.value(forWireType: node.wireType, &random)
            }
        }
    }

    private mutating func editNode(_ tree: inout [WireNode], at path: [Int],
                                   _ edit: (inout WireNode, inout SplitMix64) -> Void) {
        WireTree.withMessage(&tree, at: path.dropLast()[...]) { fields in edit(&fields[path.last!], &random) }
    }

    /// A field no message of personalizer.v1 defines, in any wire type, sometimes numbered 0 in
    /// a non-minimal tag (which protobuf-c reads as an unknown field).
    private mutating func insertUnknown(_ tree: inout [WireNode], at messagePath: [Int]) {
        let wireType: UInt8 = [0, 1, 2, 5][random.below(4)]
        let numbers: [UInt32] = [0, 6, 7, 9, 14, 15, 16, 100, 2047, 1 << 28, (1 << 29) - 1]
        let number = numbers[random.below(numbers.count)]
        var node = WireNode(number: number, wireType: wireType, value: Self.value(forWireType: wireType, &random))
        if number == 0 { node.tag = WireBytes.tag(0, wireType, minBytes: 2 + random.below(3)) }
        WireTree.withMessage(&tree, at: messagePath[...]) { $0.insert(node, at: random.below($0.count + 1)) }
    }

    /// A value for a wire type: varints short, long, non-minimal and of the full 10 bytes.
    private static func value(forWireType wireType: UInt8, _ random: inout SplitMix64) -> [UInt8] {
        switch wireType {
        case WireBytes.WireType.varint:
            switch random.below(5) {
            case 0: return [UInt8(random.below(2))]
            case 1: return WireBytes.varint(UInt64(random.below(2)), minBytes: 2 + random.below(8))
            case 2: return WireBytes.varint(random.next())
            case 3: return Array(repeating: 0x80, count: 9) + [UInt8(random.below(128))]
            default: return WireBytes.varint(UInt64(random.below(300)))
            }
        case WireBytes.WireType.fixed64:
            return random.chance(30) ? [random.chance(50) ? 0x80 : 0, 0, 0, 0, 0, 0, 0, 0] : random.bytes(8)
        case WireBytes.WireType.fixed32:
            return random.chance(30) ? [0, 0, 0, 0] : random.bytes(4)
        case WireBytes.WireType.lengthDelimited:
            return random.bytes(random.below(3))
        default:  // groups and wire types 6, 7: no value protobuf-c would accept
            return random.bytes(random.below(3))
        }
    }

    // MARK: byte level

    private mutating func mutateBytes(_ bytes: inout [UInt8], donor: [WireNode]) {
        guard !bytes.isEmpty else { bytes = random.bytes(1 + random.below(4)); return }
        let at = random.below(bytes.count)
        switch random.below(7) {
        case 0: bytes[at] ^= 1 << UInt8(random.below(8))
        case 1: bytes[at] = UInt8(truncatingIfNeeded: random.next())
        case 2: bytes.insert(contentsOf: random.bytes(1 + random.below(4)), at: at)
        case 3: bytes.removeSubrange(at..<min(bytes.count, at + 1 + random.below(8)))
        case 4: bytes.removeSubrange(at...)
        case 5:  // a slice of itself copied elsewhere
            let end = min(bytes.count, at + 1 + random.below(16))
            bytes.insert(contentsOf: bytes[at..<end], at: random.below(bytes.count + 1))
        default:  // a slice of the other request
            let donor = WireTree.serialize(donor)
            guard !donor.isEmpty else { return }
            let start = random.below(donor.count)
            bytes.insert(contentsOf: donor[start..<min(donor.count, start + 1 + random.below(16))],
                         at: random.below(bytes.count + 1))
        }
    }
}
