import Foundation

/// A Fellegi–Sunter model: for every field and level, m (the chance of that level when the two
/// records are the same child) and u (when they are not). A level's weight is log2(m/u): the
/// bits of evidence it gives; a pair's weight is the sum over its fields. Nothing else is hidden
/// in it: every number can be printed next to the decision it made.
public struct MatchModel: Sendable, Codable, Equatable {
    /// m[field][level], u[field][level].
    public var m: [[Double]]
    public var u: [[Double]]
    /// The share of blocked pairs EM thinks are matches.
    public var matchProportion: Double
    public var emIterations: Int
    public var pairsUsed: Int
    /// For term-frequency adjustment: u of an exact given/family-name agreement on average.
    public var averageExactU: [Double]
    /// The chance that two records drawn at random are one child, in the population the model was
    /// estimated on (`prior(matchProportion:pairs:records:)`); nil in models stored before it existed.
    public var prior: Double?
    /// Given-name aliases the full run learned from identifier-joined records (`LearnedAliases`), kept
    /// with the model so incremental runs and `explain-pair` use the same; nil in models stored before.
    public var learnedAliases: LearnedAliases? = nil

    static let floor = 1e-6

    /// For a model without a prior: about 2 matching pairs among 100,000 records.
    static let fallbackPrior = 1e-5

    /// The prior: the expected number of matching pairs over all pairs of the records. EM's match
    /// share of the blocked pairs estimates the first; the second grows as N², the first only as
    /// N (each child has a handful of records), so the prior falls as 1/N: the same evidence means
    /// less in a bigger population.
    public static func prior(matchProportion: Double, pairs: Int, records: Int) -> Double {
        guard records > 1 else { return fallbackPrior }
        let expectedMatches = max(matchProportion * Double(pairs), 1)
        let allPairs = Double(records) * Double(records - 1) / 2
        return min(expectedMatches / allPairs, 0.5)
    }

    public func weight(_ field: MatchField, _ level: UInt8) -> Double {
        if level == field.missingLevel { return 0 }
        let raw = log2(max(m[field.rawValue][Int(level)], Self.floor) / max(u[field.rawValue][Int(level)], Self.floor))
        // A partial agreement never counts against a match more than outright disagreement does.
        if let different = field.differentLevel, Int(level) != different, !field.isContradiction(Int(level)) {
            return max(
                raw, log2(max(m[field.rawValue][different], Self.floor) / max(u[field.rawValue][different], Self.floor))
            )
        }
        return raw
    }

    public func weight(_ vector: ComparisonVector) -> Double {
        MatchField.allCases.reduce(0) { $0 + weight($1, vector[$1]) }
    }

    /// Initial m values: agreement likely among matches, disagreement not.
    static func initialM() -> [[Double]] {
        MatchField.allCases.map { field in
            let count = field.levelCount - 1
            var values = (0..<count).map { level in level == 0 ? 0.8 : 0.2 / Double(max(1, count - 1)) }
            values.append(1)  // missing: not modelled
            return values
        }
    }

    /// u from random pairs: nearly all random pairs are different children.
    /// `names`: the records' name ids (`NameSetIDs`), when the caller has them; built here otherwise.
    static func estimateU(
        records: [MatchRecord], samples: Int, seed: UInt64, frequencies: NameFrequencies? = nil,
        names: NameSetIDs? = nil
    ) -> [[Double]] {
        guard records.count > 1 else {
            return MatchField.allCases.map { [Double](repeating: 0.5, count: $0.levelCount) }
        }
        let counts = randomPairLevelCounts(
            records: records, pairs: randomPairs(records: records, samples: samples, seed: seed),
            frequencies: frequencies, names: names ?? NameSetIDs(records: records))
        return counts.enumerated().map { index, row in
            let field = MatchField.allCases[index]
            let observed = row.dropLast().reduce(0, +)
            // Add-half smoothing so a level never seen among random pairs still gets a finite u.
            var values = row.dropLast().map { ($0 + 0.5) / (observed + 0.5 * Double(field.levelCount - 1)) }
            values.append(1)
            return values
        }
    }

