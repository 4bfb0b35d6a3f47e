import Foundation

/// A value that can be sent as a query parameter, in PostgreSQL's text format.
/// `nil` is sent as SQL NULL. Cast in SQL where the type matters (`$1::date`).
public protocol PostgresEncodable {
    var postgresText: String? { get }
}

/// A value that can be read from a column in PostgreSQL's text format.
public protocol PostgresDecodable {
    /// `text` is nil for SQL NULL. Throw `PostgresDecodingFailure` when the text does not fit.
    static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Self
}

/// Why a column could not be decoded. Deliberately carries no value: the value may be personal data.
public struct PostgresDecodingFailure: Error, Sendable {
    public var expected: String
    public var wasNull: Bool
    public init(expected: String, wasNull: Bool) {
        self.expected = expected
        self.wasNull = wasNull
    }
}

extension PostgresDecodable {
    static func require(_ text: String?, as expected: String) throws(PostgresDecodingFailure) -> String {
        guard let text else { throw PostgresDecodingFailure(expected: expected, wasNull: true) }
        return text
    }
}

/// SQL NULL of no particular type, for literal parameter lists: `[name, PostgresNull()]`.
public struct PostgresNull: PostgresEncodable, Sendable {
    public init() {}
    public var postgresText: String? { nil }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresText: String? { self?.postgresText }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Wrapped? {
        guard let text else { return nil }
        return try Wrapped.decode(postgresText: text)
    }
}

extension String: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { self }
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> String {
        try require(text, as: "text")
    }
}

extension Substring: PostgresEncodable {
    public var postgresText: String? { String(self) }
}

extension Int: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { String(self) }
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Int {
        guard let value = Int(try require(text, as: "integer")) else {
            throw PostgresDecodingFailure(expected: "integer", wasNull: false)
        }
        return value
    }
}

extension Int32: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { String(self) }
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Int32 {
        guard let value = Int32(try require(text, as: "int4")) else {
            throw PostgresDecodingFailure(expected: "int4", wasNull: false)
        }
        return value
    }
}

extension Int64: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { String(self) }
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Int64 {
        guard let value = Int64(try require(text, as: "int8")) else {
            throw PostgresDecodingFailure(expected: "int8", wasNull: false)
        }
        return value
    }
}

extension Double: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { self.isNaN ? "NaN" : String(self) }
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Double {
        let raw = try require(text, as: "float8")
        switch raw {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default:
            guard let value = Double(raw) else { throw PostgresDecodingFailure(expected: "float8", wasNull: false) }
            return value
        }
    }
}

extension Bool: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { self ? "true" : "false" }
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Bool {
        switch try require(text, as: "boolean") {
        case "t", "true": return true
        case "f", "false": return false
        default: throw PostgresDecodingFailure(expected: "boolean", wasNull: false)
        }
    }
}

extension UUID: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { uuidString.lowercased() }
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> UUID {
        guard let value = UUID(uuidString: try require(text, as: "uuid")) else {
            throw PostgresDecodingFailure(expected: "uuid", wasNull: false)
        }
        return value
    }
}

/// A calendar date (PostgreSQL `date`), with no time zone: a date of birth is not an instant.
public struct PostgresDate: Hashable, Comparable, Sendable, PostgresEncodable, PostgresDecodable,
    CustomStringConvertible
{
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// ISO 8601, as the server prints dates with `DateStyle = ISO`.
    public var description: String {
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    public var postgresText: String? { description }

    public static func < (lhs: PostgresDate, rhs: PostgresDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> PostgresDate {
        let parts = try require(text, as: "date").split(separator: "-")
        guard parts.count == 3, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]) else {
            throw PostgresDecodingFailure(expected: "date", wasNull: false)
        }
        return PostgresDate(year: year, month: month, day: day)
    }
}

