/// The fields the probabilistic model compares, and their levels. Identifiers (NHS number, UPN)
/// are not model fields: they link deterministically or forbid a link outright.
public enum MatchField: Int, CaseIterable, Sendable {
    case givenName, familyName, dateOfBirth, sex, location, carer

    public var name: String {
        switch self {
        case .givenName: "given_name"
        case .familyName: "family_name"
        case .dateOfBirth: "date_of_birth"
        case .sex: "sex"
        case .location: "location"
        case .carer: "carer"
        }
    }

    /// Level names, indexed by level number; the last level of each field is "missing" (no evidence).
    public var levels: [String] { Self.levelNames[rawValue] }

    /// Every field's level names, built once: level counts are read per compared pair
    /// (`patternIndex`) and per EM pattern and field, and each read built the array of names anew.
    private static let levelNames: [[String]] = allCases.map(\.namesOfLevels)
    private static let levelCounts: [Int] = levelNames.map(\.count)
    private static let differentLevels: [Int?] = levelNames.map { levels in
        levels.firstIndex { $0 == "different" || $0 == "different_carer" }
    }
    /// Per field and level: whether the level says the two values contradict each other (an age
    /// inconsistent with the date), which is never floored at `different`'s weight.
    private static let contradictingLevels: [[Bool]] = levelNames.map { $0.map { $0.hasSuffix("inconsistent") } }

    private var namesOfLevels: [String] {
        switch self {
        case .givenName:
            [
                "exact", "nickname", "jaro_winkler_0.95", "jaro_winkler_0.88", "edit_distance", "initial", "different",
                "missing",
            ]
        case .familyName:
            ["exact", "hyphen_part", "jaro_winkler_0.95", "jaro_winkler_0.88", "edit_distance", "different", "missing"]
        case .dateOfBirth:
            [
                "exact", "day_month_swapped", "one_digit_typo", "year_apart_same_day", "different", "age_consistent",
                "age_inconsistent", "missing",
            ]
        case .sex: ["same", "different", "missing"]
        // Address and postcode are one field: counting both would count one fact twice.
        case .location: ["same_address", "same_postcode", "same_sector", "same_district", "different", "missing"]
        case .carer: ["same_carer", "different_carer", "missing"]
        }
    }

    var levelCount: Int { Self.levelCounts[rawValue] }
    /// The level meaning outright disagreement; partial agreements never weigh less than it.
    var differentLevel: Int? { Self.differentLevels[rawValue] }
    var missingLevel: UInt8 { UInt8(levelCount - 1) }
    /// Whether this level says the values contradict each other (`age_inconsistent`).
    func isContradiction(_ level: Int) -> Bool { Self.contradictingLevels[rawValue][level] }
}

/// The level of every field for one pair of records.
/// The level of every field for one pair of records, packed one byte a field so that millions
/// of them cost no allocations.
public struct ComparisonVector: Hashable, Sendable {
    var packed: UInt64 = 0

    public init(levels: [UInt8]) {
        for (index, level) in levels.enumerated() { packed |= UInt64(level) << (8 * UInt64(index)) }
    }

    public var levels: [UInt8] { MatchField.allCases.map { self[$0] } }

    public subscript(field: MatchField) -> UInt8 {
        get { UInt8(truncatingIfNeeded: packed >> (8 * UInt64(field.rawValue))) }
        set {
            let shift = 8 * UInt64(field.rawValue)
            packed = packed & ~(0xFF << shift) | UInt64(newValue) << shift
        }
    }

    /// A dense index for counting patterns in EM (fits in 16 bits).
    var patternIndex: Int {
        var index = 0
        for field in MatchField.allCases { index = index * field.levelCount + Int(self[field]) }
        return index
    }

    static let patternCount: Int = MatchField.allCases.reduce(1) { $0 * $1.levelCount }

    init(patternIndex: Int) {
        var rest = patternIndex
        for field in MatchField.allCases.reversed() {
            self[field] = UInt8(rest % field.levelCount)
            rest /= field.levelCount
        }
    }
}