    /// `samples` pairs of two different records, drawn in order from `seed`; a pair that shares an
    /// NHS number is not a random non-match and is drawn again.
    static func randomPairs(records: [MatchRecord], samples: Int, seed: UInt64) -> [(Int, Int)] {
        var state = seed | 1
        func next() -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(records.count))
        }
        var pairs: [(Int, Int)] = []
        pairs.reserveCapacity(samples)
        while pairs.count < samples {
            let i = next()
            let j = next()
            if i == j { continue }
            if records[i].nhs != 0 && records[i].nhs == records[j].nhs { continue }
            pairs.append((i, j))
        }
        return pairs
    }

    /// How often each level of each field occurs among `pairs`: the counts comparing every pair
    /// gives. Only each field's own counts are needed, not whole vectors, so a name level, which
    /// depends on the pair of name ids alone (`MemoizingComparer`'s premise), is worked out once
    /// per distinct pair of ids and counted as often as that pair occurs. Random pairs repeat
    /// common names: at 100,000 children (harsh), 400,000 pairs held about 205,000 distinct given
    /// and 115,000 distinct family name pairs (in order; fewer either way round). The counts are
    /// whole numbers, so the order of adding them does not change the totals.
    static func randomPairLevelCounts(
        records: [MatchRecord], pairs: [(Int, Int)], frequencies: NameFrequencies?, names: NameSetIDs
    ) -> [[Double]] {
        var counts = MatchField.allCases.map { [Double](repeating: 0, count: $0.levelCount) }
        let unretained = UnretainedRecords(records)
        let otherFields = MatchField.allCases.filter { $0 != .givenName && $0 != .familyName }
        let slices = withExtendedLifetime(records) {
            ParallelSlices.collect(pairs.count) { range in
                let comparer = RecordComparer(frequencies: frequencies)
                var slice = MatchField.allCases.map { [Double](repeating: 0, count: $0.levelCount) }
                for index in range {
                    let (i, j) = pairs[index]
                    // The name levels given here are not counted: they are counted below.
                    let vector = unretained.withPair(i, j) { comparer.compare($0, $1, givenLevel: 0, familyLevel: 0) }
                    for field in otherFields { slice[field.rawValue][Int(vector[field])] += 1 }
                }
                return slice
            }
        }
        for slice in slices { add(slice, to: &counts) }
        counts[MatchField.givenName.rawValue] = nameLevelCounts(
            pairs, ids: names.given, records: unretained, keepAlive: records, field: .givenName,
            frequencies: frequencies
        ) { comparer, a, b in comparer.bestGiven(a, b).rawValue }
        counts[MatchField.familyName.rawValue] = nameLevelCounts(
            pairs, ids: names.family, records: unretained, keepAlive: records, field: .familyName,
            frequencies: frequencies
        ) { comparer, a, b in comparer.bestFamily(a, b).rawValue }
        return counts
    }

    private static func add(_ slice: [[Double]], to counts: inout [[Double]]) {
        for (field, row) in slice.enumerated() {
            for (level, count) in row.enumerated() { counts[field][level] += count }
        }
    }

    /// One name field's level counts over `pairs`: each distinct pair of name ids (either way
    /// round) compared once, on the first records that carry those ids, and counted as often as
    /// it occurs.
    private static func nameLevelCounts(
        _ pairs: [(Int, Int)], ids: [Int32], records: UnretainedRecords, keepAlive: [MatchRecord],
        field: MatchField, frequencies: NameFrequencies?,
        level: @escaping @Sendable (inout RecordComparer, MatchRecord, MatchRecord) -> UInt8
    ) -> [Double] {
        // Counted in a table, not sorted: only which keys are equal matters. Sorting both fields'
        // 400,000 keys took 288M instructions at 20k harsh (callgrind); the whole run fell by
        // another 162M with the table.
        var occurrences: [UInt64: Int] = [:]
        occurrences.reserveCapacity(pairs.count / 2)
        for (i, j) in pairs { occurrences[NamePairMemo.key(ids[i], ids[j]), default: 0] += 1 }
        let distinct = Array(occurrences)
        var firstRecord = [Int](repeating: -1, count: Int(ids.max() ?? -1) + 1)
        for (index, id) in ids.enumerated() where firstRecord[Int(id)] < 0 { firstRecord[Int(id)] = index }
        let representative = firstRecord
        let slices = withExtendedLifetime(keepAlive) {
            ParallelSlices.collect(distinct.count) { range in
                var comparer = RecordComparer(frequencies: frequencies)
                var row = [Double](repeating: 0, count: field.levelCount)
                for index in range {
                    let (key, occurrences) = distinct[index]
                    let i = representative[Int(key >> 32)]
                    let j = representative[Int(key & 0xFFFF_FFFF)]
                    let found = records.withPair(i, j) { level(&comparer, $0, $1) }
                    row[Int(found)] += Double(occurrences)
                }
                return row
            }
        }
        return slices.reduce(into: [Double](repeating: 0, count: field.levelCount)) { total, row in
            for (level, count) in row.enumerated() { total[level] += count }
        }
    }

    /// Pattern counts of blocked pairs, split by what their identifiers say.
    struct PatternCounts {
        /// Pairs sharing a valid NHS number or permanent UPN: known to be the same child.
        var sameIdentifier: [Int]
        /// Pairs with two different valid NHS numbers or UPNs: known to be different children.
        var differentIdentifier: [Int]
        /// Pairs the identifiers say nothing about.
        var unlabelled: [Int]

        init() {
            sameIdentifier = [Int](repeating: 0, count: ComparisonVector.patternCount)
            differentIdentifier = sameIdentifier
            unlabelled = sameIdentifier
        }
    }

    /// Estimates m by expectation–maximisation over the blocked pairs' comparison patterns, with u
    /// held at its random-pair estimate.
    ///
    /// Pairs whose identifiers agree or conflict keep a fixed posterior (1 or 0); only the rest are
    /// estimated. Without that anchor, EM's "match" class drifts towards "same household":
    /// siblings agree on surname, address and carer, and the model then forgives different first
    /// names and dates of birth — exactly the false merge we must not make.
    static func estimate(
        patternCounts counts: PatternCounts, u: [[Double]], averageExactU: [Double], maxIterations: Int = 60,
        inferredShare: Double = Double(ProcessInfo.processInfo.environment["FC_INFERRED_SHARE"] ?? "") ?? 0.1
    )
        -> MatchModel
    {
        let fields = MatchField.allCases
        var patterns: [(vector: ComparisonVector, count: Double, fixed: Double?)] = []
        for index in 0..<ComparisonVector.patternCount {
            let vector =
                counts.sameIdentifier[index] + counts.differentIdentifier[index] + counts.unlabelled[index] > 0
                ? ComparisonVector(patternIndex: index) : nil
            guard let vector else { continue }
            if counts.sameIdentifier[index] > 0 { patterns.append((vector, Double(counts.sameIdentifier[index]), 1)) }
            if counts.differentIdentifier[index] > 0 {
                patterns.append((vector, Double(counts.differentIdentifier[index]), 0))
            }
            if counts.unlabelled[index] > 0 { patterns.append((vector, Double(counts.unlabelled[index]), nil)) }
        }
        let total = patterns.reduce(0) { $0 + $1.count }
        let labelledMatches = patterns.reduce(0) { $0 + ($1.fixed == 1 ? $1.count : 0) }
        // Start from what identifier-confirmed pairs show.
        var m = initialM()
        if labelledMatches > 0 {
            var counts = fields.map { [Double](repeating: 0, count: $0.levelCount) }
            for pattern in patterns where pattern.fixed == 1 {
                for field in fields { counts[field.rawValue][Int(pattern.vector[field])] += pattern.count }
            }
            for field in fields {
                let observed = counts[field.rawValue].dropLast().reduce(0, +)
                guard observed > 0 else { continue }
                for level in 0..<(field.levelCount - 1) {
                    m[field.rawValue][level] = max(
                        (counts[field.rawValue][level] + 0.5) / (observed + 0.5 * Double(field.levelCount - 1)),
                        MatchModel.floor)
                }
            }
        }
        var lambda = 0.1
        var iterations = 0
        for iteration in 1...maxIterations {
            iterations = iteration
            var labelledCounts = fields.map { [Double](repeating: 0, count: $0.levelCount) }
            var inferredCounts = labelledCounts
            var matchTotal = 0.0
            var inferredTotal = 0.0
            for pattern in patterns {
                var pm = lambda
                var pu = 1 - lambda
                for field in fields {
                    let level = Int(pattern.vector[field])
                    if level == field.levelCount - 1 { continue }
                    pm *= m[field.rawValue][level]
                    pu *= u[field.rawValue][level]
                }
                let posterior = pattern.fixed ?? pm / max(pm + pu, 1e-300)
                let weight = posterior * pattern.count
                matchTotal += weight
                if pattern.fixed == nil { inferredTotal += weight }
                for field in fields {
                    if pattern.fixed == nil {
                        inferredCounts[field.rawValue][Int(pattern.vector[field])] += weight
                    } else {
                        labelledCounts[field.rawValue][Int(pattern.vector[field])] += weight
                    }
                }
            }
            // The pairs EM only infers to be matches may count at most as much as the pairs identifiers
            // confirm. In large populations blocking yields far more namesake pairs (same first name
            // and date of birth, nothing else) than confirmed ones; uncapped, EM's "match" class drifts
            // to describe them and forgives a different surname and address: a false merge in waiting.
            let cap = labelledMatches * inferredShare
            let scale = labelledMatches > 0 && inferredTotal > cap ? cap / inferredTotal : 1
            var change = abs(matchTotal / max(total, 1) - lambda)
            lambda = min(max(matchTotal / max(total, 1), 1e-6), 0.999)
            for field in fields {
                let row = zip(labelledCounts[field.rawValue], inferredCounts[field.rawValue]).map { $0 + $1 * scale }
                let observed = row.dropLast().reduce(0, +)
                for level in 0..<(field.levelCount - 1) {
                    let value = observed > 0 ? max(row[level] / observed, MatchModel.floor) : m[field.rawValue][level]
                    change = max(change, abs(value - m[field.rawValue][level]))
                    m[field.rawValue][level] = value
                }
            }
            if change < 1e-6 { break }
        }

        return MatchModel(
            m: m, u: u, matchProportion: lambda, emIterations: iterations, pairsUsed: Int(total),
            averageExactU: averageExactU)
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var object: [String: [String: [String: Double]]] = [:]
        for field in MatchField.allCases {
            var levels: [String: [String: Double]] = [:]
            for (index, name) in field.levels.enumerated() where index < field.levelCount - 1 {
                levels[name] = [
                    "m": m[field.rawValue][index], "u": u[field.rawValue][index],
                    "weight": weight(field, UInt8(index)),
                ]
            }
            object[field.name] = levels
        }
        let document = ModelDocument(
            fields: object, matchProportion: matchProportion, averageExactU: averageExactU, prior: prior, raw: self)
        return String(decoding: (try? encoder.encode(document)) ?? Data("{}".utf8), as: UTF8.self)
    }

    struct ModelDocument: Codable {
        var fields: [String: [String: [String: Double]]]
        var matchProportion: Double
        var averageExactU: [Double]
        var prior: Double?
        var raw: MatchModel
    }

    public static func fromJSON(_ text: String) throws -> MatchModel {
        try JSONDecoder().decode(ModelDocument.self, from: Data(text.utf8)).raw
    }
}

