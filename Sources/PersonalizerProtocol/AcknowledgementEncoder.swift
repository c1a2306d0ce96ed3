import PersonalizerTransport

/// Writes a framed `Response { id, reward: {} }` or `{ id, activate: {} }`: the call's empty
/// result, present so the client knows which call was answered.
enum AcknowledgementEncoder {
    enum Call: UInt32 {
        case reward = 11, activate = 12
    }

    static func write(id: UInt64, call: Call, into output: ByteBuffer) {
        let responseSize = WireWriter.varintFieldSize(1, id) + WireWriter.messageFieldSize(call.rawValue, bodySize: 0)
        WireWriter.writeFrame(bodySize: responseSize, into: output) { writer in
            writer.varintField(1, id)
            writer.messageHeader(call.rawValue, bodySize: 0)
        }
    }
}
