import Resolution

/// Carer names at an address (step 5 of `FamilyGraph`) and the guards against strangers (step 6).
extension FamilyGraph.CarerName {
    /// The same carer by name: the family names the same, a part of a double-barrelled one or a close
    /// spelling (Jaro–Winkler ≥ 0.88), and the given names the same, a nickname (Kate, Katherine) or a
    /// typo (the resolution comparators' levels down to the edit allowance; an initial is not enough).
    func same(as other: Self, scratch: inout NameScratch) -> Bool {
        switch NameComparison.compareFamilyNames(family, other.family, scratch: &scratch) {
        case .exact, .hyphenPart, .jaroWinkler95, .jaroWinkler88: break
        default: return false
        }
        switch NameComparison.compareGivenNames(given, other.given, nicknames: .standard, scratch: &scratch) {
        case .exact, .nickname, .jaroWinkler95, .jaroWinkler88, .editDistance1or2: return true
        default: return false
        }
    }

    /// Neither the family names nor the given names are the same or close (see `same(as:)`).
    func sharesNoName(with other: Self, scratch: inout NameScratch) -> Bool {
        switch NameComparison.compareFamilyNames(family, other.family, scratch: &scratch) {
        case .exact, .hyphenPart, .jaroWinkler95, .jaroWinkler88: return false
        default: break
        }
        switch NameComparison.compareGivenNames(given, other.given, nicknames: .standard, scratch: &scratch) {
        case .exact, .nickname, .jaroWinkler95, .jaroWinkler88, .editDistance1or2: return false
        default: return true
        }
    }

    /// A carer of a role that one of `carers` has, and who is none of them of that role: someone else in
    /// the place of this household's mother (or father…). Nothing can be said of a carer whose role is not given.
    func replaces(_ carers: [FamilyGraph.Mention], scratch: inout NameScratch) -> Bool {
        guard let role else { return false }
        var sameRole = false
        for carer in carers where carer.name.role == role {
            if carer.name.same(as: self, scratch: &scratch) { return false }
            sameRole = true
        }
        return sameRole
    }
}

extension FamilyGraph {
    /// Records `name` as named by `o`, once per spelling and kind of record, with the dates it covers.
    static func note(_ name: CarerName, _ o: Observation, in mentions: inout [Mention]) {
        for index in mentions.indices
        where mentions[index].kind == o.kind && mentions[index].name.given == name.given
            && mentions[index].name.family == name.family
        {
            mentions[index].first = min(mentions[index].first, o.start)
            if o.end >= mentions[index].last {
                (mentions[index].last, mentions[index].record) = (o.end, max(o.record, mentions[index].record))
            }
            return
        }
        mentions.append(Mention(name: name, kind: o.kind, first: o.start, last: o.end, record: o.record))
    }

    /// A household's stay ends at the first later record at the address, of another member, naming a
    /// carer who replaces one of the household's own carers there (`different_carer_ends_household`).
    static func endStaysAtNewCarer(_ stays: inout [Stay], scratch: inout NameScratch) {
        for s in stays.indices where !stays[s].mentions.isEmpty && stays[s].end > stays[s].last {
            for t in stays.indices where stays[t].member != stays[s].member {
                for mention in stays[t].mentions where mention.first > stays[s].last && mention.first <= stays[s].end {
                    if mention.name.replaces(stays[s].mentions, scratch: &scratch) {
                        stays[s].end = max(stays[s].last, mention.first - 1)
                    }
                }
            }
        }
    }

    /// Whether the two stays' records name carers of one role who share neither a given name nor a
    /// family name: two households at one address, each naming its own mother. (Stricter than
    /// `replaces`: a school may write the mother by a familiar form its own staff use, and one
    /// sibling's record must not split the family at its own home.)
    static func carersDiffer(_ x: Stay, _ y: Stay, scratch: inout NameScratch) -> Bool {
        for p in x.mentions where p.name.role != nil {
            var sameRole = false
            for q in y.mentions where q.name.role == p.name.role {
                if !p.name.sharesNoName(with: q.name, scratch: &scratch) { return false }
                sameRole = true
            }
            if sameRole { return true }
        }
        return false
    }

