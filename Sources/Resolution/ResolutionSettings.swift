/// The tunable parts of resolution. Defaults were chosen on synthetic data for precision first
/// (see the README's matching section); a council can override them in `schemas/resolution.conf`.
public struct ResolutionSettings: Sendable, Equatable {
    /// At or above this match weight (bits), two records are linked automatically.
    public var upperThreshold: Double = 16
    /// At or above this and below the upper threshold, the pair goes to clerical review.
    public var lowerThreshold: Double = 14
    public var blockingRules: [BlockingRule] = BlockingRule.allCases
    /// Blocks larger than this are skipped and counted: a rule that loose needs narrowing.
    public var maxBlockSize = 1_000
    /// Random pairs sampled to estimate u.
    public var randomPairs = 400_000
    public var seed: UInt64 = 0x4643_5245_534F_4C56
    public var threads = 2

    public init() {}
}
