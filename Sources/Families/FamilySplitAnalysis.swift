import Foundation
import Postgres
import Resolution

/// Why true families (of a synthetic ground truth) are split: for each split family, what evidence in
/// the records joins its parts, if any. A development tool: it reads the truth only to know which
/// computed families should have been one; every class is decided from the records' keys alone.
///
/// Classes, per pair of parts (computed families holding members of one true family), first that holds:
/// - `carer_name_and_address`: a record of each names the same carer (`CarerName.same`) and the two
///   share an address (postcode or UPRN): the carer-name rules saw them and a window or guard refused;
/// - `carer_name_two_addresses`: the same carer's name, at different addresses only;
/// - `address_no_carer_name`: an address in common, no carer name in common;
/// - `carer_surname_two_addresses`: a carer of the same family name (another given name: the mother on
///   one side, the father or a grandmother on the other), at different addresses;
/// - `child_surname_only`: only the children's surname in common;
/// - `nothing`: none of these.
/// Separately, from the truth alone (what the generator did, not what the records show): how many of
/// those part pairs hold a record the generator gave an old or previous address (`old_address`,
/// `previous_address` noise tags): a family that moved, with some records at each address.
/// Output: counts and member ids only (no names, dates or addresses).
public struct FamilySplitAnalysis: Sendable, CustomStringConvertible {
    public var splitFamilies = 0
    /// How many example pairs each class lists.
    static let examplesPerClass = 8
    /// Per class: part pairs, and member pairs those parts keep apart.
    public var partPairs: [String: Int] = [:]
    public var memberPairs: [String: Int] = [:]
    /// Per class and kind signature of the two parts ("health_visiting | school_attendance"): part pairs.
    public var signatures: [String: Int] = [:]
    /// Per class: up to a few example pairs of member ids (one from each part).
    public var examples: [String: [String]] = [:]
    /// Per class: part pairs, and member pairs, where the generator gave a record an old address.
    public var movedPartPairs: [String: Int] = [:]
    public var movedMemberPairs: [String: Int] = [:]
    /// Pairs of members the truth puts in one family (each member's true family: most of its records').
    public var trueMemberPairs = 0
    /// The candidate rule "the same carer's name at two addresses", by label (`acrossAddressCandidates`).
    public var candidates: [String: CandidateCount] = [:]
    /// Classes with evidence that could join the parts: an address, or a carer's name, in common.
    static let classesWithEvidence = ["address_no_carer_name", "carer_name_and_address", "carer_name_two_addresses"]

    public var description: String {
        var lines = ["split families: \(splitFamilies)"]
        for (key, n) in partPairs.sorted(by: { $0.key < $1.key }) {
            lines.append(
                "  \(key): \(n) part pairs, \(memberPairs[key] ?? 0) member pairs apart; truth: \(movedPartPairs[key] ?? 0) "
                    + "part pairs, \(movedMemberPairs[key] ?? 0) member pairs, of a family that moved (a record at an old address)"
            )
            for (signature, count) in signatures.filter({ $0.key.hasPrefix(key + ": ") }).sorted(by: {
                ($1.value, $0.key) < ($0.value, $1.key)
            }).prefix(6) {
                lines.append("      \(count) \(signature.dropFirst(key.count + 2))")
            }
            lines.append("      e.g. " + (examples[key] ?? []).joined(separator: "; "))
        }
        lines.append(contentsOf: ceilingLines + candidateLines)
        return lines.joined(separator: "\n")
    }

    /// How far recall (over member pairs) could rise if every split with an address or a carer's name
    /// in common were joined, and none other; and if those sharing only a carer's surname were too.
    var ceilingLines: [String] {
        let apart = memberPairs.values.reduce(0, +)
        let joinable = Self.classesWithEvidence.map { memberPairs[$0] ?? 0 }.reduce(0, +)
        let bySurname = memberPairs["carer_surname_two_addresses"] ?? 0
        func recall(_ pairsApart: Int) -> String {
            trueMemberPairs == 0 ? "-" : String(format: "%.4f", 1 - Double(pairsApart) / Double(trueMemberPairs))
        }
        return [
            "ceiling: \(trueMemberPairs) true member pairs, \(apart) apart (member-pair recall \(recall(apart))); "
                + "\(joinable) of them in splits whose parts share an address or a carer's name: joining every one "
                + "of those and nothing else leaves \(apart - joinable) apart (recall \(recall(apart - joinable)))",
            "ceiling with a carer's surname: joining as well the \(bySurname) in splits whose parts share only a "
                + "carer's surname leaves \(apart - joinable - bySurname) apart (recall \(recall(apart - joinable - bySurname)))",
        ]
    }