    /// Whether, between the stays `x` and `y` (when one ended before the other began), a third member's
    /// record at the address names a carer who replaces one of `carers`.
    static func newCarerBetween(
        _ x: Stay, _ y: Stay, at stays: [Stay], carers: [Mention], scratch: inout NameScratch
    ) -> Bool {
        let (after, before): (Int, Int)
        if x.last < y.first {
            (after, before) = (x.last, y.first)
        } else if y.last < x.first {
            (after, before) = (y.last, x.first)
        } else {
            return false
        }
        for t in stays where t.member != x.member && t.member != y.member {
            for mention in t.mentions where mention.first > after && mention.first < before {
                if mention.name.replaces(carers, scratch: &scratch) { return true }
            }
        }
        return false
    }

    /// How many surnames the children at an address carry (counting stops past `limit`): children whose
    /// recorded surnames share a form (SMITH and SMITH-JONES) count once.
    static func surnameCount(_ stays: [Stay], surnames: [Set<Int32>], limit: Int) -> Int {
        var groups: [Set<Int32>] = []
        for stay in stays where !surnames[stay.member].isEmpty {
            let own = surnames[stay.member]
            let joined = groups.indices.filter { !groups[$0].isDisjoint(with: own) }
            if joined.isEmpty {
                groups.append(own)
                if groups.count > limit { return groups.count }
            } else {
                var merged = own
                for index in joined.reversed() { merged.formUnion(groups.remove(at: index)) }
                groups.append(merged)
            }
        }
        return groups.count
    }

    /// How many different carers the records at an address name (counting stops past `limit`).
    static func carerCount(_ stays: [Stay], limit: Int, scratch: inout NameScratch) -> Int {
        var distinct: [CarerName] = []
        for stay in stays {
            for mention in stay.mentions
            where !distinct.contains(where: { $0.same(as: mention.name, scratch: &scratch) }) {
                distinct.append(mention.name)
                if distinct.count > limit { return distinct.count }
            }
        }
        return distinct.count
    }

    /// Addresses with more stays than this are placeholders, not homes: no carer-name pairs are tried there.
    static let carerNamePairLimit = 200

    /// The carer-name links at one address: for each pair of members, the first rule under which a
    /// record of each names the same carer within the rule's window.
    static func carerNameEdges(
        _ stays: [Stay], rules: [KindRule], guardNewCarer: Bool, scratch: inout NameScratch
    ) -> [Edge] {
        guard stays.count <= carerNamePairLimit else { return [] }
        var edges: [Edge] = []
        for i in stays.indices where !stays[i].mentions.isEmpty {
            for j in stays.indices where j > i && stays[j].member != stays[i].member && !stays[j].mentions.isEmpty {
                search: for rule in rules {
                    for x in stays[i].mentions {
                        for y in stays[j].mentions where rule.applies(x.kind, y.kind) {
                            let gap = max(x.first, y.first) - min(x.last, y.last)
                            guard gap <= rule.withinDays, x.name.same(as: y.name, scratch: &scratch) else { continue }
                            if guardNewCarer
                                && newCarerBetween(stays[i], stays[j], at: stays, carers: [x, y], scratch: &scratch)
                            {
                                continue
                            }
                            let (p, q) = stays[i].member < stays[j].member ? (x, y) : (y, x)
                            edges.append(
                                Edge(
                                    a: min(stays[i].member, stays[j].member), b: max(stays[i].member, stays[j].member),
                                    basis: "carer_name_at_address", recordA: p.record, recordB: q.record, from: nil,
                                    to: nil,
                                    time: min(x.last, y.last), rule: rule.name))
                            break search
                        }
                    }
                }
            }
        }
        return edges
    }

