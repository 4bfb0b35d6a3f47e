import Resolution

/// The grouping itself, with no database: observations in, families (as member keys) and the links
/// that justify them out. `FamilyGrouper` loads the observations and stores the result.
///
/// The method (also in schemas/rules/README.md):
/// 1. **Carers.** For each member and each kind of carer key, the carer named on its most recent
///    record that names one counts (with any other carer named within `superseded_after_days` of it).
///    Members naming the same carer are one family.
/// 2. **Homes.** Each member's stays at each address (by UPRN, else premises and postcode; a record
///    with no postcode is matched by premises and town) run from the first to the last evidence there,
///    extended by `stay_extends_days` unless the member is seen at another address first. Members
///    whose stays at the same address overlap lived together and are one family. Stays that do not
///    overlap (one family moved out, another moved in) link nothing: a house changing hands does not
///    merge its families.
/// 3. **Most recent evidence wins.** A link through an address is dropped when both members have
///    other address links more recent by more than `superseded_after_days`: both have since moved on
///    to other households (a child who went to live with another family leaves the first one).
/// 4. **A family that moved, and a partner not told.** Two members whose stays at one address (by
///    UPRN or postcode) do not overlap are linked only when they share a surname and the later stay
///    began within `same_surname_at_address_within_days` of the earlier one's last evidence: a school
///    still sending the old address for one sibling after the family moved. A house changing hands
///    to strangers (step 2) does not link; to strangers of the same surname, within that window, it
///    would, which is why the window is short and the rule can be switched off (0).
/// 5. **Carer names at an address.** Two members at one address (not by town alone) whose records
///    there name the same carer, a nickname or a typo allowed, no date of birth needed, are linked by
///    the first `carer_name` rule whose two kinds of record they are and whose window of years
///    separates the two records no more than: the health visitor's mother of the baby and the school's
///    primary contact of the older siblings. Not when a record at the address between them names a
///    different carer of the same role (a mother who is not this one): a new household moved in.
/// 6. **Guards.** A stay at an address ends at the first later record there naming a different carer
///    of a role the member's own records there named (`different_carer_ends_household`). An address
///    whose children carry more than `max_surnames_per_address` surnames, or whose records name more
///    than `max_carers_per_address` carers, links nothing by address alone (steps 2 and 4).
/// 7. **Incidents.** Children notified by the police under one incident reference, for the incident
///    types listed in `same_incident_types`, share a household.
/// 8. Families are the connected groups of the links that remain.
struct FamilyGraph {
    /// One record as grouping sees it: every key a number from `FamilyEvidence` (-1: none).
    struct Observation {
        var member: Int32
        /// A feed kind's number (`FamilyEvidence.kinds`).
        var kind: UInt8
        var record: Int64
        /// Day numbers (days since 1970-01-01).
        var start: Int
        var end: Int
        var address: Int32 = -1
        /// The address by town instead of postcode, used only to match a record with no postcode.
        var townAddress: Int32 = -1
        /// The carer's keys, one number space per kind of key.
        var nhsCarer: Int32 = -1
        var niCarer: Int32 = -1
        var nameDOBCarer: Int32 = -1
        var phoneCarer: Int32 = -1
        /// A police incident reference, when the incident's type links the children notified under it.
        var incident: Int32 = -1
        /// The carer the record names, by name alone (`FamilyEvidence.carerNames`).
        var carerName: Int32 = -1

        init(member: Int32, kind: UInt8, record: Int64, start: Int, end: Int) {
            (self.member, self.kind, self.record, self.start, self.end) = (member, kind, record, start, end)
        }

        func carer(_ kind: CarerKeyKind) -> Int32 {
            switch kind {
            case .nhsNumber: return nhsCarer
            case .niNumber: return niCarer
            case .nameAndDOB: return nameDOBCarer
            case .contactPhone: return phoneCarer
            }
        }

        var hasAddress: Bool { address >= 0 || townAddress >= 0 }
    }

    /// A carer named on a record, compared by name only (`CarerName.same`), with the role the feed gives
    /// (health visiting names the mother; a school its contact's relationship; nil when not said).
    struct CarerName: Sendable {
        var given: NameKey
        var family: NameKey
        var role: String?
    }

    /// A carer named by a member's records at one address, and when.
    struct Mention {
        var name: CarerName
        var kind: UInt8
        var first: Int
        var last: Int
        var record: Int64
    }

