import Dispatch
import Foundation

/// A pair the model could not decide, for a person to look at.
public struct ReviewCandidate: Sendable {
    public var a: Int
    public var b: Int
    public var weight: Double
    public var vector: ComparisonVector
    public var reason: String
}

/// Everything one linkage pass decided, over records held in memory.
struct LinkageResult {
    var model: MatchModel
    var frequencies: NameFrequencies
    /// Cluster root for each record index.
    var roots: [Int]
    var applied: [Link]
    var review: [ReviewCandidate]
    var pairsCompared: Int
    var refusedTwins: Int
    var oversizedBlocks: Int
    /// The model's pairs between two children of several records each, left out of the queue
    /// (`Linkage.worthQueuing`): counted, so that what no one is shown is still a figure.
    var notQueuedBetweenMadeChildren = 0
}

/// The linkage algorithm, free of the database: blocking, comparison, the model, thresholds and
/// constrained clustering.
struct Linkage {
    let settings: ResolutionSettings
    let nicknames: NicknameTable

    /// Links `records`. With `model == nil` the model is estimated from these records (a full run);
    /// otherwise the stored model and name frequencies are used (incremental and review runs).
    ///
    /// Incremental runs pass `firstNew` and `seeds`: records before `firstNew` are already resolved,
    /// `seeds` holds them grouped by their current child, and only pairs involving a new record are
    /// compared. Clusters then grow from the existing children instead of being rebuilt.
    /// `keys`: the records' blocking keys, when the caller has computed them already.
    /// `whenScored` runs once every pair is scored: from there to the end the pass works on one
    /// core, so a caller starts work of its own on the other there.
    func run(
        records: [MatchRecord], keys: RecordKeys? = nil, model existing: (MatchModel, NameFrequencies)?,
        decisions: [(a: Int, b: Int, sameChild: Bool)], firstNew: Int = 0, seeds: [[Int]] = [],
        clock: PhaseClock? = nil, whenScored: () -> Void = {}
    ) -> LinkageResult {
        // A full run's name counts come from its records; the comparison needs them (short-name slips).
        let frequencies = existing?.1 ?? NameFrequencies(records: records)
        if existing == nil, let keys {
            return estimateAndLink(
                records: records, keys: keys, frequencies: frequencies, decisions: decisions, firstNew: firstNew,
                seeds: seeds, clock: clock, whenScored: whenScored)
        }
        // A full run learns its aliases from its records; every other run uses those its model stored.
        let learned =
            existing.map { $0.0.learnedAliases ?? .none }
            ?? LearnedAliases.learn(from: records, nicknames: nicknames, frequencies: frequencies)
        return Linkage(settings: settings, nicknames: nicknames.withLearned(learned)).link(
            records: records, keys: keys, model: existing?.0, frequencies: frequencies, decisions: decisions,
            firstNew: firstNew, seeds: seeds, clock: clock, whenScored: whenScored)
    }

    /// A run that estimates its model, with the blocking keys known: learning the aliases (one core)
    /// runs beside the work that needs no aliases, the candidate pairs, the name ids and u from
    /// random pairs (both cores), instead of before it while the second core waits. The keys were
    /// made with the standard table and u's comparer uses it too, so every result is the one the
    /// plain order gives.
    private func estimateAndLink(
        records: [MatchRecord], keys: RecordKeys, frequencies: NameFrequencies,
        decisions: [(a: Int, b: Int, sameChild: Bool)], firstNew: Int, seeds: [[Int]], clock: PhaseClock?,
        whenScored: () -> Void
    ) -> LinkageResult {
        let nicknames = nicknames
        let learning = BackgroundWork {
            LearnedAliases.learn(from: records, nicknames: nicknames, frequencies: frequencies)
        }
        let candidates = CandidatePairs(keys: keys, firstNew: firstNew, maxBlock: settings.maxBlockSize)
        let names = NameSetIDs(records: records)
        let u = MatchModel.estimateU(
            records: records, samples: settings.randomPairs, seed: settings.seed, frequencies: frequencies,
            names: names)
        // `learn` does not throw; `wait` only passes on what the work threw.
        let learned = (try? learning.wait()) ?? .none
        clock?.mark("link: block, u from random pairs and aliases (beside each other)")
        return Linkage(settings: settings, nicknames: nicknames.withLearned(learned)).link(
            records: records, keys: keys, model: nil, frequencies: frequencies, decisions: decisions,
            firstNew: firstNew, seeds: seeds, clock: clock, whenScored: whenScored,
            prepared: (candidates, names, u))
    }