    var candidateLines: [String] {
        guard !candidates.isEmpty else {
            return ["candidate rule, the same carer's name at two addresses: no pairs"]
        }
        var lines = [
            "candidate rule, the same carer's name at two addresses (same role, children's surname shared, "
                + "phones not conflicting; links between different computed families, right / wrong by the truth):"
        ]
        var total = CandidateCount()
        for (label, count) in candidates.sorted(by: { $0.key < $1.key }) {
            lines.append("  \(label): \(count.links) links, \(count.right) right, \(count.wrong) wrong")
            total.links += count.links
            total.right += count.right
            total.wrong += count.wrong
        }
        lines.append("  all: \(total.links) links, \(total.right) right, \(total.wrong) wrong")
        return lines
    }

    /// Groups with `settings` (nothing stored) and classifies the splits against `truthPath`.
    public static func analyse(
        truthPath: String, connection: PostgresConnection, settings: GroupingSettings
    ) throws
        -> FamilySplitAnalysis
    {
        let grouper = FamilyGrouper(connection: connection, settings: settings)
        let (evidence, result) = try connection.transaction { _ in
            let evidence = try grouper.loadEvidence()
            return (evidence, FamilyGraph.group(evidence, settings: settings))
        }
        let trueFamilyOfRecord = try trueFamilies(truthPath: truthPath, connection: connection)
        return classify(
            evidence, result, trueFamilyOfRecord: trueFamilyOfRecord, schoolOfRecord: try schoolOfRecord(connection))
    }

    /// A record's true family, and whether the generator gave it an old or previous address.
    struct TrueRecord {
        var family: String
        var oldAddress: Bool
    }

