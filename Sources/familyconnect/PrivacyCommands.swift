import Feeds
import Flags
import Foundation
import Identifiers
import Postgres

/// `familyconnect audit`: who looked at what, when and why; with `--server-log`, beside the
/// direct SQL reads of personal data pgaudit logged (deploy/PRIVACY.md).
enum AuditCommand: Command {
    static let name = "audit"
    static let summary = "Query the access audit: who (database role, OS user) saw which ids, when and why."
    static let synopsis =
        "[--since YYYY-MM-DD] [--subject ID] [--role ROLE] [--action A] [--limit N] [--server-log PATH …]"
    static let options =
        DatabaseOptions.specs + [
            .value("since", "YYYY-MM-DD", "Entries on or after this day (UTC)."),
            .value("subject", "ID", "Entries naming this id (a child id also finds its merged ids and its records)."),
            .value("role", "ROLE", "Entries by this database role (login)."),
            .value(
                "action", "A",
                "Only this action (explain, review_show, families_show, flags_show, export, sar, erase, sql_read, …)."),
            .value("limit", "N", "At most N entries, newest first (default 200)."),
            .value(
                "server-log", "PATH",
                "Also list direct SQL reads of personal data (action sql_read) from pgaudit's lines in this PostgreSQL "
                    + "JSON log file, or the *.json files of this folder (repeatable; deploy/PRIVACY.md)."),
        ]

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        guard arguments.positionals.isEmpty else {
            throw UsageError(description: "audit takes no positional arguments")
        }
        var since: CalendarDate?
        if let text = arguments.value("since") {
            guard let date = CalendarDate(iso8601: text) else {
                throw UsageError(description: "--since expects a date as YYYY-MM-DD")
            }
            since = date
        }
        let limit = try arguments.integer("limit", default: 200, range: 1...100_000)
        let connection = try PostgresConnection.connect(DatabaseOptions.connectionString(arguments))
        let action = arguments.value("action")
        let entries = try AuditQuery.entries(
            connection, since: since, subject: arguments.value("subject"), role: arguments.value("role"),
            action: action, limit: limit)
        let logs = arguments.all("server-log")
        if logs.isEmpty {
            Console.print(
                "\(entries.count) entries, newest first: when (UTC), database role, OS user, action, ids, reason")
            for entry in entries { Console.print(line(entry)) }
            return 0
        }
        var reads: [DirectRead] = []
        let bySubject = arguments.value("subject") != nil
        if !bySubject && (action == nil || action == DirectRead.action) {
            reads = try DirectReads.read(
                paths: logs, database: try connection.execute("SELECT current_database()").scalar(String.self),
                login: arguments.value("role"), since: since.flatMap { startOfDay($0) })
        }
        // Newest first, both kinds together, at most `limit`.
        var merged: [(at: Date, read: Bool, text: String)] = entries.map { ($0.at, false, line($0)) }
        merged += reads.map { ($0.at ?? .distantPast, true, line($0)) }
        merged = Array(
            merged.enumerated().sorted { ($0.element.at, $0.offset) > ($1.element.at, $1.offset) }.map(\.element)
                .prefix(limit))
        let shownReads = merged.filter(\.read).count
        Console.print(
            "\(merged.count - shownReads) entries and \(shownReads) direct SQL reads, newest first: when (UTC), database role, "
                + "OS user, action, ids (or table read), reason (or command)")
        if bySubject { Console.print("(direct SQL reads name tables, not ids: run without --subject to list them)") }
        for entry in merged { Console.print(entry.text) }
        return 0
    }

    static func line(_ entry: AuditEntry) -> String {
        let when = ISO8601DateFormatter.string(from: entry.at, timeZone: .gmt, formatOptions: [.withInternetDateTime])
        return "\(entry.id)  \(when)  \(entry.databaseRole)  \(entry.osUser ?? "-")  \(entry.action)  "
            + "[\(entry.subjects.joined(separator: " "))]  \(entry.reason)"
    }

    static func line(_ read: DirectRead) -> String {
        let when = read.at.map {
            ISO8601DateFormatter.string(from: $0, timeZone: .gmt, formatOptions: [.withInternetDateTime])
        }
        return "log  \(when ?? read.loggedAt)  \(read.login)  -  \(DirectRead.action)  [\(read.relation)]  "
            + "\(read.command) (pgaudit; application \(read.application.isEmpty ? "-" : read.application))"
    }

    static func startOfDay(_ day: CalendarDate) -> Date? {
        ISO8601DateFormatter().date(from: day.iso8601 + "T00:00:00Z")
    }
}