    /// `run` with the name frequencies known and this linkage's nickname table holding the learned aliases.
    private func link(
        records: [MatchRecord], keys: RecordKeys?, model existing: MatchModel?, frequencies: NameFrequencies,
        decisions: [(a: Int, b: Int, sameChild: Bool)], firstNew: Int, seeds: [[Int]], clock: PhaseClock?,
        whenScored: () -> Void, prepared: (candidates: CandidatePairs, names: NameSetIDs, u: [[Double]])? = nil
    ) -> LinkageResult {
        let candidates =
            prepared?.candidates
            ?? CandidatePairs(
                keys: keys ?? RecordKeys(records: records, rules: settings.blockingRules, nicknames: nicknames),
                firstNew: firstNew, maxBlock: settings.maxBlockSize)
        if prepared == nil { clock?.mark("link: block") }
        let names = prepared?.names ?? NameSetIDs(records: records)
        let patterns = compareAll(records, candidates.packed, frequencies: frequencies, names: names)
        clock?.mark("link: compare")

        let model: MatchModel
        if let existing {
            model = existing
        } else {
            let u =
                prepared?.u
                ?? MatchModel.estimateU(
                    records: records, samples: settings.randomPairs, seed: settings.seed, frequencies: frequencies,
                    names: names)
            let counts = Self.patternCounts(patterns, pairs: candidates.packed, records: records)
            var estimated = MatchModel.estimate(
                patternCounts: counts, u: u,
                averageExactU: [frequencies.averageU(given: true), frequencies.averageU(given: false)])
            estimated.prior = MatchModel.prior(
                matchProportion: estimated.matchProportion, pairs: estimated.pairsUsed, records: records.count)
            estimated.learnedAliases = nicknames.learned
            model = estimated
        }
        let bands = settings.bands(prior: model.prior ?? MatchModel.fallbackPrior)
        clock?.mark("link: model")

        // Every pattern's model weight, once: the loop below then only adds name-frequency adjustments.
        let patternWeights = (0..<ComparisonVector.patternCount).map {
            model.weight(ComparisonVector(patternIndex: $0))
        }
        let decided = Dictionary(decisions.map { (Self.key($0.a, $0.b), $0.sameChild) }, uniquingKeysWith: { $1 })
        let cannotReachReview = Self.patternsBelowReview(patternWeights, review: bands.review)
        let sharedUPNs = Self.upnsOnTwoChildren(records)
        // Each pair is scored on its own: slices run on all cores, their results joined in pair order.
        let scored = ParallelSlices.collect(candidates.packed.count) { range in
            var links: [Link] = []
            var review: [ReviewCandidate] = []
            var weak: [ReviewCandidate] = []
            for index in range {
                // Most blocked pairs: skipped before their records are read (the test below would skip them too).
                if cannotReachReview[Int(patterns[index])] { continue }
                let pair = candidates.packed[index]
                let a = Int(pair >> 32)
                let b = Int(pair & 0xFFFF_FFFF)
                if !decided.isEmpty && decided[Self.key(a, b)] != nil { continue }
                let ra = records[a]
                let rb = records[b]
                if ra.nhs != 0 && rb.nhs != 0 { continue }  // identifiers decide: same → below, different → never
                let vector = ComparisonVector(patternIndex: Int(patterns[index]))
                let weight =
                    patternWeights[Int(patterns[index])]
                    + Self.nameFrequencyAdjustment(vector, ra, rb, model: model, frequencies: frequencies)
                // A pattern the model never links is not worth a person's time either, whatever its weight.
                if weight < bands.review || Self.neverLink(vector) != nil {
                    if Self.incidentCouldVouch(vector) {
                        weak.append(
                            ReviewCandidate(a: a, b: b, weight: weight, vector: vector, reason: Self.belowBands))
                    }
                    continue
                }
                if weight >= bands.link {
                    if let guardReason = Self.holdBack(vector) {
                        if !Self.notWorthQueuing(ra, rb, sharedUPNs: sharedUPNs) {
                            review.append(
                                ReviewCandidate(a: a, b: b, weight: weight, vector: vector, reason: guardReason))
                        }
                    } else {
                        links.append(Link(a: a, b: b, method: .probabilistic, weight: weight, vector: vector))
                    }
                } else if Self.notWorthQueuing(ra, rb, sharedUPNs: sharedUPNs) {
                    continue
                } else {
                    review.append(
                        ReviewCandidate(
                            a: a, b: b, weight: weight, vector: vector, reason: Self.betweenTheBands))
                }
            }
            return (links: links, review: review, weak: weak)
        }
        var links = scored.flatMap(\.links)
        var review = scored.flatMap(\.review)
        let weak = scored.flatMap(\.weak)

        clock?.mark("link: score pairs")
        whenScored()

        // Deterministic links: the same valid NHS number, then the same permanent UPN.
        let byIdentifier = judgeIdentifierPairs(
            Self.sameIdentifierPairs(records, sharedUPNs: sharedUPNs, firstNew: firstNew, decided: decided),
            records: records, names: names, model: model, frequencies: frequencies)
        links += byIdentifier.links
        review += byIdentifier.review

        var comparer = RecordComparer(nicknames: nicknames, frequencies: frequencies)
        var apart: [(Int, Int)] = []
        for decision in decisions where max(decision.a, decision.b) >= firstNew || decision.sameChild == false {
            if decision.sameChild {
                let vector = comparer.compare(records[decision.a], records[decision.b])
                links.append(
                    Link(
                        a: decision.a, b: decision.b, method: .review,
                        weight: Self.weight(
                            vector, records[decision.a], records[decision.b], model: model, frequencies: frequencies),
                        vector: vector))
            } else {
                apart.append((decision.a, decision.b))
            }
        }

        clock?.mark("link: identifiers and decisions")
        var clusterer = Clusterer(records: records, apart: apart, nicknames: nicknames, frequencies: frequencies)
        for group in seeds { clusterer.seed(group) }
        clusterer.apply(links)
        let vouched = Self.vouchedForByTheReport(review + weak, records: records, roots: clusterer.roots())
        if !vouched.isEmpty { clusterer.apply(vouched) }
        let roots = clusterer.roots()
        // Only pairs that still sit in different children are worth a person's time.
        let inTwoChildren = review.filter { roots[$0.a] != roots[$0.b] }
        let open = Self.worthQueuing(inTwoChildren, roots: roots)
        clock?.mark("link: cluster")
        return LinkageResult(
            model: model, frequencies: frequencies, roots: roots, applied: clusterer.applied, review: open,
            pairsCompared: candidates.count, refusedTwins: clusterer.refused.filter { $0.reason.keepsTwinsApart }.count,
            oversizedBlocks: candidates.oversizedBlocks.values.reduce(0, +),
            notQueuedBetweenMadeChildren: inTwoChildren.count - open.count)
    }