/// Compares two prepared records field by field. One comparer per thread (it owns scratch space).
public struct RecordComparer {
    var scratch = NameScratch()
    let nicknames: NicknameTable
    /// Given-name counts, to tell a slip of a short name from another name (`isShortNameSlip`);
    /// without them, short names one edit apart are different.
    let frequencies: NameFrequencies?

    public init(nicknames: NicknameTable = .standard, frequencies: NameFrequencies? = nil) {
        self.nicknames = nicknames
        self.frequencies = frequencies
    }

    /// The better of the legal/preferred combinations counts: a school's preferred "Alfie" should
    /// meet health visiting's "Alfred" on the best terms either record offers.
    public mutating func compare(_ a: MatchRecord, _ b: MatchRecord) -> ComparisonVector {
        compare(a, b, givenLevel: bestGiven(a, b).rawValue, familyLevel: bestFamily(a, b).rawValue)
    }

    /// The vector with the name levels already known (`bestGiven`, `bestFamily`; `MemoizingComparer`).
    func compare(_ a: MatchRecord, _ b: MatchRecord, givenLevel: UInt8, familyLevel: UInt8) -> ComparisonVector {
        var vector = ComparisonVector(levels: [])
        vector[.givenName] = givenLevel
        vector[.familyName] = familyLevel
        vector[.dateOfBirth] = dateLevel(a, b)
        vector[.sex] = a.sex == 0 || b.sex == 0 ? 2 : (a.sex == b.sex ? 0 : 1)
        vector[.location] = Self.location(a, b)
        vector[.carer] = a.carerNHS == 0 || b.carerNHS == 0 ? 2 : (a.carerNHS == b.carerNHS ? 0 : 1)
        return vector
    }

    mutating func bestGiven(_ a: MatchRecord, _ b: MatchRecord) -> NameLevel {
        var best = givenLevel(a.given, b.given)
        if best == .exact { return best }
        // Most records have no preferred name: then there is nothing else to try. (The other
        // combinations, in this order, without building an array of them for every pair.)
        guard a.preferredGiven != nil || b.preferredGiven != nil else { return best }
        func consider(_ x: NameKey?, _ y: NameKey?) {
            guard x != nil && y != nil else { return }
            let level = givenLevel(x, y)
            if Self.rank(level) < Self.rank(best) { best = level }
        }
        consider(a.preferredGiven, b.given)
        consider(a.given, b.preferredGiven)
        consider(a.preferredGiven, b.preferredGiven)
        return best
    }

    /// The comparator's level, with a familiar form (Mia for Amelia, the nickname table's `@familiar`
    /// part) counted as a nickname, and a slip of a short name (Lwo for Leo) or of another form of the
    /// name (Cahrlie for Charlotte, known as Charlie: `NameComparison.isSlipOfAForm`) as an edit when
    /// the frequencies say one spelling is a slip of the other.
    mutating func givenLevel(_ x: NameKey?, _ y: NameKey?) -> NameLevel {
        let level = NameComparison.compareGivenNames(x, y, nicknames: nicknames, scratch: &scratch)
        if Self.rank(level) > Self.rank(.nickname), let x, let y, nicknames.areEquivalentIncludingFamiliarForms(x, y) {
            return .nickname
        }
        guard level == .different, let frequencies, let x, let y else { return level }
        if NameComparison.isShortNameSlip(x, y, scratch: &scratch) && frequencies.isTypo(x, y) {
            return .editDistance1or2
        }
        let slipOfAForm = NameComparison.isSlipOfAForm(x, y, nicknames: nicknames, scratch: &scratch) {
            frequencies.isSlip($0, ofForm: $1)
        }
        return slipOfAForm ? .editDistance1or2 : level
    }

