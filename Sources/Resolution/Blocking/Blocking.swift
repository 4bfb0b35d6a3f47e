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

    /// Every rule's keys of one record, in rule order (a key may repeat). The name parts the
    /// rules share are worked out once for the record, not once per rule.
    static func keys(
        of r: MatchRecord, rules: [BlockingRule], nicknames: NicknameTable, into keys: inout [UInt64]
    ) {
        let names = NameParts(r, nicknames: nicknames)
        for rule in rules { rule.keys(r, names: names, nicknames: nicknames, into: &keys) }
    }

    /// The name parts of a record that the rules build their keys from. Working them out took
    /// about a tenth of a full run's instructions while every rule did it again for itself.
    struct NameParts {
        let givenGroups: [UInt64]
        /// `givenGroups` without first letters where a name has a group (`familyGivenBirthYear`).
        let givenGroupsWithoutInitials: [UInt64]
        let soundexes: [UInt32]
        let familyInitials: [UInt64]

        init(_ r: MatchRecord, nicknames: NicknameTable) {
            givenGroups = BlockingRule.givenGroups(r, nicknames: nicknames, initials: true)
            givenGroupsWithoutInitials = BlockingRule.givenGroups(r, nicknames: nicknames, initials: false)
            soundexes = BlockingRule.familySoundexes(r)
            familyInitials = BlockingRule.familyInitials(r)
        }
    }

    func keys(_ r: MatchRecord, names: NameParts, nicknames: NicknameTable, into keys: inout [UInt64]) {
        let salt = UInt64(BlockingRule.allCases.firstIndex(of: self)! + 1) &* 0x9E37_79B9_7F4A_7C15
        func emit(_ parts: UInt64...) {
            var hash: UInt64 = salt
            for part in parts { hash = (hash ^ part) &* 0x0000_0100_0000_01B3 &+ 0x632B_E59B_D9B4_E019 }
            keys.append(hash | 1)
        }
        let givenGroups = self == .familyGivenBirthYear ? names.givenGroupsWithoutInitials : names.givenGroups
        let soundexes = names.soundexes
        switch self {
        case .dobFamilySoundex:
            guard r.dob != 0 else { return }
            for code in soundexes { emit(UInt64(r.dob), UInt64(code)) }
        case .dobGivenGroup:
            guard r.dob != 0 else { return }
            // A nickname group alone; a first letter (what a typo keeps) only with the family name's
            // initial, or the name itself: a county's children of one birthday and initial are many.
            let initials = names.familyInitials
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
            for initial in names.familyInitials {
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

/// Every record's blocking keys, as the rules emit them (a key may repeat), computed once on all
/// cores: a full run both pairs records by them and stores them for the next batch.
struct RecordKeys: Sendable {
    /// The keys of record `i` are `keys[start[i]..<start[i + 1]]`.
    let keys: [UInt64]
    let start: [Int]

    init(records: [MatchRecord], rules: [BlockingRule], nicknames: NicknameTable) {
        let slices = ParallelSlices.collect(records.count) { range in
            var keys: [UInt64] = []
            var counts: [Int] = []
            keys.reserveCapacity(range.count * 8)
            counts.reserveCapacity(range.count)
            for index in range {
                let before = keys.count
                BlockingRule.keys(of: records[index], rules: rules, nicknames: nicknames, into: &keys)
                counts.append(keys.count - before)
            }
            return (keys: keys, counts: counts)
        }
        var keys: [UInt64] = []
        keys.reserveCapacity(slices.reduce(0) { $0 + $1.keys.count })
        var start: [Int] = [0]
        start.reserveCapacity(records.count + 1)
        for slice in slices {
            keys += slice.keys
            for count in slice.counts { start.append(start[start.count - 1] + count) }
        }
        self.keys = keys
        self.start = start
    }

    /// The keys of consecutive runs of records, as one (each part's records follow the previous part's).
    init(joining parts: [RecordKeys]) {
        var keys: [UInt64] = []
        keys.reserveCapacity(parts.reduce(0) { $0 + $1.keys.count })
        var start: [Int] = [0]
        start.reserveCapacity(parts.reduce(1) { $0 + $1.recordCount })
        for part in parts {
            let offset = keys.count
            keys += part.keys
            for index in 1..<part.start.count { start.append(offset + part.start[index]) }
        }
        self.keys = keys
        self.start = start
    }

    var recordCount: Int { start.count - 1 }

    func of(_ record: Int) -> ArraySlice<UInt64> { keys[start[record]..<start[record + 1]] }

    /// A record's keys without repeats, in the order the rules emit them (the stored keys).
    func unique(_ record: Int) -> [UInt64] { CandidatePairs.unique(of(record)) }
}

/// Candidate pairs (indices into a record array, `i < j`) from the union of the rules.
public struct CandidatePairs: Sendable {
    /// Each pair packed as `i << 32 | j`, sorted and unique.
    public private(set) var packed: [UInt64]
    /// Blocks skipped because they were larger than the cap, per rule: a sign a rule is too loose.
    public private(set) var oversizedBlocks: [String: Int]

    public var count: Int { packed.count }

    /// All pairs among `records`; with `firstNew`, only pairs with at least one record at index ≥
    /// `firstNew` (incremental: new records against new and old, never old against old).
    init(records: [MatchRecord], firstNew: Int = 0, rules: [BlockingRule], nicknames: NicknameTable, maxBlock: Int) {
        self.init(
            keys: RecordKeys(records: records, rules: rules, nicknames: nicknames), firstNew: firstNew,
            maxBlock: maxBlock)
    }

    /// The pairs from keys already computed. Entries (key, record) are sorted on all cores; the
    /// blocks are then split between the cores at block boundaries, each core pairing its blocks and
    /// sorting its pairs, and the sorted runs are merged without repeats.
    init(keys: RecordKeys, firstNew: Int = 0, maxBlock: Int) {
        // The sorted entries are gone (end of the function below) before the runs are merged.
        let runs = Self.sortedRuns(keys: keys, firstNew: firstNew, maxBlock: maxBlock)
        let oversized = runs.reduce(0) { $0 + $1.oversized }
        self.packed = Self.mergeUnique(runs.map(\.pairs))
        self.oversizedBlocks = oversized > 0 ? ["blocks": oversized] : [:]
    }

    /// Each slice's pairs (sorted, unique) and oversized blocks, the slices in key order.
    private static func sortedRuns(
        keys: RecordKeys, firstNew: Int, maxBlock: Int
    ) -> [(pairs: [UInt64], oversized: Int)] {
        var keyed: [(key: UInt64, index: UInt32)] = []
        keyed.reserveCapacity(keys.keys.count)
        for record in 0..<keys.recordCount {
            for key in keys.of(record) { keyed.append((key, UInt32(record))) }
        }
        ParallelSlices.sortByHash(&keyed, order: { $0.key }) {
            $0.key < $1.key || ($0.key == $1.key && $0.index < $1.index)
        }
        // Block boundaries, then slices of whole blocks with about as many entries each.
        let sliceCount = max(1, min(ParallelSlices.cores, keyed.count / 65_536))
        var cuts = [0]
        for slice in 1..<max(1, sliceCount) {
            var cut = max(cuts[cuts.count - 1], keyed.count * slice / sliceCount)
            while cut > 0 && cut < keyed.count && keyed[cut].key == keyed[cut - 1].key { cut += 1 }
            cuts.append(cut)
        }
        cuts.append(keyed.count)
        let (sorted, blockCuts) = (keyed, cuts)
        return ParallelSlices.collect(blockCuts.count - 1, minimumSlice: 1) { sliceRange in
            sliceRange.map { slice in
                Self.pairs(
                    in: sorted, from: blockCuts[slice], to: blockCuts[slice + 1], firstNew: firstNew,
                    maxBlock: maxBlock)
            }
        }.flatMap { $0 }
    }

    /// The pairs of the blocks in `keyed[from..<to]` (whole blocks), sorted and unique, and how many
    /// blocks were over the cap.
    private static func pairs(
        in keyed: [(key: UInt64, index: UInt32)], from: Int, to: Int, firstNew: Int, maxBlock: Int
    ) -> (pairs: [UInt64], oversized: Int) {
        var pairs: [UInt64] = []
        var oversized = 0
        var start = from
        while start < to {
            var end = start + 1
            while end < to && keyed[end].key == keyed[start].key { end += 1 }
            let size = end - start
            if size > maxBlock {
                oversized += 1
            } else if size > 1 {
                for a in start..<(end - 1) {
                    // Entries are sorted by index within a block: once `b` is old, so is `a`.
                    for b in (a + 1)..<end
                    where keyed[a].index != keyed[b].index && Int(keyed[b].index) >= firstNew {
                        pairs.append(UInt64(keyed[a].index) << 32 | UInt64(keyed[b].index))
                    }
                }
            }
            start = end
        }
        pairs.sort()
        // Repeats removed in place: no second array as large as the first.
        var kept = 0
        for position in pairs.indices where kept == 0 || pairs[kept - 1] != pairs[position] {
            pairs[kept] = pairs[position]
            kept += 1
        }
        pairs.removeSubrange(kept...)
        return (pairs, oversized)
    }

    /// Sorted runs merged into one sorted run without repeats.
    static func mergeUnique(_ runs: [[UInt64]]) -> [UInt64] {
        guard var merged = runs.first else { return [] }
        for run in runs.dropFirst() {
            var out: [UInt64] = []
            out.reserveCapacity(merged.count + run.count)
            var (i, j) = (0, 0)
            while i < merged.count || j < run.count {
                let next: UInt64
                if j == run.count || (i < merged.count && merged[i] <= run[j]) {
                    next = merged[i]
                    i += 1
                } else {
                    next = run[j]
                    j += 1
                }
                if out.last != next { out.append(next) }
            }
            merged = out
        }
        return merged
    }

    /// Every blocking key of a record, for the incremental candidate index in PostgreSQL.
    static func keys(of record: MatchRecord, rules: [BlockingRule], nicknames: NicknameTable) -> [UInt64] {
        var keys: [UInt64] = []
        BlockingRule.keys(of: record, rules: rules, nicknames: nicknames, into: &keys)
        return unique(keys[...])
    }

    /// Keys without repeats, first occurrence first.
    static func unique(_ keys: ArraySlice<UInt64>) -> [UInt64] {
        var unique: [UInt64] = []
        for key in keys where !unique.contains(key) { unique.append(key) }
        return unique
    }
}
