import Postgres
import Resolution

/// Measured, never applied: would a carer's name join members seen at two different addresses (a
/// family that moved while a partner kept the old address for one child)? Every candidate pair is
/// counted against the truth, so `--splits` prints the precision such a rule would have, and how far
/// recall could rise if every split with any evidence in common were joined (the ceiling).
extension FamilySplitAnalysis {
    /// Candidate links of one kind: pairs of members in different computed families, and how many of
    /// them the truth puts in one family (right) or two (wrong); pairs with a member of unknown truth
    /// count in `links` only.
    public struct CandidateCount: Sendable, Equatable {
        public var links = 0
        public var right = 0
        public var wrong = 0
    }

    /// One member naming one carer at one address (postcode or UPRN), with the dates it covers.
    struct NamedAt {
        var member: Int
        var address: Int32
        var role: String?
        var first: Int
        var last: Int
    }

    /// A carer's name exactly as given (no nickname or typo allowance: that only adds namesakes).
    struct ExactName: Hashable {
        var given: NameKey
        var family: NameKey
    }

    /// The candidate rule "the same carer's name at two addresses": members x and y, in different
    /// computed families, sharing no address, whose records name one carer (exact given and family
    /// name, the same role) at an address each, whose children share a surname (an antenatal record's
    /// unknown one is no objection), and whose school
    /// contact phones do not conflict (both given and different). Each pair is labelled by
    /// - how many addresses name that carer in all (`at 2 addresses`, `at 3-5`, `at 6+`): how rare the name is;
    /// - `concurrent` (the two records' dates overlap: a stale address beside the current one) or
    ///   `sequential` (one side's evidence ends before the other's begins: a move in time order);
    /// - `mover` when some member (of any family), or some carer key (an NHS or NI number, a name and
    ///   date of birth, a contact phone), was seen at both addresses: a move in the records;
    /// - `one school` when a school record of each names the same school.
    static func acrossAddressCandidates(
        _ evidence: FamilyEvidence, groupOf: [Int], trueFamily: [String?], schoolOfRecord: [Int64: Int32]
    ) -> [String: CandidateCount] {
        let count = evidence.members.count
        var schools = [Set<Int32>](repeating: [], count: count)
        for o in evidence.observations {
            if let school = schoolOfRecord[o.record] { schools[Int(o.member)].insert(school) }
        }
        var byName: [ExactName: [NamedAt]] = [:]
        var phones = [Set<Int32>](repeating: [], count: count)
        var addressesOf = [Set<Int32>](repeating: [], count: count)
        for o in evidence.observations {
            let m = Int(o.member)
            if o.phoneCarer >= 0 { phones[m].insert(o.phoneCarer) }
            guard o.address >= 0, !evidence.addressIsTown[Int(o.address)] else { continue }
            addressesOf[m].insert(o.address)
            guard o.carerName >= 0 else { continue }
            let name = evidence.carerNames[Int(o.carerName)]
            let key = ExactName(given: name.given, family: name.family)
            var list = byName[key, default: []]
            if let i = list.firstIndex(where: { $0.member == m && $0.address == o.address && $0.role == name.role }) {
                (list[i].first, list[i].last) = (min(list[i].first, o.start), max(list[i].last, o.end))
            } else {
                list.append(NamedAt(member: m, address: o.address, role: name.role, first: o.start, last: o.end))
            }
            byName[key] = list
        }
        let moves = Self.addressPairsSeenTogether(addressesOf + Self.addressesOfCarerKeys(evidence))
        let surnames = evidence.surnames.map { Set($0) }
        var counts: [String: CandidateCount] = [:]
        var seen: Set<Int> = []
        for list in byName.values {
            let addresses = Set(list.map(\.address)).count
            guard addresses >= 2 else { continue }
            // Pairs grow with the square of a name's mentions: the commonest names are counted, not paired.
            guard list.count <= Self.mentionsPairedPerName else {
                counts[
                    "named by more than \(Self.mentionsPairedPerName) members at addresses: not paired",
                    default: CandidateCount()
                ]
                .links += list.count
                continue
            }
            let rarity = addresses == 2 ? "at 2 addresses" : addresses <= 5 ? "at 3-5 addresses" : "at 6+ addresses"
            for i in list.indices {
                for j in list.indices where j > i {
                    let (x, y) = (list[i], list[j])
                    guard groupOf[x.member] != groupOf[y.member], x.role == y.role,
                        addressesOf[x.member].isDisjoint(with: addressesOf[y.member]),
                        !FamilyGraph.surnamesDiffer(surnames[x.member], surnames[y.member]),
                        phones[x.member].isEmpty || phones[y.member].isEmpty
                            || !phones[x.member].isDisjoint(with: phones[y.member]),
                        seen.insert(min(x.member, y.member) * count + max(x.member, y.member)).inserted
                    else { continue }
                    let concurrent = max(x.first, y.first) <= min(x.last, y.last)
                    let mover = moves.contains(Self.pairKey(x.address, y.address))
                    let school = schools[x.member].isDisjoint(with: schools[y.member]) ? "" : ", one school"
                    let label =
                        rarity + (concurrent ? ", concurrent" : ", sequential") + school
                        + (mover ? ", mover" : ", no mover")
                    counts[label, default: CandidateCount()].links += 1
                    guard let a = trueFamily[x.member], let b = trueFamily[y.member] else { continue }
                    if a == b {
                        counts[label]!.right += 1
                    } else {
                        counts[label]!.wrong += 1
                    }
                }
            }
        }
        return counts
    }

