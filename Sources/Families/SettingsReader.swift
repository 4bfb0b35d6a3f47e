import Config
import Foundation

/// Reads typed values from a hand-edited `ConfigFile`, with errors that name the file, line and
/// key, and refuses keys and sections nobody asked for (an unknown key is an error, never ignored).
///
/// Shared by the family grouping settings, the indicator and flag rules and the team directory.
public struct SettingsReader {
    public let file: ConfigFile
    private var consumed: Set<String> = []

    public init(_ file: ConfigFile) { self.file = file }

    public init(path: String) throws(ConfigFile.Error) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigFile.Error(file: path, line: nil, key: nil, message: "cannot read the file")
        }
        self.file = try ConfigFile(path: path, text: text)
    }

    /// Sections whose name is `prefix` + something, in order, with that something (`[rule.x]` → `x`).
    public func sections(prefixed prefix: String) -> [String] {
        file.sections.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    public mutating func string(_ section: String, _ key: String) -> (value: String, entry: ConfigFile.Entry)? {
        guard let entry = file.entry(section, key) else { return nil }
        consumed.insert(entry.path)
        return (entry.value, entry)
    }

    public mutating func requiredString(
        _ section: String, _ key: String
    ) throws(ConfigFile.Error) -> (value: String, entry: ConfigFile.Entry) {
        guard let found = string(section, key) else {
            throw ConfigFile.Error(
                file: file.path, line: sectionLine(section), key: section + "." + key,
                message: "required key is missing")
        }
        guard !found.value.isEmpty else { throw file.error(found.entry, "must not be empty") }
        return found
    }

    public mutating func integer(
        _ section: String, _ key: String, range: ClosedRange<Int>
    ) throws(ConfigFile.Error) -> Int? {
        guard let (text, entry) = string(section, key) else { return nil }
        guard let value = Int(text) else { throw file.error(entry, "expected a whole number") }
        guard range.contains(value) else {
            throw file.error(entry, "must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }

    public mutating func requiredInteger(
        _ section: String, _ key: String, range: ClosedRange<Int>
    ) throws(ConfigFile.Error) -> Int {
        guard let value = try integer(section, key, range: range) else {
            throw ConfigFile.Error(
                file: file.path, line: sectionLine(section), key: section + "." + key,
                message: "required key is missing")
        }
        return value
    }

    public mutating func boolean(_ section: String, _ key: String) throws(ConfigFile.Error) -> Bool? {
        guard let (text, entry) = string(section, key) else { return nil }
        switch text.lowercased() {
        case "true", "yes": return true
        case "false", "no": return false
        default: throw file.error(entry, "expected true or false")
        }
    }

    /// A comma-separated list; blanks dropped.
    public mutating func list(_ section: String, _ key: String) -> (values: [String], entry: ConfigFile.Entry)? {
        guard let (text, entry) = string(section, key) else { return nil }
        return (text.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }, entry)
    }

    /// A list whose every value must be one of `allowed`.
    public mutating func list(_ section: String, _ key: String, allowed: [String]) throws(ConfigFile.Error) -> [String]?
    {
        guard let (values, entry) = list(section, key) else { return nil }
        for value in values where !allowed.contains(value) {
            throw file.error(entry, "unknown value '\(value)'; expected one of " + allowed.joined(separator: ", "))
        }
        return values
    }

    /// The line of a section's first key (for errors about a missing key), nil when the section is empty.
    public func sectionLine(_ section: String) -> Int? { file.entries(in: section).first?.line }

    /// Throws on the first key that nothing read (a misspelt or unknown key), and on sections not in `knownSections`.
    public func finish(knownSections: (String) -> Bool) throws(ConfigFile.Error) {
        for entry in file.entries {
            guard knownSections(entry.section) else {
                throw file.error(entry, "unknown section [\(entry.section)]")
            }
            if !consumed.contains(entry.path) { throw file.error(entry, "unknown key") }
        }
    }
}
