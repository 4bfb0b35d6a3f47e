/// How a link was made.
public enum LinkMethod: String, Sendable {
    case nhsNumber = "nhs_number"
    case upn
    case review
    case probabilistic

    /// Order in which links are applied: identifiers and people first, then the model by weight.
    var priority: Int {
        switch self {
        case .review: 0
        case .nhsNumber: 1
        case .upn: 2
        case .probabilistic: 3
        }
    }
}

/// A proposed link between two records (indices into the record array).
public struct Link: Sendable {
    public var a: Int
    public var b: Int
    public var method: LinkMethod
    public var weight: Double
    public var vector: ComparisonVector?
}

/// Why a link was not applied.
public enum LinkRefusal: String, Sendable {
    case differentNHSNumbers = "two different valid NHS numbers"
    case differentUPNs = "two different permanent UPNs"
    case reviewedApart = "a data officer decided these are different children"
    case twins = "possible twins: same date of birth and surname, different first names"
    case samePeriodInOneFeed = "one partner reported both for the same period: two children"
}

/// Groups records into children by applying links in order, refusing any that would break a hard
/// constraint: never two different valid NHS numbers (or permanent UPNs) in one child, never
/// against a data officer's decision, and twins — or two pupils a school reported for the same
/// term, however alike their names — stay apart unless an identifier joins them.
public struct Clusterer {
    let records: [MatchRecord]
    let nicknames: NicknameTable
    private var parent: [Int32]
    private var members: [[Int32]]
    private var nhs: [UInt64]
    private var upn: [UInt64]
    /// Pairs a person decided are different children: record index → the other indices.
    private let apart: [Int: [Int]]

    public private(set) var applied: [Link] = []
    public private(set) var refused: [(link: Link, reason: LinkRefusal)] = []

    init(records: [MatchRecord], apart: [(Int, Int)], nicknames: NicknameTable) {
        self.records = records
        self.nicknames = nicknames
        parent = (0..<records.count).map { Int32($0) }
        members = (0..<records.count).map { [Int32($0)] }
        nhs = records.map(\.nhs)
        upn = records.map(\.upn)
        var apartMap: [Int: [Int]] = [:]
        for (a, b) in apart {
            apartMap[a, default: []].append(b)
            apartMap[b, default: []].append(a)
        }
        self.apart = apartMap
    }

    mutating func find(_ x: Int) -> Int {
        var root = x
        while parent[root] != Int32(root) { root = Int(parent[root]) }
        var node = x
        while parent[node] != Int32(root) {
            let next = Int(parent[node])
            parent[node] = Int32(root)
            node = next
        }
        return root
    }

    /// Joins records that already form one child (an incremental run's starting point), without
    /// re-checking constraints they passed when they were joined.
    mutating func seed(_ group: [Int]) {
        guard var root = group.first.map({ find($0) }) else { return }
        for index in group.dropFirst() {
            var other = find(index)
            if other == root { continue }
            if members[root].count < members[other].count { swap(&root, &other) }
            parent[other] = Int32(root)
            members[root].append(contentsOf: members[other])
            members[other] = []
            if nhs[root] == 0 { nhs[root] = nhs[other] }
            if upn[root] == 0 { upn[root] = upn[other] }
        }
    }

    /// Links are applied strongest first (see `LinkMethod.priority`, then weight).
    mutating func apply(_ links: [Link]) {
        let ordered = links.sorted {
            ($0.method.priority, -$0.weight, $0.a, $0.b) < ($1.method.priority, -$1.weight, $1.a, $1.b)
        }
        for link in ordered { apply(link) }
    }

    mutating func apply(_ link: Link) {
        var ra = find(link.a)
        var rb = find(link.b)
        if ra == rb { return }
        if let reason = refusal(ra, rb, link) {
            refused.append((link, reason))
            return
        }
        if members[ra].count < members[rb].count { swap(&ra, &rb) }
        parent[rb] = Int32(ra)
        members[ra].append(contentsOf: members[rb])
        members[rb] = []
        if nhs[ra] == 0 { nhs[ra] = nhs[rb] }
        if upn[ra] == 0 { upn[ra] = upn[rb] }
        applied.append(link)
    }

    mutating func refusal(_ ra: Int, _ rb: Int, _ link: Link) -> LinkRefusal? {
        if nhs[ra] != 0 && nhs[rb] != 0 && nhs[ra] != nhs[rb] { return .differentNHSNumbers }
        if upn[ra] != 0 && upn[rb] != 0 && upn[ra] != upn[rb] && link.method != .nhsNumber && link.method != .review {
            return .differentUPNs
        }
        let (small, large) = members[ra].count <= members[rb].count ? (ra, rb) : (rb, ra)
        for x in members[small] {
            for y in apart[Int(x)] ?? [] where find(y) == large { return .reviewedApart }
        }
        if link.method == .probabilistic {
            for x in members[small] {
                let period = records[Int(x)].periodKey
                for y in members[large] {
                    // A school reports a pupil once a term: two rows for one term are two pupils, even
                    // twins whose names are spellings of one name (Muhammad and Mohammed).
                    if period != 0 && period == records[Int(y)].periodKey { return .samePeriodInOneFeed }
                    if Self.looksLikeTwins(records[Int(x)], records[Int(y)], nicknames) { return .twins }
                }
            }
        }
        return nil
    }

    /// Same date of birth, the same household (a similar family name, the same mother, or the same
    /// address), but first names that are not the same name in any form (exact, nickname, or a
    /// near-certain typo). Family names need only be similar: a twin's record may carry a typo or a
    /// hyphenated surname like anyone else's.
    static func looksLikeTwins(_ a: MatchRecord, _ b: MatchRecord, _ nicknames: NicknameTable) -> Bool {
        guard a.dob != 0, a.dob == b.dob, a.given != nil, b.given != nil else { return false }
        var scratch = NameScratch()
        var familySimilar =
            (a.carerNHS != 0 && a.carerNHS == b.carerNHS) || (a.addressKey != 0 && a.addressKey == b.addressKey)
        for x in [a.family, a.preferredFamily] {
            for y in [b.family, b.preferredFamily] where x != nil && y != nil {
                let level = NameComparison.compareFamilyNames(x, y, scratch: &scratch)
                if level != .different && level != .missing { familySimilar = true }
            }
        }
        guard familySimilar else { return false }
        for x in [a.given, a.preferredGiven] {
            for y in [b.given, b.preferredGiven] where x != nil && y != nil {
                let level = NameComparison.compareGivenNames(x, y, nicknames: nicknames, scratch: &scratch)
                if level == .exact || level == .nickname || level == .jaroWinkler95 { return false }
            }
        }
        return true
    }

    /// The root of each record's child.
    mutating func roots() -> [Int] { (0..<records.count).map { find($0) } }
}