/// How often each name occurs, for term-frequency adjustment: agreeing on "Smith" is weaker
/// evidence than agreeing on "Ravensworth".
public struct NameFrequencies: Sendable {
    var given: [UInt64: Int] = [:]
    var family: [UInt64: Int] = [:]
    /// Records giving each name as the preferred first name beside a different legal one (Tobes for
    /// Tobias, Tilda for Matilda): a name in use, though not a registered one. Only the typo test
    /// reads it: an exact agreement's weight stays that of the legal name.
    var preferredGiven: [UInt64: Int] = [:]
    var total = 0

    init(records: [MatchRecord]) {
        for record in records {
            if let name = record.given { given[name.fingerprint, default: 0] += 1 }
            if let name = record.preferredGiven { preferredGiven[name.fingerprint, default: 0] += 1 }
            if let name = record.family { family[name.fingerprint, default: 0] += 1 }
        }
        total = records.count
    }

    init() {}

    /// The rarer of two close spellings is a slip of the other when it is at most this share as common.
    static let typoShare = 0.1

    /// Of two close spellings, is one a slip of the other? A typo is rare where the name is common;
    /// two spellings that are both in use (Lily and Lila) are two names.
    /// The slip is judged by how often it is written as a first name; the name it slipped from by how
    /// often it is in use, as the legal or the preferred first name: a slip of a familiar form (Tikda
    /// for Tilda, where Matilda is known as Tilda) is a slip too. Every pair that is a slip by legal
    /// names alone still is.
    func isTypo(_ x: NameKey, _ y: NameKey) -> Bool {
        isSlip(x, ofForm: y.bytes) || isSlip(y, ofForm: x.bytes)
    }

