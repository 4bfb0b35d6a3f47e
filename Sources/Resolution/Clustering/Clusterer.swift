/// How a link was made.
public enum LinkMethod: String, Sendable {
    case nhsNumber = "nhs_number"
    case upn
    case review
    case probabilistic
    /// A pair of the review queue linked because the police incident that names its record with
    /// only an approximate age also names a child of the same home (`Linkage.vouchedForByTheReport`).
    case vouchedByIncident = "vouched_by_incident"
    /// The same rule for a free-school-meals claim: a claim row queued between the bands, with no
    /// child of its own yet, linked because another child of the same claim shares a home with the
    /// pair's child (`Linkage.vouchedForByTheReport`).
    case vouchedByClaim = "vouched_by_claim"

    /// Order in which links are applied: identifiers and people first, then the model by weight.
    /// Vouched links are applied after all the others, in a second pass (they depend on its children).
    var priority: Int {
        switch self {
        case .review: 0
        case .nhsNumber: 1
        case .upn: 2
        case .probabilistic, .vouchedByIncident, .vouchedByClaim: 3
        }
    }

    /// Links that rest on the model's evidence, not an identifier or a person: the side-by-side and
    /// twin rules apply to them.
    var answersToTheModelRules: Bool { self == .probabilistic || isVouched }

    /// Links a report's other child vouched for (they name the record that vouched).
    public var isVouched: Bool { self == .vouchedByIncident || self == .vouchedByClaim }
}

/// A proposed link between two records (indices into the record array).
public struct Link: Sendable {
    public var a: Int
    public var b: Int
    public var method: LinkMethod
    public var weight: Double
    public var vector: ComparisonVector?
    /// For `.vouchedByIncident` and `.vouchedByClaim`: the record (an index, as `a` and `b`) of the same report whose
    /// child, or possible child, shares a home with this pair's child.
    public var vouchedBy: Int? = nil
}

/// Why a link was not applied.
public enum LinkRefusal: String, Sendable {
    case differentNHSNumbers = "two different valid NHS numbers"
    case differentUPNs = "two different permanent UPNs"
    case reviewedApart = "a data officer decided these are different children"
    case twins =
        "possible twins: same date of birth and household, and no first name the two share (or a twin of that date is known and only a nickname or spelling is shared)"
    case samePeriodInOneFeed =
        "one partner reported both side by side (one school term, one police incident): two children"
    case possibleSiblings =
        "possible siblings: one household, dates of birth two births apart, and no first name the two share (only a form of it)"
    case anotherChildOfTheReport =
        "the report naming one side by another form of the name names a second child who fits the other side too: which one is the other side's child is a guess"

    /// Refusals that keep a sibling or twin apart (counted as such in the run's figures).
    var keepsTwinsApart: Bool { self == .twins || self == .anotherChildOfTheReport || self == .possibleSiblings }
}

/// How well the first names of two records agree, as the twin rule weighs them.
enum FirstNameAgreement: Int, Comparable {
    /// Different names, or only an initial.
    case different
    /// A spelling close to the other (Jaro–Winkler ≥ 0.88 or within the edit allowance) that is
    /// rare where the other is common: a typo, not a second name (Zaa for Zara, Harveu for Harvey).
    case typo
    /// A familiar form that is also a name of its own (Mia for Amelia; the nickname table's
    /// `@familiar` part): one name where no second child of that date is known.
    case familiar
    /// A nickname, or Jaro–Winkler ≥ 0.95.
    case close
    case exact

    static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Groups records into children by applying links in order, refusing any that would break a hard
/// constraint: never two different valid NHS numbers (or permanent UPNs) in one child, never
/// against a data officer's decision, never two records one partner reported side by side (two
/// pupils of one school term, two children of one police incident); and the model does not join
/// possible twins.
///
/// The twin rule weighs the two clusters as wholes: it applies when some record of each has the
/// same date of birth in the same household, and then asks for the best first-name agreement
/// across them. One mistyped record does not make a child a stranger to itself; a twin known to
/// exist at that date of birth (two NHS numbers, two UPNs, two rows of one term or incident)
/// raises the bar: a join short of the same first name is refused when a record of another child
/// of that date fits either side's name better than the two sides fit each other. The sibling rule
/// (`shareOnlyAHome`) keeps apart two clusters of one household whose dates of birth are two births
/// apart and whose first names are nowhere written the same.
public struct Clusterer {
    let records: [MatchRecord]
    let nicknames: NicknameTable
    let frequencies: NameFrequencies
    private var parent: [Int32]
    private var members: [[Int32]]
    private var nhs: [UInt64]
    private var upn: [UInt64]
    /// Pairs a person decided are different children: record index → the other indices.
    private let apart: [Int: [Int]]
    /// Household-at-a-birth-date keys (`householdKeys`) where two children are known to exist,
    /// with the records holding each.
    private let twinHouseholds: [UInt64: [Int32]]
    /// The records of each side-by-side report (`MatchRecord.sideBySideKey`) with more than one record.
    private let reportMembers: [UInt64: [Int32]]

