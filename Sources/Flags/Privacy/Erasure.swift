import Feeds
import Foundation
import Identifiers
import Postgres

public struct PrivacyError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A child's identifying values, read from its records inside a transaction: what a tombstone is
/// made of, and what finds the child's rows in quarantine (which belong to no child).
struct SubjectValues {
    var nhsNumbers: Set<String> = []
    var upns: Set<String> = []
    /// Folded (given, family) pairs.
    var names: Set<[String]> = []
    var dobs: Set<CalendarDate> = []
    var batches: Set<Int64> = []
    var keys: Set<ErasureKey> = []

    /// Reads the records in `privacy_records` (erasure) or with the given ids (subject access).
    static func read(_ connection: PostgresConnection, recordIDs: [Int64], secret: String?) throws -> SubjectValues {
        var values = SubjectValues()
        for row in try connection.query(
            """
            SELECT nhs_number, nhs_number_raw, upn, upn_raw, given_name, family_name, preferred_given_name,
                   preferred_family_name, dob::text, batch_id
            FROM source_records WHERE id = ANY($1::bigint[])
            """, [recordIDs.map { Int($0) }])
        {
            let record = ErasureFingerprint.Values(
                nhsNumber: try row.decode(String?.self, at: 0), nhsNumberRaw: try row.decode(String?.self, at: 1),
                upn: try row.decode(String?.self, at: 2), upnRaw: try row.decode(String?.self, at: 3),
                givenNames: [try row.decode(String?.self, at: 4), try row.decode(String?.self, at: 6)],
                familyNames: [try row.decode(String?.self, at: 5), try row.decode(String?.self, at: 7)],
                dob: try row.decode(String?.self, at: 8))
            for (kind, value) in ErasureFingerprint.plainValues(record) {
                switch kind {
                case "nhs_number": values.nhsNumbers.insert(value)
                case "upn": values.upns.insert(value)
                default: break
                }
            }
            // Folded (Zoë → zoe) and as written (zoë), both without spaces, hyphens and apostrophes,
            // as the raw line is compared (see quarantineCondition).
            func forms(_ name: String) -> Set<String> {
                [
                    ErasureFingerprint.fold(name),
                    String(name.lowercased().unicodeScalars.filter { !" \t'’-.".unicodeScalars.contains($0) }),
                ]
            }
            for given in record.givenNames.flatMap(forms) where given.count >= 2 {
                for family in record.familyNames.flatMap(forms) where family.count >= 2 {
                    values.names.insert([given, family])
                }
            }
            if let dob = record.dob.flatMap({ CalendarDate(iso8601: $0) }) { values.dobs.insert(dob) }
            values.batches.insert(try row.decode(Int64.self, at: 9))
            if let secret { values.keys.formUnion(ErasureFingerprint.keys(record, secret: secret)) }
        }
        return values
    }

    /// A condition on `quarantined_rows q` for rows that are probably this child's: the raw line
    /// holds one of its NHS numbers or UPNs (ignoring spaces and dashes), or both of a given and
    /// family name of one record (ignoring case, spaces, hyphens, apostrophes and dots) together
    /// with, either, one of its dates of birth in a usual format or a batch that also held one of
    /// its records. Returns the SQL and its parameters, numbered from `first`.
    func quarantineCondition(first: Int) -> (sql: String, parameters: [any PostgresEncodable]) {
        let p = (0..<6).map { "$\(first + $0)" }
        let sql = """
            (EXISTS (SELECT 1 FROM unnest(\(p[0])::text[]) n WHERE strpos(regexp_replace(q.raw_line, '[ -]', '', 'g'), n) > 0)
             OR EXISTS (SELECT 1 FROM unnest(\(p[1])::text[]) u WHERE strpos(upper(regexp_replace(q.raw_line, '[ -]', '', 'g')), u) > 0)
             OR (EXISTS (SELECT 1 FROM unnest(\(p[2])::text[], \(p[3])::text[]) AS nm (g, f)
                         CROSS JOIN LATERAL (SELECT regexp_replace(lower(q.raw_line), '[ \t''’.-]+', '', 'g') AS line) r
                         WHERE strpos(r.line, nm.g) > 0 AND strpos(r.line, nm.f) > 0)
                 AND (q.batch_id = ANY(\(p[4])::bigint[])
                      OR EXISTS (SELECT 1 FROM unnest(\(p[5])::text[]) d WHERE strpos(q.raw_line, d) > 0))))
            """
        let names = names.sorted { $0.joined() < $1.joined() }
        var dobTexts: [String] = []
        for dob in dobs.sorted() {
            let dd = dob.day < 10 ? "0\(dob.day)" : "\(dob.day)"
            let mm = dob.month < 10 ? "0\(dob.month)" : "\(dob.month)"
            dobTexts += [
                dob.iso8601, "\(dd)/\(mm)/\(dob.year)", "\(dob.day)/\(dob.month)/\(dob.year)", "\(dob.year)\(mm)\(dd)",
            ]
        }
        return (
            sql,
            [
                nhsNumbers.sorted(), upns.sorted(), names.map { $0[0] }, names.map { $0[1] },
                batches.sorted().map { Int($0) },
                dobTexts,
            ]
        )
    }
}