    /// A member's span at one address: the evidence there from first to last, and the latest record.
    struct Span: Equatable {
        var member: Int32
        var record: Int64
        var first: Int
        var last: Int
        var current: Bool
    }

    struct Result {
        /// Member keys by number (`FamilyEvidence.members`).
        var members: [String] = []
        /// Member numbers per family, each in member-key order; families ordered by their first member.
        var groups: [[Int32]] = []
        /// The links of each family (`Edge.a` < `Edge.b` by member key).
        var links: [[Edge]] = []
        /// The family's current home: the record holding the most recent address evidence, and its date.
        var homes: [(record: Int64, asOf: Int)?] = []
        /// Each member's most recent evidence (day number), by member number.
        var latest: [Int] = []
        var linksSuperseded = 0
        var crowdedAddresses = 0
        /// Name-and-date-of-birth carer keys that link nobody: given beside two NHS or two NI numbers.
        var nameDOBKeysOfTwoPeople = 0
        /// Each member's spans at its addresses (by postcode or UPRN), per family like `groups`.
        var spans: [[Span]] = []
    }

    struct Stay {
        var member: Int
        var first: Int
        var last: Int
        var end: Int
        var record: Int64
        /// Every record behind it had a postcode (a town-keyed stay like this never links to another one).
        var exact: Bool
        /// For a town-keyed stay: the postcode addresses of its records that had one.
        var primaries: [Int32] = []
        /// The carers its records there name (postcode or UPRN addresses only).
        var mentions: [Mention] = []
    }

    struct Edge {
        var a: Int
        var b: Int
        var basis: String
        var recordA: Int64
        var recordB: Int64
        var from: Int?
        var to: Int?
        var time: Int
        var rule: String? = nil
    }

    static func group(_ evidence: FamilyEvidence, settings: GroupingSettings) -> Result {
        let count = evidence.members.count
        var byMember = [[Int]](repeating: [], count: count)
        for (index, observation) in evidence.observations.enumerated() {
            byMember[Int(observation.member)].append(index)
        }
        var result = Result()
        var stays = [[Stay]](repeating: [], count: evidence.addressCount)
        let (latest, memberHome) = Self.stays(evidence, byMember: byMember, settings: settings, into: &stays)

        var scratch = NameScratch()
        // Guards: a different carer ends a household's stay; a crowded address links nothing by address alone.
        let surnames = evidence.surnames.map { Set($0) }
        var crowded = stays.map { $0.count > settings.maxMembersPerAddress }
        for a in stays.indices where stays[a].count >= 2 && !crowded[a] && !evidence.addressIsTown[a] {
            if settings.differentCarerEndsHousehold { Self.endStaysAtNewCarer(&stays[a], scratch: &scratch) }
            crowded[a] =
                Self.surnameCount(stays[a], surnames: surnames, limit: settings.maxSurnamesPerAddress)
                > settings.maxSurnamesPerAddress
                || Self.carerCount(stays[a], limit: settings.maxCarersPerAddress, scratch: &scratch)
                    > settings.maxCarersPerAddress
        }

        var (addressEdges, crowdedUsed) = Self.addressEdges(
            stays, evidence: evidence, crowded: crowded, surnames: surnames, settings: settings, scratch: &scratch)
        result.crowdedAddresses = crowdedUsed
        let staleEdges = Self.sameSurnameEdges(
            stays, evidence: evidence, crowded: crowded, surnames: surnames, known: addressEdges, settings: settings,
            scratch: &scratch)
        // Most recent evidence wins.
        var mostRecent = [Int](repeating: Int.min, count: count)
        for edge in addressEdges.values {
            mostRecent[edge.a] = max(mostRecent[edge.a], edge.time)
            mostRecent[edge.b] = max(mostRecent[edge.b], edge.time)
        }
        var edges: [Edge] = []
        for (_, edge) in (addressEdges.sorted(by: { $0.key < $1.key }) + staleEdges.sorted(by: { $0.key < $1.key })) {
            // A member with no other address link (Int.min) has not moved on.
            func current(_ m: Int) -> Bool {
                mostRecent[m] == Int.min || edge.time >= mostRecent[m] - settings.supersededAfterDays
            }
            if current(edge.a) || current(edge.b) {
                edges.append(edge)
            } else {
                result.linksSuperseded += 1
            }
        }

        // Carer names at an address, by the configured rules.
        if !settings.carerNameRules.isEmpty {
            let rules = settings.carerNameRules.map { KindRule($0, kinds: evidence.kinds) }
            var carerNamePairs: Set<Int> = []
            for (a, atAddress) in stays.enumerated() where atAddress.count >= 2 && !evidence.addressIsTown[a] {
                for edge in Self.carerNameEdges(
                    atAddress, rules: rules, guardNewCarer: settings.differentCarerEndsHousehold, scratch: &scratch)
                {
                    let pair = edge.a * count + edge.b
                    guard addressEdges[pair] == nil, carerNamePairs.insert(pair).inserted else { continue }
                    edges.append(edge)
                }
            }
        }
        addressEdges = [:]
        edges += Self.carerEdges(evidence, byMember: byMember, settings: settings, into: &result)
        edges += Self.incidentEdges(evidence)
        Self.components(edges, evidence: evidence, into: &result)
        result.homes = result.groups.map { group in
            let candidates = group.compactMap { memberHome[Int($0)] }
            let pool = candidates.contains(where: \.home) ? candidates.filter(\.home) : candidates
            return pool.max(by: { ($0.end, $0.record) < ($1.end, $1.record) }).map { ($0.record, $0.end) }
        }
        result.latest = latest
        result.spans = Self.spans(stays, evidence: evidence, groups: result.groups)
        return result
    }