    /// Each member's span at each address by postcode or UPRN, grouped like the families; the member's
    /// most recent one is current.
    static func spans(_ stays: [[Stay]], evidence: FamilyEvidence, groups: [[Int32]]) -> [[Span]] {
        var byMember = [[Span]](repeating: [], count: evidence.members.count)
        for (a, atAddress) in stays.enumerated() where !evidence.addressIsTown[a] {
            for stay in atAddress {
                byMember[stay.member].append(
                    Span(
                        member: Int32(stay.member), record: stay.record, first: stay.first, last: stay.last,
                        current: false))
            }
        }
        return groups.map { group in
            var out: [Span] = []
            for m in group where !byMember[Int(m)].isEmpty {
                var own = byMember[Int(m)].sorted { ($0.last, $0.record) < ($1.last, $1.record) }
                own[own.count - 1].current = true
                out.append(contentsOf: own)
            }
            return out
        }
    }
}

extension FamilyGraph {
    /// A carer-name rule with its two feed kinds as the evidence numbers them (nil: a kind no record has).
    struct KindRule {
        var name: String
        var kinds: (UInt8?, UInt8?)
        var withinDays: Int

        init(_ rule: CarerNameRule, kinds: [String]) {
            name = rule.name
            withinDays = rule.withinDays
            self.kinds = (
                kinds.firstIndex(of: rule.kinds[0]).map(UInt8.init), kinds.firstIndex(of: rule.kinds[1]).map(UInt8.init)
            )
        }

        func applies(_ a: UInt8, _ b: UInt8) -> Bool {
            (kinds.0 == a && kinds.1 == b) || (kinds.0 == b && kinds.1 == a)
        }
    }
}

extension FamilyGraph {
    /// The guard `name_dob_across_numbers_needs_address_or_surname`: a carer's name and date of birth
    /// given beside an NHS number only (the health visitor's mother) on one member's records and beside
    /// an NI number only (the meals claimant) on the other's could be two women; they link the two
    /// members only when these share an address (postcode or UPRN, at any time) or a surname (either's
    /// unknown, as for an antenatal record: no objection).
    struct NameDOBAcrossNumbers {
        /// Per member and name-and-DOB key (member << 32 | key): 1 when its records give that key beside
        /// an NHS number, 2 beside an NI number, 3 both.
        private var numbers: [Int: UInt8] = [:]
        private let evidence: FamilyEvidence
        private let byMember: [[Int]]
        private let isHomeKind: [Bool]

        init(_ evidence: FamilyEvidence, byMember: [[Int]], settings: GroupingSettings) {
            (self.evidence, self.byMember) = (evidence, byMember)
            isHomeKind = evidence.kinds.map { settings.homeAddressKinds.contains($0) }
            for o in evidence.observations where o.nameDOBCarer >= 0 && (o.nhsCarer >= 0 || o.niCarer >= 0) {
                let bits: UInt8 = (o.nhsCarer >= 0 ? 1 : 0) | (o.niCarer >= 0 ? 2 : 0)
                numbers[Int(o.member) << 32 | Int(o.nameDOBCarer), default: 0] |= bits
            }
        }

        func refuses(_ a: Int, _ b: Int, key: Int32) -> Bool {
            let (x, y) = (numbers[a << 32 | Int(key)] ?? 0, numbers[b << 32 | Int(key)] ?? 0)
            guard (x == 1 && y == 2) || (x == 2 && y == 1) else { return false }
            return FamilyGraph.surnamesDiffer(Set(evidence.surnames[a]), Set(evidence.surnames[b]))
                && addresses(a).isDisjoint(with: addresses(b))
        }

        private func addresses(_ m: Int) -> Set<Int32> {
            Set(
                byMember[m].lazy.map { evidence.observations[$0] }.filter {
                    $0.address >= 0 && isHomeKind[Int($0.kind)]
                }
                .map(\.address))
        }
    }
}
