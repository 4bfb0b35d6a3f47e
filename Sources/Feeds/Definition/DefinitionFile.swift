/// The text format of feed definitions: `[section]` headers and `key = value` lines, `#` comments.
/// Deliberately small, so a data officer can write one for a new partner in a text editor.
struct DefinitionFile {
    struct Entry {
        let section: String
        let key: String
        let value: String
        let line: Int
        var path: String { section + "." + key }
    }

    let path: String
    private(set) var entries: [Entry] = []

    init(path: String, text: String) throws(FeedDefinitionError) {
        self.path = path
        var section = ""
        var seen: [String: Int] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if let hash = Self.commentStart(line) { line = line[..<hash] }
            let trimmed = line.trimmingSpaces
            if trimmed.isEmpty { continue }
            if trimmed.hasPrefix("[") {
                guard trimmed.hasSuffix("]"), trimmed.count > 2 else {
                    throw FeedDefinitionError(
                        code: .syntax, file: path, line: lineNumber, key: nil, message: "a section header looks like [name]")
                }
                section = String(trimmed.dropFirst().dropLast()).trimmingSpaces
                continue
            }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw FeedDefinitionError(
                    code: .syntax, file: path, line: lineNumber, key: nil, message: "expected 'key = value'")
            }
            guard !section.isEmpty else {
                throw FeedDefinitionError(
                    code: .syntax, file: path, line: lineNumber, key: nil,
                    message: "'key = value' before any [section] header")
            }
            let key = String(trimmed[..<equals]).trimmingSpaces
            let value = Self.unquote(String(trimmed[trimmed.index(after: equals)...]).trimmingSpaces)
            guard !key.isEmpty else {
                throw FeedDefinitionError(code: .syntax, file: path, line: lineNumber, key: nil, message: "empty key")
            }
            let entry = Entry(section: section, key: key, value: value, line: lineNumber)
            if let earlier = seen[entry.path] {
                throw FeedDefinitionError(
                    code: .duplicateKey, file: path, line: lineNumber, key: entry.path,
                    message: "set twice (first on line \(earlier))")
            }
            seen[entry.path] = lineNumber
            entries.append(entry)
        }
    }

    /// `#` starts a comment at the start of a line or after white space; elsewhere it is data
    /// (a column may well be called `Pupil#`).
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

    /// A value may be wrapped in double quotes to keep leading or trailing spaces, or a `#`.
    private static func unquote(_ value: String) -> String {
        guard value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") else { return value }
        return String(value.dropFirst().dropLast())
    }

    func entries(in section: String) -> [Entry] { entries.filter { $0.section == section } }

    func entry(_ section: String, _ key: String) -> Entry? {
        entries.first { $0.section == section && $0.key == key }
    }

    func error(_ code: FeedDefinitionError.Code, _ entry: Entry?, _ message: String) -> FeedDefinitionError {
        FeedDefinitionError(code: code, file: path, line: entry?.line, key: entry?.path, message: message)
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
