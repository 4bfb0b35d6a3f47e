/// The text format of every file people edit by hand here (feed definitions, rules, the service
/// configuration): `[section]` headers, `key = value` lines, `#` comments. Deliberately small, so a
/// data officer or an administrator can write one in a text editor.
///
/// - `#` starts a comment at the start of a line or after white space; elsewhere it is data (a
///   column may well be called `Pupil#`);
/// - a value may be wrapped in double quotes to keep leading or trailing spaces, or a `#`;
/// - a key set twice in one section is an error, never a silent override.
public struct ConfigFile: Sendable {
    public struct Entry: Sendable {
        public let section: String
        public let key: String
        public let value: String
        public let line: Int
        /// `section.key`, as errors name it.
        public var path: String { section + "." + key }
    }

    /// Why a file could not be read; names the file, line and key.
    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public var file: String
        public var line: Int?
        public var key: String?
        public var message: String

        public init(file: String, line: Int?, key: String?, message: String) {
            self.file = file
            self.line = line
            self.key = key
            self.message = message
        }

        public var description: String {
            var place = file
            if let line { place += ":\(line)" }
            if let key { place += " [\(key)]" }
            return "\(place): \(message)"
        }
    }

    public let path: String
    public private(set) var entries: [Entry] = []

    public init(path: String, text: String) throws(ConfigFile.Error) {
        self.path = path
        var section = ""
        var seen: [String: Int] = [:]
        // "\r\n" is one Character in Swift, so split on every kind of line end, not on "\n" alone.
        let lines = text.split(
            omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
        for (index, rawLine) in lines.enumerated() {
            let lineNumber = index + 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if let hash = Self.commentStart(line) { line = line[..<hash] }
            let trimmed = line.trimmingSpaces
            if trimmed.isEmpty { continue }
            if trimmed.hasPrefix("[") {
                guard trimmed.hasSuffix("]"), trimmed.count > 2 else {
                    throw Error(file: path, line: lineNumber, key: nil, message: "a section header looks like [name]")
                }
                section = String(trimmed.dropFirst().dropLast()).trimmingSpaces
                continue
            }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw Error(file: path, line: lineNumber, key: nil, message: "expected 'key = value'")
            }
            guard !section.isEmpty else {
                throw Error(
                    file: path, line: lineNumber, key: nil, message: "'key = value' before any [section] header")
            }
            let key = String(trimmed[..<equals]).trimmingSpaces
            let value = Self.unquote(String(trimmed[trimmed.index(after: equals)...]).trimmingSpaces)
            guard !key.isEmpty else { throw Error(file: path, line: lineNumber, key: nil, message: "empty key") }
            let entry = Entry(section: section, key: key, value: value, line: lineNumber)
            if let earlier = seen[entry.path] {
                throw Error(
                    file: path, line: lineNumber, key: entry.path, message: "set twice (first on line \(earlier))")
            }
            seen[entry.path] = lineNumber
            entries.append(entry)
        }
    }

    private static func commentStart(_ line: Substring) -> Substring.Index? {
        var previousIsSpace = true
        var inQuotes = false
        for index in line.indices {
            let character = line[index]
            if character == "\"" { inQuotes.toggle() }
            if character == "#" && previousIsSpace && !inQuotes { return index }
            previousIsSpace = character == " " || character == "\t"
        }
        return nil
    }

    private static func unquote(_ value: String) -> String {
        guard value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") else { return value }
        return String(value.dropFirst().dropLast())
    }

    /// Section names in order of first appearance.
    public var sections: [String] {
        var out: [String] = []
        for entry in entries where !out.contains(entry.section) { out.append(entry.section) }
        return out
    }

    public func entries(in section: String) -> [Entry] { entries.filter { $0.section == section } }

    public func entry(_ section: String, _ key: String) -> Entry? {
        entries.first { $0.section == section && $0.key == key }
    }

    /// An error about `entry` (or the file as a whole when nil).
    public func error(_ entry: Entry?, _ message: String) -> Error {
        Error(file: path, line: entry?.line, key: entry?.path, message: message)
    }
}

extension StringProtocol {
    /// Trims spaces and tabs only (not newlines, which the parser has already split on).
    public var trimmingSpaces: String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