    /// Each member's stays at each address (by postcode or UPRN, and by town for matching records that
    /// have no postcode); returns each member's most recent evidence and most recent address evidence.
    static func stays(
        _ evidence: FamilyEvidence, byMember: [[Int]], settings: GroupingSettings, into stays: inout [[Stay]]
    ) -> (latest: [Int], home: [(end: Int, record: Int64, home: Bool)?]) {
        let observations = evidence.observations
        let isHomeKind = evidence.kinds.map { settings.homeAddressKinds.contains($0) }
        let isFallbackKind = evidence.kinds.map { settings.fallbackAddressKinds.contains($0) }
        var latest = [Int](repeating: Int.min, count: byMember.count)
        var memberHome: [(end: Int, record: Int64, home: Bool)?] = Array(repeating: nil, count: byMember.count)
        for m in byMember.indices {
            let own = byMember[m]
            for index in own { latest[m] = max(latest[m], observations[index].end) }
            let home = own.filter { observations[$0].hasAddress && isHomeKind[Int(observations[$0].kind)] }
            let fallback = own.filter { observations[$0].hasAddress && isFallbackKind[Int(observations[$0].kind)] }
            // A fallback address (a police incident) counts when no home feed gives one, or when it is
            // one of the member's home addresses anyway (then it is fresh evidence of living there).
            var homeAddresses: Set<Int32> = []
            for index in home {
                if observations[index].address >= 0 { homeAddresses.insert(observations[index].address) }
                if observations[index].townAddress >= 0 { homeAddresses.insert(observations[index].townAddress) }
            }
            let used =
                home.isEmpty
                ? fallback
                : home
                    + fallback.filter {
                        homeAddresses.contains(observations[$0].address)
                            || homeAddresses.contains(observations[$0].townAddress)
                    }
            guard !used.isEmpty else { continue }
            if let best = (home.isEmpty ? used : home).filter({ observations[$0].address >= 0 })
                .max(by: {
                    (observations[$0].end, observations[$0].record) < (observations[$1].end, observations[$1].record)
                })
            {
                memberHome[m] = (observations[best].end, observations[best].record, !home.isEmpty)
            }
            for byTown in [false, true] {
                Self.addStays(
                    of: m, used.map { observations[$0] }, byTown: byTown, evidence: evidence, settings: settings,
                    into: &stays)
            }
        }
        return (latest, memberHome)
    }