    /// Source record id → true family, from truth.csv (keyed by feed and row number).
    static func trueFamilies(truthPath: String, connection: PostgresConnection) throws -> [Int64: TrueRecord] {
        guard let text = try? String(contentsOfFile: truthPath, encoding: .utf8) else {
            throw PostgresError(.misuse, message: "cannot read the ground-truth file", context: truthPath)
        }
        var byRow: [String: TrueRecord] = [:]
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count >= 4 else { continue }
            let noise = fields.count >= 6 ? fields[5] : ""
            byRow["\(fields[0])#\(fields[1])"] = TrueRecord(
                family: String(fields[3]),
                oldAddress: noise.contains("old_address") || noise.contains("previous_address"))
        }
        var out: [Int64: TrueRecord] = [:]
        try connection.forEachRow("SELECT id, feed, record_number FROM source_records") { row in
            let key = "\(try row.decode(String.self, at: 1))#\(try row.decode(Int.self, at: 2))"
            if let family = byRow[key] { out[try row.decode(Int64.self, at: 0)] = family }
        }
        return out
    }

    /// What one member's records carry, as numbered keys.
    struct MemberKeys {
        var addresses: Set<Int32> = []
        var carerNames: [Int32] = []
        var kinds: Set<UInt8> = []
    }

    static func classify(
        _ evidence: FamilyEvidence, _ result: FamilyGraph.Result, trueFamilyOfRecord: [Int64: TrueRecord],
        schoolOfRecord: [Int64: Int32] = [:]
    ) -> FamilySplitAnalysis {
        let count = evidence.members.count
        var keys = [MemberKeys](repeating: MemberKeys(), count: count)
        var votes = [[String: Int]](repeating: [:], count: count)
        var moved = [Bool](repeating: false, count: count)
        for o in evidence.observations {
            let m = Int(o.member)
            if o.address >= 0 { keys[m].addresses.insert(o.address) }
            if o.carerName >= 0, !keys[m].carerNames.contains(o.carerName) { keys[m].carerNames.append(o.carerName) }
            keys[m].kinds.insert(o.kind)
            if let truth = trueFamilyOfRecord[o.record] {
                votes[m][truth.family, default: 0] += 1
                moved[m] = moved[m] || truth.oldAddress
            }
        }
        let trueFamily = votes.map { $0.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key }
        // True family → its parts (each a computed family's members of it).
        var parts: [String: [[Int]]] = [:]
        for group in result.groups {
            var here: [String: [Int]] = [:]
            for m in group { if let t = trueFamily[Int(m)] { here[t, default: []].append(Int(m)) } }
            for (t, members) in here { parts[t, default: []].append(members) }
        }
        var analysis = FamilySplitAnalysis()
        var groupOf = [Int](repeating: -1, count: count)
        for (g, group) in result.groups.enumerated() { for m in group { groupOf[Int(m)] = g } }
        analysis.candidates = acrossAddressCandidates(
            evidence, groupOf: groupOf, trueFamily: trueFamily, schoolOfRecord: schoolOfRecord)
        var membersOfTrue: [String: Int] = [:]
        for t in trueFamily.compactMap({ $0 }) { membersOfTrue[t, default: 0] += 1 }
        analysis.trueMemberPairs = membersOfTrue.values.map { $0 * ($0 - 1) / 2 }.reduce(0, +)
        var scratch = NameScratch()
        for t in parts.keys.sorted() where parts[t]!.count > 1 {
            analysis.splitFamilies += 1
            let split = parts[t]!
            for i in split.indices {
                for j in (i + 1)..<split.count {
                    let kind = Self.classOf(split[i], split[j], keys: keys, evidence: evidence, scratch: &scratch)
                    analysis.partPairs[kind, default: 0] += 1
                    analysis.memberPairs[kind, default: 0] += split[i].count * split[j].count
                    if (split[i] + split[j]).contains(where: { moved[$0] }) {
                        analysis.movedPartPairs[kind, default: 0] += 1
                        analysis.movedMemberPairs[kind, default: 0] += split[i].count * split[j].count
                    }
                    let signature = [split[i], split[j]].map { Self.signature($0, keys: keys, evidence: evidence) }
                        .sorted().joined(separator: " | ")
                    analysis.signatures[kind + ": " + signature, default: 0] += 1
                    if analysis.examples[kind, default: []].count < Self.examplesPerClass {
                        analysis.examples[kind, default: []].append(
                            evidence.members[split[i][0]] + " / " + evidence.members[split[j][0]])
                    }
                }
            }
        }
        return analysis
    }

    /// A part's kinds of record, and whether it names no carer or gives no address.
    private static func signature(_ part: [Int], keys: [MemberKeys], evidence: FamilyEvidence) -> String {
        Set(part.flatMap { keys[$0].kinds }).map { evidence.kinds[Int($0)] }.sorted().joined(separator: "+")
            + (part.allSatisfy { keys[$0].carerNames.isEmpty } ? " (no carer)" : "")
            + (part.allSatisfy { keys[$0].addresses.isEmpty } ? " (no address)" : "")
    }

    private static func classOf(
        _ p: [Int], _ q: [Int], keys: [MemberKeys], evidence: FamilyEvidence, scratch: inout NameScratch
    ) -> String {
        let addressesP = Set(p.flatMap { keys[$0].addresses })
        let addressesQ = Set(q.flatMap { keys[$0].addresses })
        let sharedAddress = !addressesP.isDisjoint(with: addressesQ)
        let namesP = Set(p.flatMap { keys[$0].carerNames }).map { evidence.carerNames[Int($0)] }
        let namesQ = Set(q.flatMap { keys[$0].carerNames }).map { evidence.carerNames[Int($0)] }
        var sameCarer = false
        var sameCarerSurname = false
        for x in namesP {
            for y in namesQ {
                if x.same(as: y, scratch: &scratch) { sameCarer = true }
                if x.family == y.family { sameCarerSurname = true }
            }
        }
        let surnamesP = Set(p.flatMap { evidence.surnames[$0] })
        let sharedSurname = q.contains { !surnamesP.isDisjoint(with: evidence.surnames[$0]) }
        switch (sameCarer, sharedAddress) {
        case (true, true): return "carer_name_and_address"
        case (true, false): return "carer_name_two_addresses"
        case (false, true): return "address_no_carer_name"
        default:
            if sameCarerSurname { return "carer_surname_two_addresses" }
            return sharedSurname ? "child_surname_only" : "nothing"
        }
    }
}
