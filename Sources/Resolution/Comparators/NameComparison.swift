/// Agreement level of two given names, best first. The first rule that holds decides:
///
/// | level               | rule (on `NameKey.bytes`, parts joined)                                   |
/// |---------------------|---------------------------------------------------------------------------|
/// | `exact`             | same letters                                                              |
/// | `nickname`          | some line of the nickname table holds both                                |
/// | `initial`           | one name is a single letter and the other starts with it (`J` / `JOHN`)   |
/// | `jaroWinkler95`     | Jaro–Winkler ≥ 0.95                                                       |
/// | `jaroWinkler88`     | 0.88 ≤ Jaro–Winkler < 0.95                                                |
/// | `editDistance1or2`  | OSA distance ≤ 1 when the shorter name has 4–7 letters, ≤ 2 when it has   |
/// |                     | 8 or more; never when it has fewer than 4 (EVA/AVA, MIA/PIA are different)|
/// | `different`         | none of the above                                                         |
/// | `missing`           | either name is nil                                                        |
///
/// Raw values are stable (they may be stored); the order of the cases is the order of the rules
/// except `initial`, which is tested early but ranks below the similarity bands.
public enum NameLevel: UInt8, Sendable, CaseIterable {
    case exact = 0
    case nickname = 1
    case jaroWinkler95 = 2
    case jaroWinkler88 = 3
    case editDistance1or2 = 4
    case initial = 5
    case different = 6
    case missing = 7
}

/// Agreement level of two family names, best first. The first rule that holds decides:
///
/// | level               | rule                                                                       |
/// |---------------------|----------------------------------------------------------------------------|
/// | `exact`             | same letters, parts joined (`MC DONALD` = `MCDONALD`, `O'BRIEN` = `OBRIEN`)|
/// | `hyphenPart`        | one name is contained in the other, which has at least as many parts (and  |
/// |                     | at least two): its joined letters are a whole part of the other, or each   |
/// |                     | of its parts is (`JONES` / `SMITH-JONES`, `SMITH JONES` / `JONES-SMITH`,   |
/// |                     | `DE SOUZA` / `DESOUZA-SMITH`); needs ≥ 2 letters. `SMITH-JONES` /          |
/// |                     | `BROWN-JONES` is not: they share a part but each has one the other lacks   |
/// | `jaroWinkler95`     | Jaro–Winkler ≥ 0.95 on the joined letters                                  |
/// | `jaroWinkler88`     | 0.88 ≤ Jaro–Winkler < 0.95                                                 |
/// | `editDistance1or2`  | as for given names: OSA ≤ 1 (shorter 4–7 letters), ≤ 2 (8+), never < 4    |
/// | `different`         | none of the above                                                          |
/// | `missing`           | either name is nil                                                         |
public enum FamilyNameLevel: UInt8, Sendable, CaseIterable {
    case exact = 0
    case hyphenPart = 1
    case jaroWinkler95 = 2
    case jaroWinkler88 = 3
    case editDistance1or2 = 4
    case different = 5
    case missing = 6
}

/// Working memory for the name comparators; one per thread or task, passed `inout`.
public struct NameScratch: Sendable {
    public var jaro: JaroScratch
    public var edit: EditDistanceScratch

    public init() {
        jaro = JaroScratch()
        edit = EditDistanceScratch()
    }
}

/// Comparison of given names and family names into levels (`NameLevel`, `FamilyNameLevel`).
public enum NameComparison {
    /// Lower bound of `jaroWinkler95`.
    public static let highJaroWinkler = 0.95
    /// Lower bound of `jaroWinkler88`.
    public static let lowJaroWinkler = 0.88

    /// Largest OSA distance that still earns `editDistance1or2` for a pair whose shorter name has
    /// `shorterLength` letters: 0 (the level is not available) below 4 letters, 1 for 4–7, 2 from 8.
    @inlinable
    public static func editDistanceAllowance(shorterLength: Int) -> Int {
        shorterLength < 4 ? 0 : (shorterLength < 8 ? 1 : 2)
    }

    /// Compares two given names; see `NameLevel` for the rules.
    public static func compareGivenNames(
        _ a: NameKey?, _ b: NameKey?, nicknames: NicknameTable, scratch: inout NameScratch
    ) -> NameLevel {
        guard let a, let b else { return .missing }
        if a.fingerprint == b.fingerprint && a.bytes == b.bytes { return .exact }
        if nicknames.areEquivalent(a, b) { return .nickname }
        let la = a.bytes.count
        let lb = b.bytes.count
        if la == 1 || lb == 1 {
            return a.bytes[0] == b.bytes[0] ? .initial : .different
        }
        return a.bytes.withUnsafeBufferPointer { pa in
            b.bytes.withUnsafeBufferPointer { pb in
                switch similarity(pa, pb, scratch: &scratch) {
                case 0: .jaroWinkler95
                case 1: .jaroWinkler88
                case 2: .editDistance1or2
                default: .different
                }
            }
        }
    }