    /// One member's stays by postcode (or UPRN) addresses, or by town addresses.
    private static func addStays(
        of m: Int, _ used: [Observation], byTown: Bool, evidence: FamilyEvidence, settings: GroupingSettings,
        into stays: inout [[Stay]]
    ) {
        func keyOf(_ o: Observation) -> Int32 { byTown ? o.townAddress : o.address }
        var perAddress: [(key: Int32, stay: Stay)] = []
        for o in used {
            let key = keyOf(o)
            guard key >= 0 else { continue }
            let town = evidence.addressIsTown[Int(key)]
            let primary: [Int32] = town && o.address >= 0 ? [o.address] : []
            let slot: Int
            if let known = perAddress.firstIndex(where: { $0.key == key }) {
                slot = known
            } else {
                slot = perAddress.count
                perAddress.append(
                    (
                        key,
                        Stay(
                            member: m, first: o.start, last: o.end, end: o.end, record: o.record, exact: o.address >= 0)
                    ))
            }
            var seen = perAddress[slot].stay
            seen.first = min(seen.first, o.start)
            if (o.end, o.record) > (seen.last, seen.record) { (seen.last, seen.record) = (o.end, o.record) }
            seen.exact = seen.exact && o.address >= 0
            for p in primary where !seen.primaries.contains(p) { seen.primaries.append(p) }
            if !town, o.carerName >= 0 { Self.note(evidence.carerNames[Int(o.carerName)], o, in: &seen.mentions) }
            perAddress[slot].stay = seen
        }
        for (key, seen) in perAddress {
            // The stay lasts past its last evidence, but not beyond the first sign of living elsewhere.
            var end = seen.last + settings.stayExtendsDays
            for o in used {
                let other = keyOf(o)
                if other >= 0, other != key, o.start > seen.last { end = min(end, o.start - 1) }
            }
            var stay = seen
            stay.end = max(end, seen.last)
            stays[Int(key)].append(stay)
        }
    }

    /// Homes: overlapping stays at the same address (the pair's most recent shared address kept).
    private static func addressEdges(
        _ stays: [[Stay]], evidence: FamilyEvidence, crowded: [Bool], surnames: [Set<Int32>],
        settings: GroupingSettings, scratch: inout NameScratch
    ) -> (edges: [Int: Edge], crowded: Int) {
        var addressEdges: [Int: Edge] = [:]  // key: a * count + b
        var crowdedCount = 0
        let count = evidence.members.count
        for (a, atAddress) in stays.enumerated() where atAddress.count >= 2 {
            if crowded[a] {
                crowdedCount += 1
                continue
            }
            let sorted = atAddress.sorted { ($0.first, $0.member) < ($1.first, $1.member) }
            let byTown = evidence.addressIsTown[a]
            // By town only when it is unambiguous: the records that have postcodes there all agree on one address.
            if byTown && (!atAddress.contains(where: { !$0.exact }) || Set(atAddress.flatMap(\.primaries)).count > 1) {
                continue
            }
            let addressBasis =
                evidence.addressIsUPRN[a] ? "same_uprn" : byTown ? "same_address_no_postcode" : "same_address"
            for i in sorted.indices {
                for j in (i + 1)..<sorted.count {
                    if sorted[j].first > sorted[i].end { break }
                    // By town, only a record without a postcode is matched: two postcodes already said whether they agree.
                    if byTown && sorted[i].exact && sorted[j].exact { continue }
                    // …and only children who share a surname: a house number and street recur across a town.
                    if byTown && settings.noPostcodeAddressNeedsSurname
                        && Self.surnamesDiffer(surnames[sorted[i].member], surnames[sorted[j].member])
                    {
                        continue
                    }
                    // Two households behind one front door: each names its own mother (or father); unless
                    // the children share a surname (one home, two mothers).
                    var basis = addressBasis
                    if settings.differentCarerNoAddressLink
                        && Self.carersDiffer(sorted[i], sorted[j], scratch: &scratch)
                    {
                        guard settings.differentCarersOneSurnameOneHousehold, !byTown,
                            !surnames[sorted[i].member].isDisjoint(with: surnames[sorted[j].member])
                        else { continue }
                        basis = "same_address_one_surname"
                    }
                    let (x, y) = sorted[i].member < sorted[j].member ? (sorted[i], sorted[j]) : (sorted[j], sorted[i])
                    let edge = Edge(
                        a: x.member, b: y.member, basis: basis, recordA: x.record, recordB: y.record,
                        from: max(x.first, y.first), to: max(max(x.first, y.first), min(x.last, y.last)),
                        time: min(x.last, y.last))
                    let pair = x.member * count + y.member
                    // The pair's most recent shared address; at equal times, a postcode's over a town's.
                    if let existing = addressEdges[pair],
                        existing.time > edge.time
                            || (existing.time == edge.time && (byTown || existing.basis != "same_address_no_postcode"))
                    {
                        continue
                    }
                    addressEdges[pair] = edge
                }
            }
        }
        return (addressEdges, crowdedCount)
    }

    /// Both members' surnames are known and they share no form of one.
    static func surnamesDiffer(_ x: Set<Int32>, _ y: Set<Int32>) -> Bool {
        !x.isEmpty && !y.isEmpty && x.isDisjoint(with: y)
    }