/// What an erasure did: ids and counts only.
public struct ErasureReport: Sendable, CustomStringConvertible {
    public var askedFor = ""
    public var childID = ""
    /// Every id that meant this child (merged ids included); all retired now.
    public var childIDs: [String] = []
    public var records = 0
    public var tombstoneID: Int64 = 0
    /// Hashes in the tombstone; 0 means a re-sent record of this child cannot be recognised.
    public var tombstoneKeys = 0
    public var quarantinedRowsRedacted = 0
    public var deleted: [String: Int] = [:]
    /// Export files already delivered to outreach teams that named the child (team, file): the
    /// database cannot reach them; the teams must be told.
    public var deliveredExports: [(team: String, file: String)] = []
    /// Partner files the child's records were loaded from (feed, file name): copies kept outside the
    /// database (a drop folder's processed/, a partner's own outbox) still hold the child's rows.
    public var sourceFiles: [(feed: String, file: String)] = []

    public var description: String {
        var text =
            "erased \(childID)" + (askedFor != childID ? " (asked for \(askedFor))" : "")
            + ": \(records) source records and everything derived from them; ids \(childIDs.joined(separator: ", ")) retired; "
            + "tombstone \(tombstoneID) with \(tombstoneKeys) keyed hashes"
        if tombstoneKeys == 0 {
            text +=
                "\n  warning: the child's records had no NHS number, UPN or date of birth: a re-sent record cannot be recognised"
        }
        if quarantinedRowsRedacted > 0 { text += "\n  quarantined rows redacted: \(quarantinedRowsRedacted)" }
        for (table, n) in deleted.sorted(by: { $0.key < $1.key }) { text += "\n  \(table): \(n)" }
        for source in sourceFiles {
            text +=
                "\n  loaded from \(source.feed) file \(source.file): delete or redact archived copies (e.g. the feed's processed/ folder)"
        }
        for export in deliveredExports {
            text +=
                "\n  already delivered to team \(export.team) in \(export.file): ask the team to delete the child's details"
        }
        return text
    }
}

/// A row the loader held back because it matched a tombstone.
public struct HeldRow: Sendable {
    public var quarantineID: Int64
    public var batchID: Int64
    public var feed: String
    public var sourceName: String
    public var lineNumber: Int
    public var tombstoneID: Int64?
}

/// Erasure (UK GDPR Art 17) and its tombstones.
///
/// `erase` removes a child's personal data from every table that holds it, in one transaction
/// under `PipelineLocks`:
/// - the child's source records (every record assigned to the child or to an id merged into it,
///   and any unassigned record with the same valid NHS number or UPN), and everything derived
///   from them (`RecordRemoval`): indicators, flag evidence (a flag left with none is deleted),
///   family links, memberships and membership history, record links, review pairs and
///   decisions, blocking keys, child assignments;
/// - the raw text of quarantined rows that are probably the child's (see `SubjectValues`);
/// - the child's id from what outreach teams were sent (`outreach_flag_export`).
/// What stays: the retired child ids and their mint/merge history (random ids, not personal data
/// on their own), the access audit (ids and reasons: the legal record of who looked), aggregate
/// name-frequency counts of the match model, and a tombstone: who erased, when and why, and keyed
/// hashes of the identifiers (`ErasureFingerprint`) so that a re-sent file is held
/// ("erased subject: needs a decision") instead of silently bringing the child back.
public struct Erasure {
    let connection: PostgresConnection

    public init(connection: PostgresConnection) { self.connection = connection }