    /// How often each pattern occurs among the blocked pairs, split by what their identifiers say;
    /// counted on all cores (whole numbers: the totals do not depend on the order of adding).
    static func patternCounts(_ patterns: [UInt16], pairs: [UInt64], records: [MatchRecord]) -> MatchModel.PatternCounts
    {
        let unretained = UnretainedRecords(records)
        let slices = withExtendedLifetime(records) {
            ParallelSlices.collect(patterns.count, minimumSlice: 65_536) { range in
                var counts = MatchModel.PatternCounts()
                for index in range {
                    let pattern = Int(patterns[index])
                    // The records are only read here; the counts are written outside the closure.
                    let label = unretained.withPair(Int(pairs[index] >> 32), Int(pairs[index] & 0xFFFF_FFFF)) {
                        a, b in
                        if (a.nhs != 0 && a.nhs == b.nhs) || (a.upn != 0 && a.upn == b.upn) { return 0 }
                        return (a.nhs != 0 && b.nhs != 0) || (a.upn != 0 && b.upn != 0) ? 1 : 2
                    }
                    switch label {
                    case 0: counts.sameIdentifier[pattern] += 1
                    case 1: counts.differentIdentifier[pattern] += 1
                    default: counts.unlabelled[pattern] += 1
                    }
                }
                return counts
            }
        }
        var total = MatchModel.PatternCounts()
        for slice in slices {
            for pattern in 0..<ComparisonVector.patternCount {
                total.sameIdentifier[pattern] += slice.sameIdentifier[pattern]
                total.differentIdentifier[pattern] += slice.differentIdentifier[pattern]
                total.unlabelled[pattern] += slice.unlabelled[pattern]
            }
        }
        return total
    }

