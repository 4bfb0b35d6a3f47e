import Families
import Feeds
import Foundation
import Identifiers
import Postgres

/// What one export did: counts and file paths only.
public struct ExportReport: Sendable, CustomStringConvertible {
    public struct File: Sendable {
        public var team: String
        /// Where the file is (or, in a dry run, would be).
        public var path: String
        public var rows: Int
    }

    public var dryRun = false
    public var asOf = ""
    public var files: [File] = []
    public var flagsExported: Int { files.map(\.rows).reduce(0, +) }
    /// Open flags whose family has no team (no district, school or fallback matched).
    public var flagsWithoutTeam = 0
    /// Files an export that never committed left in the outbox, removed before writing.
    public var unrecordedFilesRemoved = 0

    /// The counts by name, for a log line or metrics.
    public var counts: [String: Int] {
        [
            "files": files.count, "flags_exported": flagsExported, "flags_without_team": flagsWithoutTeam,
            "dry_run": dryRun ? 1 : 0, "unrecorded_files_removed": unrecordedFilesRemoved,
        ]
    }

    public var description: String {
        var text =
            "export\(dryRun ? " (dry run: nothing written)" : "") as of \(asOf): \(flagsExported) flags in \(files.count) files"
        if flagsWithoutTeam > 0 { text += "; \(flagsWithoutTeam) open flags have no team" }
        if unrecordedFilesRemoved > 0 {
            text += "; \(unrecordedFilesRemoved) files left in the outbox by an export that did not commit were removed"
        }
        for file in files { text += "\n  \(file.team): \(file.rows) flags → \(file.path)" }
        return text
    }
}

/// Writes one CSV per outreach team of the flags it has not had yet, and records each in the export
/// ledger so a flag goes to its team once.
///
/// Only what outreach needs: flag and family ids, the date first flagged, the family's address,
/// each child's id, name and age, the reasons in plain English and the evidence with its source
/// records. UTF-8 with a byte order mark and CRLF line ends, so Excel opens it cleanly. Each file is
/// written under a temporary name in the outbox, flushed to disk and renamed, inside the transaction
/// that writes the ledger: a reader never sees half a file, and a failed export leaves no ledger rows
/// (the worst case, a crash between the rename and the commit, sends the flags again next time).
/// A file for a team with a delivery target is marked for delivery; `ExportDelivery` sends it once
/// the export has committed.
public final class Exporter {
    let connection: PostgresConnection
    public let teams: TeamDirectory
    public let outbox: String
    public let asOf: CalendarDate
    static let lockKey: Int64 = 0x6663_6578_706F_7274  // "fcexport"
    /// The audit reason of an export nobody typed a reason for (the daemon's).
    public static let scheduledReason = "scheduled export of new flags to the outreach team"

    public static let columns = [
        "Flag ID", "Family ID", "Team", "Date first flagged", "Address", "Children (id, name, age)", "Reasons",
        "Evidence (source records)",
    ]

    public init(connection: PostgresConnection, teams: TeamDirectory, outbox: String, asOf: CalendarDate = .today()) {
        self.connection = connection
        self.teams = teams
        self.outbox = outbox
        self.asOf = asOf
    }

    private struct DryRun: Error {
        let report: ExportReport
    }