/// `timestamptz`. The connection pins `TimeZone = UTC` and `DateStyle = ISO`, so the server always
/// answers `YYYY-MM-DD HH:MM:SS[.ffffff]+00`.
extension Date: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? {
        let seconds = timeIntervalSince1970
        let whole = floor(seconds)
        let micros = Int(((seconds - whole) * 1_000_000).rounded())
        var time = time_t(whole)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))"
            + " \(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))"
            + ".\(pad(micros, 6))+00"
    }

    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Date {
        let raw = Array(try require(text, as: "timestamptz").utf8)
        let failure = PostgresDecodingFailure(expected: "timestamptz", wasNull: false)
        func number(_ from: Int, _ count: Int) throws(PostgresDecodingFailure) -> Int {
            guard from + count <= raw.count else { throw failure }
            var value = 0
            for byte in raw[from..<(from + count)] {
                guard byte >= 48 && byte <= 57 else { throw failure }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard raw.count >= 19 else { throw failure }
        var parts = tm()
        parts.tm_year = Int32(try number(0, 4) - 1900)
        parts.tm_mon = Int32(try number(5, 2) - 1)
        parts.tm_mday = Int32(try number(8, 2))
        parts.tm_hour = Int32(try number(11, 2))
        parts.tm_min = Int32(try number(14, 2))
        parts.tm_sec = Int32(try number(17, 2))
        var index = 19
        var fraction = 0.0
        if index < raw.count && raw[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            while index < raw.count && raw[index] >= 48 && raw[index] <= 57 {
                fraction += Double(raw[index] - 48) * scale
                scale /= 10
                index += 1
            }
        }
        var offsetSeconds = 0
        if index < raw.count {
            let sign = raw[index] == UInt8(ascii: "-") ? -1 : 1
            guard raw[index] == UInt8(ascii: "+") || raw[index] == UInt8(ascii: "-") else { throw failure }
            let hours = try number(index + 1, 2)
            var minutes = 0
            if index + 3 < raw.count && raw[index + 3] == UInt8(ascii: ":") { minutes = try number(index + 4, 2) }
            offsetSeconds = sign * (hours * 3600 + minutes * 60)
        }
        let epoch = timegm(&parts)
        return Date(timeIntervalSince1970: Double(epoch - offsetSeconds) + fraction)
    }
}

/// A `json`/`jsonb` value, kept as its text. Encode and decode `Codable` values through it.
public struct PostgresJSON: Hashable, Sendable, PostgresEncodable, PostgresDecodable {
    public var text: String

    public init(text: String) { self.text = text }

    public init<T: Encodable>(encoding value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        self.text = String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public func decode<T: Decodable>(as type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }

    public var postgresText: String? { text }

    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> PostgresJSON {
        PostgresJSON(text: try require(text, as: "json"))
    }
}

/// One-dimensional arrays in PostgreSQL's array literal syntax: use with `= ANY($1::text[])`.
extension Array: PostgresEncodable where Element: PostgresEncodable {
    /// Built as UTF-8 bytes: a quote or a backslash is one byte that no multi-byte character
    /// contains, so escaping byte by byte gives the text that escaping scalar by scalar did, at a
    /// fraction of the cost (that took about 8,000 instructions per id for a run's minted child ids).
    public var postgresText: String? {
        // Id and key lists (hundreds of thousands of numbers in an incremental resolve) are written
        // digit by digit into bytes: a String per element, quoted scalar by scalar, cost a tenth of
        // the run's CPU. Numbers need no quotes.
        if Element.self == Int.self { return Self.integerArrayText(unsafeBitCast(self, to: [Int].self)) }
        if Element.self == Int64.self {
            return Self.integerArrayText(unsafeBitCast(self, to: [Int64].self).lazy.map { Int($0) })
        }
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(count * 12 + 2)
        for (index, element) in enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            guard var text = element.postgresText else {
                out += "NULL".utf8
                continue
            }
            out.append(UInt8(ascii: "\""))
            text.withUTF8 { bytes in
                for byte in bytes {
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                    out.append(byte)
                }
            }
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// `{1,-2,3}`: an array literal of whole numbers, built as bytes.
    private static func integerArrayText(_ values: some Collection<Int>) -> String {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(values.count * 21 + 2)
        var digits = [UInt8](repeating: 0, count: 20)
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            if value < 0 { bytes.append(UInt8(ascii: "-")) }
            // The magnitude as unsigned: -Int.min does not fit in an Int.
            var magnitude = value.magnitude
            var count = 0
            repeat {
                digits[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for position in stride(from: count - 1, through: 0, by: -1) { bytes.append(digits[position]) }
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }
}