    /// A family that moved, and a partner not told: same address, stays apart in time, same surname.
    private static func sameSurnameEdges(
        _ stays: [[Stay]], evidence: FamilyEvidence, crowded: [Bool], surnames: [Set<Int32>],
        known addressEdges: [Int: Edge],
        settings: GroupingSettings, scratch: inout NameScratch
    ) -> [Int: Edge] {
        var staleEdges: [Int: Edge] = [:]
        guard settings.sameSurnameAtAddressWithinDays > 0 else { return staleEdges }
        let count = evidence.members.count
        for (a, atAddress) in stays.enumerated() where atAddress.count >= 2 && !crowded[a] && !evidence.addressIsTown[a]
        {
            for i in atAddress.indices {
                for j in atAddress.indices where j != i {
                    let (earlier, later) = (atAddress[i], atAddress[j])
                    // `later` arrived after `earlier`'s stay had ended, and soon enough.
                    guard earlier.member != later.member, later.first > earlier.end,
                        later.first - earlier.last <= settings.sameSurnameAtAddressWithinDays,
                        !surnames[earlier.member].isDisjoint(with: surnames[later.member]),
                        !settings.differentCarerEndsHousehold
                            || !Self.newCarerBetween(
                                earlier, later, at: atAddress, carers: earlier.mentions + later.mentions,
                                scratch: &scratch)
                    else { continue }
                    let (x, y) = earlier.member < later.member ? (earlier, later) : (later, earlier)
                    let pair = x.member * count + y.member
                    guard addressEdges[pair] == nil else { continue }
                    let edge = Edge(
                        a: x.member, b: y.member, basis: "same_address_same_surname", recordA: x.record,
                        recordB: y.record,
                        from: nil, to: nil, time: min(x.last, y.last))
                    if let existing = staleEdges[pair], existing.time >= edge.time { continue }
                    staleEdges[pair] = edge
                }
            }
        }
        return staleEdges
    }

    /// Carers: per kind of key, the carer on each member's most recent record naming one, and any
    /// other carer named within `superseded_after_days` of it (so a typo on the latest record does not
    /// hide the carer every other record names, while a change of carer a year old is believed).
    /// Members naming one carer are linked to the first of them (by member number).
    private static func carerEdges(
        _ evidence: FamilyEvidence, byMember: [[Int]], settings: GroupingSettings, into result: inout Result
    ) -> [Edge] {
        let twoPeople = settings.nameDOBWithTwoNumbersLinksNothing ? Self.nameDOBKeysOfTwoPeople(evidence) : []
        result.nameDOBKeysOfTwoPeople = twoPeople.count
        var holders: [(kind: Int, key: Int32, member: Int, record: Int64)] = []
        var lastSeen: [(key: Int32, end: Int, record: Int64)] = []
        for m in byMember.indices {
            for kind in CarerKeyKind.allCases where settings.carerKeys.contains(kind) {
                lastSeen.removeAll(keepingCapacity: true)
                for index in byMember[m] {
                    let o = evidence.observations[index]
                    let key = o.carer(kind)
                    guard key >= 0 else { continue }
                    if let slot = lastSeen.firstIndex(where: { $0.key == key }) {
                        if (lastSeen[slot].end, lastSeen[slot].record) >= (o.end, o.record) { continue }
                        (lastSeen[slot].end, lastSeen[slot].record) = (o.end, o.record)
                    } else {
                        lastSeen.append((key, o.end, o.record))
                    }
                }
                guard let latestCarer = lastSeen.map(\.end).max() else { continue }
                for seen in lastSeen where seen.end >= latestCarer - settings.supersededAfterDays {
                    if kind == .nameAndDOB && twoPeople.contains(seen.key) { continue }
                    holders.append((kind.ordinal, seen.key, m, seen.record))
                }
            }
        }
        let keyed = holders.map { (key: $0.kind << 32 | Int($0.key), member: $0.member, record: $0.record) }
        let acrossNumbers =
            settings.nameDOBAcrossNumbersNeedsAddressOrSurname
            ? NameDOBAcrossNumbers(evidence, byMember: byMember, settings: settings) : nil
        let nameDOB = CarerKeyKind.nameAndDOB.ordinal
        return hubEdges(
            keyed, count: evidence.members.count,
            refuse: acrossNumbers.map { guardian in
                { key, a, b in key >> 32 == nameDOB && guardian.refuses(a, b, key: Int32(truncatingIfNeeded: key)) }
            }
        ) { CarerKeyKind.allCases[$0 >> 32].basis }
    }

