import Identifiers

/// A fact from a feed, typed by `KnownFacts`.
public enum FactValue: Sendable, Equatable {
    case text(String)
    case date(CalendarDate)
    /// A date with minutes after midnight, when the feed gives a time.
    case dateTime(CalendarDate, minutes: Int?)
    case integer(Int)
    case boolean(Bool)
}

/// Who a row is about: a child, or (health visiting antenatal contacts) an expectant parent.
public enum RecordSubject: String, Sendable {
    case child
    case expectantParent = "expectant_parent"
}

/// One partner row in the shape every later stage reads. Identifier fields are set only when the
/// value passed its check; the `…Raw` fields keep what the partner sent as evidence.
public struct CanonicalRecord: Sendable, Equatable {
    public var recordNumber = 0
    public var lineNumber = 0
    public var subject: RecordSubject = .child
    public var partnerRef: String?
    public var nhsNumber: String?
    public var nhsNumberRaw: String?
    public var upn: String?
    public var upnRaw: String?
    public var upnTemporary = false
    public var givenName: String?
    public var familyName: String?
    public var preferredGivenName: String?
    public var preferredFamilyName: String?
    public var dob: CalendarDate?
    public var approximateAge: Int?
    public var sex: String?
    public var addressLine1: String?
    public var addressLine2: String?
    public var town: String?
    public var postcode: String?
    public var postcodeRaw: String?
    public var uprn: String?
    public var carerNHSNumber: String?
    public var carerNHSNumberRaw: String?
    public var carerGivenName: String?
    public var carerFamilyName: String?
    public var carerDOB: CalendarDate?
    public var carerNINumber: String?
    public var carerNINumberRaw: String?
    /// Ordered by name so that the stored JSON is the same for the same row.
    public var facts: [(name: String, value: FactValue)] = []

    public init() {}

    public func fact(_ name: String) -> FactValue? { facts.first { $0.name == name }?.value }

    public static func == (lhs: CanonicalRecord, rhs: CanonicalRecord) -> Bool {
        lhs.factsJSON == rhs.factsJSON && lhs.recordNumber == rhs.recordNumber && lhs.nhsNumber == rhs.nhsNumber
            && lhs.nhsNumberRaw == rhs.nhsNumberRaw && lhs.upn == rhs.upn && lhs.givenName == rhs.givenName
            && lhs.familyName == rhs.familyName && lhs.dob == rhs.dob && lhs.postcode == rhs.postcode
            && lhs.subject == rhs.subject && lhs.sex == rhs.sex && lhs.carerNHSNumber == rhs.carerNHSNumber
    }

    /// The facts as a JSON object, written by hand: this runs once per row on the load path.
    public var factsJSON: String {
        var bytes: [UInt8] = []
        appendFactsJSON(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the facts as a JSON object, as UTF-8 bytes.
    public func appendFactsJSON(to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        // Key order does not matter to jsonb; the normaliser appends facts in a fixed order anyway.
        for (index, fact) in facts.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            Self.appendJSONString(fact.name, to: &out)
            out.append(UInt8(ascii: ":"))
            switch fact.value {
            case .text(let text): Self.appendJSONString(text, to: &out)
            case .date(let date): Self.appendJSONDate(date, to: &out)
            case .dateTime(let date, let minutes): Self.appendJSONDateTime(date, minutes: minutes, to: &out)
            case .integer(let value): Self.appendJSONInteger(value, to: &out)
            case .boolean(let value): out.append(contentsOf: (value ? "true" : "false").utf8)
            }
        }
        out.append(UInt8(ascii: "}"))
    }

    static func appendJSONDate(_ date: CalendarDate, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        date.appendISO8601(to: &out)
        out.append(UInt8(ascii: "\""))
    }

    static func appendJSONDateTime(_ date: CalendarDate, minutes: Int?, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        date.appendISO8601(to: &out)
        if let minutes {
            let hh = minutes / 60, mm = minutes % 60
            out.append(contentsOf: [
                UInt8(ascii: "T"), UInt8(0x30 + hh / 10), UInt8(0x30 + hh % 10), UInt8(ascii: ":"),
                UInt8(0x30 + mm / 10), UInt8(0x30 + mm % 10), UInt8(ascii: ":"), 0x30, 0x30,
            ])
        }
        out.append(UInt8(ascii: "\""))
    }

    /// The decimal digits of `value` (what `String(value)` writes), without making a string.
    static func appendJSONInteger(_ value: Int, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        let start = out.count
        repeat {
            out.append(UInt8(truncatingIfNeeded: 0x30 + magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        out[start...].reverse()
    }

    static func appendJSONString(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { appendJSONString(utf8: $0, to: &out) }
    }

    /// `text` as a JSON string, from its UTF-8 bytes.
    static func appendJSONString(utf8 text: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Byte by byte: every byte of a multi-byte UTF-8 sequence is >= 0x80 and is copied as it is.
        for byte in text {
            switch byte {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "\\"))
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)],
                ])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
