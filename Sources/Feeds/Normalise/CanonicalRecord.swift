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
        var out = "{"
        // Key order does not matter to jsonb; the normaliser appends facts in a fixed order anyway.
        for (index, fact) in facts.enumerated() {
            if index > 0 { out += "," }
            out += "\"" + fact.name + "\":"
            switch fact.value {
            case .text(let text): Self.appendJSONString(text, to: &out)
            case .date(let date): out += "\"" + date.iso8601 + "\""
            case .dateTime(let date, let minutes):
                if let minutes {
                    let hh = minutes / 60, mm = minutes % 60
                    out += "\"\(date.iso8601)T\(hh < 10 ? "0" : "")\(hh):\(mm < 10 ? "0" : "")\(mm):00\""
                } else {
                    out += "\"" + date.iso8601 + "\""
                }
            case .integer(let value): out += String(value)
            case .boolean(let value): out += value ? "true" : "false"
            }
        }
        return out + "}"
    }

    static func appendJSONString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
