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
    struct Observation {
        var member: String
        var record: Int64
        var kind: String
        /// Day numbers (days since 1970-01-01).
        var start: Int
        var end: Int
        var address: String?
        /// The address by town instead of postcode, used only to match a record with no postcode.
        var townAddress: String?
        var carers: [(kind: CarerKeyKind, key: String)] = []
        /// A police incident reference, when the incident's type links the children notified under it.
        var incident: String?
        /// The child's surname as recorded, in comparable forms (`AddressKey.surnameKeys`).
        var surnames: [String] = []
        /// The carer the record names, by name alone.
        var carerName: CarerName?
    }

    /// A carer named on a record, compared by name only (`CarerName.same`), with the role the feed gives
    /// (health visiting names the mother; a school its contact's relationship; nil when not said).
    struct CarerName {
        var given: NameKey
        var family: NameKey
        var role: String?
    }

    /// A carer named by a member's records at one address, and when.
    struct Mention {
        var name: CarerName
        var kind: String
        var first: Int
        var last: Int
        var record: Int64
    }

    struct Link: Equatable {
        var a: String
        var b: String
        var basis: String
        var recordA: Int64
        var recordB: Int64
        var overlapFrom: Int?
        var overlapTo: Int?
        /// The carer-name rule that made a `carer_name_at_address` link.
        var rule: String? = nil
    }

    /// A member's span at one address: the evidence there from first to last, and the latest record.
    struct Span: Equatable {
        var member: String
        var record: Int64
        var first: Int
        var last: Int
        var current: Bool
    }

    struct Result {
        /// Member keys per family, each sorted; families ordered by their first member.
        var groups: [[String]] = []
        var links: [[Link]] = []
        /// The family's current home: the record holding the most recent address evidence, and its date.
        var homes: [(record: Int64, asOf: Int)?] = []
        /// Each member's most recent evidence (day number).
        var latest: [String: Int] = [:]
        var linksSuperseded = 0
        var crowdedAddresses = 0
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
        var primaries: Set<String> = []
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

    static func group(_ observations: [Observation], settings: GroupingSettings) -> Result {
        var memberIndex: [String: Int] = [:]
        var members: [String] = []
        var byMember: [[Int]] = []
        for (index, observation) in observations.enumerated() {
            let m: Int
            if let known = memberIndex[observation.member] {
                m = known
            } else {
                m = members.count
                memberIndex[observation.member] = m
                members.append(observation.member)
                byMember.append([])
            }
            byMember[m].append(index)
        }

        var result = Result()
        var latest = [Int](repeating: Int.min, count: members.count)
        var addressIndex: [String: Int] = [:]
        var addressKeys: [String] = []
        var stays: [[Stay]] = []
        // The member's most recent address evidence: (end, record, from a home feed).
        var memberHome: [(end: Int, record: Int64, home: Bool)?] = Array(repeating: nil, count: members.count)

        for m in members.indices {
            let own = byMember[m].map { observations[$0] }
            latest[m] = own.map(\.end).max() ?? Int.min
            func hasAddress(_ o: Observation) -> Bool { o.address != nil || o.townAddress != nil }
            let home = own.filter { hasAddress($0) && settings.homeAddressKinds.contains($0.kind) }
            let fallback = own.filter { hasAddress($0) && settings.fallbackAddressKinds.contains($0.kind) }
            // A fallback address (a police incident) counts when no home feed gives one, or when it is
            // one of the member's home addresses anyway (then it is fresh evidence of living there).
            let homeAddresses = Set(home.flatMap { [$0.address, $0.townAddress].compactMap { $0 } })
            let used = home.isEmpty
                ? fallback
                : home + fallback.filter { o in [o.address, o.townAddress].contains { $0 != nil && homeAddresses.contains($0!) } }
            guard !used.isEmpty else { continue }
            if let best = (home.isEmpty ? used : home).filter({ $0.address != nil })
                .max(by: { ($0.end, $0.record) < ($1.end, $1.record) })
            {
                memberHome[m] = (best.end, best.record, !home.isEmpty)
            }
            // Stays by postcode (or UPRN), and by town for matching records that have no postcode.
            for keyOf in [{ (o: Observation) in o.address }, { (o: Observation) in o.townAddress }] {
                var perAddress: [String: (first: Int, last: Int, record: Int64, exact: Bool, primaries: Set<String>, mentions: [Mention])] =
                    [:]
                for o in used {
                    guard let key = keyOf(o) else { continue }
                    let town = AddressKey.isTownKey(key)
                    let primary: Set<String> = town && o.address != nil ? [o.address!] : []
                    var seen = perAddress[key] ?? (o.start, o.end, o.record, o.address != nil, primary, [])
                    seen.first = min(seen.first, o.start)
                    if (o.end, o.record) > (seen.last, seen.record) { (seen.last, seen.record) = (o.end, o.record) }
                    seen.exact = seen.exact && o.address != nil
                    seen.primaries.formUnion(primary)
                    if !town, let name = o.carerName { Self.note(name, o, in: &seen.mentions) }
                    perAddress[key] = seen
                }
                // In key order: address indexes (and so which of two equal links is kept) must not depend on hashing.
                for (key, seen) in perAddress.sorted(by: { $0.key < $1.key }) {
                    // The stay lasts past its last evidence, but not beyond the first sign of living elsewhere.
                    var end = seen.last + settings.stayExtendsDays
                    for o in used {
                        if let other = keyOf(o), other != key, o.start > seen.last { end = min(end, o.start - 1) }
                    }
                    let a: Int
                    if let known = addressIndex[key] {
                        a = known
                    } else {
                        a = addressKeys.count
                        addressIndex[key] = a
                        addressKeys.append(key)
                        stays.append([])
                    }
                    stays[a].append(
                        Stay(
                            member: m, first: seen.first, last: seen.last, end: max(end, seen.last), record: seen.record, exact: seen.exact,
                            primaries: seen.primaries, mentions: seen.mentions))
                }
            }
        }

        var scratch = NameScratch()
        // Guards: a different carer ends a household's stay; a crowded address links nothing by address alone.
        var surnames = [Set<String>](repeating: [], count: members.count)
        for m in members.indices {
            for index in byMember[m] { surnames[m].formUnion(observations[index].surnames) }
        }
        var crowded = stays.map { $0.count > settings.maxMembersPerAddress }
        for a in stays.indices where stays[a].count >= 2 && !crowded[a] && !AddressKey.isTownKey(addressKeys[a]) {
            if settings.differentCarerEndsHousehold { Self.endStaysAtNewCarer(&stays[a], scratch: &scratch) }
            crowded[a] = Self.surnameCount(stays[a], surnames: surnames, limit: settings.maxSurnamesPerAddress) > settings.maxSurnamesPerAddress
                || Self.carerCount(stays[a], limit: settings.maxCarersPerAddress, scratch: &scratch) > settings.maxCarersPerAddress
        }
        result.spans = []

        // Homes: overlapping stays at the same address.
        var addressEdges: [Int: Edge] = [:]  // key: a * count + b
        let count = members.count
        for (a, atAddress) in stays.enumerated() where atAddress.count >= 2 {
            if crowded[a] {
                result.crowdedAddresses += 1
                continue
            }
            let sorted = atAddress.sorted { ($0.first, $0.member) < ($1.first, $1.member) }
            let byTown = AddressKey.isTownKey(addressKeys[a])
            // By town only when it is unambiguous: the records that have postcodes there all agree on one address.
            if byTown && (!atAddress.contains(where: { !$0.exact }) || atAddress.reduce(into: Set<String>(), { $0.formUnion($1.primaries) }).count > 1) {
                continue
            }
            let basis = AddressKey.isUPRN(addressKeys[a]) ? "same_uprn" : byTown ? "same_address_no_postcode" : "same_address"
            for i in sorted.indices {
                for j in (i + 1)..<sorted.count {
                    if sorted[j].first > sorted[i].end { break }
                    // By town, only a record without a postcode is matched: two postcodes already said whether they agree.
                    if byTown && sorted[i].exact && sorted[j].exact { continue }
                    // Two households behind one front door: each names its own mother (or father).
                    if settings.differentCarerNoAddressLink && Self.carersDiffer(sorted[i], sorted[j], scratch: &scratch) { continue }
                    let (x, y) = sorted[i].member < sorted[j].member ? (sorted[i], sorted[j]) : (sorted[j], sorted[i])
                    let edge = Edge(
                        a: x.member, b: y.member, basis: basis, recordA: x.record, recordB: y.record,
                        from: max(x.first, y.first), to: max(max(x.first, y.first), min(x.last, y.last)), time: min(x.last, y.last))
                    let pair = x.member * count + y.member
                    if let existing = addressEdges[pair], existing.time >= edge.time { continue }
                    addressEdges[pair] = edge
                }
            }
        }
        // A family that moved, and a partner not told: same address, stays apart in time, same surname.
        var staleEdges: [Int: Edge] = [:]
        if settings.sameSurnameAtAddressWithinDays > 0 {
            for (a, atAddress) in stays.enumerated() where atAddress.count >= 2 && !crowded[a] && !AddressKey.isTownKey(addressKeys[a]) {
                for i in atAddress.indices {
                    for j in atAddress.indices where j != i {
                        let (earlier, later) = (atAddress[i], atAddress[j])
                        // `later` arrived after `earlier`'s stay had ended, and soon enough.
                        guard earlier.member != later.member, later.first > earlier.end,
                            later.first - earlier.last <= settings.sameSurnameAtAddressWithinDays,
                            !surnames[earlier.member].isDisjoint(with: surnames[later.member]),
                            !settings.differentCarerEndsHousehold
                                || !Self.newCarerBetween(earlier, later, at: atAddress, carers: earlier.mentions + later.mentions, scratch: &scratch)
                        else { continue }
                        let (x, y) = earlier.member < later.member ? (earlier, later) : (later, earlier)
                        let pair = x.member * count + y.member
                        guard addressEdges[pair] == nil else { continue }
                        let edge = Edge(
                            a: x.member, b: y.member, basis: "same_address_same_surname", recordA: x.record, recordB: y.record,
                            from: nil, to: nil, time: min(x.last, y.last))
                        if let existing = staleEdges[pair], existing.time >= edge.time { continue }
                        staleEdges[pair] = edge
                    }
                }
            }
        }
        // Most recent evidence wins.
        var mostRecent = [Int](repeating: Int.min, count: count)
        for edge in addressEdges.values {
            mostRecent[edge.a] = max(mostRecent[edge.a], edge.time)
            mostRecent[edge.b] = max(mostRecent[edge.b], edge.time)
        }
        var edges: [Edge] = []
        for (_, edge) in (addressEdges.sorted(by: { $0.key < $1.key }) + staleEdges.sorted(by: { $0.key < $1.key })) {
            // A member with no other address link (Int.min) has not moved on.
            func current(_ m: Int) -> Bool { mostRecent[m] == Int.min || edge.time >= mostRecent[m] - settings.supersededAfterDays }
            if current(edge.a) || current(edge.b) {
                edges.append(edge)
            } else {
                result.linksSuperseded += 1
            }
        }

        // Carer names at an address, by the configured rules.
        if !settings.carerNameRules.isEmpty {
            var carerNamePairs: Set<Int> = []
            for (a, atAddress) in stays.enumerated() where atAddress.count >= 2 && !AddressKey.isTownKey(addressKeys[a]) {
                for edge in Self.carerNameEdges(atAddress, rules: settings.carerNameRules, guardNewCarer: settings.differentCarerEndsHousehold, scratch: &scratch) {
                    let pair = edge.a * count + edge.b
                    guard addressEdges[pair] == nil, carerNamePairs.insert(pair).inserted else { continue }
                    edges.append(edge)
                }
            }
        }

        // Carers: per kind of key, the carer on each member's most recent record naming one, and any
        // other carer named within `superseded_after_days` of it (so a typo on the latest record does not
        // hide the carer every other record names, while a change of carer a year old is believed).
        var carerMembers: [String: [(member: Int, record: Int64)]] = [:]
        for m in members.indices {
            for kind in CarerKeyKind.allCases where settings.carerKeys.contains(kind) {
                var lastSeen: [String: (end: Int, record: Int64)] = [:]
                for index in byMember[m] {
                    let o = observations[index]
                    for carer in o.carers where carer.kind == kind {
                        if let seen = lastSeen[carer.key], (seen.end, seen.record) >= (o.end, o.record) { continue }
                        lastSeen[carer.key] = (o.end, o.record)
                    }
                }
                guard let latestCarer = lastSeen.values.map(\.end).max() else { continue }
                for (key, seen) in lastSeen where seen.end >= latestCarer - settings.supersededAfterDays {
                    carerMembers[kind.rawValue + ":" + key, default: []].append((m, seen.record))
                }
            }
        }
        var carerPairs: Set<String> = []
        for (key, holders) in carerMembers.sorted(by: { $0.key < $1.key }) where holders.count >= 2 {
            let kind = CarerKeyKind(rawValue: String(key[..<key.firstIndex(of: ":")!]))!
            let ordered = holders.sorted { ($0.member, $0.record) < ($1.member, $1.record) }
            let hub = ordered[0]
            for other in ordered.dropFirst() where other.member != hub.member {
                let (x, y) = hub.member < other.member ? (hub, other) : (other, hub)
                guard carerPairs.insert("\(x.member):\(y.member):\(kind.rawValue)").inserted else { continue }
                edges.append(
                    Edge(a: x.member, b: y.member, basis: kind.basis, recordA: x.record, recordB: y.record, from: nil, to: nil, time: 0))
            }
        }

        // Children notified under one police incident (of the configured types) share a household.
        var incidentMembers: [String: [(member: Int, record: Int64)]] = [:]
        for m in members.indices {
            for index in byMember[m] {
                if let incident = observations[index].incident { incidentMembers[incident, default: []].append((m, observations[index].record)) }
            }
        }
        var incidentPairs: Set<Int> = []
        for (_, holders) in incidentMembers.sorted(by: { $0.key < $1.key }) where holders.count >= 2 {
            let ordered = holders.sorted { ($0.member, $0.record) < ($1.member, $1.record) }
            let hub = ordered[0]
            for other in ordered.dropFirst() where other.member != hub.member {
                let (x, y) = hub.member < other.member ? (hub, other) : (other, hub)
                guard incidentPairs.insert(x.member * count + y.member).inserted else { continue }
                edges.append(
                    Edge(a: x.member, b: y.member, basis: "same_incident", recordA: x.record, recordB: y.record, from: nil, to: nil, time: 0))
            }
        }

        // Connected groups.
        var parent = Array(0..<count)
        func find(_ x: Int) -> Int {
            var x = x
            while parent[x] != x {
                parent[x] = parent[parent[x]]
                x = parent[x]
            }
            return x
        }
        for edge in edges {
            let (ra, rb) = (find(edge.a), find(edge.b))
            if ra != rb { parent[max(ra, rb)] = min(ra, rb) }
        }
        var byRoot: [Int: [Int]] = [:]
        for m in 0..<count { byRoot[find(m), default: []].append(m) }
        var groups = byRoot.values.map { $0.sorted { members[$0] < members[$1] } }
        groups.sort { members[$0[0]] < members[$1[0]] }
        var groupOf = [Int](repeating: 0, count: count)
        for (g, group) in groups.enumerated() { for m in group { groupOf[m] = g } }

        result.groups = groups.map { $0.map { members[$0] } }
        result.links = Array(repeating: [], count: groups.count)
        for edge in edges {
            let (a, b) = (members[edge.a], members[edge.b])
            let link = a < b
                ? Link(
                    a: a, b: b, basis: edge.basis, recordA: edge.recordA, recordB: edge.recordB, overlapFrom: edge.from, overlapTo: edge.to,
                    rule: edge.rule)
                : Link(
                    a: b, b: a, basis: edge.basis, recordA: edge.recordB, recordB: edge.recordA, overlapFrom: edge.from, overlapTo: edge.to,
                    rule: edge.rule)
            result.links[groupOf[edge.a]].append(link)
        }
        result.homes = groups.map { group in
            let candidates = group.compactMap { memberHome[$0] }
            let pool = candidates.contains(where: \.home) ? candidates.filter(\.home) : candidates
            return pool.max(by: { ($0.end, $0.record) < ($1.end, $1.record) }).map { ($0.record, $0.end) }
        }
        for m in members.indices { result.latest[members[m]] = latest[m] }
        result.spans = Self.spans(stays, addressKeys: addressKeys, members: members, groups: groups, groupOf: groupOf)
        return result
    }
}
