import Foundation

/// A date in the proleptic Gregorian calendar with no time or time zone: a date of birth,
/// a review due date, the first day of a term.
public struct CalendarDate: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let year: Int
    public let month: Int
    public let day: Int

    /// `nil` unless the date exists (months 1–12, days within the month, 29 February only in leap years).
    /// Years 1…9999.
    @inlinable
    public init?(year: Int, month: Int, day: Int) {
        guard year >= 1, year <= 9999, month >= 1, month <= 12, day >= 1,
            day <= CalendarDate.daysInMonth(year: year, month: month)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    @usableFromInline
    init(unchecked year: Int, _ month: Int, _ day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    @inlinable
    public static func isLeapYear(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    @inlinable
    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 (which is day 0); negative before it.
    public var dayNumber: Int {
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// The date `dayNumber` days after 1970-01-01. Clamped to years 1…9999.
    public init(dayNumber: Int) {
        let z = min(max(dayNumber, -719162), 2932896) + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(unchecked: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    public func adding(days: Int) -> CalendarDate { CalendarDate(dayNumber: dayNumber + days) }

    /// Adds calendar months; the day is clamped to the end of a shorter month (31 Jan + 1 month = 28/29 Feb).
    public func adding(months: Int) -> CalendarDate {
        let total = year * 12 + (month - 1) + months
        let y = total / 12
        let m = total % 12 + 1
        return CalendarDate(unchecked: y, m, min(day, CalendarDate.daysInMonth(year: y, month: m)))
    }

    public func adding(years: Int) -> CalendarDate { adding(months: years * 12) }

    /// Whole days from `self` to `other` (negative when `other` is earlier).
    public func days(until other: CalendarDate) -> Int { other.dayNumber - dayNumber }

    /// Age in whole years on `date`, for a person born on `self`. Someone born on 29 February
    /// becomes a year older on 1 March in non-leap years. Negative when `date` is before `self`.
    public func age(on date: CalendarDate) -> Int {
        var years = date.year - year
        if (date.month, date.day) < (month, day) { years -= 1 }
        return years
    }

    /// Whole calendar months from `self` to `other` (negative when `other` is earlier).
    public func months(until other: CalendarDate) -> Int {
        if other < self { return -other.months(until: self) }
        var m = (other.year - year) * 12 + (other.month - month)
        if other.day < day { m -= 1 }
        return m
    }

    /// ISO 8601 weekday: 1 = Monday … 7 = Sunday.
    public var weekday: Int {
        let r = ((dayNumber % 7) + 7) % 7  // 0 = Thursday
        return (r + 3) % 7 + 1
    }

    /// "2019-03-07".
    public var iso8601: String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(10)
        appendISO8601(to: &bytes)
        return String(asciiBytes: bytes)
    }

    /// Appends "2019-03-07" as ASCII bytes (for writers that build bytes, not strings).
    public func appendISO8601(to bytes: inout [UInt8]) {
        CalendarDate.appendDigits(year, count: 4, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        CalendarDate.appendDigits(month, count: 2, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        CalendarDate.appendDigits(day, count: 2, to: &bytes)
    }

    public var description: String { iso8601 }

    /// Parses "YYYY-MM-DD" exactly.
    public init?(iso8601 text: some StringProtocol) {
        guard let d = CalendarDate.isoFormat.parse(text) else { return nil }
        self = d
    }

    static let isoFormat = try! DateFormat(pattern: "YYYY-MM-DD")

    /// Today's date in a time zone (default Europe/London, where the councils are).
    public static func today(
        in timeZone: TimeZone = TimeZone(identifier: "Europe/London")!, now: Date = Date()
    ) -> CalendarDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month, .day], from: now)
        return CalendarDate(unchecked: c.year!, c.month!, c.day!)
    }

    public static func < (a: CalendarDate, b: CalendarDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    // Codable as an ISO 8601 string.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let d = CalendarDate(iso8601: text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not a YYYY-MM-DD date"))
        }
        self = d
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(iso8601)
    }

    static func appendDigits(_ value: Int, count: Int, to bytes: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<count { divisor *= 10 }
        var v = value
        while divisor > 0 {
            bytes.append(UInt8(48 + (v / divisor) % 10))
            v %= divisor
            divisor /= 10
        }
    }
}