    /// Writes the files. Each file is recorded in the access audit (who, which flags, families and
    /// children, why) in the transaction that writes its ledger rows; `reason` is the command's
    /// `--reason`, or the daemon's standing purpose.
    public func export(
        team only: String? = nil, dryRun: Bool = false, reason: String = Exporter.scheduledReason
    ) throws
        -> ExportReport
    {
        if let only, teams.team(only) == nil {
            throw FlagLifecycleError(
                description: "no team '\(only)' in the team directory; known: "
                    + teams.teams.map(\.key).joined(separator: ", "))
        }
        var written: [String] = []
        do {
            return try connection.transaction { connection in
                try connection.advisoryTransactionLock(Self.lockKey)
                // Every read here goes through indexes, child by child; with a misestimate (statistics of
                // tables loaded minutes ago) the planner JIT-compiles them, about 0.7 s a file for no gain.
                try connection.execute("SET LOCAL jit = off")
                var report = ExportReport()
                report.dryRun = dryRun
                report.asOf = asOf.iso8601
                try TeamAssigner(connection: connection, directory: teams).assign()
                var pending: [String: [(flag: String, family: String, first: PostgresDate)]] = [:]
                for row in try connection.query(
                    """
                    SELECT fl.flag_id, fl.family_id, fl.first_flagged_on, t.team
                    FROM flags fl LEFT JOIN family_teams t ON t.family_id = fl.family_id
                    WHERE fl.status <> 'closed'
                      AND NOT EXISTS (SELECT 1 FROM export_ledger l WHERE l.flag_id = fl.flag_id AND l.team = t.team)
                    ORDER BY fl.first_flagged_on, fl.flag_id
                    """)
                {
                    guard let team = try row.decode(String?.self, at: 3) else {
                        report.flagsWithoutTeam += 1
                        continue
                    }
                    if let only, team != only { continue }
                    pending[team, default: []].append(
                        (
                            try row.decode(String.self, at: 0), try row.decode(String.self, at: 1),
                            try row.decode(PostgresDate.self, at: 2)
                        ))
                }
                if !dryRun {
                    try FileManager.default.createDirectory(atPath: outbox, withIntermediateDirectories: true)
                    report.unrecordedFilesRemoved = try ExportOutbox.removeUnrecordedFiles(
                        in: outbox, connection: connection)
                }
                for team in pending.keys.sorted() {
                    let flags = pending[team]!
                    var bytes: [UInt8] = [0xEF, 0xBB, 0xBF]
                    let writer = CSVWriter(lineEnding: .crlf)
                    writer.appendRow(Self.columns, to: &bytes)
                    for row in try rows(for: flags, team: team) { writer.appendRow(row.map(Self.safeCell), to: &bytes) }
                    let text = String(decoding: bytes, as: UTF8.self)
                    let fileID = try connection.execute(
                        """
                        INSERT INTO export_files (team, file_name, sha256, rows, as_of, delivery_target)
                        VALUES ($1, '', encode(sha256(convert_to($2, 'UTF8')), 'hex'), $3, $4::date, $5) RETURNING id
                        """,
                        [
                            team, text, flags.count, asOf.iso8601,
                            teams.team(team)?.delivery.map { RemoteSource.safeTarget($0.remote.url) },
                        ]
                    ).scalar(Int64.self)
                    let name = ExportOutbox.fileName(team: team, asOf: asOf, fileID: fileID)
                    let path = (outbox as NSString).appendingPathComponent(name)
                    try connection.execute("UPDATE export_files SET file_name = $2 WHERE id = $1", [fileID, name])
                    try connection.copyIn("COPY export_ledger (flag_id, team, export_file_id) FROM STDIN") { ledger in
                        for flag in flags { try ledger.writeRow([flag.flag, team, String(fileID)]) }
                    }
                    let ids = flags.map(\.flag)
                    let families = Array(Set(flags.map(\.family))).sorted()
                    let children = try connection.query(
                        "SELECT DISTINCT child_id FROM family_members WHERE family_id = ANY($1::text[]) AND child_id IS NOT NULL ORDER BY 1",
                        [families]
                    ).map { try $0.decode(String.self, at: 0) }
                    try AccessLog.record(
                        connection, action: "export",
                        subjects: ["export_file:\(fileID)", "team:\(team)"] + ids + families + children,
                        reason: reason)
                    try connection.execute(
                        "UPDATE flags SET status = 'exported', exported_at = now() WHERE flag_id = ANY($1::text[]) AND status = 'new'",
                        [ids])
                    try connection.execute(
                        """
                        INSERT INTO flag_events (flag_id, event, details)
                        SELECT id, 'exported', jsonb_build_object('team', $2::text, 'export_file_id', $3::bigint) FROM unnest($1::text[]) id
                        """, [ids, team, fileID])
                    if !dryRun {
                        try Self.writeAtomically(bytes, to: path)
                        written.append(path)
                    }
                    report.files.append(ExportReport.File(team: team, path: path, rows: flags.count))
                }
                if dryRun { throw DryRun(report: report) }
                return report
            }
        } catch let dry as DryRun {
            return dry.report
        } catch {
            // The ledger rolled back: take back the files so they are not delivered without it.
            for path in written { unlink(path) }
            throw error
        }
    }

    // MARK: The rows

