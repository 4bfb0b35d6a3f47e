/// A date format declared in a feed definition, such as "DD/MM/YYYY", "D/M/YYYY", "YYYY-MM-DD",
/// "YYYYMMDD hh:mm" or "YYYY-MM-DDThh:mm:ss".
///
/// Tokens: `YYYY` four-digit year; `MM` two-digit month; `M` month of one or two digits; `DD` and `D`
/// likewise for the day; `hh` (or `HH`) two-digit hour 00–23, `h`/`H` one or two digits; `mm` minutes;
/// `ss` seconds. Everything else must be a literal separator: space, `-`, `/`, `.`, `:`, `,`, `_`, or the
/// letters `T` and `Z`. Two-digit years are not supported (a date of birth in "07/03/19" is ambiguous).
///
/// The time part, if any, must come after the date, and is optional in the input: "YYYYMMDD hh:mm"
/// accepts "20260314 23:05" and "20260314". Surrounding spaces and tabs are ignored; anything else
/// that does not match makes the parse fail.
public struct DateFormat: Sendable, Hashable, CustomStringConvertible {
    /// The pattern as declared.
    public let pattern: String

    @usableFromInline
    enum Token: Hashable, Sendable {
        case year4
        case month(variable: Bool)
        case day(variable: Bool)
        case hour(variable: Bool)
        case minute
        case second
        case literal(UInt8)

        var isVariable: Bool {
            switch self {
            case .month(let v), .day(let v), .hour(let v): return v
            default: return false
            }
        }
        var isNumeric: Bool {
            if case .literal = self { return false }
            return true
        }
        var isTime: Bool {
            switch self {
            case .hour, .minute, .second: return true
            default: return false
            }
        }
    }

    @usableFromInline
    let tokens: [Token]
    /// Index into `tokens` where the optional time suffix starts (== tokens.count when there is none).
    @usableFromInline
    let timeStart: Int

    /// The pattern is YYYY-MM-DD and nothing else: `parseBuffer` reads such dates without going
    /// through the tokens (most feeds' dates; the result is the same).
    @usableFromInline
    let isISODate: Bool

    /// Whether the pattern is `YYYY-MM-DD` alone: then a value it reads (with no spaces around it)
    /// is already the date's ISO 8601 text, byte for byte.
    public var readsISODatesOnly: Bool { isISODate }

    /// True when the pattern has a time part.
    public var hasTime: Bool { timeStart < tokens.count }

    public var description: String { "DateFormat(\(pattern))" }