    /// Whether `slip` is a slip of the name written `form` (`isTypo`'s test, one way round): the
    /// form is in use and the slip at most a tenth as often written as a first name.
    func isSlip(_ slip: NameKey, ofForm form: [UInt8]) -> Bool {
        let inUse = inUse(NameKey.fnv1a(form))
        return inUse > 0 && Double(max(given[slip.fingerprint] ?? 0, 1)) <= Double(inUse) * Self.typoShare
    }

    /// Records giving the name as their legal or preferred first name.
    func inUse(_ fingerprint: UInt64) -> Int { (given[fingerprint] ?? 0) + (preferredGiven[fingerprint] ?? 0) }

    /// Average chance two random records share a name exactly (Σ f²), the model's u for `exact`.
    func averageU(given isGiven: Bool) -> Double {
        let table = isGiven ? given : family
        guard total > 0 else { return 0 }
        // Σ count² is summed in whole numbers, so the result does not depend on the dictionary's
        // order, which differs in every process: the same records give the same weights bit for bit.
        let squares = table.values.reduce(0) { $0 + $1 * $1 }
        return Double(squares) / (Double(total) * Double(total))
    }

    /// The most an adjustment adds or takes away, in bits.
    static let adjustmentBound = 4.0

    /// Weight correction for an exact agreement on this name: log2(average u / this name's frequency),
    /// negative for a common name, positive for a rare one, bounded to ±`adjustmentBound` bits.
    func adjustment(given isGiven: Bool, fingerprint: UInt64, averageU: Double) -> Double {
        guard total > 0, averageU > 0 else { return 0 }
        let count = (isGiven ? given : family)[fingerprint] ?? 1
        let frequency = Double(count) / Double(total)
        return min(Self.adjustmentBound, max(-Self.adjustmentBound, log2(averageU / frequency)))
    }
}