    /// The pairs the identifiers join, in record order: the same valid NHS number, then the same
    /// permanent UPN; each record with the first record of its group. A UPN one school gave two
    /// pupils of one term (`sharedUPNs`) joins nothing: the model decides those records. Pairs of two
    /// old records (already one child) and pairs a person decided are left out.
    static func sameIdentifierPairs(
        _ records: [MatchRecord], sharedUPNs: Set<UInt64>, firstNew: Int, decided: [UInt64: Bool]
    ) -> [(anchor: Int, index: Int, method: LinkMethod)] {
        var pairs: [(anchor: Int, index: Int, method: LinkMethod)] = []
        for method in [LinkMethod.nhsNumber, .upn] {
            var first: [UInt64: Int] = [:]
            for (index, record) in records.enumerated() {
                let value = method == .nhsNumber ? record.nhs : record.upn
                guard value != 0 else { continue }
                if method == .upn && sharedUPNs.contains(value) { continue }
                guard let anchor = first[value] else {
                    first[value] = index
                    continue
                }
                if index < firstNew { continue }  // both old: already in one child
                if decided[Self.key(anchor, index)] != nil { continue }
                pairs.append((anchor, index, method))
            }
        }
        return pairs
    }

    /// Each identifier pair's comparison and weight, on all cores: a link, or a review candidate when
    /// the pair's date of birth and first name both conflict (a mistyped or shared identifier). In
    /// the order of `pairs`.
    func judgeIdentifierPairs(
        _ pairs: [(anchor: Int, index: Int, method: LinkMethod)], records: [MatchRecord], names: NameSetIDs,
        model: MatchModel, frequencies: NameFrequencies
    ) -> (links: [Link], review: [ReviewCandidate]) {
        let nicknames = nicknames
        let unretained = UnretainedRecords(records)
        let judged = withExtendedLifetime(records) {
            ParallelSlices.map(pairs.count) { range in
                var comparer = MemoizingComparer(
                    RecordComparer(nicknames: nicknames, frequencies: frequencies), names: names)
                return range.map { position -> (link: Link?, review: ReviewCandidate?) in
                    let (anchor, index, method) = pairs[position]
                    let (vector, weight) = unretained.withPair(anchor, index) { a, b in
                        let vector = comparer.compare(anchor, index, a, b)
                        return (vector, Self.weight(vector, a, b, model: model, frequencies: frequencies))
                    }
                    let dateConflict = vector[.dateOfBirth] == 4
                    let nameConflict = vector[.givenName] == NameLevel.different.rawValue
                    guard dateConflict && nameConflict else {
                        return (Link(a: anchor, b: index, method: method, weight: weight, vector: vector), nil)
                    }
                    let identifier = method == .nhsNumber ? "NHS number" : "UPN"
                    return (
                        nil,
                        ReviewCandidate(
                            a: anchor, b: index, weight: weight, vector: vector,
                            reason: "same \(identifier) but a different date of birth and first name")
                    )
                }
            }
        }
        return (judged.compactMap(\.link), judged.compactMap(\.review))
    }

    /// For each pattern, whether no pair with it can be linked, queued or vouched for: a pattern the
    /// model never links, or one whose weight stays below the review band even with the largest
    /// name-frequency adjustment on each exactly agreeing name, unless a police incident could vouch
    /// for it below the band (`incidentCouldVouch`). Floating-point addition is monotone, so a pair's
    /// weight (pattern weight + adjustments) is then below the band too: skipping it early changes
    /// nothing the scoring loop decides.
    static func patternsBelowReview(_ patternWeights: [Double], review: Double) -> [Bool] {
        patternWeights.indices.map { index in
            let vector = ComparisonVector(patternIndex: index)
            if incidentCouldVouch(vector) { return false }
            let most =
                (vector[.givenName] == 0 ? NameFrequencies.adjustmentBound : 0)
                + (vector[.familyName] == 0 ? NameFrequencies.adjustmentBound : 0)
            return neverLink(vector) != nil || patternWeights[index] + most < review
        }
    }

