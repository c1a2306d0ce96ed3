import PersonalizerModel

/// An immutable model version. Published by the trainer, read by the I/O thread.
public final class ModelSnapshot: Sendable {
    public let version: UInt64
    public let model: ScoringModel
    public let publishedAtNanoseconds: UInt64

    public init(version: UInt64, model: ScoringModel, publishedAtNanoseconds: UInt64) {
        self.version = version
        self.model = model
        self.publishedAtNanoseconds = publishedAtNanoseconds
    }
}