    /// Each school record's school, numbered by name (read apart from the grouping evidence: only this
    /// measurement uses it).
    static func schoolOfRecord(_ connection: PostgresConnection) throws -> [Int64: Int32] {
        var numbers: [String: Int32] = [:]
        var out: [Int64: Int32] = [:]
        try connection.forEachRow(
            "SELECT id, facts->>'school_name' FROM source_records WHERE kind = 'school_attendance' AND facts ? 'school_name'"
        ) { row in
            let name = try row.decode(String.self, at: 1).uppercased()
            let number = numbers[name] ?? Int32(numbers.count)
            numbers[name] = number
            out[try row.decode(Int64.self, at: 0)] = number
        }
        return out
    }

    /// A carer's name mentioned by more members at addresses than this is not paired (a bound on the
    /// time at county scale; such a name is given at hundreds of addresses, and almost every pair of
    /// them is two families).
    static let mentionsPairedPerName = 400

    static func pairKey(_ a: Int32, _ b: Int32) -> Int { Int(min(a, b)) << 32 | Int(max(a, b)) }

    /// Each carer key's addresses (postcode or UPRN): the addresses of the records that give it.
    static func addressesOfCarerKeys(_ evidence: FamilyEvidence) -> [Set<Int32>] {
        var byKey: [Int: Set<Int32>] = [:]
        for o in evidence.observations where o.address >= 0 && !evidence.addressIsTown[Int(o.address)] {
            for kind in CarerKeyKind.allCases where o.carer(kind) >= 0 {
                byKey[kind.ordinal << 32 | Int(o.carer(kind)), default: []].insert(o.address)
            }
        }
        return byKey.sorted { $0.key < $1.key }.map(\.value)
    }

    /// Pairs of addresses (postcode or UPRN) that one member, or one carer key, was seen at both of; one
    /// seen at more than six addresses (a placeholder, a hostel) says nothing of moves.
    static func addressPairsSeenTogether(_ addressesOf: [Set<Int32>]) -> Set<Int> {
        var moves: Set<Int> = []
        for own in addressesOf where own.count >= 2 && own.count <= 6 {
            let sorted = own.sorted()
            for i in sorted.indices {
                for j in sorted.indices where j > i { moves.insert(pairKey(sorted[i], sorted[j])) }
            }
        }
        return moves
    }
}