    /// Pairs the identifiers say are two children, which the queue leaves out: a person would only
    /// reject them, and their number grows with the square of the population.
    /// - Two different permanent UPNs: two pupils, whom the model never joins
    ///   (`LinkRefusal.differentUPNs`). At 100,000 children (harsh, seed 1) 187 of the 430 queued
    ///   pairs were such pairs and none was one child: namesakes of one birthday at two schools.
    /// - Two rows of one partner of which only one carries the partner's identifier (a school's
    ///   permanent UPN, health visiting's NHS number): a partner gives a child's number whenever it
    ///   has it, so the same child's rows agree on it, and a row without it that the model does not
    ///   link outright is another child. At 430,000 children (default, seed 1) 619 of the 2,381
    ///   queued pairs were such pairs and none was one child.
    /// A UPN one school gave two pupils (`upnsOnTwoChildren`) says nothing, so its pairs are queued.
    static func notWorthQueuing(_ a: MatchRecord, _ b: MatchRecord, sharedUPNs: Set<UInt64>) -> Bool {
        if sharedUPNs.contains(a.upn) || sharedUPNs.contains(b.upn) { return false }
        if a.upn != 0 && b.upn != 0 && a.upn != b.upn { return true }
        guard a.kind == b.kind else { return false }
        switch a.kind {
        case MatchRecord.healthVisitingKind: return (a.nhs == 0) != (b.nhs == 0)
        case MatchRecord.schoolKind: return (a.upn == 0) != (b.upn == 0)
        default: return false
        }
    }

    /// The model's queued pairs (between the bands, or an age held back elsewhere) without those whose
    /// two records each already belong to a child of several records. Such a pair asks whether two
    /// children, each made by links stronger than this pair, are one; had they been, their other
    /// records would have met too. On synthetic data none was: at 100,000 children (default, seed 1)
    /// 111 of the 174 queued pairs were such pairs and not one was one child, while 55 of the other 63
    /// were. Their number grows with the square of the population (namesakes of one birthday who each
    /// have a school and a meals record), the matches' only with it. Pairs an identifier queued (a
    /// shared number with a conflicting date of birth and name) stay: a person must see those.
    static func worthQueuing(_ review: [ReviewCandidate], roots: [Int]) -> [ReviewCandidate] {
        guard !review.isEmpty else { return review }
        var childSizes = [Int32](repeating: 0, count: roots.count)
        for root in roots { childSizes[root] += 1 }
        return review.filter { candidate in
            let byTheModel = candidate.reason == betweenTheBands || candidate.reason == approximateAgeElsewhere
            return !byTheModel || childSizes[roots[candidate.a]] == 1 || childSizes[roots[candidate.b]] == 1
        }
    }

    /// Permanent UPNs that two rows of one report carry (two pupils of one term at one school): the
    /// school keyed one pupil's number for another, so the number says nothing about either.
    static func upnsOnTwoChildren(_ records: [MatchRecord]) -> Set<UInt64> {
        var seen: Set<UInt64> = []
        var shared: Set<UInt64> = []
        for record in records where record.upn != 0 && record.sideBySideKey != 0 {
            if !seen.insert(record.upn &* 0x0000_0100_0000_01B3 ^ record.sideBySideKey).inserted {
                shared.insert(record.upn)
            }
        }
        return shared
    }

    /// Patterns the model never links and does not queue: siblings and twins share surname, address
    /// and mother, and their first names are what differ. On synthetic data these pairs are
    /// almost never the same child, and there are too many of them for a person to check.
    /// Only an identifier (or a data officer's decision) can join such records.
    ///
    /// Dates of birth that disagree outright (no typo, swap or year slip of each other) are the
    /// other half of a sibling's look: on synthetic data, default and harsh, not one such queued
    /// pair was one child (0 of 25 and 0 of 734 at 20,000 children), so they are not queued either.
    static func neverLink(_ vector: ComparisonVector) -> String? {
        if vector[.givenName] == NameLevel.different.rawValue {
            return "first names disagree outright (possible sibling or twin)"
        }
        if vector[.dateOfBirth] == 4 { return "dates of birth disagree outright (possible sibling)" }
        return nil
    }

