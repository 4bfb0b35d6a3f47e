import Foundation
import Postgres

/// Pairwise quality of the resolved children against a synthetic ground truth.
public struct EvaluationReport: Sendable {
    public var records = 0
    public var truePairs = 0
    public var predictedPairs = 0
    public var correctPairs = 0
    /// Resolved children holding records of more than one true child.
    public var falseMerges = 0
    /// True children split over more than one resolved child.
    public var splitChildren = 0
    public var twinPairs = 0
    public var twinsMerged = 0
    /// Pairs of different children of one family (twins included) that share a resolved child.
    public var siblingsMerged = 0
    public var reviewPairs = 0
    /// Open review pairs whose two records both have ground truth, and how many of those are truly one child
    /// (the rest: siblings, twins, strangers).
    public var reviewPairsWithTruth = 0
    public var reviewPairsSameChild = 0
    public var reviewPairsSameFamily = 0
    /// Why the misses and merges happened, by class (nil before any model is stored).
    public var diagnosis: LinkageDiagnosis?
    /// Given-name aliases the stored model learned (`LearnedAliases`), and the twin pairs whose first
    /// names are one only through such an alias: twins the alias could join where nothing says two
    /// children of that date exist.
    public var learnedAliases = 0
    public var twinPairsNamedByLearnedAlias = 0

    public var precision: Double { predictedPairs == 0 ? 1 : Double(correctPairs) / Double(predictedPairs) }
    public var recall: Double { truePairs == 0 ? 1 : Double(correctPairs) / Double(truePairs) }
    public var f1: Double { precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall) }
    public var reviewShare: Double { records == 0 ? 0 : Double(reviewPairs) / Double(records) }
    /// The share of queued pairs that are truly one child: what an officer's time on the queue yields.
    public var reviewYield: Double {
        reviewPairsWithTruth == 0 ? 0 : Double(reviewPairsSameChild) / Double(reviewPairsWithTruth)
    }
}

