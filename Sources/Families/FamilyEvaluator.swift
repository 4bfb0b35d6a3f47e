import Foundation
import Postgres

/// Pairwise quality of the families against a synthetic ground truth (the generator's truth.csv).
///
/// The unit is the true child (and each antenatal record, a family expecting a baby): each is placed
/// in the family that holds most of its records. A pair is counted when two of them share a true
/// family (true pairs), share a computed family (predicted pairs), or both (correct pairs).
public struct FamilyEvaluation: Sendable, CustomStringConvertible {
    public var members = 0
    public var trueFamilies = 0
    public var computedFamilies = 0
    public var truePairs = 0
    public var predictedPairs = 0
    public var correctPairs = 0
    /// Computed families holding members of more than one true family.
    public var mixedFamilies = 0
    /// True families spread over more than one computed family.
    public var splitFamilies = 0
    /// Stored links between members of different true families, by basis (and rule, for a carer-name link).
    public var wrongLinks: [String: Int] = [:]
    /// Stored links, by the same key.
    public var links: [String: Int] = [:]

    public var precision: Double { predictedPairs == 0 ? 1 : Double(correctPairs) / Double(predictedPairs) }
    public var recall: Double { truePairs == 0 ? 1 : Double(correctPairs) / Double(truePairs) }

    public var description: String {
        String(
            format: "families: %d members, %d true families, %d computed; same-family pairs precision %.4f recall %.4f "
                + "(%d correct of %d predicted, %d true); %d computed families mixed, %d true families split",
            members, trueFamilies, computedFamilies, precision, recall, correctPairs, predictedPairs, truePairs,
            mixedFamilies, splitFamilies)
            + "; links between true families: "
            + (wrongLinks.isEmpty
                ? "none"
                : wrongLinks.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value) of \(links[$0.key] ?? 0)" }.joined(
                    separator: ", "))
    }

    public static func evaluate(truthPath: String, connection: PostgresConnection) throws -> FamilyEvaluation {
        guard let text = try? String(contentsOfFile: truthPath, encoding: .utf8) else {
            throw PostgresError(.misuse, message: "cannot read the ground-truth file", context: truthPath)
        }
        // feed#row → (unit, true family)
        var truth: [String: (unit: String, family: String)] = [:]
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count >= 4 else { continue }
            let key = "\(fields[0])#\(fields[1])"
            truth[key] = (fields[2].isEmpty ? "antenatal:" + key : String(fields[2]), String(fields[3]))
        }
        var votes: [String: [String: Int]] = [:]
        var trueFamily: [String: String] = [:]
        // member (child id, or E + record id) → true family → records
        var memberVotes: [String: [String: Int]] = [:]
        try connection.forEachRow(
            """
            SELECT sr.feed, sr.record_number, coalesce(fc.family_id, fe.family_id), coalesce(cr.child_id, 'E' || sr.id)
            FROM source_records sr
            LEFT JOIN child_records cr ON cr.record_id = sr.id
            LEFT JOIN family_members fc ON fc.child_id = cr.child_id
            LEFT JOIN family_members fe ON fe.expectant_record_id = sr.id
            """
        ) { row in
            let key = "\(try row.decode(String.self, at: 0))#\(try row.decode(Int.self, at: 1))"
            guard let fact = truth[key] else { return }
            let family = try row.decode(String?.self, at: 2) ?? "none:" + key
            votes[fact.unit, default: [:]][family, default: 0] += 1
            trueFamily[fact.unit] = fact.family
            memberVotes[try row.decode(String.self, at: 3), default: [:]][fact.family, default: 0] += 1
        }
        var evaluation = FamilyEvaluation()
        var predictedOf: [String: String] = [:]
        for (unit, counts) in votes {
            predictedOf[unit] = counts.max { ($0.value, $1.key) < ($1.value, $0.key) }!.key
        }
        func pairs(_ n: Int) -> Int { n * (n - 1) / 2 }
        var byTrue: [String: Int] = [:]
        var byPredicted: [String: Int] = [:]
        var byBoth: [String: Int] = [:]
        var truesInPredicted: [String: Set<String>] = [:]
        var predictedInTrue: [String: Set<String>] = [:]
        for (unit, predicted) in predictedOf {
            let real = trueFamily[unit]!
            byTrue[real, default: 0] += 1
            byPredicted[predicted, default: 0] += 1
            byBoth[real + "\u{1}" + predicted, default: 0] += 1
            truesInPredicted[predicted, default: []].insert(real)
            predictedInTrue[real, default: []].insert(predicted)
        }
        evaluation.members = predictedOf.count
        evaluation.trueFamilies = byTrue.count
        evaluation.computedFamilies = byPredicted.count
        evaluation.truePairs = byTrue.values.map(pairs).reduce(0, +)
        evaluation.predictedPairs = byPredicted.values.map(pairs).reduce(0, +)
        evaluation.correctPairs = byBoth.values.map(pairs).reduce(0, +)
        evaluation.mixedFamilies = truesInPredicted.values.filter { $0.count > 1 }.count
        evaluation.splitFamilies = predictedInTrue.values.filter { $0.count > 1 }.count
        try countWrongLinks(memberVotes: memberVotes, connection: connection, into: &evaluation)
        return evaluation
    }

    /// Counts the stored links whose two members belong to different true families (each member's
    /// true family: the one most of its records belong to).
    static func countWrongLinks(
        memberVotes: [String: [String: Int]], connection: PostgresConnection, into evaluation: inout FamilyEvaluation
    ) throws {
        let trueFamilyOf = memberVotes.mapValues { counts in counts.max { ($0.value, $1.key) < ($1.value, $0.key) }!.key
        }
        try connection.forEachRow("SELECT member_a, member_b, basis || coalesce(':' || rule, '') FROM family_links") {
            row in
            let key = try row.decode(String.self, at: 2)
            evaluation.links[key, default: 0] += 1
            guard let a = trueFamilyOf[try row.decode(String.self, at: 0)],
                let b = trueFamilyOf[try row.decode(String.self, at: 1)], a != b
            else { return }
            evaluation.wrongLinks[key, default: 0] += 1
        }
    }
}
