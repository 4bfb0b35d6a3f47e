/// Blocking: which pairs are worth comparing. Each rule maps a record to zero or more keys;
/// records sharing a key under a rule form a block, and every pair within a block is a
/// candidate. The union over rules is taken without duplicate pairs.
public enum BlockingRule: String, CaseIterable, Sendable {
    /// Same date of birth and family-name Soundex.
    case dobFamilySoundex = "dob+family_soundex"
    /// Same date of birth and given-name group (nicknames share a group), the given name itself, or its
    /// first letter with the family name's initial (a typo keeps the first letter).
    case dobGivenGroup = "dob+given_group"
    /// Date of birth with day and month in either order, and family-name initial: catches swaps.
    case swappedDobFamilyInitial = "dob_any_order+family_initial"
    /// Family Soundex, given group and birth year: catches a mistyped date of birth.
    case familyGivenBirthYear = "family_soundex+given_group+birth_year"
    /// Postcode and given-name group: catches missing or wrong dates of birth.
    case postcodeGiven = "postcode+given_group"
    /// The mother's NHS number and given-name group (health visiting rows without the child's number).
    case carerGiven = "carer_nhs+given_group"

    func keys(_ r: MatchRecord, nicknames: NicknameTable, into keys: inout [UInt64]) {
        let salt = UInt64(BlockingRule.allCases.firstIndex(of: self)! + 1) &* 0x9E37_79B9_7F4A_7C15
        func emit(_ parts: UInt64...) {
            var hash: UInt64 = salt
            for part in parts { hash = (hash ^ part) &* 0x0000_0100_0000_01B3 &+ 0x632B_E59B_D9B4_E019 }
            keys.append(hash | 1)
        }
        let givenGroups = Self.givenGroups(r, nicknames: nicknames, initials: self != .familyGivenBirthYear)
        let soundexes = Self.familySoundexes(r)
        switch self {
        case .dobFamilySoundex:
            guard r.dob != 0 else { return }
            for code in soundexes { emit(UInt64(r.dob), UInt64(code)) }
        case .dobGivenGroup:
            guard r.dob != 0 else { return }
            // A nickname group alone; a first letter (what a typo keeps) only with the family name's
            // initial, or the name itself: a county's children of one birthday and initial are many.
            let initials = Self.familyInitials(r)
            for group in givenGroups {
                guard group & Self.letterKey != 0 else {
                    emit(UInt64(r.dob), group)
                    continue
                }
                for initial in initials { emit(UInt64(r.dob), group, initial) }
            }
            for name in [r.given, r.preferredGiven] {
                if let name, nicknames.canonicalGroup(of: name) == nil { emit(UInt64(r.dob), name.fingerprint) }
            }
        case .swappedDobFamilyInitial:
            guard r.dob != 0 else { return }
            let year = r.dob / 10_000
            let month = (r.dob / 100) % 100
            let day = r.dob % 100
            for initial in Self.familyInitials(r) {
                emit(UInt64(year), UInt64(min(month, day)), UInt64(max(month, day)), initial)
            }
        case .familyGivenBirthYear:
            let year = r.birthYear
            guard year != 0 else { return }
            // An age alone leaves two possible birth years.
            let years = r.dob != 0 ? [year] : [year, year + 1]
            for code in soundexes {
                for group in givenGroups { for y in years { emit(UInt64(code), group, UInt64(y)) } }
            }
        case .postcodeGiven:
            guard let postcode = r.postcode else { return }
            for group in givenGroups { emit(UInt64(postcode.outward), UInt64(postcode.inward), group) }
        case .carerGiven:
            guard r.carerNHS != 0 else { return }
            for group in givenGroups { emit(r.carerNHS, group) }
        }
    }

    /// Nickname group when the name has one, else the first letter (kept apart by a high bit); with
    /// `initials`, the first letter always: a typo (Aemlia, Tommu) is in no group, and must still
    /// meet the name it slipped from. Rules whose blocks grow with the population (a surname and a
    /// birth year) do without: a county's Smiths of one year and initial are too many pairs.
    static func givenGroups(_ r: MatchRecord, nicknames: NicknameTable, initials: Bool = true) -> [UInt64] {
        var out: [UInt64] = []
        for name in [r.given, r.preferredGiven] {
            guard let name, let first = name.bytes.first else { continue }
            let group = nicknames.canonicalGroup(of: name).map { UInt64($0) }
            for key in [group, group == nil || initials ? letterKey | UInt64(first) : nil] {
                if let key, !out.contains(key) { out.append(key) }
            }
        }
        return out
    }

