import Foundation
import Postgres

/// Why the evaluation's errors happened, by class: for every true child split over resolved
/// children, the best pair across each split (what the model and the rules make of it); for every
/// resolved child holding two true children, the links that joined them. Ids and counts only.
public struct LinkageDiagnosis: Sendable {
    public struct Class: Sendable {
        public var name: String
        /// Split fragments (missed) or joining links (merged) of this class.
        public var count = 0
        /// True pairs this class leaves apart (missed); 0 for merges.
        public var pairs = 0
        /// A few record id pairs, for `explain-pair`.
        public var examples: [(Int64, Int64)] = []
    }

    public var missed: [Class] = []
    public var merged: [Class] = []

    static let examplesPerClass = 3

    static func add(_ name: String, pairs: Int, example: (Int64, Int64), to classes: inout [String: Class]) {
        var entry = classes[name] ?? Class(name: name)
        entry.count += 1
        entry.pairs += pairs
        if entry.examples.count < examplesPerClass { entry.examples.append(example) }
        classes[name] = entry
    }

    static func sorted(_ classes: [String: Class]) -> [Class] {
        classes.values.sorted { ($0.pairs, $0.count, $1.name) > ($1.pairs, $1.count, $0.name) }
    }
}

/// Builds a `LinkageDiagnosis` from the evaluation's truth and the stored results.
struct LinkageDiagnostician {
    let connection: PostgresConnection
    let model: MatchModel
    let frequencies: NameFrequencies
    let bands: (link: Double, review: Double)
    /// The nickname table with the aliases the stored model learned, as the run compared names.
    var nicknames: NicknameTable { NicknameTable.standard.withLearned(model.learnedAliases ?? .none) }

    init?(connection: PostgresConnection) throws {
        guard let (_, model, frequencies) = try StoredModel.latest(connection) else { return nil }
        self.connection = connection
        self.model = model
        self.frequencies = frequencies
        self.bands = ResolutionSettings().bands(prior: model.prior ?? MatchModel.fallbackPrior)
    }

    /// `split`: each split true child's records, grouped by the resolved child holding them.
    /// `mixed`: each resolved child holding records of several true children, record → true child.
    func diagnose(split: [[[Int64]]], mixed: [[Int64: String]]) throws -> LinkageDiagnosis {
        var ids = Set(split.flatMap { $0.flatMap { $0 } })
        for cluster in mixed { ids.formUnion(cluster.keys) }
        let records = try MatchRecordLoader.load(connection, ids: Array(ids))
        let byID = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var comparer = RecordComparer(nicknames: nicknames, frequencies: frequencies)
        var missed: [String: LinkageDiagnosis.Class] = [:]
        for fragments in split {
            // Largest first; each later fragment is weighed against all before it, so the pairs
            // counted over the classes add up to the missed pairs.
            let ordered = fragments.sorted { ($0.count, $1.first ?? 0) > ($1.count, $0.first ?? 0) }
            var before: [Int64] = ordered[0]
            for fragment in ordered.dropFirst() {
                let best = bestPair(fragment, before, byID, &comparer)
                let name =
                    best.map { missClass($0.a, $0.b, $0.vector, $0.weight, fragment: fragment, byID) }
                    ?? "records not loaded"
                LinkageDiagnosis.add(
                    name, pairs: fragment.count * before.count, example: best.map { ($0.a.id, $0.b.id) } ?? (0, 0),
                    to: &missed)
                before += fragment
            }
        }
        var merged: [String: LinkageDiagnosis.Class] = [:]
        for cluster in mixed {
            let recordIDs = cluster.keys.map { Int($0) }
            try connection.forEachRow(
                """
                SELECT record_a, record_b, method FROM record_links
                WHERE record_a = ANY($1::bigint[]) AND record_b = ANY($1::bigint[])
                """, [recordIDs]
            ) { row in
                let a = try row.decode(Int64.self, at: 0)
                let b = try row.decode(Int64.self, at: 1)
                guard let childA = cluster[a], let childB = cluster[b], childA != childB,
                    let ra = byID[a], let rb = byID[b]
                else { return }
                let vector = comparer.compare(ra, rb)
                let name = "\(try row.decode(String.self, at: 2)); \(Self.levels(vector)); \(Self.kinds(ra, rb))"
                LinkageDiagnosis.add(name, pairs: 0, example: (a, b), to: &merged)
            }
        }
        return LinkageDiagnosis(missed: LinkageDiagnosis.sorted(missed), merged: LinkageDiagnosis.sorted(merged))
    }

    struct ScoredPair {
        var a: MatchRecord
        var b: MatchRecord
        var vector: ComparisonVector
        var weight: Double
    }

    func bestPair(
        _ xs: [Int64], _ ys: [Int64], _ byID: [Int64: MatchRecord], _ comparer: inout RecordComparer
    ) -> ScoredPair? {
        var best: ScoredPair?
        for x in xs {
            guard let a = byID[x] else { continue }
            for y in ys {
                guard let b = byID[y] else { continue }
                let vector = comparer.compare(a, b)
                let weight = Linkage.weight(vector, a, b, model: model, frequencies: frequencies)
                if best == nil || weight > best!.weight {
                    best = ScoredPair(a: a, b: b, vector: vector, weight: weight)
                }
            }
        }
        return best
    }

    func missClass(
        _ a: MatchRecord, _ b: MatchRecord, _ vector: ComparisonVector, _ weight: Double, fragment: [Int64],
        _ byID: [Int64: MatchRecord]
    ) -> String {
        let verdict = PairVerdict.of(
            a, b, vector: vector, weight: weight, bands: bands, frequencies: frequencies, nicknames: nicknames)
        let ageOnly = fragment.allSatisfy { (byID[$0]?.dob ?? 1) == 0 }
        return
            "\(verdict.shortName)\(ageOnly ? " (split part has only approximate ages)" : ""); \(Self.levels(vector)); \(Self.kinds(a, b))"
    }

    static func levels(_ vector: ComparisonVector) -> String {
        [MatchField.givenName, .dateOfBirth, .location].map { "\($0.name)=\($0.levels[Int(vector[$0])])" }
            .joined(separator: " ")
    }

    static func kinds(_ a: MatchRecord, _ b: MatchRecord) -> String {
        [a.kind, b.kind].sorted().map { MatchRecord.kinds[Int($0)] }.joined(separator: "+")
    }
}