    /// Compiles a pattern; throws `.badPattern` for unknown tokens, two-digit years, missing year, month
    /// or day, repeated tokens, a time part before the date, or a one-or-two-digit token directly
    /// followed by another number (which could not be split reliably).
    public init(pattern: String) throws(IdentifierError) {
        let p = Array(pattern.utf8)
        var tokens: [Token] = []
        var i = 0
        func fail(_ reason: String) -> IdentifierError { IdentifierError(.badPattern, reason) }
        while i < p.count {
            let c = p[i]
            var run = 1
            while i + run < p.count, p[i + run] == c { run += 1 }
            switch c {
            case UInt8(ascii: "Y"):
                guard run == 4 else { throw fail("the year must be written YYYY (four digits)") }
                tokens.append(.year4)
            case UInt8(ascii: "M"):
                guard run <= 2 else { throw fail("month names are not supported; use MM or M") }
                tokens.append(.month(variable: run == 1))
            case UInt8(ascii: "D"):
                guard run <= 2 else { throw fail("use DD or D for the day") }
                tokens.append(.day(variable: run == 1))
            case UInt8(ascii: "h"), UInt8(ascii: "H"):
                guard run <= 2 else { throw fail("use hh or h for the hour") }
                tokens.append(.hour(variable: run == 1))
            case UInt8(ascii: "m"):
                guard run == 2 else { throw fail("minutes must be written mm (months are MM)") }
                tokens.append(.minute)
            case UInt8(ascii: "s"):
                guard run == 2 else { throw fail("seconds must be written ss") }
                tokens.append(.second)
            case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "/"), UInt8(ascii: "."), UInt8(ascii: ":"),
                UInt8(ascii: ","), UInt8(ascii: "_"), UInt8(ascii: "T"), UInt8(ascii: "Z"):
                for _ in 0..<run { tokens.append(.literal(c)) }
            case UInt8(ascii: "y"), UInt8(ascii: "d"):
                throw fail("unknown token; years are YYYY and days DD (upper case)")
            default:
                throw fail("unknown token or character in pattern")
            }
            i += run
        }
        // Exactly one of each date part, at most one of each time part.
        func count(_ match: (Token) -> Bool) -> Int { tokens.filter(match).count }
        let years = count { $0 == .year4 }
        let months = count { if case .month = $0 { return true } else { return false } }
        let days = count { if case .day = $0 { return true } else { return false } }
        let hours = count { if case .hour = $0 { return true } else { return false } }
        let minutes = count { $0 == .minute }
        let seconds = count { $0 == .second }
        guard years == 1, months == 1, days == 1 else {
            throw fail("the pattern needs exactly one year (YYYY), one month (MM or M) and one day (DD or D)")
        }
        guard hours <= 1, minutes <= 1, seconds <= 1 else { throw fail("a time part is repeated") }
        guard minutes == 0 || hours == 1 else { throw fail("minutes need an hour") }
        guard seconds == 0 || minutes == 1 else { throw fail("seconds need minutes") }
        guard hours == 0 || minutes == 1 else { throw fail("an hour needs minutes (hh:mm)") }
        // Time after date.
        let lastDate = tokens.lastIndex { t in
            switch t {
            case .year4, .month, .day: return true
            default: return false
            }
        }!
        if let firstTime = tokens.firstIndex(where: { $0.isTime }), firstTime < lastDate {
            throw fail("the time must come after the date")
        }
        for k in 0..<tokens.count where tokens[k].isVariable {
            if k + 1 < tokens.count, tokens[k + 1].isNumeric {
                throw fail("a one-or-two-digit token must be followed by a separator")
            }
        }
        self.pattern = pattern
        self.tokens = tokens
        self.timeStart = tokens.firstIndex(where: { $0.isTime }) != nil ? lastDate + 1 : tokens.count
        isISODate =
            tokens == [
                .year4, .literal(UInt8(ascii: "-")), .month(variable: false), .literal(UInt8(ascii: "-")),
                .day(variable: false),
            ]
    }

    public static func == (a: DateFormat, b: DateFormat) -> Bool { a.pattern == b.pattern }
    public func hash(into hasher: inout Hasher) { hasher.combine(pattern) }

    /// A parsed date with the time of day when the pattern has one and the input carried it.
    public struct DateTime: Hashable, Sendable {
        public let date: CalendarDate
        /// Minutes since midnight, 0…1439; nil when the input had no time.
        public let minuteOfDay: Int?
        /// Seconds 0…59 when the pattern has `ss` and the input carried them.
        public let second: Int?
    }

    // MARK: Parsing

    /// Parses text; `nil` when it does not match the pattern or names a date that does not exist.
    @inlinable
    public func parse(_ text: some StringProtocol) -> CalendarDate? {
        parse(text.utf8)
    }

    /// Parses UTF-8 bytes (the hot path); any time part is checked and then ignored.
    @inlinable
    public func parse<C: Collection>(_ bytes: C) -> CalendarDate? where C.Element == UInt8 {
        withContiguousBytes(bytes) { parseBuffer($0)?.date }
    }

    /// `parse` of bytes already in one buffer (the loader's lane): calls the parser without the
    /// closure of the generic version, which copied the format (retaining its pattern and tokens)
    /// on every call.
    public func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> CalendarDate? {
        parseBuffer(bytes)?.date
    }

    /// `parseDateTime` of bytes already in one buffer, for the reason `parse(_:)` of a buffer has.
    public func parseDateTime(_ bytes: UnsafeBufferPointer<UInt8>) -> DateTime? {
        parseBuffer(bytes)
    }

    /// Parses a date and, when present, the time of day.
    @inlinable
    public func parseDateTime(_ text: some StringProtocol) -> DateTime? {
        parseDateTime(text.utf8)
    }

    @inlinable
    public func parseDateTime<C: Collection>(_ bytes: C) -> DateTime? where C.Element == UInt8 {
        withContiguousBytes(bytes) { parseBuffer($0) }
    }

    /// Like `parse`, but says why the text was rejected (never echoing it).
    public func parseResult(_ text: some StringProtocol) -> Result<CalendarDate, IdentifierError> {
        if let d = parse(text) { return .success(d) }
        return .failure(IdentifierError(.invalidDate, "not a valid date in the format \(pattern)"))
    }

    @usableFromInline
    func parseBuffer(_ buf: UnsafeBufferPointer<UInt8>) -> DateTime? {
        let range = buf.trimmedRange()
        if isISODate { return Self.isoDate(buf, range) }
        var i = range.lowerBound
        let end = range.upperBound
        var year = -1, month = -1, day = -1, hour = -1, minute = -1, second = -1
        var k = 0
        let n = tokens.count
        while k < n {
            if k == timeStart, i == end { break }  // the time part is optional
            switch tokens[k] {
            case .literal(let c):
                guard i < end, buf[i] == c else { return nil }
                i += 1
            case .year4:
                guard let v = DateFormat.digits(buf, &i, end, min: 4, max: 4) else { return nil }
                year = v
            case .month(let variable):
                guard let v = DateFormat.digits(buf, &i, end, min: variable ? 1 : 2, max: 2) else { return nil }
                month = v
            case .day(let variable):
                guard let v = DateFormat.digits(buf, &i, end, min: variable ? 1 : 2, max: 2) else { return nil }
                day = v
            case .hour(let variable):
                guard let v = DateFormat.digits(buf, &i, end, min: variable ? 1 : 2, max: 2), v < 24 else { return nil }
                hour = v
            case .minute:
                guard let v = DateFormat.digits(buf, &i, end, min: 2, max: 2), v < 60 else { return nil }
                minute = v
            case .second:
                guard let v = DateFormat.digits(buf, &i, end, min: 2, max: 2), v < 60 else { return nil }
                second = v
            }
            k += 1
        }
        guard i == end, let date = CalendarDate(year: year, month: month, day: day) else { return nil }
        let minuteOfDay = hour >= 0 && minute >= 0 ? hour * 60 + minute : nil
        return DateTime(date: date, minuteOfDay: minuteOfDay, second: second >= 0 ? second : nil)
    }

    /// YYYY-MM-DD exactly (ten bytes once trimmed), as the tokens of that pattern read it.
    @inline(__always)
    static func isoDate(_ buf: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> DateTime? {
        guard range.count == 10 else { return nil }
        let s = range.lowerBound
        func digit(_ offset: Int) -> Int? {
            let byte = buf[s + offset]
            return ASCII.isDigit(byte) ? Int(byte &- ASCII.zero) : nil
        }
        guard buf[s + 4] == UInt8(ascii: "-"), buf[s + 7] == UInt8(ascii: "-"),
            let y0 = digit(0), let y1 = digit(1), let y2 = digit(2), let y3 = digit(3),
            let m0 = digit(5), let m1 = digit(6), let d0 = digit(8), let d1 = digit(9),
            let date = CalendarDate(year: y0 * 1000 + y1 * 100 + y2 * 10 + y3, month: m0 * 10 + m1, day: d0 * 10 + d1)
        else { return nil }
        return DateTime(date: date, minuteOfDay: nil, second: nil)
    }

    @inline(__always)
    static func digits(_ buf: UnsafeBufferPointer<UInt8>, _ i: inout Int, _ end: Int, min: Int, max: Int) -> Int? {
        var v = 0
        var n = 0
        while n < max, i < end, ASCII.isDigit(buf[i]) {
            v = v * 10 + Int(buf[i] &- ASCII.zero)
            i += 1
            n += 1
        }
        return n >= min ? v : nil
    }

    // MARK: Formatting

    /// Writes `date` (and a time, when the pattern has one and `minuteOfDay` is given) as UTF-8 bytes.
    /// Variable-width tokens (`D`, `M`, `h`) are written without a leading zero.
    public func write(_ date: CalendarDate, minuteOfDay: Int? = nil, second: Int? = nil, into bytes: inout [UInt8]) {
        for (k, t) in tokens.enumerated() {
            if k == timeStart, minuteOfDay == nil { break }
            switch t {
            case .literal(let c): bytes.append(c)
            case .year4: CalendarDate.appendDigits(date.year, count: 4, to: &bytes)
            case .month(let variable): DateFormat.append(date.month, variable: variable, &bytes)
            case .day(let variable): DateFormat.append(date.day, variable: variable, &bytes)
            case .hour(let variable): DateFormat.append((minuteOfDay ?? 0) / 60, variable: variable, &bytes)
            case .minute: CalendarDate.appendDigits((minuteOfDay ?? 0) % 60, count: 2, to: &bytes)
            case .second: CalendarDate.appendDigits(second ?? 0, count: 2, to: &bytes)
            }
        }
    }

    /// `date` formatted with this pattern.
    public func format(_ date: CalendarDate, minuteOfDay: Int? = nil, second: Int? = nil) -> String {
        var bytes: [UInt8] = []
        write(date, minuteOfDay: minuteOfDay, second: second, into: &bytes)
        return String(asciiBytes: bytes)
    }

    private static func append(_ v: Int, variable: Bool, _ bytes: inout [UInt8]) {
        if variable && v < 10 {
            bytes.append(UInt8(48 + v))
        } else {
            CalendarDate.appendDigits(v, count: 2, to: &bytes)
        }
    }
}