    mutating func bestFamily(_ a: MatchRecord, _ b: MatchRecord) -> FamilyNameLevel {
        var best = NameComparison.compareFamilyNames(a.family, b.family, scratch: &scratch)
        if best == .exact { return best }
        guard a.preferredFamily != nil || b.preferredFamily != nil else { return best }
        func consider(_ x: NameKey?, _ y: NameKey?) {
            guard x != nil && y != nil else { return }
            let level = NameComparison.compareFamilyNames(x, y, scratch: &scratch)
            if level.rawValue < best.rawValue || best == .missing { best = level }
        }
        consider(a.preferredFamily, b.family)
        consider(a.family, b.preferredFamily)
        consider(a.preferredFamily, b.preferredFamily)
        return best
    }

    /// `initial` ranks below the similarity bands but above `different`; `missing` is worst.
    static func rank(_ level: NameLevel) -> Int {
        switch level {
        case .exact: 0
        case .nickname: 1
        case .jaroWinkler95: 2
        case .jaroWinkler88: 3
        case .editDistance1or2: 4
        case .initial: 5
        case .different: 6
        case .missing: 7
        }
    }

    /// Same address, same postcode, sector or district, different, or missing. Without a postcode on
    /// one side, the first address lines decide: the same line is the same address, and two lines that
    /// differ are two addresses ("40 Bramble Street" and "56 Buttercup Rise"), not missing evidence.
    /// Counted as missing, such a pair lost nothing for its other home: at 100,000 children (default,
    /// seed 1) 27 of the 174 queued pairs were namesakes at two written addresses, 2 of them one child.
    static func location(_ a: MatchRecord, _ b: MatchRecord) -> UInt8 {
        let postcode = PostcodeComparison.compare(a.postcode, b.postcode)
        let bothLines = a.addressKey != 0 && b.addressKey != 0
        let sameLine = bothLines && a.addressKey == b.addressKey
        if sameLine && (postcode == .exact || postcode == .missing) { return 0 }
        switch postcode {
        case .exact: return 1
        case .sameSector: return 2
        case .sameDistrict: return 3
        case .different: return 4
        case .missing: return bothLines ? 4 : 5
        }
    }

    /// Whether two records' dates of birth (or ages) agree at a level the model counts in favour:
    /// exact, swapped, one digit, a year apart on the same day, or an age consistent with the date.
    static func datesAgree(_ a: MatchRecord, _ b: MatchRecord) -> Bool {
        let level = birthDateLevel(a, b)
        return level <= DateLevel.withinOneYearSameDayMonth.rawValue || level == 5
    }

    func dateLevel(_ a: MatchRecord, _ b: MatchRecord) -> UInt8 { Self.birthDateLevel(a, b) }

    static func birthDateLevel(_ a: MatchRecord, _ b: MatchRecord) -> UInt8 {
        if a.dob != 0 && b.dob != 0 { return DateComparison.compare(packed: a.dob, packed: b.dob).rawValue }
        // One side has only an age (police): is the date of birth consistent with it?
        let (dated, aged) = a.dob != 0 ? (a, b) : (b, a)
        if dated.dob == 0 { return Self.agesLevel(a, b) }
        guard aged.approximateAge >= 0, aged.ageYear > 0 else { return 7 }
        let age = Int(aged.ageYear) - Int(dated.dob / 10_000)
        return (age - 1...age).contains(Int(aged.approximateAge)) ? 5 : 6
    }

    /// Two approximate ages (two police rows): each leaves two possible birth years, and ranges that
    /// do not meet are two children (a brother of 3 and one of 0 in two incidents).
    static func agesLevel(_ a: MatchRecord, _ b: MatchRecord) -> UInt8 {
        guard a.approximateAge >= 0, a.ageYear > 0, b.approximateAge >= 0, b.ageYear > 0 else { return 7 }
        let bornA = Int(a.ageYear) - Int(a.approximateAge)
        let bornB = Int(b.ageYear) - Int(b.approximateAge)
        return abs(bornA - bornB) <= 1 ? 5 : 6
    }
}
