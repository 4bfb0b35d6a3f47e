/// What the pairwise rules and the model make of two records on their own (the clusterer's rules
/// about whole children come after): shared by `explain-pair` and the evaluation's diagnosis.
enum PairVerdict: Equatable {
    case sameNHSNumber
    case differentNHSNumbers
    case sameUPN
    case differentUPNs
    case sideBySide
    case possibleTwins
    case possibleSiblings
    case neverLinked(String)
    case heldBack(String)
    case linked
    case review
    case belowReview

    static func of(
        _ a: MatchRecord, _ b: MatchRecord, vector: ComparisonVector, weight: Double,
        bands: (link: Double, review: Double),
        frequencies: NameFrequencies, nicknames: NicknameTable = .standard
    ) -> PairVerdict {
        if a.nhs != 0 && b.nhs != 0 { return a.nhs == b.nhs ? .sameNHSNumber : .differentNHSNumbers }
        if a.upn != 0 && a.upn == b.upn { return .sameUPN }
        if a.upn != 0 && b.upn != 0 { return .differentUPNs }
        if a.reportedApart(from: b) { return .sideBySide }
        if Clusterer.looksLikeTwins(a, b, nicknames, frequencies: frequencies) { return .possibleTwins }
        if let reason = Linkage.neverLink(vector) { return .neverLinked(reason) }
        if Clusterer.looksLikeSiblings(a, b, nicknames, frequencies: frequencies) { return .possibleSiblings }
        if weight >= bands.link { return Linkage.holdBack(vector).map { .heldBack($0) } ?? .linked }
        return weight >= bands.review ? .review : .belowReview
    }

    /// A few words for the evaluation's class table.
    var shortName: String {
        switch self {
        case .sameNHSNumber: "same NHS number"
        case .differentNHSNumbers: "different NHS numbers"
        case .sameUPN: "same UPN"
        case .differentUPNs: "different UPNs"
        case .sideBySide: "side by side"
        case .possibleTwins: "possible twins (pairwise)"
        case .possibleSiblings: "possible siblings (pairwise)"
        case .neverLinked(let reason): "never linked: \(reason)"
        case .heldBack(let reason): "held back: \(reason)"
        case .linked: "link band (refused by the clusterer)"
        case .review: "review band"
        case .belowReview: "below the review band"
        }
    }
}