    /// Patterns a weight alone must not link, however high it is: each is how a sibling or a
    /// namesake looks. They go to a person instead.
    static func holdBack(_ vector: ComparisonVector) -> String? {
        let date = vector[.dateOfBirth]
        let location = vector[.location]
        if (date == 5 || date == 6) && location > 1 {
            // An age is weak evidence: without the same address or postcode it could be anyone of that name.
            return approximateAgeElsewhere
        }
        return nil
    }

    static let approximateAgeElsewhere = "only an approximate age, at a different address"
    static let belowBands = "match probability below the review band"
    static let betweenTheBands = "match probability between the bands"

    /// A pair that agrees on both names (a nickname or a near spelling of the first) and whose record
    /// has only an approximate age, or whose dates of birth agree or are a slip of each other (swapped,
    /// one digit, a year apart), whatever the weight: at another address such a pair is often below
    /// the review band, yet the police incident or meals claim that names it may vouch for it
    /// (`vouchedForByTheReport`: dated rows only while they have no child of their own), as it does
    /// for a queued pair. Never queued for itself.
    static func incidentCouldVouch(_ vector: ComparisonVector) -> Bool {
        let date = vector[.dateOfBirth]
        return (date == 5 || date <= DateLevel.withinOneYearSameDayMonth.rawValue)
            && vector[.givenName] <= NameLevel.jaroWinkler95.rawValue
            && vector[.familyName] <= FamilyNameLevel.hyphenPart.rawValue
    }

    /// Pairs of a record with only an approximate age (held back at another address, a family that
    /// moved, between the bands, or below them with both names agreeing: `incidentCouldVouch`), or of
    /// a police record with a date of birth queued between the bands and not yet joined to a child
    /// (`reportedSides`), or of a meals claim row on the same terms, that the rest of the report vouches
    /// for. A police incident (or one parent's claim) that names two children of a family names them
    /// together: when another child of the report
    /// belongs, or could belong, to a child who shares a home (an address or a mother) with this
    /// pair's child, the two records back each other, which a stranger of the same name and age
    /// would not. Only a record with exactly one such child is linked; the clusterer's rules still apply.
    /// The links say so (`.vouchedByIncident` or `.vouchedByClaim`, with the companion record that
    /// vouched), for `explain`.
    static func vouchedForByTheReport(_ review: [ReviewCandidate], records: [MatchRecord], roots: [Int]) -> [Link] {
        // The reported record → its queued pairs the incident could vouch for (`reportedSides`).
        var heldBack: [Int: [ReviewCandidate]] = [:]
        var childSizes: [Int32] = []
        for candidate in review {
            for reported in reportedSides(candidate, records: records, roots: roots, childSizes: &childSizes) {
                heldBack[reported, default: []].append(candidate)
            }
        }
        // Any queued pair of a companion says which child it could be.
        var queued: [Int: [ReviewCandidate]] = [:]
        for candidate in review {
            queued[candidate.a, default: []].append(candidate)
            queued[candidate.b, default: []].append(candidate)
        }
        guard !heldBack.isEmpty else { return [] }
        func other(_ candidate: ReviewCandidate, _ reported: Int) -> Int {
            candidate.a == reported ? candidate.b : candidate.a
        }
        var reports: [UInt64: [Int]] = [:]  // each held-back record's report → the records it names
        for reported in heldBack.keys { reports[records[reported].sideBySideKey] = [] }
        for (index, record) in records.enumerated() where reports[record.sideBySideKey] != nil {
            reports[record.sideBySideKey]!.append(index)
        }
        // The children each held-back record's companions in its report are, or could be, each with
        // the companion that names it (the lowest record, so the explanation is the same every run).
        var companionChildren: [Int: [Int: Int]] = [:]
        for reported in heldBack.keys {
            var children: [Int: Int] = [:]
            func named(_ child: Int, by companion: Int) {
                children[child] = min(children[child] ?? companion, companion)
            }
            for companion in reports[records[reported].sideBySideKey] ?? [] where companion != reported {
                named(roots[companion], by: companion)
                for candidate in queued[companion] ?? [] { named(roots[other(candidate, companion)], by: companion) }
            }
            children[roots[reported]] = nil
            if !children.isEmpty { companionChildren[reported] = children }
        }
        guard !companionChildren.isEmpty else { return [] }
        // Homes (addresses and mothers) of the children that matter here only.
        var homes: [Int: Set<UInt64>] = [:]
        for (reported, children) in companionChildren {
            for child in children.keys { homes[child] = [] }
            for candidate in heldBack[reported] ?? [] { homes[roots[other(candidate, reported)]] = [] }
        }
        for (index, record) in records.enumerated() where homes[roots[index]] != nil {
            if record.addressKey != 0 { homes[roots[index]]!.insert(record.addressKey) }
            if record.carerNHS != 0 { homes[roots[index]]!.insert(record.carerNHS &* 0x9E37_79B9_7F4A_7C15 | 1) }
        }
        var links: [Link] = []
        // In record order, not the dictionary's (which changes with each process's hash seed): a
        // record two reports could vouch for must get the same link and voucher every run.
        for (reported, companions) in companionChildren.sorted(by: { $0.key < $1.key }) {
            // The companion records whose child shares a home with the child of `candidate`.
            func vouchers(_ candidate: ReviewCandidate) -> [Int] {
                let child = roots[other(candidate, reported)]
                guard let home = homes[child] else { return [] }
                return companions.compactMap {
                    $0.key != child && !(homes[$0.key] ?? []).isDisjoint(with: home) ? $0.value : nil
                }
            }
            let backed = (heldBack[reported] ?? []).filter { !vouchers($0).isEmpty }
            guard Set(backed.map { roots[other($0, reported)] }).count == 1,
                let best = backed.max(by: { $0.weight < $1.weight })
            else { continue }
            let method: LinkMethod = records[reported].kind == mealsKind ? .vouchedByClaim : .vouchedByIncident
            links.append(
                Link(
                    a: best.a, b: best.b, method: method, weight: best.weight, vector: best.vector,
                    vouchedBy: vouchers(best).min()))
        }
        return links
    }