    /// One row per flag, in the order given. A handful of set-based reads for the whole file (the
    /// families' homes, their children, the reasons and the evidence), not a round of queries per flag.
    private func rows(
        for flags: [(flag: String, family: String, first: PostgresDate)], team: String
    ) throws -> [[String]] {
        let flagIDs = flags.map(\.flag)
        let familyIDs = Array(Set(flags.map(\.family))).sorted()
        let addresses = try homes(of: familyIDs)
        let (children, names) = try childrenLines(of: familyIDs)
        var expectant: Set<String> = []
        for row in try connection.query(
            "SELECT DISTINCT family_id FROM family_members WHERE family_id = ANY($1::text[]) AND expectant_record_id IS NOT NULL",
            [familyIDs])
        {
            expectant.insert(try row.decode(String.self, at: 0))
        }
        var reasons: [String: [String]] = [:]
        for row in try connection.query(
            "SELECT flag_id, reason FROM flag_rules WHERE flag_id = ANY($1::text[]) ORDER BY flag_id, first_fired_at, rule_name",
            [flagIDs])
        {
            reasons[try row.decode(String.self, at: 0), default: []].append(try row.decode(String.self, at: 1))
        }
        let familyOf = Dictionary(flags.map { ($0.flag, $0.family) }, uniquingKeysWith: { first, _ in first })
        var evidence: [String: [String]] = [:]
        var seen: Set<String> = []
        for row in try connection.query(
            """
            SELECT e.flag_id, e.indicator_id, e.child_id, e.description, x.feed, x.record_number, x.batch_id, x.starts_on
            FROM flag_evidence e
            CROSS JOIN LATERAL (
                -- One indicator and its record by their keys (LIMIT keeps the planner from turning this into
                -- a join over every indicator and record when its estimates are off).
                SELECT sr.feed, sr.record_number, sr.batch_id, i.starts_on
                FROM indicators i JOIN source_records sr ON sr.id = i.record_id WHERE i.id = e.indicator_id LIMIT 1) x
            WHERE e.flag_id = ANY($1::text[]) ORDER BY e.flag_id, x.starts_on, e.indicator_id
            """, [flagIDs])
        {
            let flag = try row.decode(String.self, at: 0)
            guard seen.insert("\(flag)|\(try row.decode(Int64.self, at: 1))").inserted else { continue }
            let familyNames = names[familyOf[flag] ?? ""] ?? [:]
            let who =
                try row.decode(String?.self, at: 2).map { "\(familyNames[$0] ?? $0) (\($0))" } ?? "Expectant parent"
            evidence[flag, default: []].append(
                "\(who): \(try row.decode(String.self, at: 3)) [source: \(PlainEnglish.words(try row.decode(String.self, at: 4))) "
                    + "record \(try row.decode(Int.self, at: 5)) of file \(try row.decode(Int64.self, at: 6))]")
        }
        return flags.map { flag in
            var lines = children[flag.family] ?? []
            if expectant.contains(flag.family) { lines.append("a baby is expected (antenatal record)") }
            return [
                flag.flag, flag.family, team, flag.first.description, addresses[flag.family] ?? "",
                lines.joined(separator: "\n"),
                (reasons[flag.flag] ?? []).joined(separator: "\n"), (evidence[flag.flag] ?? []).joined(separator: "\n"),
            ]
        }
    }

    /// Each family's home, as one line.
    private func homes(of families: [String]) throws -> [String: String] {
        var out: [String: String] = [:]
        for row in try connection.query(
            """
            SELECT f.family_id, sr.address_line1, sr.address_line2, sr.town, sr.postcode
            FROM families f JOIN source_records sr ON sr.id = f.address_record_id WHERE f.family_id = ANY($1::text[])
            """, [families])
        {
            out[try row.decode(String.self, at: 0)] =
                try (1..<5).compactMap { try row.decode(String?.self, at: $0) }.filter { !$0.isEmpty }.joined(
                    separator: ", ")
        }
        return out
    }