public enum Evaluator {
    /// `truthPath`: the generator's `truth.csv` (`feed,row,child_key,family_key,twin,…`); rows are
    /// matched to source records by feed name and record number.
    public static func evaluate(truthPath: String, connection: PostgresConnection) throws -> EvaluationReport {
        guard let text = try? String(contentsOfFile: truthPath, encoding: .utf8) else {
            throw PostgresError(.misuse, message: "cannot read the ground-truth file", context: truthPath)
        }
        struct Truth {
            let child: String
            let family: String
            let twin: Bool
        }
        var truth: [String: Truth] = [:]
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count >= 5, !fields[2].isEmpty else { continue }
            truth["\(fields[0])#\(fields[1])"] = Truth(
                child: String(fields[2]), family: String(fields[3]), twin: fields[4] == "1")
        }
        var report = EvaluationReport()
        var contingency: [String: [String: Int]] = [:]  // resolved child → true child → records
        var perTrue: [String: Int] = [:]
        var twinFamilies: [String: Set<String>] = [:]
        var familyOf: [String: String] = [:]
        var recordsOf: [String: [(record: Int64, child: String)]] = [:]  // resolved child → its records with truth
        try connection.forEachRow(
            """
            SELECT sr.feed, sr.record_number, cr.child_id, sr.id
            FROM source_records sr JOIN child_records cr ON cr.record_id = sr.id
            """
        ) { row in
            let key = "\(try row.decode(String.self, at: 0))#\(try row.decode(Int.self, at: 1))"
            guard let fact = truth[key] else { return }
            let resolved = try row.decode(String.self, at: 2)
            recordsOf[resolved, default: []].append((try row.decode(Int64.self, at: 3), fact.child))
            contingency[resolved, default: [:]][fact.child, default: 0] += 1
            perTrue[fact.child, default: 0] += 1
            if fact.twin { twinFamilies[fact.family, default: []].insert(fact.child) }
            familyOf[fact.child] = fact.family
            report.records += 1
        }
        func pairs(_ n: Int) -> Int { n * (n - 1) / 2 }
        var resolvedOf: [String: Set<String>] = [:]
        for (resolved, children) in contingency {
            let size = children.values.reduce(0, +)
            report.predictedPairs += pairs(size)
            report.correctPairs += children.values.reduce(0) { $0 + pairs($1) }
            if children.count > 1 {
                report.falseMerges += 1
                let mixed = children.keys.sorted()
                for i in 0..<mixed.count {
                    for j in (i + 1)..<mixed.count where familyOf[mixed[i]] == familyOf[mixed[j]] {
                        report.siblingsMerged += 1
                    }
                }
            }
            for child in children.keys { resolvedOf[child, default: []].insert(resolved) }
        }
        report.truePairs = perTrue.values.reduce(0) { $0 + pairs($1) }
        report.splitChildren = resolvedOf.values.filter { $0.count > 1 }.count
        for (_, twins) in twinFamilies {
            let list = twins.sorted()
            for i in 0..<list.count {
                for j in (i + 1)..<list.count {
                    report.twinPairs += 1
                    if !(resolvedOf[list[i]] ?? []).isDisjoint(with: resolvedOf[list[j]] ?? []) {
                        report.twinsMerged += 1
                    }
                }
            }
        }
        (report.learnedAliases, report.twinPairsNamedByLearnedAlias) = try twinsNamedByLearnedAliases(
            connection, twinFamilies: twinFamilies, recordsOf: recordsOf)
        report.diagnosis = try diagnose(
            connection, recordsOf: recordsOf, resolvedOf: resolvedOf, contingency: contingency)
        report.reviewPairs = try connection.execute("SELECT count(*) FROM review_pairs WHERE status = 'open'").scalar(
            Int.self)
        try connection.forEachRow(
            """
            SELECT a.feed, a.record_number, b.feed, b.record_number
            FROM review_pairs rp
            JOIN source_records a ON a.id = rp.record_a
            JOIN source_records b ON b.id = rp.record_b
            WHERE rp.status = 'open'
            """
        ) { row in
            let keyA = "\(try row.decode(String.self, at: 0))#\(try row.decode(Int.self, at: 1))"
            let keyB = "\(try row.decode(String.self, at: 2))#\(try row.decode(Int.self, at: 3))"
            guard let a = truth[keyA], let b = truth[keyB] else { return }
            report.reviewPairsWithTruth += 1
            if a.child == b.child {
                report.reviewPairsSameChild += 1
            } else if a.family == b.family {
                report.reviewPairsSameFamily += 1
            }
        }
        return report
    }

    /// The stored model's learned aliases, and the twin pairs (two children of one family of twins)
    /// with a first name of one and a first name of the other that only a learned alias makes one.
    static func twinsNamedByLearnedAliases(
        _ connection: PostgresConnection, twinFamilies: [String: Set<String>],
        recordsOf: [String: [(record: Int64, child: String)]]
    ) throws -> (aliases: Int, twinPairs: Int) {
        guard let aliases = try StoredModel.latest(connection)?.1.learnedAliases, !aliases.isEmpty else {
            return (0, 0)
        }
        let twins = Set(twinFamilies.values.flatMap { $0 })
        var idsOf: [String: [Int64]] = [:]
        for held in recordsOf.values {
            for (record, child) in held where twins.contains(child) { idsOf[child, default: []].append(record) }
        }
        let records = try MatchRecordLoader.load(connection, ids: idsOf.values.flatMap { $0 })
        let byID = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        func names(_ child: String) -> [NameKey] {
            LearnedAliases.distinctGivenNames((idsOf[child] ?? []).compactMap { byID[$0] })
        }
        var pairs = 0
        for family in twinFamilies.values {
            let children = family.sorted()
            for i in children.indices {
                for j in children.indices where j > i {
                    let other = names(children[j])
                    let aliased = names(children[i]).contains { x in
                        other.contains { y in
                            aliases.alias(x, y) != nil
                                && !NicknameTable.standard.areEquivalentIncludingFamiliarForms(x, y)
                        }
                    }
                    if aliased { pairs += 1 }
                }
            }
        }
        return (aliases.aliases.count, pairs)
    }

    /// The split true children (their records by resolved child) and the resolved children that mix
    /// true children, handed to `LinkageDiagnostician`.
    static func diagnose(
        _ connection: PostgresConnection, recordsOf: [String: [(record: Int64, child: String)]],
        resolvedOf: [String: Set<String>], contingency: [String: [String: Int]]
    ) throws -> LinkageDiagnosis? {
        guard let diagnostician = try LinkageDiagnostician(connection: connection) else { return nil }
        var fragments: [String: [String: [Int64]]] = [:]  // split true child → resolved child → records
        var mixed: [[Int64: String]] = []
        for (resolved, held) in recordsOf {
            let isMixed = (contingency[resolved]?.count ?? 0) > 1
            var cluster: [Int64: String] = [:]
            for (record, child) in held {
                if (resolvedOf[child]?.count ?? 0) > 1 {
                    fragments[child, default: [:]][resolved, default: []].append(record)
                }
                if isMixed { cluster[record] = child }
            }
            if isMixed { mixed.append(cluster) }
        }
        let split = fragments.keys.sorted().map { child in
            fragments[child]!.keys.sorted().map { fragments[child]![$0]!.sorted() }
        }
        return try diagnostician.diagnose(split: split, mixed: mixed)
    }
}