/// `familyconnect purge`: the retention purge by hand.
enum PurgeCommand: Command {
    static let name = "purge"
    static let summary =
        "Delete source records, indicators and closed flags past their feed's retention period; log the counts."
    static let synopsis = "[--dry-run] [--as-of YYYY-MM-DD] [--database CONNINFO] [--schemas DIR]"
    static let options =
        DatabaseOptions.specs + [
            SchemaLocation.spec,
            .flag("dry-run", "Count what would go; delete nothing, log nothing."),
            .value("as-of", "YYYY-MM-DD", "Measure the periods to this day (default: today)."),
        ]

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        guard arguments.positionals.isEmpty else {
            throw UsageError(description: "purge takes no positional arguments")
        }
        var asOf = CalendarDate.today()
        if let text = arguments.value("as-of") {
            guard let date = CalendarDate(iso8601: text) else {
                throw UsageError(description: "--as-of expects a date as YYYY-MM-DD")
            }
            asOf = date
        }
        let definitions = try FeedDefinition.loadAll(directory: SchemaLocation.directory(arguments) + "/feeds")
        let connection = try PostgresConnection.connect(DatabaseOptions.connectionString(arguments))
        let report = try Purger(connection: connection, definitions: definitions, asOf: asOf).run(
            dryRun: arguments.has("dry-run"))
        Console.print(report.description)
        return 0
    }
}

/// `familyconnect sar`: a subject access request.
enum SubjectAccessCommand: Command {
    static let name = "sar"
    static let summary =
        "Subject access: write everything held about a child (records, links, families, flags, audit) as JSON."
    static let synopsis = "CHILD_ID --out FILE --reason TEXT"
    static let options =
        DatabaseOptions.specs + [
            ReasonOption.spec,
            .value("out", "FILE", "Where to write the JSON (a new file, created readable by you only)."),
        ]

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        guard arguments.positionals.count == 1 else { throw UsageError(description: "sar takes one child id") }
        let reason = try ReasonOption.required(arguments)
        let out = try arguments.required("out")
        let connection = try PostgresConnection.connect(DatabaseOptions.connectionString(arguments))
        let result = try SubjectAccess(connection: connection).report(child: arguments.positionals[0], reason: reason)
        try SubjectAccess.write(result.json, to: out)
        Console.print(
            "wrote \(out): child \(result.childID) (ids \(result.childIDs.joined(separator: ", "))), \(result.records) source records, "
                + "\(result.json.count) bytes; review it for other people's data before disclosure")
        return 0
    }
}

/// `familyconnect erase`: erasure, and the decisions about erased children sent again.
enum EraseCommand: Command {
    static let name = "erase"
    static let summary =
        "Erase a child's personal data everywhere, keeping a tombstone; 'held' and 'lift' decide on re-sent rows."
    static let synopsis = "CHILD_ID --reason TEXT | held | lift TOMBSTONE --reason TEXT"
    static let options = DatabaseOptions.specs + [ReasonOption.spec]

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let positionals = arguments.positionals
        switch positionals.first {
        case "held":
            guard positionals.count == 1 else { throw UsageError(description: "'erase held' takes no arguments") }
            let connection = try PostgresConnection.connect(DatabaseOptions.connectionString(arguments))
            let rows = try Erasure(connection: connection).held()
            Console.print("\(rows.count) rows held because they match an erased child (content not stored):")
            for row in rows {
                Console.print(
                    "  quarantine \(row.quarantineID): feed \(row.feed), batch \(row.batchID) (\(row.sourceName)) line \(row.lineNumber), "
                        + "tombstone \(row.tombstoneID.map(String.init) ?? "?")")
            }
            if !rows.isEmpty {
                Console.print(
                    "keep the erasure (nothing to do), or let the child back: familyconnect erase lift TOMBSTONE --reason \"…\""
                )
            }
        case "lift":
            guard positionals.count == 2, let tombstone = Int64(positionals[1]) else {
                throw UsageError(description: "expected 'erase lift TOMBSTONE --reason TEXT'")
            }
            let reason = try ReasonOption.required(arguments)
            let connection = try PostgresConnection.connect(DatabaseOptions.connectionString(arguments))
            try Erasure(connection: connection).lift(tombstone: tombstone, reason: reason)
            Console.print(
                "tombstone \(tombstone) lifted: later files load this child's rows normally (ask the partner to re-send)"
            )
        case .some(let child) where positionals.count == 1:
            let reason = try ReasonOption.required(arguments)
            let connection = try PostgresConnection.connect(DatabaseOptions.connectionString(arguments))
            let report = try Erasure(connection: connection).erase(child: child, reason: reason)
            Console.print(report.description)
        default:
            throw UsageError(
                description:
                    "expected 'erase CHILD_ID --reason TEXT', 'erase held' or 'erase lift TOMBSTONE --reason TEXT'")
        }
        return 0
    }
}