    /// The records of a queued pair whose police incident may vouch for it (`vouchedForByTheReport`):
    /// - a record with only an age consistent with the other's date of birth (held back at another
    ///   address, between the bands, or below them with both names agreeing);
    /// - a police record with a date of birth that agrees, queued between the bands (the family moved
    ///   and the incident names the child by a nickname or a slip: Ollie at the new address, Oliver at
    ///   the old), while it has no child of its own yet. A police record already joined to a child is
    ///   not moved by its companions: its own records placed it;
    /// - a free-school-meals claim row on the same terms: one parent's claim names the children of one
    ///   home, as an incident does (a claim from the new address naming Oliver as "Ollie"). Its links
    ///   are the claim rule's (`.vouchedByClaim`), so `explain` names the report that vouched.
    /// `childSizes` is filled on first use: how many records each root holds.
    static func reportedSides(
        _ candidate: ReviewCandidate, records: [MatchRecord], roots: [Int], childSizes: inout [Int32]
    ) -> [Int] {
        let date = candidate.vector[.dateOfBirth]
        if date == 5 {
            let aged = records[candidate.a].dob == 0 ? candidate.a : candidate.b
            return records[aged].sideBySideKey != 0 ? [aged] : []
        }
        guard date <= DateLevel.withinOneYearSameDayMonth.rawValue else { return [] }
        let reported = [candidate.a, candidate.b].filter {
            (records[$0].kind == policeKind || records[$0].kind == mealsKind) && records[$0].sideBySideKey != 0
        }
        guard !reported.isEmpty else { return [] }
        if childSizes.isEmpty {
            childSizes = [Int32](repeating: 0, count: records.count)
            for root in roots { childSizes[root] += 1 }
        }
        return reported.filter { childSizes[roots[$0]] == 1 }
    }

    /// `MatchRecord.kinds`' police records and free-school-meals claims.
    static let policeKind = UInt8(MatchRecord.kinds.firstIndex(of: "police")!)
    static let mealsKind = UInt8(MatchRecord.kinds.firstIndex(of: "fsm")!)

