import PersonalizerEngine
import PersonalizerTransport

/// A loop's counters as a `StatusResponse` carries them, in its field order (the storage error,
/// field 15, goes beside it: the report stays plain numbers, copied without reference counts).
struct StatusReport {
    var modelVersion: UInt64 = 0
    var rankCalls: UInt64 = 0
    var rewardCalls: UInt64 = 0
    var learnedEvents: UInt64 = 0
    var pendingEvents: UInt64 = 0
    var activateCalls: UInt64 = 0
    var unmatchedRewards: UInt64 = 0
    var unmatchedActivations: UInt64 = 0
    var droppedNotActivated: UInt64 = 0
    var backpressureStalls: UInt64 = 0
    var publishedAtMilliseconds: UInt64 = 0
    var logBytes: UInt64 = 0
    var oldestEventMilliseconds: UInt64 = 0
    var lastSyncMilliseconds: UInt64 = 0
    var overCapacityEvents: UInt64 = 0
}

extension StatusReport {
    init(_ counters: LoopCounters) {
        self.init(
            modelVersion: counters.modelVersion.load(), rankCalls: counters.rankCalls.load(),
            rewardCalls: counters.rewardCalls.load(), learnedEvents: counters.learnedEvents.load(),
            pendingEvents: counters.pendingEvents, activateCalls: counters.activateCalls.load(),
            unmatchedRewards: counters.unmatchedRewards.load(),
            unmatchedActivations: counters.unmatchedActivations.load(),
            droppedNotActivated: counters.droppedNotActivated.load(),
            backpressureStalls: counters.backpressureStalls.load(),
            publishedAtMilliseconds: counters.publishedAtMilliseconds.load(), logBytes: counters.logBytes.load(),
            oldestEventMilliseconds: counters.oldestEventMilliseconds.load(),
            lastSyncMilliseconds: counters.lastSyncMilliseconds.load(),
            overCapacityEvents: counters.overCapacityEvents.load())
    }
}

/// Writes a framed `Response { id, status: StatusResponse }` straight into the output buffer,
/// with the bytes protobuf-c packs for the same message (`StatusResponseEncoderTests` checks):
/// fields in number order, zeros and the empty string left out, the storage error cut at its
/// first NUL as protobuf-c's C string would be.
enum StatusResponseEncoder {
    static func write(id: UInt64, report: StatusReport, storageError: String?, into output: ByteBuffer) {
        guard var storageError else {
            return write(id: id, report: report, storageError: UnsafeRawBufferPointer(start: nil, count: 0), into: output)
        }
        storageError.withUTF8 { write(id: id, report: report, storageError: UnsafeRawBufferPointer($0), into: output) }
    }

    private static func write(id: UInt64, report: StatusReport, storageError utf8: UnsafeRawBufferPointer,
                              into output: ByteBuffer) {
        let error = UnsafeRawBufferPointer(rebasing: utf8[0..<(utf8.firstIndex(of: 0) ?? utf8.count)])
        // The fields go into scratch space first, so their size is known in one pass: 15
        // varint fields of at most a 2-byte tag and 10 bytes, and the error's field.
        let bound = 15 * 12 + WireWriter.stringFieldSize(15, error)
        withUnsafeTemporaryAllocation(byteCount: bound, alignment: 1) { scratch in
            var fields = WireWriter(scratch.baseAddress!)
            fields.varintField(1, report.modelVersion)
            fields.varintField(2, report.rankCalls)
            fields.varintField(3, report.rewardCalls)
            fields.varintField(4, report.learnedEvents)
            fields.varintField(5, report.pendingEvents)
            fields.varintField(6, report.activateCalls)
            fields.varintField(7, report.unmatchedRewards)
            fields.varintField(8, report.unmatchedActivations)
            fields.varintField(9, report.droppedNotActivated)
            fields.varintField(10, report.backpressureStalls)
            fields.varintField(11, report.publishedAtMilliseconds)
            fields.varintField(12, report.logBytes)
            fields.varintField(13, report.oldestEventMilliseconds)
            fields.varintField(14, report.lastSyncMilliseconds)
            fields.stringField(15, error)
            fields.varintField(16, report.overCapacityEvents)
            let status = UnsafeRawBufferPointer(start: scratch.baseAddress, count: fields.position - scratch.baseAddress!)
            let responseSize = WireWriter.varintFieldSize(1, id) + WireWriter.messageFieldSize(13, bodySize: status.count)
            WireWriter.writeFrame(bodySize: responseSize, into: output) { writer in
                writer.varintField(1, id)
                writer.messageHeader(13, bodySize: status.count)
                writer.bytes(status)
            }
        }
    }
}
