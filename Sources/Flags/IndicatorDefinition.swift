import Config
import Families
import Foundation

/// One indicator definition from `schemas/rules/indicators.conf`: which partner records count,
/// the Supporting Families outcome they map to, and the plain-English sentence that says why.
public struct IndicatorDefinition: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// School attendance below a threshold over a record's period: sessions attended ÷ sessions
        /// possible, compared exactly (no rounding). The threshold is in tenths of a percent (900 = 90.0%).
        case attendanceBelow(thresholdTenths: Int, minSessionsPossible: Int)
        /// A free school meals eligibility.
        case fsmEligible
        /// A mandated health visiting review whose status is one of these (e.g. not attended, declined).
        case reviewStatus(statuses: Set<String>, reviewTypes: Set<String>)
        /// A mandated review due more than `graceDays` before the record's date (the extract, or the
        /// run's as-of date if earlier) with no completed status, on this record or any other record of
        /// the same review for the same child. A review with no record at all is never "overdue".
        case reviewOverdue(graceDays: Int, reviewTypes: Set<String>)
        /// A police notification of one of these incident types; `childPresent` nil means either way.
        case policeIncident(types: Set<String>, childPresent: Bool?)

        var typeName: String {
            switch self {
            case .attendanceBelow: return "attendance_below"
            case .fsmEligible: return "fsm_eligible"
            case .reviewStatus: return "review_status"
            case .reviewOverdue: return "review_overdue"
            case .policeIncident: return "police_incident"
            }
        }

        /// The feed kind whose records it reads.
        var feedKind: String {
            switch self {
            case .attendanceBelow: return "school_attendance"
            case .fsmEligible: return "fsm"
            case .reviewStatus, .reviewOverdue: return "health_visiting"
            case .policeIncident: return "police"
            }
        }

        /// Placeholders its description may use (besides the common ones).
        var placeholders: Set<String> {
            switch self {
            case .attendanceBelow:
                return ["rate", "attended", "possible", "threshold", "period_start", "period_end", "school"]
            case .fsmEligible: return ["eligible_from", "eligible_to"]
            case .reviewStatus: return ["review", "due", "status", "reviewed_on"]
            case .reviewOverdue: return ["review", "due", "grace_days", "days_overdue", "as_of"]
            case .policeIncident: return ["incident_type", "incident_date", "child_present"]
            }
        }
    }

    public var name: String
    public var version: Int
    public var outcome: SupportingFamiliesOutcome
    /// A short name, e.g. "Persistent absence".
    public var label: String
    public var kind: Kind
    /// The description template, with `{placeholders}`.
    public var description: String

    static let commonPlaceholders: Set<String> = ["label", "outcome", "feed"]
    static let types = ["attendance_below", "fsm_eligible", "review_status", "review_overdue", "police_incident"]
    static let reviewTypes = ["antenatal", "new_birth", "6_8_week", "12_month", "2_2_5_year"]
    static let reviewStatuses = ["not_attended", "declined", "scheduled"]

    /// Fills the template. Unknown placeholders were refused when the file was read.
    func render(_ values: [String: String]) -> String { DescriptionTemplate(description).render(values) }

    static func placeholders(in template: String) -> [String]? {
        var found: [String] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(where: { $0 == "{" || $0 == "}" }) {
            guard rest[open] == "{", let close = rest[open...].firstIndex(of: "}") else { return nil }
            let key = rest[rest.index(after: open)..<close]
            guard !key.contains("{") else { return nil }
            found.append(String(key))
            rest = rest[rest.index(after: close)...]
        }
        return found
    }

    /// Reads every `[indicator.NAME]` section of an indicators file.
    static func readAll(_ reader: inout SettingsReader) throws(ConfigFile.Error) -> [IndicatorDefinition] {
        var out: [IndicatorDefinition] = []
        for name in reader.sections(prefixed: "indicator.") {
            let s = "indicator." + name
            guard name.range(of: "^[a-z][a-z0-9_]*$", options: .regularExpression) != nil else {
                throw reader.file.error(
                    reader.file.entries(in: s).first, "an indicator name is lower-case letters, digits and _")
            }
            let version = try reader.requiredInteger(s, "version", range: 1...1_000_000)
            let outcomeNumber = try reader.requiredInteger(s, "outcome", range: 1...10)
            let label = try reader.requiredString(s, "label").value
            let (type, typeEntry) = try reader.requiredString(s, "type")
            let kind: Kind
            switch type {
            case "attendance_below":
                let (text, entry) = try reader.requiredString(s, "below_percent")
                guard text.range(of: #"^[0-9]{1,3}(\.[0-9])?$"#, options: .regularExpression) != nil else {
                    throw reader.file.error(
                        entry, "expected a percentage with at most one decimal place, e.g. 90 or 89.5")
                }
                let parts = text.split(separator: ".")
                let tenths = Int(parts[0])! * 10 + (parts.count > 1 ? Int(parts[1])! : 0)
                guard tenths > 0 && tenths <= 1000 else {
                    throw reader.file.error(entry, "must be above 0 and at most 100")
                }
                let minimum = try reader.integer(s, "min_sessions_possible", range: 1...10_000) ?? 1
                kind = .attendanceBelow(thresholdTenths: tenths, minSessionsPossible: minimum)
            case "fsm_eligible":
                kind = .fsmEligible
            case "review_status":
                guard let statuses = try reader.list(s, "statuses", allowed: reviewStatuses), !statuses.isEmpty else {
                    throw ConfigFile.Error(
                        file: reader.file.path, line: typeEntry.line, key: s + ".statuses",
                        message: "required key is missing")
                }
                let types = try reader.list(s, "review_types", allowed: reviewTypes) ?? reviewTypes
                kind = .reviewStatus(statuses: Set(statuses), reviewTypes: Set(types))
            case "review_overdue":
                let grace = try reader.requiredInteger(s, "grace_days", range: 0...3650)
                let types = try reader.list(s, "review_types", allowed: reviewTypes) ?? reviewTypes
                kind = .reviewOverdue(graceDays: grace, reviewTypes: Set(types))
            case "police_incident":
                guard let types = reader.list(s, "incident_types"), !types.values.isEmpty else {
                    throw ConfigFile.Error(
                        file: reader.file.path, line: typeEntry.line, key: s + ".incident_types",
                        message: "required key is missing")
                }
                for value in types.values where value.range(of: "^[a-z0-9_]+$", options: .regularExpression) == nil {
                    throw reader.file.error(
                        types.entry, "'\(value)' is not a normalised incident type (lower case, digits, _)")
                }
                var present: Bool?
                if let (text, entry) = reader.string(s, "child_present") {
                    switch text {
                    case "true": present = true
                    case "false": present = false
                    case "any": present = nil
                    default: throw reader.file.error(entry, "expected true, false or any")
                    }
                }
                kind = .policeIncident(types: Set(types.values), childPresent: present)
            default:
                throw reader.file.error(typeEntry, "unknown type; expected one of " + types.joined(separator: ", "))
            }
            let (template, templateEntry) = try reader.requiredString(s, "description")
            guard let used = placeholders(in: template) else {
                throw reader.file.error(templateEntry, "unbalanced { } in the description")
            }
            let allowed = kind.placeholders.union(commonPlaceholders)
            for placeholder in used where !allowed.contains(placeholder) {
                throw reader.file.error(
                    templateEntry,
                    "unknown placeholder {\(placeholder)}; a \(type) description may use "
                        + allowed.sorted().map { "{\($0)}" }.joined(separator: ", "))
            }
            out.append(
                IndicatorDefinition(
                    name: name, version: version, outcome: SupportingFamiliesOutcome(rawValue: outcomeNumber)!,
                    label: label,
                    kind: kind, description: template))
        }
        return out
    }
}

/// A description template cut once into its text and its placeholders, so that filling it for
/// every indicator of a run does not search the template again each time.
struct DescriptionTemplate {
    private enum Part {
        case text(String)
        case value(String)
    }

    private let parts: [Part]

    init(_ template: String) {
        var parts: [Part] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            parts.append(.text(String(rest[..<open])))
            // An unclosed brace (refused when the file is read) leaves the rest as text, brace and all.
            guard let close = rest[open...].firstIndex(of: "}") else { break }
            parts.append(.value(String(rest[rest.index(after: open)..<close])))
            rest = rest[rest.index(after: close)...]
        }
        parts.append(.text(String(rest)))
        self.parts = parts
    }

    /// The template with each placeholder replaced by its value (an unknown one by nothing).
    func render(_ values: [String: String]) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .text(let text): out += text
            case .value(let key): out += values[key] ?? ""
            }
        }
        return out
    }
}
