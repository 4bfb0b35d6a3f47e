/// Agreement level of two dates of birth, best first. The first rule that holds decides:
///
/// | level                        | rule                                                              |
/// |------------------------------|-------------------------------------------------------------------|
/// | `exact`                      | same year, month and day                                          |
/// | `dayMonthSwapped`            | same year, day and month exchanged, the day ≠ the month and both  |
/// |                              | ≤ 12 (03/04 vs 04/03; 12/12 vs 12/12 is exact, not a swap)         |
/// | `oneDigitTypo`               | exactly one of the eight digits of YYYYMMDD differs               |
/// |                              | (2016-03-07 / 2016-03-01, 2016-03-07 / 2017-03-07)                 |
/// | `withinOneYearSameDayMonth`  | same day and month, years one apart with two or more digits       |
/// |                              | different (2019-05-04 / 2020-05-04)                               |
/// | `different`                  | none of the above, or a date outside 0001–9999 / month 1–12 /     |
/// |                              | day 1–31                                                          |
/// | `missing`                    | either date is nil                                                |
public enum DateLevel: UInt8, Sendable, CaseIterable {
    case exact = 0
    case dayMonthSwapped = 1
    case oneDigitTypo = 2
    case withinOneYearSameDayMonth = 3
    case different = 4
    case missing = 5
}

/// Comparison of dates of birth into `DateLevel`s over a compact representation: a date packed as
/// the decimal number YYYYMMDD in a `UInt32` (2016-03-07 → 20160307), which sorts and hashes as
/// cheaply as an integer.
public enum DateComparison {
    /// Packs a date as YYYYMMDD; nil when the year is outside 1…9999, the month outside 1…12 or the
    /// day outside 1…31. (Calendar validity is the parser's job; this only keeps digits in place.)
    @inlinable
    public static func pack(year: Int, month: Int, day: Int) -> UInt32? {
        guard (1...9999).contains(year), (1...12).contains(month), (1...31).contains(day) else { return nil }
        return UInt32(year * 10_000 + month * 100 + day)
    }

    /// Compares two dates given as components; see `DateLevel`.
    public static func compare(
        _ a: (year: Int, month: Int, day: Int), _ b: (year: Int, month: Int, day: Int)
    ) -> DateLevel {
        guard let pa = pack(year: a.year, month: a.month, day: a.day),
            let pb = pack(year: b.year, month: b.month, day: b.day)
        else {
            return a == b ? .exact : .different
        }
        return compare(packed: pa, packed: pb)
    }

    /// Compares two optional dates; `.missing` when either is nil.
    public static func compare(
        _ a: (year: Int, month: Int, day: Int)?, _ b: (year: Int, month: Int, day: Int)?
    ) -> DateLevel {
        guard let a, let b else { return .missing }
        return compare(a, b)
    }

    /// Compares two dates packed by `pack(year:month:day:)`; see `DateLevel`.
    @inlinable
    public static func compare(packed a: UInt32, packed b: UInt32) -> DateLevel {
        if a == b { return .exact }
        let yearA = a / 10_000
        let yearB = b / 10_000
        let monthA = a / 100 % 100
        let monthB = b / 100 % 100
        let dayA = a % 100
        let dayB = b % 100
        if yearA == yearB && dayA == monthB && monthA == dayB && dayA != monthA && dayA <= 12 && monthA <= 12 {
            return .dayMonthSwapped
        }
        var x = a
        var y = b
        var differing = 0
        for _ in 0..<8 {
            if x % 10 != y % 10 { differing += 1 }
            x /= 10
            y /= 10
        }
        if differing == 1 { return .oneDigitTypo }
        if monthA == monthB && dayA == dayB && (yearA &+ 1 == yearB || yearB &+ 1 == yearA) {
            return .withinOneYearSameDayMonth
        }
        return .different
    }
}