    /// Each family's children as "id, name, age" lines (the name on each child's most recent named
    /// record, the usual date of birth), youngest-born last; and each family's child → name. Read child
    /// by child through the indexes (LATERAL), so a file costs in proportion to its children, not to
    /// every record.
    private func childrenLines(
        of families: [String]
    ) throws -> (lines: [String: [String]], names: [String: [String: String]]) {
        var lines: [String: [String]] = [:]
        var names: [String: [String: String]] = [:]
        for row in try connection.query(
            """
            WITH members AS (SELECT family_id, child_id FROM family_members WHERE family_id = ANY($1::text[]) AND child_id IS NOT NULL)
            SELECT m.family_id, m.child_id, n.name, b.dob, b.approximate_age
            FROM members m
            LEFT JOIN LATERAL (
                SELECT sr.given_name || ' ' || sr.family_name AS name
                FROM child_records cr JOIN source_records sr ON sr.id = cr.record_id
                JOIN feed_batches fb ON fb.id = sr.batch_id
                CROSS JOIN LATERAL record_evidence_period(sr.kind, sr.facts, fb.committed_at) p
                WHERE cr.child_id = m.child_id AND sr.given_name IS NOT NULL AND sr.family_name IS NOT NULL
                ORDER BY p.ends_on DESC, sr.id DESC LIMIT 1) n ON true
            LEFT JOIN LATERAL (
                SELECT mode() WITHIN GROUP (ORDER BY sr.dob) AS dob, max(sr.approximate_age) AS approximate_age
                FROM child_records cr JOIN source_records sr ON sr.id = cr.record_id WHERE cr.child_id = m.child_id) b ON true
            ORDER BY m.family_id, b.dob NULLS LAST, m.child_id
            """, [families])
        {
            let family = try row.decode(String.self, at: 0)
            let child = try row.decode(String.self, at: 1)
            let name = try row.decode(String?.self, at: 2) ?? "(name not recorded)"
            names[family, default: [:]][child] = name
            var age = "age not recorded"
            if let dob = try row.decode(PostgresDate?.self, at: 3) {
                let years = DayNumber.calendarDate(dob).age(on: asOf)
                age = years == 1 ? "1 year" : "\(years) years"
            } else if let approximate = try row.decode(Int?.self, at: 4) {
                age = "about \(approximate) years"
            }
            lines[family, default: []].append("\(child), \(name), \(age)")
        }
        return (lines, names)
    }

    /// A cell a spreadsheet would run as a formula is prefixed with `'`: one that starts, after any
    /// spaces (an import can trim them), with `=`, `+`, `-`, `@`, a tab or CR, or the full-width
    /// (`＝ ＋ － ＠`) or small (`﹦ ﹢ ﹣`) forms and the minus sign `−`, which spreadsheets with an
    /// East Asian input method or autocorrect turn into the ASCII ones.
    static func safeCell(_ text: String) -> String {
        guard
            let first = text.unicodeScalars.first(where: { !Self.leadingSpaces.contains($0) })
                ?? text.unicodeScalars.first,
            Self.formulaStarts.contains(first)
        else { return text }
        return "'" + text
    }

    private static let formulaStarts = Set(
        "=+-@\t\r\u{FF1D}\u{FF0B}\u{FF0D}\u{FF20}\u{FE66}\u{FE62}\u{FE63}\u{2212}".unicodeScalars)
    private static let leadingSpaces = Set(" \n\u{00A0}\u{3000}".unicodeScalars)

    // MARK: Atomic write

    /// Writes `bytes` to `.NAME.tmp` beside `path`, flushes it to disk, renames it to `path` (which
    /// must not exist) and flushes the folder, so the file appears whole or not at all.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        let temporary = (folder as NSString).appendingPathComponent("." + (path as NSString).lastPathComponent + ".tmp")
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o640)
        guard fd >= 0 else {
            throw ExportFileError(message: "cannot create a temporary file in the outbox", path: folder)
        }
        var ok = true
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n <= 0 {
                    ok = false
                    return
                }
                offset += n
            }
        }
        if ok { ok = fsync(fd) == 0 }
        close(fd)
        guard ok else {
            unlink(temporary)
            throw ExportFileError(message: "cannot write the export file", path: folder)
        }
        if access(path, F_OK) == 0 {
            unlink(temporary)
            throw ExportFileError(message: "an export file of that name already exists", path: path)
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw ExportFileError(message: "cannot rename the export file into place", path: path)
        }
        let dir = open(folder, O_RDONLY)
        if dir >= 0 {
            fsync(dir)
            close(dir)
        }
    }
}

/// An outbox file problem; names the path (a folder or file name, never its content).
public struct ExportFileError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var path: String
    public var description: String { "\(path): \(message)" }
}
