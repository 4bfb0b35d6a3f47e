/// Each record's names as small integers, for `MemoizingComparer`: records whose legal and preferred
/// given names are the same share a given id, and likewise for family names.
///
/// A county's records hold far fewer distinct names than the scoring loop compares pairs of
/// (blocked pairs mostly share a date of birth or a postcode, and names repeat across them), so a
/// name level computed once per pair of ids serves many pairs of records.
struct NameSetIDs: Sendable {
    /// Record index → id of its (given, preferred given) names.
    let given: [Int32]
    /// Record index → id of its (family, preferred family) names.
    let family: [Int32]

    /// A record's name and its preferred form; equal sets compare equal (`NameKey`'s equality:
    /// letters and where the parts break).
    private struct NameSet: Hashable {
        let name: NameKey?
        let preferred: NameKey?
    }

    init(records: [MatchRecord]) {
        var givenIDs: [NameSet: Int32] = [:]
        var familyIDs: [NameSet: Int32] = [:]
        func id(_ set: NameSet, in table: inout [NameSet: Int32]) -> Int32 {
            if let known = table[set] { return known }
            let new = Int32(table.count)
            table[set] = new
            return new
        }
        var given = [Int32](repeating: 0, count: records.count)
        var family = [Int32](repeating: 0, count: records.count)
        for (index, record) in records.enumerated() {
            given[index] = id(NameSet(name: record.given, preferred: record.preferredGiven), in: &givenIDs)
            family[index] = id(NameSet(name: record.family, preferred: record.preferredFamily), in: &familyIDs)
        }
        self.given = given
        self.family = family
    }
}

/// Levels already computed for pairs of name ids: a direct-mapped table (a slot per hash, the
/// newest pair wins), so its memory is fixed whatever the number of distinct pairs. A slot holds
/// the whole key, so a level is only ever returned for the pair it was computed for.
struct NamePairMemo {
    private var keys: [UInt64]
    private var levels: [UInt8]
    private let shift: UInt64

    /// No pair of ids (each below 2³¹) packs to this key.
    private static let empty = UInt64.max

    /// `bits`: log2 of the number of slots (2¹⁷ slots take 1.1 MiB).
    init(bits: Int) {
        keys = [UInt64](repeating: Self.empty, count: 1 << bits)
        levels = [UInt8](repeating: 0, count: 1 << bits)
        shift = UInt64(64 - bits)
    }

    /// The key of the pair, either way round: the name levels are symmetric (each rule is, and
    /// `bestGiven`/`bestFamily` take the best over the same combinations from either side), so a
    /// level computed for (x, y) serves (y, x), which random pairs meet as often.
    static func key(_ x: Int32, _ y: Int32) -> UInt64 {
        let (low, high) = x <= y ? (x, y) : (y, x)
        return UInt64(UInt32(bitPattern: low)) << 32 | UInt64(UInt32(bitPattern: high))
    }

    private func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    func level(_ key: UInt64) -> UInt8? {
        let slot = slot(key)
        return keys[slot] == key ? levels[slot] : nil
    }

    mutating func store(_ level: UInt8, for key: UInt64) {
        let slot = slot(key)
        keys[slot] = key
        levels[slot] = level
    }
}

/// `RecordComparer` for records of one array, with each pair of name sets compared once
/// (`NameSetIDs`, `NamePairMemo`): the name levels depend on the names alone, so a remembered level
/// is the level `RecordComparer.compare` would compute. One per thread.
struct MemoizingComparer {
    var comparer: RecordComparer
    let names: NameSetIDs
    /// Given and family name levels in one table: a family name's key has the top bit set (ids are
    /// below 2³¹, so a given name's key never does).
    private var levels: NamePairMemo
    private static let familyBit: UInt64 = 1 << 63

    /// `memoBits`: log2 of the memo's slots (`NamePairMemo`); tests make it small to force evictions.
    init(_ comparer: RecordComparer, names: NameSetIDs, memoBits: Int = 17) {
        self.comparer = comparer
        self.names = names
        levels = NamePairMemo(bits: memoBits)
    }

    /// Compares records `i` and `j` (`a` and `b`) of the array `names` was built from.
    mutating func compare(_ i: Int, _ j: Int, _ a: MatchRecord, _ b: MatchRecord) -> ComparisonVector {
        let given = nameLevel(.givenName, a, b, key: NamePairMemo.key(names.given[i], names.given[j]))
        let family = nameLevel(
            .familyName, a, b, key: NamePairMemo.key(names.family[i], names.family[j]) | Self.familyBit)
        return comparer.compare(a, b, givenLevel: given, familyLevel: family)
    }

    private mutating func nameLevel(_ field: MatchField, _ a: MatchRecord, _ b: MatchRecord, key: UInt64) -> UInt8 {
        if let known = levels.level(key) { return known }
        let level = field == .givenName ? comparer.bestGiven(a, b).rawValue : comparer.bestFamily(a, b).rawValue
        levels.store(level, for: key)
        return level
    }
}
