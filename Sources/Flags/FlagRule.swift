import Config
import Families
import Foundation
import Identifiers

/// One flag rule from `schemas/rules/flags.conf`: conditions on a family's indicators that must
/// all hold within one time window. A rule is named and versioned; a flag records both.
public struct FlagRule: Sendable, Equatable {
    public var name: String
    public var version: Int
    /// A short title for people, e.g. "Needs in two or more outcome areas".
    public var title: String
    /// Indicators the rule looks at (nil: all).
    public var indicators: Set<String>?
    /// At least one of these indicators must be in the window.
    public var requireAny: Set<String> = []
    /// Indicators other than the required ones, at least this many.
    public var minOtherIndicators = 0
    /// Distinct Supporting Families outcome areas, at least this many.
    public var minOutcomeAreas = 0
    /// Indicators in the window, at least this many.
    public var minIndicators = 1
    /// Every indicator of the firing lies within one window this long: the latest starts no later
    /// than the earliest ends plus the window (calendar months, or days).
    public var windowMonths: Int?
    public var windowDays: Int?
    /// Indicators that ended longer ago than this before the run's as-of date do not count.
    public var lookbackMonths: Int?

    public var windowText: String { PlainEnglish.span(months: windowMonths, days: windowDays) }

    /// The latest date an indicator may start and still share a window with one that ends on `day`.
    func windowEnd(from day: Int) -> Int {
        if let windowMonths { return CalendarDate(dayNumber: day).adding(months: windowMonths).dayNumber }
        return day + (windowDays ?? 0)
    }

    /// The first day of the window that ends on `day`.
    func windowStart(to day: Int) -> Int {
        if let windowMonths { return CalendarDate(dayNumber: day).adding(months: -windowMonths).dayNumber }
        return day - (windowDays ?? 0)
    }

    static func readAll(
        _ reader: inout SettingsReader, indicators: [IndicatorDefinition]
    ) throws(ConfigFile.Error) -> [FlagRule] {
        let known = Set(indicators.map(\.name))
        var out: [FlagRule] = []
        for name in reader.sections(prefixed: "rule.") {
            let s = "rule." + name
            let first = reader.file.entries(in: s).first
            guard name.range(of: "^[a-z][a-z0-9_]*$", options: .regularExpression) != nil else {
                throw reader.file.error(first, "a rule name is lower-case letters, digits and _")
            }
            func indicatorList(_ key: String) throws(ConfigFile.Error) -> Set<String>? {
                guard let (values, entry) = reader.list(s, key) else { return nil }
                if values == ["*"] { return nil }
                for value in values where !known.contains(value) {
                    throw reader.file.error(entry, "no indicator named '\(value)' in indicators.conf")
                }
                return Set(values)
            }
            var rule = FlagRule(
                name: name, version: try reader.requiredInteger(s, "version", range: 1...1_000_000),
                title: try reader.requiredString(s, "title").value)
            rule.indicators = try indicatorList("indicators")
            rule.requireAny = try indicatorList("require_any") ?? []
            rule.minOtherIndicators = try reader.integer(s, "min_other_indicators", range: 0...1000) ?? 0
            rule.minOutcomeAreas = try reader.integer(s, "min_outcome_areas", range: 0...10) ?? 0
            rule.minIndicators = try reader.integer(s, "min_indicators", range: 1...1000) ?? 1
            rule.windowMonths = try reader.integer(s, "window_months", range: 1...240)
            rule.windowDays = try reader.integer(s, "window_days", range: 0...36500)
            rule.lookbackMonths = try reader.integer(s, "lookback_months", range: 1...600)
            if (rule.windowMonths == nil) == (rule.windowDays == nil) {
                throw ConfigFile.Error(
                    file: reader.file.path, line: first?.line, key: s + ".window_months",
                    message: "give exactly one of window_months and window_days")
            }
            if rule.requireAny.isEmpty && rule.minOtherIndicators == 0 && rule.minOutcomeAreas == 0
                && rule.minIndicators <= 1
            {
                throw reader.file.error(
                    first,
                    "the rule has no condition: set require_any, min_other_indicators, min_outcome_areas or min_indicators"
                )
            }
            if rule.minOtherIndicators > 0 && rule.requireAny.isEmpty {
                throw ConfigFile.Error(
                    file: reader.file.path, line: reader.file.entry(s, "min_other_indicators")?.line,
                    key: s + ".min_other_indicators",
                    message: "'other' means other than require_any, which is not set")
            }
            if let counted = rule.indicators, let missing = rule.requireAny.subtracting(counted).sorted().first {
                throw ConfigFile.Error(
                    file: reader.file.path, line: reader.file.entry(s, "require_any")?.line, key: s + ".require_any",
                    message: "'\(missing)' is required but not among the rule's indicators")
            }
            out.append(rule)
        }
        return out
    }
}

/// The flag lifecycle's settings.
public struct LifecycleSettings: Sendable, Equatable {
    /// After a flag is closed, the family can be flagged again only by new evidence and only this
    /// many days after the closing date.
    public var coolOffDays = 90
}

/// Families already known to statutory services are not flagged (the suppression is recorded).
public struct SuppressionSettings: Sendable, Equatable {
    /// Use the feed fact `known_to_statutory_services` (the latest record of a child that carries it).
    public var useFeedFact = true
    /// A list file of child ids and family ids known to statutory services, one per line.
    public var listFile: String?
}

/// A list of ids known to statutory services: `C…` child ids or `F…` family ids, one per line,
/// `#` comments. Ids only, so the file holds no names.
public struct StatutoryList: Sendable, Equatable {
    public var path: String
    /// id → line.
    public var children: [String: Int] = [:]
    public var families: [String: Int] = [:]

    public static func load(path: String) throws(ConfigFile.Error) -> StatutoryList {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigFile.Error(file: path, line: nil, key: nil, message: "cannot read the statutory services list")
        }
        return try parse(path: path, text: text)
    }

    public static func parse(path: String, text: String) throws(ConfigFile.Error) -> StatutoryList {
        var list = StatutoryList(path: path)
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .enumerated()
        {
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let id = line.trimmingSpaces
            if id.isEmpty { continue }
            if let child = OpaqueID(id, prefix: "C") {
                list.children[child.value] = index + 1
            } else if let family = OpaqueID(id, prefix: "F") {
                list.families[family.value] = index + 1
            } else {
                throw ConfigFile.Error(
                    file: path, line: index + 1, key: nil, message: "not a valid child id (C…) or family id (F…)")
            }
        }
        return list
    }
}