    /// The bit that marks a first-letter key among given-name groups (group ids are far smaller).
    static let letterKey: UInt64 = 1 << 40

    static func familySoundexes(_ r: MatchRecord) -> [UInt32] {
        var out: [UInt32] = []
        for name in [r.family, r.preferredFamily] {
            guard let name else { continue }
            var codes = [Phonetic.soundex(name)]
            // A double-barrelled name also blocks under each of its parts (SMITH-JONES meets JONES).
            if name.parts.count > 1 {
                for part in name.parts { if let key = NameKey(utf8: part) { codes.append(Phonetic.soundex(key)) } }
            }
            for code in codes where !out.contains(code) { out.append(code) }
        }
        return out
    }

    static func familyInitials(_ r: MatchRecord) -> [UInt64] {
        var out: [UInt64] = []
        for name in [r.family, r.preferredFamily] {
            guard let name else { continue }
            for part in name.parts {
                if let first = part.first, !out.contains(UInt64(first)) { out.append(UInt64(first)) }
            }
        }
        return out
    }
}

/// Candidate pairs (indices into a record array, `i < j`) from the union of the rules.
public struct CandidatePairs: Sendable {
    /// Each pair packed as `i << 32 | j`, sorted and unique.
    public private(set) var packed: [UInt64]
    /// Blocks skipped because they were larger than the cap, per rule: a sign a rule is too loose.
    public private(set) var oversizedBlocks: [String: Int]

    public var count: Int { packed.count }

    /// All pairs among `records`.
    /// All pairs among `records`; with `firstNew`, only pairs with at least one record at index ≥
    /// `firstNew` (incremental: new records against new and old, never old against old).
    init(records: [MatchRecord], firstNew: Int = 0, rules: [BlockingRule], nicknames: NicknameTable, maxBlock: Int) {
        var entries: [(key: UInt64, index: UInt32)] = []
        entries.reserveCapacity(records.count * rules.count * 2)
        var keys: [UInt64] = []
        for (index, record) in records.enumerated() {
            keys.removeAll(keepingCapacity: true)
            for rule in rules { rule.keys(record, nicknames: nicknames, into: &keys) }
            for key in keys { entries.append((key, UInt32(index))) }
        }
        entries.sort { $0.key < $1.key || ($0.key == $1.key && $0.index < $1.index) }
        var pairs: [UInt64] = []
        var oversized: [String: Int] = [:]
        var start = 0
        while start < entries.count {
            var end = start + 1
            while end < entries.count && entries[end].key == entries[start].key { end += 1 }
            let size = end - start
            if size > maxBlock {
                oversized["blocks", default: 0] += 1
            } else if size > 1 {
                for a in start..<(end - 1) {
                    // Entries are sorted by index within a block: once `b` is old, so is `a`.
                    for b in (a + 1)..<end
                    where entries[a].index != entries[b].index && Int(entries[b].index) >= firstNew {
                        pairs.append(UInt64(entries[a].index) << 32 | UInt64(entries[b].index))
                    }
                }
            }
            start = end
        }
        pairs.sort()
        var unique: [UInt64] = []
        unique.reserveCapacity(pairs.count)
        for pair in pairs where unique.last != pair { unique.append(pair) }
        self.packed = unique
        self.oversizedBlocks = oversized
    }

    /// Every blocking key of a record, for the incremental candidate index in PostgreSQL.
    static func keys(of record: MatchRecord, rules: [BlockingRule], nicknames: NicknameTable) -> [UInt64] {
        var keys: [UInt64] = []
        for rule in rules { rule.keys(record, nicknames: nicknames, into: &keys) }
        var unique: [UInt64] = []
        for key in keys where !unique.contains(key) { unique.append(key) }
        return unique
    }
}