    /// Two short names (the shorter of 2–3 letters, where `editDistanceAllowance` allows nothing)
    /// one edit apart: Lwo and Leo, Eav and Eva. Only a slip when one of them is rare where the
    /// other is common (`NameFrequencies.isTypo`): Eva and Ava, Mia and Pia are two names.
    public static func isShortNameSlip(_ a: NameKey, _ b: NameKey, scratch: inout NameScratch) -> Bool {
        let shorter = min(a.bytes.count, b.bytes.count)
        guard shorter >= 2, shorter < 4, abs(a.bytes.count - b.bytes.count) <= 1 else { return false }
        return a.bytes.withUnsafeBufferPointer { pa in
            b.bytes.withUnsafeBufferPointer { pb in
                StringSimilarity.damerauLevenshtein(pa, pb, limit: 1, scratch: &scratch.edit) <= 1
            }
        }
    }

    /// A slip of another form of the name (Cahrlie for Charlotte, known as Charlie; Jsmes for Jamie,
    /// through James; Olloe for Oliver; Liiv for Olivia, known as Liv): one name is within the edit
    /// allowance of a name sharing a nickname group with the other (both at least 3 letters, one
    /// edit; Jaro–Winkler ≥ 0.88 counts too, which is how a three-letter form is reached),
    /// is in no line of the table, and by `isSlip` is a slip of that form, not a name of its own.
    /// Only for names the comparator calls different.
    public static func isSlipOfAForm(
        _ a: NameKey, _ b: NameKey, nicknames: NicknameTable, scratch: inout NameScratch,
        isSlip: (NameKey, [UInt8]) -> Bool
    ) -> Bool {
        func slips(_ slip: NameKey, of named: NameKey, scratch: inout NameScratch) -> Bool {
            // A name of the table is a name of its own, not a slip; the cheap tests go first (this
            // runs for every pair whose first names the comparator calls different). Three letters
            // are enough: a short form's slip (Miaa, Phi) is a slip when the frequencies say so.
            guard slip.bytes.count >= 3, !nicknames.contains(slip) else { return false }
            return nicknames.anyForm(of: named) { form in
                guard abs(form.count - slip.bytes.count) <= 1, form.count >= 3, isSlip(slip, form) else { return false }
                return slip.bytes.withUnsafeBufferPointer { ps in
                    form.withUnsafeBufferPointer { pf in similarity(ps, pf, scratch: &scratch) < 3 }
                }
            }
        }
        return slips(a, of: b, scratch: &scratch) || slips(b, of: a, scratch: &scratch)
    }

    /// Compares two family names; see `FamilyNameLevel` for the rules.
    public static func compareFamilyNames(
        _ a: NameKey?, _ b: NameKey?, scratch: inout NameScratch
    ) -> FamilyNameLevel {
        guard let a, let b else { return .missing }
        if a.fingerprint == b.fingerprint && a.bytes == b.bytes { return .exact }
        if a.parts.count > 1 || b.parts.count > 1 {
            // The name with fewer parts inside the other; with equal counts, either way round.
            if a.parts.count <= b.parts.count && isContained(a, in: b) { return .hyphenPart }
            if b.parts.count <= a.parts.count && isContained(b, in: a) { return .hyphenPart }
        }
        return a.bytes.withUnsafeBufferPointer { pa in
            b.bytes.withUnsafeBufferPointer { pb in
                switch similarity(pa, pb, scratch: &scratch) {
                case 0: .jaroWinkler95
                case 1: .jaroWinkler88
                case 2: .editDistance1or2
                default: .different
                }
            }
        }
    }

    /// True when `few` (≥ 2 letters) is a whole part of `many`, or each part of `few` is.
    static func isContained(_ few: NameKey, in many: NameKey) -> Bool {
        guard few.bytes.count >= 2, many.parts.count > 1 else { return false }
        if many.parts.contains(few.bytes) { return true }
        return few.parts.count > 1 && few.parts.allSatisfy { many.parts.contains($0) }
    }

    /// 0: JW ≥ 0.95, 1: JW ≥ 0.88, 2: within the edit allowance, 3: none.
    @inline(__always)
    static func similarity(
        _ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>, scratch: inout NameScratch
    ) -> Int {
        let jw = StringSimilarity.jaroWinkler(a, b, scratch: &scratch.jaro)
        if jw >= highJaroWinkler { return 0 }
        if jw >= lowJaroWinkler { return 1 }
        let allowance = editDistanceAllowance(shorterLength: min(a.count, b.count))
        if allowance > 0
            && StringSimilarity.damerauLevenshtein(a, b, limit: allowance, scratch: &scratch.edit) <= allowance
        {
            return 2
        }
        return 3
    }
}
