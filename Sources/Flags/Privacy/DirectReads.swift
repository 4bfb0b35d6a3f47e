import Foundation

/// One statement that read an audited table (pgaudit object auditing, migration 0017): a data
/// officer's own SQL, a script's, or the service's. Names the login and the table; the statement
/// text stays in the server log (it can hold values a person typed).
public struct DirectRead: Sendable, Equatable {
    /// How `familyconnect audit` names these beside its own entries.
    public static let action = "sql_read"

    /// The log line's time; nil if the server's `log_timezone` wrote a zone this reader does not know.
    public var at: Date?
    /// The time as the server wrote it.
    public var loggedAt: String
    public var login: String
    public var database: String
    /// SELECT, COPY … as pgaudit names the command.
    public var command: String
    /// Schema-qualified: `public.source_records`.
    public var relation: String
    public var application: String
}

/// A server log that cannot be read; names the path, never content.
public struct DirectReadLogError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable { case unreadable, noJSONLog }
    public var code: Code
    public var path: String
    public var detail: String
    public var description: String { "\(path): \(detail)" }
}

/// Reads pgaudit's OBJECT lines from PostgreSQL's JSON server log (`log_destination = 'jsonlog'`,
/// PostgreSQL 15+): one JSON object a line, with the login in `user`, the database in `dbname` and
/// pgaudit's CSV in `message` (`AUDIT: OBJECT,1,1,READ,SELECT,TABLE,public.source_records,…`).
/// The log is the server's own file: reading it needs the file, not a database privilege, so a
/// session that can read personal data can neither remove nor add these lines.
public enum DirectReads {
    /// `paths`: JSON log files, or folders whose `*.json` files are read. Oldest first.
    public static func read(
        paths: [String], database: String? = nil, login: String? = nil, since: Date? = nil
    ) throws(DirectReadLogError) -> [DirectRead] {
        var reads: [DirectRead] = []
        // "dbname":"…" as the log writes it (JSON-escaped).
        let databaseNeedle = database.flatMap { try? JSONSerialization.data(withJSONObject: ["dbname": $0]) }
            .map { Array($0.dropFirst().dropLast()) }
        for file in try files(paths) {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw DirectReadLogError(code: .unreadable, path: file, detail: "cannot be read (permissions?)")
            }
            for line in auditLines(Array(data)) {
                // A server log holds every database's lines: skip the others before decoding JSON.
                if let databaseNeedle, !contains(line, databaseNeedle) { continue }
                guard let read = parse(line: Data(line)[...]) else { continue }
                if let database, read.database != database { continue }
                if let login, read.login != login { continue }
                if let since, let at = read.at, at < since { continue }
                reads.append(read)
            }
        }
        return reads
    }

    static func contains(_ line: ArraySlice<UInt8>, _ needle: [UInt8]) -> Bool {
        line.withUnsafeBytes { find(needle, in: $0, from: 0) != nil }
    }

    /// The lines holding pgaudit's object marker: a busy server's log is mostly other lines, and
    /// is read whole each time, so the marker is searched for in the bytes, not line by line.
    static func auditLines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        // Searched from its rare "AUDIT" (a quote, its first byte, comes every few bytes in JSON).
        let prefix = Array(#""message":""#.utf8)
        let marker = Array("AUDIT: OBJECT,".utf8)
        var lines: [ArraySlice<UInt8>] = []
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while let at = find(marker, in: buffer, from: offset) {
                offset = at + marker.count
                guard at >= prefix.count, bytes[(at - prefix.count)..<at].elementsEqual(prefix) else { continue }
                var start = at
                while start > 0 && buffer[start - 1] != UInt8(ascii: "\n") { start -= 1 }
                let end =
                    memchr(buffer.baseAddress! + at, Int32(UInt8(ascii: "\n")), buffer.count - at).map {
                        buffer.baseAddress!.distance(to: UnsafeRawPointer($0))
                    } ?? buffer.count
                lines.append(bytes[start..<end])
                offset = end
            }
        }
        return lines
    }

    /// The offset of `needle` in `buffer` at or after `offset`: memchr for its first byte, memcmp for the rest.
    static func find(_ needle: [UInt8], in buffer: UnsafeRawBufferPointer, from offset: Int) -> Int? {
        guard let base = buffer.baseAddress, let first = needle.first else { return nil }
        var position = offset
        while position + needle.count <= buffer.count {
            guard let hit = memchr(base + position, Int32(first), buffer.count - position - needle.count + 1) else {
                return nil
            }
            let at = base.distance(to: UnsafeRawPointer(hit))
            if needle.withUnsafeBytes({ memcmp(base + at, $0.baseAddress!, needle.count) }) == 0 { return at }
            position = at + 1
        }
        return nil
    }

    static func files(_ paths: [String]) throws(DirectReadLogError) -> [String] {
        var files: [String] = []
        for path in paths {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                throw DirectReadLogError(code: .unreadable, path: path, detail: "no such file or folder")
            }
            if !isFolder.boolValue {
                files.append(path)
                continue
            }
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else {
                throw DirectReadLogError(
                    code: .unreadable, path: path, detail: "folder cannot be listed (permissions?)")
            }
            let logs = names.filter { $0.hasSuffix(".json") }.sorted()
            guard !logs.isEmpty else {
                throw DirectReadLogError(
                    code: .noJSONLog, path: path, detail: "no *.json server log here (is log_destination 'jsonlog'?)")
            }
            files += logs.map { path + "/" + $0 }
        }
        return files
    }

    private static let marker = Data(#""message":"AUDIT: OBJECT,"#.utf8)

    /// One JSON log line, if it is a pgaudit object-audit read.
    static func parse(line: Data.SubSequence) -> DirectRead? {
        // Most lines are not pgaudit's: skip them before decoding JSON.
        guard line.range(of: marker) != nil,
            let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any],
            let message = object["message"] as? String, message.hasPrefix("AUDIT: OBJECT,")
        else { return nil }
        let fields = csvFields(message.dropFirst("AUDIT: ".count), count: 7)
        // OBJECT, statement id, substatement id, class, command, object type, object name.
        guard fields.count == 7, fields[3] == "READ" else { return nil }
        let loggedAt = object["timestamp"] as? String ?? ""
        return DirectRead(
            at: date(loggedAt), loggedAt: loggedAt, login: object["user"] as? String ?? "",
            database: object["dbname"] as? String ?? "", command: fields[4], relation: fields[6],
            application: object["application_name"] as? String ?? "")
    }

    /// The first `count` fields of pgaudit's CSV (a quoted field doubles its quotes).
    static func csvFields(_ text: Substring, count: Int) -> [String] {
        var fields: [String] = []
        var field = ""
        var quoted = false
        var index = text.startIndex
        while index < text.endIndex, fields.count < count {
            let character = text[index]
            if quoted {
                if character == "\"" {
                    let next = text.index(after: index)
                    if next < text.endIndex, text[next] == "\"" {
                        field.append("\"")
                        index = next
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(character)
                }
            } else if character == "\"" && field.isEmpty {
                quoted = true
            } else if character == "," {
                fields.append(field)
                field = ""
            } else {
                field.append(character)
            }
            index = text.index(after: index)
        }
        if fields.count < count && index == text.endIndex { fields.append(field) }
        return fields
    }

    /// `2026-12-02 05:49:11.850 UTC` (or GMT, or a numeric offset such as `+01` or `-0530`).
    static func date(_ text: String) -> Date? {
        let parts = text.split(separator: " ")
        guard parts.count == 3, let zone = zone(parts[2]) else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = parts[1].contains(".") ? "yyyy-MM-dd HH:mm:ss.SSS" : "yyyy-MM-dd HH:mm:ss"
        return formatter.date(from: "\(parts[0]) \(parts[1])")
    }

    static func zone(_ text: Substring) -> TimeZone? {
        if text == "UTC" || text == "GMT" { return .gmt }
        guard let sign = text.first, sign == "+" || sign == "-" else { return nil }
        let digits = text.dropFirst().filter { $0 != ":" }
        guard digits.count == 2 || digits.count == 4, let value = Int(digits) else { return nil }
        let (hours, minutes) = digits.count == 2 ? (value, 0) : (value / 100, value % 100)
        return TimeZone(secondsFromGMT: (sign == "-" ? -1 : 1) * (hours * 3600 + minutes * 60))
    }
}