    public func erase(child asked: String, reason: String) throws -> ErasureReport {
        guard AccessLog.isAcceptable(reason: reason) else { throw PrivacyError("an erasure needs a reason") }
        return try connection.transaction { connection in
            try PipelineLocks.lockAll(connection)
            var report = ErasureReport()
            report.askedFor = asked.uppercased()
            guard
                let resolved = try connection.query(
                    "SELECT resolves_to FROM child_id_resolution WHERE child_id = $1", [report.askedFor]
                ).first
            else { throw PrivacyError("no child \(report.askedFor)") }
            report.childID = try resolved.decode(String.self, at: 0)
            report.childIDs = try connection.query(
                "SELECT child_id FROM child_id_resolution WHERE resolves_to = $1 ORDER BY child_id", [report.childID]
            ).map { try $0.decode(String.self, at: 0) }

            try RecordRemoval.createScratch(connection, children: true)
            try connection.execute("INSERT INTO privacy_children SELECT unnest($1::text[])", [report.childIDs])
            try connection.execute(
                "INSERT INTO privacy_records SELECT record_id FROM child_records WHERE child_id IN (SELECT child_id FROM privacy_children)"
            )
            // The same child's records that no child holds yet (loaded, not yet resolved).
            try connection.execute(
                """
                INSERT INTO privacy_records
                SELECT sr.id FROM source_records sr
                WHERE sr.subject = 'child' AND NOT EXISTS (SELECT 1 FROM child_records cr WHERE cr.record_id = sr.id)
                  AND (sr.nhs_number IN (SELECT nhs_number FROM source_records WHERE id IN (SELECT id FROM privacy_records))
                       OR sr.upn IN (SELECT upn FROM source_records WHERE id IN (SELECT id FROM privacy_records)))
                ON CONFLICT DO NOTHING
                """)
            let recordIDs = try connection.query("SELECT id FROM privacy_records ORDER BY id").map {
                try $0.decode(Int64.self, at: 0)
            }
            report.records = recordIDs.count
            if recordIDs.isEmpty {
                let erasedBefore = try connection.execute(
                    "SELECT EXISTS (SELECT 1 FROM erasure_tombstones WHERE child_id = ANY($1::text[]))",
                    [report.childIDs]
                ).scalar(Bool.self)
                throw PrivacyError(
                    erasedBefore
                        ? "\(report.childID) was erased before: no records left"
                        : "\(report.childID) holds no source records")
            }
            let subject = try SubjectValues.read(
                connection, recordIDs: recordIDs, secret: try ErasureTombstones.secret(connection))

            report.sourceFiles = try connection.query(
                """
                SELECT DISTINCT b.feed, b.source_name FROM feed_batches b
                WHERE b.id IN (SELECT batch_id FROM source_records WHERE id IN (SELECT id FROM privacy_records)) ORDER BY 1, 2
                """
            ).map { (try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1)) }
            report.deliveredExports = try connection.query(
                """
                SELECT DISTINCT team, coalesce(export_file, '') FROM outreach_flag_export
                WHERE child_ids && $1::text[] ORDER BY 1, 2
                """, [report.childIDs]
            ).map { (try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1)) }

            report.tombstoneID = try connection.execute(
                "INSERT INTO erasure_tombstones (child_id, records, os_user, reason) VALUES ($1, $2, $3, $4) RETURNING id",
                [report.childID, recordIDs.count, AccessLog.osUser, reason]
            ).scalar(Int64.self)
            let keys = subject.keys.sorted { ($0.kind, $0.digest) < ($1.kind, $1.digest) }
            try connection.execute(
                """
                INSERT INTO erasure_tombstone_keys (tombstone_id, kind, digest)
                SELECT $1, k, d FROM unnest($2::text[], $3::text[]) AS t (k, d) ON CONFLICT DO NOTHING
                """, [report.tombstoneID, keys.map(\.kind), keys.map(\.digest)])
            report.tombstoneKeys = keys.count
            try AccessLog.record(
                connection, action: "erase", subjects: report.childIDs + ["tombstone:\(report.tombstoneID)"],
                reason: reason)

            let (condition, parameters) = subject.quarantineCondition(first: 1)
            report.quarantinedRowsRedacted = try connection.execute(
                "UPDATE quarantined_rows q SET raw_line = '[erased]' WHERE q.raw_line <> '[erased]' AND \(condition)",
                parameters
            ).affectedRows
            report.deleted = try RecordRemoval.remove(connection, children: true)
            return report
        }
    }

    /// A person decided an erased child may come back (the erasure was a mistake, or there is a new
    /// lawful reason to hold their data): later files load normally. Rows already held stay in
    /// quarantine without their content; the partner re-sends them.
    public func lift(tombstone: Int64, reason: String) throws {
        guard AccessLog.isAcceptable(reason: reason) else { throw PrivacyError("lifting a tombstone needs a reason") }
        try connection.transaction { connection in
            guard
                let row = try connection.query(
                    """
                    UPDATE erasure_tombstones SET lifted_at = now(), lifted_by = session_user, lift_reason = $2
                    WHERE id = $1 AND lifted_at IS NULL RETURNING child_id
                    """, [tombstone, reason]
                ).first
            else { throw PrivacyError("no active tombstone \(tombstone)") }
            try connection.execute("DELETE FROM erasure_tombstone_keys WHERE tombstone_id = $1", [tombstone])
            try AccessLog.record(
                connection, action: "erase_lift",
                subjects: ["tombstone:\(tombstone)", try row.decode(String.self, at: 0)],
                reason: reason)
        }
    }

    /// Rows held in quarantine because they matched a tombstone (ids and places only).
    public func held() throws -> [HeldRow] {
        try connection.query(
            """
            SELECT q.id, q.batch_id, b.feed, b.source_name, q.line_number, substring(q.reason FROM 'tombstone ([0-9]+)')::bigint
            FROM quarantined_rows q JOIN feed_batches b ON b.id = q.batch_id
            WHERE q.reason LIKE $1 || '%' ORDER BY q.id
            """, [ErasureTombstones.heldReasonPrefix]
        ).map {
            HeldRow(
                quarantineID: try $0.decode(Int64.self, at: 0), batchID: try $0.decode(Int64.self, at: 1),
                feed: try $0.decode(String.self, at: 2), sourceName: try $0.decode(String.self, at: 3),
                lineNumber: try $0.decode(Int.self, at: 4), tombstoneID: try $0.decode(Int64?.self, at: 5))
        }
    }
}
