import Foundation

/// The tunable parts of resolution. Defaults were chosen on synthetic data for precision first
/// (see the README's matching section); a council can override them in `schemas/resolution.conf`.
public struct ResolutionSettings: Sendable, Equatable {
    /// At or above this match probability, two records are linked automatically.
    public var linkProbability = 0.5
    /// At or above this and below `linkProbability`, the pair goes to clerical review: at least this
    /// share of the queue should be one child, if the model is calibrated.
    public var reviewProbability = 0.2
    public var blockingRules: [BlockingRule] = BlockingRule.allCases
    /// Blocks larger than this are skipped and counted: a rule that loose needs narrowing.
    public var maxBlockSize = 1_000
    /// Random pairs sampled to estimate u.
    public var randomPairs = 400_000
    public var seed: UInt64 = 0x4643_5245_534F_4C56
    public var threads = 2

    public init() {}

    /// The bands as match weights (bits) under a model's prior: a pair's posterior log2 odds are
    /// its weight plus the prior's log2 odds, so a band of probability p starts at
    /// log2(p / (1 − p)) − log2(prior / (1 − prior)) bits.
    public func bands(prior: Double) -> (link: Double, review: Double) {
        let priorOdds = MatchProbability.log2Odds(prior)
        return (
            MatchProbability.log2Odds(linkProbability) - priorOdds,
            MatchProbability.log2Odds(reviewProbability) - priorOdds
        )
    }
}

/// Match weight (bits of evidence) and the prior, turned into the chance a pair is one child.
public enum MatchProbability {
    public static func log2Odds(_ p: Double) -> Double {
        let clamped = min(max(p, 1e-15), 1 - 1e-15)
        return log2(clamped / (1 - clamped))
    }

    /// Posterior odds = prior odds × 2^weight.
    public static func posterior(weight: Double, prior: Double) -> Double {
        let logOdds = weight + log2Odds(prior)
        return 1 / (1 + exp2(-logOdds))
    }
}