    /// The name-and-date-of-birth keys that records give beside two different NHS numbers, or two
    /// different NI numbers: two people share that name and date of birth.
    static func nameDOBKeysOfTwoPeople(_ evidence: FamilyEvidence) -> Set<Int32> {
        var nhsOf: [Int32: Int32] = [:]
        var niOf: [Int32: Int32] = [:]
        var twoPeople: Set<Int32> = []
        for o in evidence.observations where o.nameDOBCarer >= 0 {
            if o.nhsCarer >= 0 {
                if let first = nhsOf[o.nameDOBCarer], first != o.nhsCarer {
                    twoPeople.insert(o.nameDOBCarer)
                } else {
                    nhsOf[o.nameDOBCarer] = o.nhsCarer
                }
            }
            if o.niCarer >= 0 {
                if let first = niOf[o.nameDOBCarer], first != o.niCarer {
                    twoPeople.insert(o.nameDOBCarer)
                } else {
                    niOf[o.nameDOBCarer] = o.niCarer
                }
            }
        }
        return twoPeople
    }

    /// Children notified under one police incident (of the configured types) share a household.
    private static func incidentEdges(_ evidence: FamilyEvidence) -> [Edge] {
        var holders: [(key: Int, member: Int, record: Int64)] = []
        for o in evidence.observations where o.incident >= 0 {
            holders.append((Int(o.incident), Int(o.member), o.record))
        }
        return hubEdges(holders, count: evidence.members.count) { _ in "same_incident" }
    }

    /// Members holding one key are linked to the first of them (by member number, then record): a
    /// star, not every pair. A pair linked through two keys of one basis keeps the first key's link.
    /// A pair `refuse` refuses (key, member, member) is not linked: the member is linked instead to the
    /// first holder before it that is not refused, if any.
    private static func hubEdges(
        _ holders: [(key: Int, member: Int, record: Int64)], count: Int,
        refuse: ((Int, Int, Int) -> Bool)? = nil, basis: (Int) -> String
    ) -> [Edge] {
        let holders = holders.sorted { ($0.key, $0.member, $0.record) < ($1.key, $1.member, $1.record) }
        var edges: [Edge] = []
        var pairs: Set<Int> = []
        var start = 0
        while start < holders.count {
            var end = start + 1
            while end < holders.count && holders[end].key == holders[start].key { end += 1 }
            let hub = holders[start]
            let linkBasis = basis(hub.key)
            for k in (start + 1)..<end where holders[k].member != hub.member {
                let other = holders[k]
                guard
                    let partner = holders[start..<k].first(where: {
                        $0.member != other.member && !(refuse?(hub.key, $0.member, other.member) ?? false)
                    })
                else { continue }
                let (x, y) = partner.member < other.member ? (partner, other) : (other, partner)
                guard pairs.insert((x.member * count + y.member) * 8 + hub.key >> 32).inserted else { continue }
                edges.append(
                    Edge(
                        a: x.member, b: y.member, basis: linkBasis, recordA: x.record, recordB: y.record, from: nil,
                        to: nil, time: 0))
            }
            start = end
        }
        return edges
    }

    /// Families are the connected groups of the links: members in member-key order, families by
    /// their first member; each link oriented by member key and filed under its family.
    private static func components(_ edges: [Edge], evidence: FamilyEvidence, into result: inout Result) {
        let members = evidence.members
        let count = members.count
        var sets = DisjointSets(count: count)
        for edge in edges { sets.union(edge.a, edge.b) }
        // Member-key order once; then every comparison is on integers.
        var rank = [Int](repeating: 0, count: count)
        for (position, m) in members.indices.sorted(by: { members[$0] < members[$1] }).enumerated() {
            rank[m] = position
        }
        var byRoot: [Int: [Int32]] = [:]
        for m in 0..<count { byRoot[sets.find(m), default: []].append(Int32(m)) }
        var groups = byRoot.values.map { $0.sorted { rank[Int($0)] < rank[Int($1)] } }
        groups.sort { rank[Int($0[0])] < rank[Int($1[0])] }
        var groupOf = [Int](repeating: 0, count: count)
        for (g, group) in groups.enumerated() { for m in group { groupOf[Int(m)] = g } }

        result.members = members
        result.groups = groups
        result.links = Array(repeating: [], count: groups.count)
        for edge in edges {
            var link = edge
            if rank[edge.a] > rank[edge.b] {
                (link.a, link.b, link.recordA, link.recordB) = (edge.b, edge.a, edge.recordB, edge.recordA)
            }
            result.links[groupOf[edge.a]].append(link)
        }
    }
}