    /// For records of a multi-child report written as told: the records the model proposed to link
    /// them with (`apply(_:)`), where such a record may have a home of its own.
    private var proposedPartners: [Int32: [Int32]] = [:]

    public private(set) var applied: [Link] = []
    public private(set) var refused: [(link: Link, reason: LinkRefusal)] = []

    init(records: [MatchRecord], apart: [(Int, Int)], nicknames: NicknameTable, frequencies: NameFrequencies? = nil) {
        self.records = records
        self.nicknames = nicknames
        self.frequencies = frequencies ?? NameFrequencies(records: records)
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
        twinHouseholds = Self.knownTwinHouseholds(records)
        var reports: [UInt64: [Int32]] = [:]
        for (index, record) in records.enumerated() where record.sideBySideKey != 0 {
            reports[record.sideBySideKey, default: []].append(Int32(index))
        }
        reportMembers = reports.filter { $0.value.count > 1 }
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
    /// A link refused as a possible twin is tried once more after the others: the twin rule's
    /// question (could this record be another child's?) may be settled by then, when the other
    /// records of the same report have joined their own children (a claim's "Sophia" joining the
    /// twin Sophia leaves its "Sophie" to the twin Sophie, whichever link came first).
    mutating func apply(_ links: [Link]) {
        let ordered = links.sorted {
            ($0.method.priority, -$0.weight, $0.a, $0.b) < ($1.method.priority, -$1.weight, $1.a, $1.b)
        }
        noteProposedPartners(links)
        let refusedBefore = refused.count
        for link in ordered { apply(link) }
        let retry = refused[refusedBefore...].filter { $0.reason.keepsTwinsApart }.map(\.link)
        guard !retry.isEmpty else { return }
        let (appliedBefore, refusedAfter) = (applied.count, refused.count)
        for link in retry { apply(link) }
        // A link refused again keeps its first reason; one applied now is no longer refused.
        refused.removeSubrange(refusedAfter...)
        let joined = Set(applied[appliedBefore...].map { Linkage.key($0.a, $0.b) })
        if !joined.isEmpty { refused.removeAll { joined.contains(Linkage.key($0.link.a, $0.link.b)) } }
    }

    /// Keeps, for each record of a multi-child report written as told, the records the model proposes
    /// to link it with (`hasHomeElsewhere`).
    mutating func noteProposedPartners(_ links: [Link]) {
        for link in links where link.method.answersToTheModelRules {
            for (x, y) in [(link.a, link.b), (link.b, link.a)] where isNamedInAReportAsTold(x) {
                proposedPartners[Int32(x), default: []].append(Int32(y))
            }
        }
    }

    func isNamedInAReportAsTold(_ index: Int) -> Bool {
        records[index].namesAsTold && reportMembers[records[index].sideBySideKey] != nil
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
        guard link.method.answersToTheModelRules else { return nil }
        return modelRefusal(small, large)
    }

    /// The rules only the model's links answer to: side by side, and twins (see the type's comment).
    mutating func modelRefusal(_ smallRoot: Int, _ largeRoot: Int) -> LinkRefusal? {
        let small = members[smallRoot]
        let large = members[largeRoot]
        var confusable = false
        var twinKeys: [UInt64] = []
        // Whether every pair of dated records across the sides is two births apart (`couldBeSiblings`).
        var datedPair = false
        var datesOfTwoBirths = true
        // Records of either side that share the date of birth with one of the other's in one household.
        var sameDateInAHousehold: Set<Int32> = []
        for x in small {
            let a = records[Int(x)]
            for y in large {
                let b = records[Int(y)]
                // A school reports a pupil once a term, the police a child once an incident: two
                // rows of one are two children, even twins whose names are spellings of one name.
                if a.reportedApart(from: b) { return .samePeriodInOneFeed }
                if a.dob != 0 && b.dob != 0 {
                    datedPair = true
                    datesOfTwoBirths = datesOfTwoBirths && Self.couldBeSiblings(a.dob, b.dob)
                }
                if a.dob != 0 && a.dob == b.dob && Self.sameHousehold(a, b) {
                    sameDateInAHousehold.insert(x)
                    sameDateInAHousehold.insert(y)
                    confusable = true
                } else if !confusable,
                    let keys = knownTwinKeys(ofDated: a, agedOnly: b) ?? knownTwinKeys(ofDated: b, agedOnly: a)
                {
                    twinKeys += keys
                    confusable = true
                }
            }
        }
        twinKeys += knownTwinKeys(of: sameDateInAHousehold)
        if reportNamesAnotherChildThatFits(smallRoot, largeRoot) { return .anotherChildOfTheReport }
        guard confusable else {
            return datedPair && datesOfTwoBirths && shareOnlyAHome(small, large) ? .possibleSiblings : nil
        }
        let best = bestAgreement(small, large, enough: twinKeys.isEmpty ? .typo : .exact)
        if best < .typo { return .twins }
        guard !twinKeys.isEmpty else { return nil }
        if best < .exact && eachSideFitsAnotherTwin(smallRoot, largeRoot, keys: twinKeys, best: best) { return .twins }
        // A second child of this date is known here: the join must not be one a record of another
        // child fits better (Alfie joining Alfred while an Alfred of the same date is apart from him),
        // nor one where a side fits that other child as well as it fits the join: then it could be
        // either twin's record (a "Matilda" on a meals claim, when one twin is Matilda and the other
        // is known by Matilda at school), and guessing would show one twin's record to the other's file.
        // Only a record that cannot be either side's child counts: one not yet joined to its own
        // child (a police Olivia still waiting while a typo Olivi links first) says nothing.
        var scratch = NameScratch()
        var joinFit: FirstNameAgreement?
        for key in twinKeys {
            for other in twinHouseholds[key] ?? [] {
                let root = find(Int(other))
                guard root != smallRoot, root != largeRoot else { continue }
                let apartFromSmall = isAnotherChild(root, smallRoot)
                let apartFromLarge = isAnotherChild(root, largeRoot)
                guard apartFromSmall || apartFromLarge else { continue }
                // A child apart from both sides can be neither side's: it makes the join no guess, even
                // when it fits a side better than the sides fit each other (twins Sophie and Sophia: the
                // incident's "Sophua" joins Sophia once the incident's Sophie has joined Sophie).
                guard apartFromSmall != apartFromLarge else { continue }
                let record = records[Int(other)]
                if best < .exact {
                    for x in small + large where agreement(record, records[Int(x)], scratch: &scratch) > best {
                        return .twins
                    }
                }
                let join = joinFit ?? bestFit(small, large, scratch: &scratch)
                joinFit = join
                let (couldBeIts, otherSide) = apartFromLarge ? (smallRoot, largeRoot) : (largeRoot, smallRoot)
                // Twins whose names are forms of one name (Jacob and Jake): a record that fits one
                // exactly fits the other by a nickname, and may be either's (a police "Jacob" for Jake).
                // Only records whose name was written as told (a police row, a meals claim): health and
                // school records carry the registered name.
                let lookAlike =
                    join == .exact && members[couldBeIts].allSatisfy { records[Int($0)].namesAsTold }
                    && bestFit(members[root], members[otherSide], scratch: &scratch) >= .close
                if fits(
                    record, members[couldBeIts], atLeast: lookAlike ? .close : Self.rivalBar(join), scratch: &scratch)
                    && !(lookAlike && reportNamesItBetter(root, than: couldBeIts, scratch: &scratch))
                    && !(lookAlike
                        && reportNamesBothTwins(couldBeIts, join: otherSide, twin: root, scratch: &scratch))
                    && !registeredNamesDecide(record, small, large, couldBeIts: couldBeIts)
                    && !registeredNameSettlesTheJoin(
                        rival: other, rivalRoot: root, child: couldBeIts, namedBy: otherSide, scratch: &scratch)
                    && !(isUnidentified(root)
                        && fitsAnotherChild(
                            record, besides: [root, couldBeIts, otherSide], apartFrom: couldBeIts, keys: twinKeys,
                            atLeast: join,
                            scratch: &scratch))
                {
                    return .twins
                }
            }
        }
        return nil
    }

    /// The sibling rule: a home, a family name and a mother are a household's, shared by every child
    /// in it; what tells its children apart is the date of birth and the first name. Two children's
    /// records, dated on both sides, whose dates of birth are all far enough apart to be two births
    /// (`couldBeSiblings`) and with no first name written the same (legal or preferred; a nickname or
    /// a slip is not the same), share only the household: a meals claim's "Tilly" born 2023 and a
    /// health visitor's newborn Matilda born 2026 at the same address are sisters as likely as one
    /// child with a mistyped year. Only an identifier, a reviewed decision, or a record that agrees
    /// on one of the two joins them.
    func shareOnlyAHome(_ small: [Int32], _ large: [Int32]) -> Bool {
        guard bestAgreement(small, large, enough: .exact) < .exact else { return false }
        for x in small {
            for y in large where Self.sameHousehold(records[Int(x)], records[Int(y)]) { return true }
        }
        return false
    }

    /// How well a record of the other known child of the twins' date must fit a side to make a join of
    /// that level a guess. A near-certain slip of a name is that name written wrongly, as good a form of
    /// it as a nickname: when the join rests on a nickname (Alfie joining Alfred) and the other child's
    /// record is a slip of a side's name (an "Alfir" reviewed beside Alfred, so not his), the side may
    /// be that child's as well as the join's, and the join is refused. A join by the same name keeps
    /// its bar: a slip does not make an exact join a guess.
    static func rivalBar(_ join: FirstNameAgreement) -> FirstNameAgreement {
        join == .close ? .typo : join
    }

    /// The households, at their dates of birth, of these records where two children of that date are
    /// known. Every record that meets the other side at its date counts, not only the first pair found:
    /// a child's records may sit at two homes (a family that moved), and the twin may be known at
    /// either (Oliver's school row at the old address beside the twin Ollie's, in one term, while a
    /// meals claim's "Ollie" at the new address asks to join Oliver).
    func knownTwinKeys(of indices: Set<Int32>) -> [UInt64] {
        var keys: Set<UInt64> = []
        for index in indices {
            for key in Self.householdKeys(records[Int(index)]) where twinHouseholds[key] != nil { keys.insert(key) }
        }
        return keys.sorted()
    }

    /// A police row with only an age cannot show that it shares the twins' date of birth, but in a
    /// household where two children of one date are known it could be either twin's (twins Oliver and
    /// Ollie, both called "Ollie" in one incident, with ages that fit neither exactly): the twin rule
    /// weighs it as one of that date. The age must leave a birth year within two of the date's, and
    /// the two records must share a household. Nil when it does not apply.
    func knownTwinKeys(ofDated dated: MatchRecord, agedOnly aged: MatchRecord) -> [UInt64]? {
        guard dated.dob != 0, aged.dob == 0, aged.approximateAge >= 0, aged.ageYear > 0,
            abs(aged.birthYear - dated.birthYear) <= 2, Self.sameHousehold(dated, aged)
        else { return nil }
        let keys = Self.householdKeys(dated).filter { twinHouseholds[$0] != nil }
        return keys.isEmpty ? nil : keys
    }

    /// A report names each of its children once (a police incident, a meals claim). When a record of
    /// such a report, written as told, would join the other side by a form short of the same name
    /// (a police "Thomas" joining a school's Tommy) while another child of the same report also fits
    /// the other side's name, at least as a typo, and its date of birth or age (the incident's
    /// "Tommy" aged 13, or its "Tojmy"), at most one of the two is the other side's child and nothing
    /// says which: the join is refused (the twins Thomas and Tommy, named together). A join by the
    /// same name is not held back: the companion is then the sibling; a join only by the name the
    /// child goes by is (`fitToWrittenNames`). A companion already joined to
    /// a child that cannot be the other side's says nothing, nor does one that fits another child
    /// better than it fits the other side (`hasHomeElsewhere`: the incident's "Oliver" beside an
    /// "Ollei", when the twin Oliver has records of his own).
    mutating func reportNamesAnotherChildThatFits(_ smallRoot: Int, _ largeRoot: Int) -> Bool {
        var scratch = NameScratch()
        for (side, other) in [(smallRoot, largeRoot), (largeRoot, smallRoot)] {
            var joinFit: FirstNameAgreement?
            for x in members[side] where records[Int(x)].namesAsTold {
                guard let report = reportMembers[records[Int(x)].sideBySideKey] else { continue }
                let join = joinFit ?? fitToWrittenNames(members[side], members[other], scratch: &scratch)
                joinFit = join
                if join == .exact { break }
                for companion in report where companion != x {
                    let root = find(Int(companion))
                    guard root != side, root != other, !isAnotherChild(root, other) else { continue }
                    let named = records[Int(companion)]
                    var fitsOther = FirstNameAgreement.different
                    for held in members[other] where RecordComparer.datesAgree(named, records[Int(held)]) {
                        fitsOther = max(fitsOther, fit(named, records[Int(held)], scratch: &scratch))
                    }
                    if fitsOther >= .typo
                        && !hasHomeElsewhere(companion, fitting: fitsOther, besides: [side, other], scratch: &scratch)
                    {
                        return true
                    }
                }
            }
        }
        return false
    }

    /// How well a side's names fit the first names the other side's records are written under (the
    /// legal name, for health and school records), leaving out their preferred names: a record named
    /// as told that fits a child only by the name the child goes by ("Harry", for Harrison known as
    /// Harry) is no surer of that child than a companion that fits its legal name (a "Harriison").
    func fitToWrittenNames(_ side: [Int32], _ other: [Int32], scratch: inout NameScratch) -> FirstNameAgreement {
        var best = FirstNameAgreement.different
        for y in other {
            guard let written = records[Int(y)].given else { continue }
            for x in side {
                for name in [records[Int(x)].given, records[Int(x)].preferredGiven] {
                    guard let name else { continue }
                    let level = agreement(name, written, scratch: &scratch)
                    best = max(best, level == .familiar ? .close : level)
                    if best == .exact { return best }
                }
            }
        }
        return best
    }

    /// Whether each side fits a child of the twins' date better than the two sides fit each other,
    /// and those two children are apart (two NHS numbers or UPNs, or named side by side): then the
    /// sides are those two children's records, and the join would make one child of the twins (a
    /// police "Louis" and an incident's "Louie" aged 8, when Louis and Louie each have records).
    mutating func eachSideFitsAnotherTwin(
        _ smallRoot: Int, _ largeRoot: Int, keys: [UInt64], best: FirstNameAgreement
    ) -> Bool {
        var others: [Int] = []
        for key in keys {
            for other in twinHouseholds[key] ?? [] {
                let root = find(Int(other))
                if root != smallRoot && root != largeRoot && !others.contains(root) { others.append(root) }
            }
        }
        guard others.count >= 2 else { return false }
        let fitsSmall = others.filter { bestAgreement(members[$0], members[smallRoot], enough: .exact) > best }
        guard !fitsSmall.isEmpty else { return false }
        let fitsLarge = others.filter { bestAgreement(members[$0], members[largeRoot], enough: .exact) > best }
        for x in fitsSmall {
            for y in fitsLarge where x != y && isAnotherChild(x, y) { return true }
        }
        return false
    }

    /// Whether a record fits a child other than `besides` better than `level`: a record of its own
    /// child (already joined), or one the model proposes to link it with. Then it is that child's
    /// (the incident's "Oliver" when the twin Oliver has health records), not a rival for the join.
    mutating func hasHomeElsewhere(
        _ index: Int32, fitting level: FirstNameAgreement, besides roots: [Int], scratch: inout NameScratch
    ) -> Bool {
        let record = records[Int(index)]
        let own = members[find(Int(index))].filter { $0 != index }
        for home in own + (proposedPartners[index] ?? []) where !roots.contains(find(Int(home))) {
            if fit(record, records[Int(home)], scratch: &scratch) > level { return true }
        }
        return false
    }

    /// Whether the report that names a side (`than`) also names another record that fits the child
    /// `root` better than that side does: then the report's names are assigned, and the side is not
    /// `root`'s (a claim naming "Jacob" and "Jake" for twins Jacob and Jake).
    func reportNamesItBetter(_ root: Int, than side: Int, scratch: inout NameScratch) -> Bool {
        let sideFit = bestFit(members[root], members[side], scratch: &scratch)
        for x in members[side] where records[Int(x)].sideBySideKey != 0 {
            for other in reportMembers[records[Int(x)].sideBySideKey] ?? [] where other != x {
                if members[root].contains(where: {
                    fit(records[Int($0)], records[Int(other)], scratch: &scratch) > sideFit
                }) {
                    return true
                }
            }
        }
        return false
    }

    /// Whether the report that names a side (`side`, written as told) names the other twin too, so
    /// that its two records are the two twins, one each, and its names say which is which: read
    /// straight (the side is `join`'s child, the companion `twin`'s), every record fits its twin at
    /// least as well as read crossed, and one fits better. An incident naming "Sophie" and "Sophua"
    /// when the twins are Sophie and Sophia: Sophie fits Sophie exactly and Sophia only by a form,
    /// while "Sophua" is a slip of either, so the incident's Sophie is the twin Sophie. The companion
    /// must fit `twin` at least as a slip (a report naming a brother instead says nothing of the
    /// twins). When both readings fit alike (twins each known by the other's name, Oliver known as
    /// Ollie and Ollie known as Oliver, named "Oliver" and "Ollie") it stays a guess.
    mutating func reportNamesBothTwins(_ side: Int, join: Int, twin: Int, scratch: inout NameScratch) -> Bool {
        let straightSide = bestFit(members[side], members[join], scratch: &scratch)
        let crossedSide = bestFit(members[side], members[twin], scratch: &scratch)
        guard straightSide >= crossedSide else { return false }
        for x in members[side] where records[Int(x)].namesAsTold {
            for companion in reportMembers[records[Int(x)].sideBySideKey] ?? [] where companion != x {
                let root = find(Int(companion))
                guard root != side, root != join, root == twin || isUnidentified(root) else { continue }
                let straight = bestFit([companion], members[twin], scratch: &scratch)
                let crossed = bestFit([companion], members[join], scratch: &scratch)
                if straight >= .typo && straight >= crossed && (straightSide > crossedSide || straight > crossed) {
                    return true
                }
            }
        }
        return false
    }

    /// Whether registered names settle which twin a side is: health and school records carry the
    /// legal name as registered (a meals claim or a police row may name a twin by the other's). When
    /// the join has two registered records of the same legal name, one on each side, and the other
    /// child's record is registered under a legal name that no registered record of the side
    /// shares, the side is not that child's, however its preferred name fits (twins Freddie, and
    /// Frederick known as Freddie, at one school without UPNs: Freddie's rows of two terms join).
    func registeredNamesDecide(_ record: MatchRecord, _ small: [Int32], _ large: [Int32], couldBeIts side: Int) -> Bool
    {
        guard !record.namesAsTold, let rivalName = record.given else { return false }
        func legalNames(_ cluster: [Int32]) -> Set<NameKey> {
            Set(cluster.compactMap { records[Int($0)].namesAsTold ? nil : records[Int($0)].given })
        }
        let sideNames = legalNames(members[side])
        return !legalNames(small).isDisjoint(with: legalNames(large)) && !sideNames.contains(rivalName)
    }

    /// Whether the join names the child by its registered first name while the rival fits that child
    /// only by another form (the name the child goes by, or a nickname), and the rival's own child is
    /// not known by the join's name: then the join's record is that child's and the rival the other
    /// twin's. A meals claim naming "James" and "Jamie", when the only twin with records of his own is
    /// registered James and known as Jamie: the twin Jamie is the claim's "Jamie", not James's second
    /// name. Twins each known by the other's name (Oliver known as Ollie, Ollie known as Oliver) stay
    /// a guess: the rival's child is known by the join's name.
    mutating func registeredNameSettlesTheJoin(
        rival: Int32, rivalRoot: Int, child: Int, namedBy side: Int, scratch: inout NameScratch
    ) -> Bool {
        let registered = members[child].filter { !records[Int($0)].namesAsTold }
        guard !registered.isEmpty,
            fitToWrittenNames(members[side], registered, scratch: &scratch) == .exact,
            fitToWrittenNames([rival], registered, scratch: &scratch) < .exact
        else { return false }
        return bestFit(members[rivalRoot], members[side], scratch: &scratch) < .exact
    }

    /// A record not yet joined to a child with an identifier: it could still be any child's.
    func isUnidentified(_ root: Int) -> Bool { nhs[root] == 0 && upn[root] == 0 }

    /// Whether `record` (of a child with no identifier) fits a child with an identifier other than
    /// `besides`, and apart from `apartFrom`, at least as well as `level`: then it has a home as good
    /// as the join's side and does not compete for that side (a claim's "Sophie", when one twin is
    /// Sophie and the other Sophia known as Sophie, leaves the claim's "Sophia" to Sophia). A child
    /// with an identifier competing with another record is still a guess (each twin named by the
    /// other's name: the claim's Oliver and Ollie, twins Oliver known as Ollie and Ollie known as Oliver).
    mutating func fitsAnotherChild(
        _ record: MatchRecord, besides: [Int], apartFrom: Int, keys: [UInt64], atLeast level: FirstNameAgreement,
        scratch: inout NameScratch
    ) -> Bool {
        for key in keys {
            for other in twinHouseholds[key] ?? [] {
                let root = find(Int(other))
                guard !besides.contains(root), !isUnidentified(root), isAnotherChild(root, apartFrom) else { continue }
                if fit(record, records[Int(other)], scratch: &scratch) >= level { return true }
            }
        }
        return false
    }

    /// How well two records' first names fit, as the ambiguity test weighs them: the best agreement
    /// of their legal and preferred names, a familiar form counting as a nickname ("Ollie" on a meals
    /// claim could be the twin Oliver's or the twin Olivia's record). Legal and preferred names count
    /// alike: a claim may name each twin by its preferred name, which can be the other twin's legal
    /// name (Oliver known as Ollie, Ollie known as Oliver), and nothing in the record says which.
    func fit(_ a: MatchRecord, _ b: MatchRecord, scratch: inout NameScratch) -> FirstNameAgreement {
        let best = agreement(a, b, scratch: &scratch)
        return best == .familiar ? .close : best
    }

    func bestFit(_ small: [Int32], _ large: [Int32], scratch: inout NameScratch) -> FirstNameAgreement {
        var best = FirstNameAgreement.different
        for x in small { for y in large { best = max(best, fit(records[Int(x)], records[Int(y)], scratch: &scratch)) } }
        return best
    }

    /// Whether a record of one cluster fits `record` at least as well as `level`.
    func fits(
        _ record: MatchRecord, _ cluster: [Int32], atLeast level: FirstNameAgreement, scratch: inout NameScratch
    ) -> Bool {
        cluster.contains { fit(record, records[Int($0)], scratch: &scratch) >= level }
    }

    /// Whether two clusters can never be one child: two different NHS numbers or permanent UPNs, or
    /// two records one partner reported side by side.
    func isAnotherChild(_ x: Int, _ y: Int) -> Bool {
        if (nhs[x] != 0 && nhs[y] != 0 && nhs[x] != nhs[y]) || (upn[x] != 0 && upn[y] != 0 && upn[x] != upn[y]) {
            return true
        }
        for a in members[x] where records[Int(a)].sideBySideKey != 0 || records[Int(a)].periodKey != 0 {
            for b in members[y] where records[Int(a)].reportedApart(from: records[Int(b)]) { return true }
        }
        return false
    }

    /// The best first-name agreement of any record of one cluster with any of the other; stops at `enough`.
    func bestAgreement(_ small: [Int32], _ large: [Int32], enough: FirstNameAgreement) -> FirstNameAgreement {
        var scratch = NameScratch()
        var best = FirstNameAgreement.different
        for x in small {
            for y in large {
                best = max(best, agreement(records[Int(x)], records[Int(y)], scratch: &scratch))
                if best >= enough { return best }
            }
        }
        return best
    }

    /// The best agreement of the two records' legal and preferred first names.
    func agreement(_ a: MatchRecord, _ b: MatchRecord, scratch: inout NameScratch) -> FirstNameAgreement {
        var best = FirstNameAgreement.different
        for x in [a.given, a.preferredGiven] {
            for y in [b.given, b.preferredGiven] {
                guard let x, let y else { continue }
                best = max(best, agreement(x, y, scratch: &scratch))
            }
        }
        return best
    }

    func agreement(_ x: NameKey, _ y: NameKey, scratch: inout NameScratch) -> FirstNameAgreement {
        let spelled = spellingAgreement(x, y, scratch: &scratch)
        return spelled < .familiar && nicknames.areEquivalentIncludingFamiliarForms(x, y) ? .familiar : spelled
    }

    /// The agreement of the comparator's levels, without familiar forms.
    func spellingAgreement(_ x: NameKey, _ y: NameKey, scratch: inout NameScratch) -> FirstNameAgreement {
        switch NameComparison.compareGivenNames(x, y, nicknames: nicknames, scratch: &scratch) {
        case .exact: .exact
        case .nickname, .jaroWinkler95: .close
        case .jaroWinkler88, .editDistance1or2: isTypo(x, y) ? .typo : .different
        case .different:
            (NameComparison.isShortNameSlip(x, y, scratch: &scratch) && isTypo(x, y))
                || NameComparison.isSlipOfAForm(x, y, nicknames: nicknames, scratch: &scratch) {
                    frequencies.isSlip($0, ofForm: $1)
                } ? .typo : .different
        case .initial, .missing: .different
        }
    }

    /// Of two close spellings, is one a slip of the other (`NameFrequencies.isTypo`)?
    func isTypo(_ x: NameKey, _ y: NameKey) -> Bool { frequencies.isTypo(x, y) }

    /// The same household: a similar family name, the same mother, or the same address. Family
    /// names need only be similar: a twin's record may carry a typo or a hyphenated surname.
    static func sameHousehold(_ a: MatchRecord, _ b: MatchRecord) -> Bool {
        if (a.carerNHS != 0 && a.carerNHS == b.carerNHS) || (a.addressKey != 0 && a.addressKey == b.addressKey) {
            return true
        }
        var scratch = NameScratch()
        for x in [a.family, a.preferredFamily] {
            for y in [b.family, b.preferredFamily] where x != nil && y != nil {
                let level = NameComparison.compareFamilyNames(x, y, scratch: &scratch)
                if level != .different && level != .missing { return true }
            }
        }
        return false
    }

    /// Keys of a record's household at its date of birth: with its address, with its mother, and
    /// with its family name in its postcode district. Empty without a date of birth.
    static func householdKeys(_ r: MatchRecord) -> [UInt64] {
        guard r.dob != 0 else { return [] }
        func key(_ salt: UInt64, _ value: UInt64) -> UInt64 {
            ((UInt64(r.dob) &* 0x9E37_79B9_7F4A_7C15) ^ (value &* 0x0000_0100_0000_01B3) ^ salt) | 1
        }
        var keys: [UInt64] = []
        if r.addressKey != 0 { keys.append(key(1, r.addressKey)) }
        if r.carerNHS != 0 { keys.append(key(2, r.carerNHS)) }
        if let family = r.family { keys.append(key(3, family.fingerprint ^ UInt64(r.postcode?.outward ?? 0) << 7)) }
        return keys
    }

    /// Households in which a second child of one birth date exists for certain: two different valid
    /// NHS numbers, two different permanent UPNs, or two rows one partner reported side by side.
    static func knownTwinHouseholds(_ records: [MatchRecord]) -> [UInt64: [Int32]] {
        var firstNHS: [UInt64: UInt64] = [:]
        var firstUPN: [UInt64: UInt64] = [:]
        var sideBySide: Set<UInt64> = []
        var known: Set<UInt64> = []
        for record in records where record.dob != 0 {
            for key in householdKeys(record) {
                if record.nhs != 0, let seen = firstNHS.updateValue(record.nhs, forKey: key), seen != record.nhs {
                    known.insert(key)
                }
                if record.upn != 0, let seen = firstUPN.updateValue(record.upn, forKey: key), seen != record.upn {
                    known.insert(key)
                }
                if record.sideBySideKey != 0
                    && !sideBySide.insert((key &* 0x0000_0100_0000_01B3) ^ record.sideBySideKey).inserted
                {
                    known.insert(key)
                }
            }
        }
        var holders: [UInt64: [Int32]] = [:]
        for (index, record) in records.enumerated() where record.dob != 0 {
            for key in householdKeys(record) where known.contains(key) {
                holders[key, default: []].append(Int32(index))
            }
        }
        return holders
    }

    /// Pairwise form of the twin rule, for `explain-pair`: same date of birth and household, and
    /// first names that are not one name in any form (exact, nickname, near-certain typo).
    static func looksLikeTwins(
        _ a: MatchRecord, _ b: MatchRecord, _ nicknames: NicknameTable, frequencies: NameFrequencies = NameFrequencies()
    ) -> Bool {
        guard a.dob != 0, a.dob == b.dob, a.given != nil, b.given != nil, sameHousehold(a, b) else { return false }
        let clusterer = Clusterer(records: [a, b], apart: [], nicknames: nicknames, frequencies: frequencies)
        return clusterer.bestAgreement([0], [1], enough: .typo) < .typo
    }

    /// Whether two dates of birth (`yyyymmdd`) are far enough apart for two births of one mother: eight
    /// calendar months or more. Closer dates that differ are one child's, one of them mistyped (a day
    /// slip, or a day and month swapped within the year), or twins' (the same date, the twin rule's).
    static func couldBeSiblings(_ a: UInt32, _ b: UInt32) -> Bool {
        func months(_ date: UInt32) -> Int { Int(date / 10000 * 12 + date / 100 % 100) }
        return abs(months(a) - months(b)) >= 8 && !isSlip(a, b)
    }

    /// Whether one date of birth is a keying slip of the other within one year: the day and month
    /// swapped, or one digit of the month or day wrong (2019-03-11 for 2019-11-03, 2019-12-07 for
    /// 2019-02-07). Such a date is one child's date mistyped, not a second birth, however many months
    /// it moves: two births of one year that far apart rarely fall on such a pair. A year that differs
    /// by one digit with the same day and month is not counted: sisters born on one day of the year,
    /// three years apart (2023-08-01 and 2026-08-01), are as likely as the slip.
    static func isSlip(_ a: UInt32, _ b: UInt32) -> Bool {
        guard a / 10_000 == b / 10_000 else { return false }
        let level = DateComparison.compare(packed: a, packed: b)
        return level == .dayMonthSwapped || level == .oneDigitTypo
    }

    /// Pairwise form of the sibling rule (`shareOnlyAHome`), for `explain-pair`: both dated, dates of
    /// birth two births apart, one household, and no first name written the same.
    static func looksLikeSiblings(
        _ a: MatchRecord, _ b: MatchRecord, _ nicknames: NicknameTable, frequencies: NameFrequencies = NameFrequencies()
    ) -> Bool {
        guard a.dob != 0, b.dob != 0, couldBeSiblings(a.dob, b.dob) else { return false }
        let clusterer = Clusterer(records: [a, b], apart: [], nicknames: nicknames, frequencies: frequencies)
        return clusterer.shareOnlyAHome([0], [1])
    }

    /// The root of each record's child.
    mutating func roots() -> [Int] { (0..<records.count).map { find($0) } }
}