    /// Old records (index < `firstNew`) that a new record could join (`matches`: a pair weight at
    /// or above the review band); and, apart from those, possible twins of a new record (same date
    /// of birth and household), whose identifiers tell the twin rule a second child exists.
    /// Incremental runs load whole children only for these.
    /// `pairs` are packed `old << 32 | new` indices into `records`.
    func plausibleMatches(
        records: [MatchRecord], pairs: [UInt64], model: MatchModel, frequencies: NameFrequencies
    )
        -> (matches: Set<Int>, possibleTwins: Set<Int>)
    {
        let withAliases = Linkage(settings: settings, nicknames: nicknames.withLearned(model.learnedAliases ?? .none))
        let patterns = withAliases.compareAll(records, pairs, frequencies: frequencies)
        let review = settings.bands(prior: model.prior ?? MatchModel.fallbackPrior).review
        var hits: Set<Int> = []
        var twins: Set<Int> = []
        for (index, pair) in pairs.enumerated() {
            let a = Int(pair >> 32)
            let b = Int(pair & 0xFFFF_FFFF)
            let vector = ComparisonVector(patternIndex: Int(patterns[index]))
            if Self.weight(vector, records[a], records[b], model: model, frequencies: frequencies) >= review
                || Self.incidentCouldVouch(vector)
            {
                hits.insert(a)
            } else if records[a].dob != 0 && records[a].dob == records[b].dob
                && Clusterer.sameHousehold(records[a], records[b])
            {
                // A possible twin: its child is evidence the twin rule weighs, as in a full run.
                twins.insert(a)
            }
        }
        return (hits, twins.subtracting(hits))
    }

    static func key(_ a: Int, _ b: Int) -> UInt64 { UInt64(min(a, b)) << 32 | UInt64(max(a, b)) }

    /// The pair's weight: the sum of its levels' weights, with exact name agreements adjusted for
    /// how common the name is.
    static func weight(
        _ vector: ComparisonVector, _ a: MatchRecord, _ b: MatchRecord, model: MatchModel, frequencies: NameFrequencies
    ) -> Double {
        model.weight(vector) + nameFrequencyAdjustment(vector, a, b, model: model, frequencies: frequencies)
    }

    static func nameFrequencyAdjustment(
        _ vector: ComparisonVector, _ a: MatchRecord, _ b: MatchRecord, model: MatchModel, frequencies: NameFrequencies
    ) -> Double {
        var total = 0.0
        if vector[.givenName] == 0, let name = a.given, name == b.given {
            total += frequencies.adjustment(
                given: true, fingerprint: name.fingerprint, averageU: model.averageExactU[0])
        }
        if vector[.familyName] == 0, let name = a.family, name == b.family {
            total += frequencies.adjustment(
                given: false, fingerprint: name.fingerprint, averageU: model.averageExactU[1])
        }
        return total
    }

    /// Compares every candidate pair, split across threads; each thread has its own scratch space and
    /// remembers the name levels of the pairs of names it met (`MemoizingComparer`). `names`: the
    /// records' name ids, when the caller has them.
    func compareAll(
        _ records: [MatchRecord], _ pairs: [UInt64], frequencies: NameFrequencies, names: NameSetIDs? = nil
    ) -> [UInt16] {
        let names = names ?? NameSetIDs(records: records)
        let threads = max(1, min(settings.threads, pairs.count / 10_000 + 1))
        let chunk = (pairs.count + threads - 1) / max(threads, 1)
        let results = ResultSlots(count: threads)
        // `records` holds them for the whole loop.
        let unretained = UnretainedRecords(records)
        withExtendedLifetime(records) {
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                var comparer = MemoizingComparer(
                    RecordComparer(nicknames: nicknames, frequencies: frequencies), names: names)
                let start = thread * chunk
                let end = min(pairs.count, start + chunk)
                var local: [UInt16] = []
                local.reserveCapacity(max(0, end - start))
                if start < end {
                    for index in start..<end {
                        let pair = pairs[index]
                        let (i, j) = (Int(pair >> 32), Int(pair & 0xFFFF_FFFF))
                        let pattern = unretained.withPair(i, j) { a, b in comparer.compare(i, j, a, b).patternIndex }
                        local.append(UInt16(pattern))
                    }
                }
                results.store(local, at: thread)
            }
        }
        return results.joined()
    }
}

/// One slot per worker thread; each worker writes only its own slot, then the caller reads all
/// of them after `concurrentPerform` returns (which orders the writes before the reads).
private final class ResultSlots: @unchecked Sendable {
    private var slots: [[UInt16]]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: [], count: count) }

    func store(_ values: [UInt16], at index: Int) {
        lock.lock()
        slots[index] = values
        lock.unlock()
    }

    func joined() -> [UInt16] { slots.flatMap { $0 } }
}
