/// How a loop's events reach the disk.
public enum DurabilityMode: String, Sendable, CaseIterable {
    /// Written within a millisecond or so, fsynced at least every `fsyncIntervalMilliseconds`:
    /// a crash of the machine loses at most that window, a crash of the process almost nothing.
    case interval
    /// A Rank, Reward or Activate is answered only once its event is fsynced.
    case ack
    /// No event log and no checkpoints: the loop's state lives in memory only and a restart
    /// begins from an untrained model. For throwaway loops, and as a benchmark baseline.
    case off
}

/// A loop's files: its event log and its checkpoints, under `DATA_DIR/loops/NAME/`.
final class LoopStore {
    let log: EventLog
    let checkpoints: CheckpointStore
    let checkpointInterval: UInt64
    let retention: UInt64
    var lastCheckpoint: UInt64 = 0
    var lastRetentionCheck: UInt64 = 0
    static let retentionCheckInterval: UInt64 = 60_000_000_000

    let syncer: LogSyncer

    init(directory: String, settings: LoopSettings, operations: FileOperations, counters: LoopCounters,
         clock: EngineClock, log report: @escaping @Sendable (String) -> Void,
         onDurable: @escaping @Sendable () -> Void) throws(StorageError) {
        log = try EventLog(directory: directory + "/log", operations: operations)
        syncer = LogSyncer(descriptor: log.sharedDescriptor, operations: operations, counters: counters,
                           mode: settings.durability,
                           interval: UInt64(settings.fsyncIntervalMilliseconds * 1_000_000), clock: clock,
                           log: report, onDurable: onDurable)
        checkpoints = try CheckpointStore(directory: directory + "/checkpoints", operations: operations)
        checkpointInterval = LoopSettings.nanoseconds(settings.checkpointIntervalSeconds)
        retention = LoopSettings.nanoseconds(settings.logRetentionDays * 86_400)
    }
}
