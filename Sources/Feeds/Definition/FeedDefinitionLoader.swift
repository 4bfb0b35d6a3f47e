import Config
import Digest
import Foundation
import Identifiers

extension FeedDefinition {
    /// Loads every `*.feed` file in a folder. One bad definition fails the load, naming its file.
    public static func loadAll(directory: String) throws(FeedDefinitionError) -> [FeedDefinition] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw FeedDefinitionError(
                code: .unreadable, file: directory, line: nil, key: nil, message: "cannot read the feeds folder")
        }
        var definitions: [FeedDefinition] = []
        for name in names.sorted() where name.hasSuffix(".feed") {
            definitions.append(try load(path: (directory as NSString).appendingPathComponent(name)))
        }
        var seen: Set<String> = []
        for definition in definitions where !seen.insert(definition.name).inserted {
            throw FeedDefinitionError(
                code: .duplicateKey, file: definition.path, line: nil, key: "feed.name",
                message: "another definition already uses the name '\(definition.name)'")
        }
        return definitions
    }

    public static func load(path: String) throws(FeedDefinitionError) -> FeedDefinition {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw FeedDefinitionError(
                code: .unreadable, file: path, line: nil, key: nil, message: "cannot read the file as UTF-8 text")
        }
        return try parse(text: text, path: path, checksum: SHA256.hex(of: SHA256.hash(Array(data))))
    }

    static let sectionKeys: [String: Set<String>] = [
        "feed": ["name", "kind", "description", "retention_years", "retention_from", "child_ages"],
        "source": [
            "type", "folder", "pattern", "url", "credentials", "ca_file", "client_certificate", "client_key",
            "ssh_private_key", "known_hosts", "timeout_seconds", "retries", "schedule",
        ],
        "format": [
            "delimiter", "encoding", "date_format", "max_field_bytes", "records_span_lines", "optional_columns",
        ],
    ]

    /// Parses definition text; `path` names it in errors, `checksum` identifies it in the batch ledger.
    public static func parse(text: String, path: String, checksum: String) throws(FeedDefinitionError) -> FeedDefinition
    {
        let file = try DefinitionFile(path: path, text: text)
        for entry in file.entries {
            if let keys = sectionKeys[entry.section] {
                guard keys.contains(entry.key) else {
                    throw file.error(
                        .unknownKey, entry,
                        "unknown key; [\(entry.section)] takes: " + keys.sorted().joined(separator: ", "))
                }
            } else if !["columns", "dates"].contains(entry.section) && !entry.section.hasPrefix("values.") {
                throw file.error(
                    .unknownSection, entry,
                    "unknown section [\(entry.section)]; expected feed, source, format, columns, dates or values.FIELD")
            }
        }

        func required(_ section: String, _ key: String) throws(FeedDefinitionError) -> DefinitionFile.Entry {
            guard let entry = file.entry(section, key) else {
                throw FeedDefinitionError(
                    code: .missingKey, file: path, line: nil, key: "\(section).\(key)",
                    message: "required key is missing")
            }
            return entry
        }

        let nameEntry = try required("feed", "name")
        guard nameEntry.value.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }),
            !nameEntry.value.isEmpty
        else {
            throw file.error(.invalidValue, nameEntry, "a feed name uses lower-case letters, digits and '_' only")
        }
        let kindEntry = try required("feed", "kind")
        guard let kind = PartnerKind(rawValue: kindEntry.value) else {
            throw file.error(
                .invalidValue, kindEntry,
                "unknown kind; expected one of " + PartnerKind.allCases.map(\.rawValue).joined(separator: ", "))
        }

        // Columns: canonical fields, facts and extras.
        var columns: [CanonicalField: String] = [:]
        var facts: [String: String] = [:]
        var extras: [String: String] = [:]
        for entry in file.entries(in: "columns") {
            guard !entry.value.isEmpty else { throw file.error(.invalidValue, entry, "names no column") }
            if let field = CanonicalField(rawValue: entry.key) {
                columns[field] = entry.value
            } else if entry.key.hasPrefix("fact.") {
                let fact = String(entry.key.dropFirst(5))
                guard KnownFacts.types[fact] != nil else {
                    throw file.error(
                        .unknownKey, entry,
                        "unknown fact; known facts: " + KnownFacts.types.keys.sorted().joined(separator: ", "))
                }
                facts[fact] = entry.value
            } else if entry.key.hasPrefix("extra.") && entry.key.count > 6 {
                extras[String(entry.key.dropFirst(6))] = entry.value
            } else {
                throw file.error(
                    .unknownKey, entry,
                    "unknown field; map columns to one of "
                        + CanonicalField.allCases.map(\.rawValue).joined(separator: ", ")
                        + ", fact.NAME or extra.NAME")
            }
        }
        func missing(_ what: String) -> FeedDefinitionError {
            FeedDefinitionError(
                code: .missingMapping, file: path, line: nil, key: "columns.\(what)",
                message: "a \(kind.rawValue) feed must map \(what)")
        }
        if columns[.childFullName] == nil {
            if columns[.childSurname] == nil { throw missing("child.surname (or child.full_name)") }
            if columns[.childForename] == nil { throw missing("child.forename (or child.full_name)") }
        }
        if columns[.childDOB] == nil && !(kind == .police && columns[.childAge] != nil) {
            throw missing(kind == .police ? "child.dob (or child.age)" : "child.dob")
        }
        if columns[.postcode] == nil { throw missing("address.postcode") }
        for fact in kind.requiredFacts where facts[fact] == nil { throw missing("fact.\(fact)") }
        if kind == .fsm && columns[.carerSurname] == nil && columns[.carerFullName] == nil {
            throw missing("carer.surname (or carer.full_name)")
        }

        // Dates.
        let formatEntry = file.entry("format", "date_format")
        let defaultDateFormat = try dateFormat(formatEntry?.value ?? "YYYY-MM-DD", entry: formatEntry, file: file)
        var dateFormats: [String: DateFormat] = [:]
        for entry in file.entries(in: "dates") {
            let isDateField = CanonicalField(rawValue: entry.key)?.isDate == true
            let factType = entry.key.hasPrefix("fact.") ? KnownFacts.types[String(entry.key.dropFirst(5))] : nil
            guard isDateField || factType == .date || factType == .datetime else {
                throw file.error(.unknownKey, entry, "not a date field; date formats apply to *.dob and date facts")
            }
            dateFormats[entry.key] = try dateFormat(entry.value, entry: entry, file: file)
        }

        // Value maps.
        var valueMaps: [String: [String: String]] = [:]
        for entry in file.entries where entry.section.hasPrefix("values.") {
            let field = String(entry.section.dropFirst(7))
            let allowed: [String]
            if field == "child.sex" {
                allowed = ["F", "M", "U"]
            } else if field.hasPrefix("fact."), let vocabulary = KnownFacts.vocabularies[String(field.dropFirst(5))] {
                allowed = vocabulary
            } else if field.hasPrefix("fact."), KnownFacts.types[String(field.dropFirst(5))] == .boolean {
                allowed = ["true", "false"]
            } else if field == "fact.incident_type" {
                allowed = []  // free vocabulary: the partner's words are normalised to the given names
            } else {
                throw FeedDefinitionError(
                    code: .unknownSection, file: path, line: entry.line, key: entry.section,
                    message: "values can be mapped for child.sex, fact.review_type, fact.review_status, "
                        + "fact.incident_type and yes/no facts")
            }
            guard allowed.isEmpty || allowed.contains(entry.value) else {
                throw file.error(
                    .invalidValue, entry, "maps to an unknown value; expected one of " + allowed.joined(separator: ", ")
                )
            }
            valueMaps[field, default: [:]][entry.key.uppercased()] = entry.value
        }
        for fact in KnownFacts.vocabularies.keys where facts[fact] != nil && valueMaps["fact." + fact] == nil {
            throw FeedDefinitionError(
                code: .missingMapping, file: path, line: nil, key: "values.fact.\(fact)",
                message: "fact.\(fact) needs a [values.fact.\(fact)] section mapping the partner's words to "
                    + KnownFacts.vocabularies[fact]!.joined(separator: ", "))
        }

        var retentionFrom = RetentionBasis.birth
        if let entry = file.entry("feed", "retention_from") {
            guard let basis = RetentionBasis(rawValue: entry.value) else {
                throw file.error(
                    .invalidValue, entry,
                    "retention_from is 'birth' (the child's date of birth) or 'record' (the record's date)")
            }
            retentionFrom = basis
        }
        var definition = FeedDefinition(
            name: nameEntry.value, kind: kind, description: file.entry("feed", "description")?.value ?? "",
            path: path, checksum: checksum,
            source: try source(file), schedule: try schedule(file), dialect: try dialect(file),
            columns: columns, facts: facts, extras: extras, dateFormats: dateFormats,
            defaultDateFormat: defaultDateFormat, valueMaps: valueMaps,
            childAges: try ages(file, kind: kind), retentionYears: try integer(file, "feed", "retention_years", 1...100)
        )
        definition.retentionFrom = retentionFrom
        definition.optionalColumns = try optionalColumns(file, columns: columns, extras: extras)
        return definition
    }

    /// `[format] optional_columns = A, B`: columns a file may lack. Only columns mapped to `carer.*` or
    /// `extra.*` fields may be optional: a child's names, date of birth, postcode and facts are always needed.
    private static func optionalColumns(
        _ file: DefinitionFile, columns: [CanonicalField: String], extras: [String: String]
    ) throws(FeedDefinitionError) -> Set<String> {
        guard let entry = file.entry("format", "optional_columns") else { return [] }
        func key(_ column: String) -> String { column.trimmingSpaces.uppercased() }
        var allowed: Set<String> = Set(extras.values.map(key))
        for (field, column) in columns where field.rawValue.hasPrefix("carer.") { allowed.insert(key(column)) }
        var names: Set<String> = []
        for part in entry.value.split(separator: ",") {
            let name = key(String(part))
            guard !name.isEmpty else { continue }
            guard allowed.contains(name) else {
                throw file.error(
                    .invalidValue, entry,
                    "optional column '\(part.trimmingSpaces)' is not mapped to a carer.* or extra.* field")
            }
            names.insert(name)
        }
        return names
    }

    private static func dateFormat(
        _ pattern: String, entry: DefinitionFile.Entry?, file: DefinitionFile
    )
        throws(FeedDefinitionError) -> DateFormat
    {
        do {
            return try DateFormat(pattern: pattern)
        } catch {
            throw file.error(.invalidValue, entry, "bad date format '\(pattern)': \(error)")
        }
    }

    private static func integer(
        _ file: DefinitionFile, _ section: String, _ key: String, _ range: ClosedRange<Int>
    )
        throws(FeedDefinitionError) -> Int?
    {
        guard let entry = file.entry(section, key) else { return nil }
        guard let value = Int(entry.value), range.contains(value) else {
            throw file.error(
                .invalidValue, entry, "expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    private static func ages(_ file: DefinitionFile, kind: PartnerKind) throws(FeedDefinitionError) -> ClosedRange<Int>
    {
        guard let entry = file.entry("feed", "child_ages") else { return kind.defaultChildAges }
        let parts = entry.value.split(separator: "-").map { $0.trimmingSpaces }
        guard parts.count == 2, let low = Int(parts[0]), let high = Int(parts[1]), low >= 0, low <= high, high <= 25
        else { throw file.error(.invalidValue, entry, "expected an age range like 0-6") }
        return low...high
    }

    private static func dialect(_ file: DefinitionFile) throws(FeedDefinitionError) -> CSVDialect {
        var dialect = CSVDialect()
        if let entry = file.entry("format", "delimiter") {
            switch entry.value {
            case ",": dialect.delimiter = UInt8(ascii: ",")
            case ";": dialect.delimiter = UInt8(ascii: ";")
            case "|": dialect.delimiter = UInt8(ascii: "|")
            case "tab", "\\t": dialect.delimiter = 0x09
            default: throw file.error(.invalidValue, entry, "delimiter is one of , ; | tab")
            }
        }
        if let entry = file.entry("format", "encoding") {
            switch entry.value.lowercased() {
            case "utf-8", "utf8": dialect.encoding = .utf8
            case "windows-1252", "cp1252": dialect.encoding = .windows1252
            case "utf-8-or-windows-1252", "utf8-or-windows1252": dialect.encoding = .utf8OrWindows1252
            default: throw file.error(.invalidValue, entry, "encoding is utf-8, windows-1252 or utf-8-or-windows-1252")
            }
        }
        if let bytes = try integer(file, "format", "max_field_bytes", 1024...(64 << 20)) {
            dialect.maxFieldBytes = bytes
        }
        // Partner extracts are one record a line: unless a feed says otherwise, a quote left open
        // at the end of a line costs that line only, not every good row up to the next quote.
        dialect.recordsSpanLines = false
        if let entry = file.entry("format", "records_span_lines") {
            switch entry.value.lowercased() {
            case "yes", "true": dialect.recordsSpanLines = true
            case "no", "false": dialect.recordsSpanLines = false
            default: throw file.error(.invalidValue, entry, "records_span_lines is yes or no")
            }
        }
        return dialect
    }

    private static func schedule(_ file: DefinitionFile) throws(FeedDefinitionError) -> FeedSchedule {
        guard let entry = file.entry("source", "schedule") else { return .manual }
        let words = entry.value.split(separator: " ", maxSplits: 1).map(String.init)
        if words.first == "manual" && words.count == 1 { return .manual }
        if words.first == "every", words.count == 2 {
            let amount = words[1].dropLast()
            let unit: Int? =
                switch words[1].last {
                case "s": 1
                case "m": 60
                case "h": 3600
                case "d": 86400
                default: nil
                }
            if let unit, let number = Int(amount), number > 0 { return .every(seconds: number * unit) }
        }
        if words.first == "daily", words.count == 2 {
            var minutes: [Int] = []
            for time in words[1].split(separator: ",") {
                let parts = time.trimmingSpaces.split(separator: ":")
                guard parts.count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]), (0..<24).contains(hour),
                    (0..<60).contains(minute)
                else { throw file.error(.invalidValue, entry, "daily times look like 'daily 06:00, 18:30'") }
                minutes.append(hour * 60 + minute)
            }
            return .daily(minutesAfterMidnight: minutes.sorted())
        }
        throw file.error(.invalidValue, entry, "schedule is 'manual', 'every 30m' (s, m, h, d) or 'daily 06:00, 18:00'")
    }

    private static func source(_ file: DefinitionFile) throws(FeedDefinitionError) -> FeedSource {
        let typeEntry = file.entry("source", "type")
        switch typeEntry?.value ?? "drop-folder" {
        case "drop-folder":
            let folderEntry = file.entry("source", "folder")
            let folder = folderEntry?.value ?? ""
            guard !folder.isEmpty else {
                throw FeedDefinitionError(
                    code: .missingKey, file: file.path, line: nil, key: "source.folder",
                    message: "a drop-folder source names its folder (relative to the service's drop root)")
            }
            // A definition may only point inside the drop root: no absolute paths, no '..'.
            if folder.hasPrefix("/") || folder.split(separator: "/").contains("..") {
                throw file.error(
                    .unsafePath, folderEntry, "the folder must stay inside the drop root (no '/' start, no '..')")
            }
            return .dropFolder(folder: folder, pattern: file.entry("source", "pattern")?.value ?? "*.csv")
        case "https", "sftp":
            let urlEntry = file.entry("source", "url")
            guard let url = urlEntry?.value, url.hasPrefix(typeEntry!.value + "://") else {
                throw file.error(
                    .invalidValue, urlEntry ?? typeEntry,
                    "a \(typeEntry!.value) source needs url = \(typeEntry!.value)://…")
            }
            if url.contains("@") && url.split(separator: "@").first?.contains(":") == true
                && url.components(separatedBy: "://").last?.split(separator: "@").first?.contains(":") == true
            {
                throw file.error(.invalidValue, urlEntry, "put credentials in a credentials file, not in the URL")
            }
            let settings = RemoteSourceSettings(
                url: url, credentials: file.entry("source", "credentials")?.value,
                caFile: file.entry("source", "ca_file")?.value,
                clientCertificate: file.entry("source", "client_certificate")?.value,
                clientKey: file.entry("source", "client_key")?.value,
                sshPrivateKey: file.entry("source", "ssh_private_key")?.value,
                knownHosts: file.entry("source", "known_hosts")?.value,
                timeoutSeconds: try integer(file, "source", "timeout_seconds", 1...86400) ?? 600,
                retries: try integer(file, "source", "retries", 0...20) ?? 3)
            if typeEntry!.value == "sftp" && settings.knownHosts == nil {
                throw FeedDefinitionError(
                    code: .missingKey, file: file.path, line: nil, key: "source.known_hosts",
                    message: "an sftp source must name a known_hosts file: the server's host key is always verified")
            }
            return .remote(settings)
        default:
            throw file.error(.invalidValue, typeEntry, "source type is drop-folder, https or sftp")
        }
    }
}
