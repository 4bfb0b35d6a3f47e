import Feeds
import Foundation
import Identifiers
import Postgres

/// One feed's retention period, as configured in its definition (`retention_years`, `retention_from`).
public struct RetentionPeriod: Sendable, Equatable {
    public var feed: String
    public var years: Int
    public var from: RetentionBasis

    public init(feed: String, years: Int, from: RetentionBasis = .birth) {
        self.feed = feed
        self.years = years
        self.from = from
    }

    /// The periods of the definitions that set one; a feed without `retention_years` is never purged.
    public static func of(_ definitions: [FeedDefinition]) -> [RetentionPeriod] {
        definitions.compactMap { definition in
            definition.retentionYears.map {
                RetentionPeriod(feed: definition.name, years: $0, from: definition.retentionFrom)
            }
        }
    }
}

/// What a purge did (or, in a dry run, would do): counts only.
public struct PurgeReport: Sendable, CustomStringConvertible {
    public var dryRun = false
    public var asOf = ""
    /// The `purge_runs` row (nil for a dry run).
    public var runID: Int64?
    public var periods: [RetentionPeriod] = []
    /// Feeds with records in the database but no retention period: nothing of theirs is purged.
    public var feedsWithoutPeriod: [String] = []
    /// Source records past their period.
    public var expired = 0
    /// Of those, kept because an open flag still rests on them (its evidence, or the family's home).
    public var heldForOpenFlags = 0
    /// Rows deleted (or changed) per table.
    public var deleted: [String: Int] = [:]

    public var counts: [String: Int] {
        var counts = ["expired": expired, "held_for_open_flags": heldForOpenFlags, "dry_run": dryRun ? 1 : 0]
        for (table, n) in deleted { counts["deleted_" + table.replacingOccurrences(of: " ", with: "_")] = n }
        return counts
    }

    public var description: String {
        var text =
            "purge\(dryRun ? " (dry run: nothing deleted)" : "") as of \(asOf): \(expired) source records past their period"
        if heldForOpenFlags > 0 { text += ", \(heldForOpenFlags) kept for open flags" }
        if let runID { text += "; logged as purge run \(runID)" }
        for period in periods.sorted(by: { $0.feed < $1.feed }) {
            text +=
                "\n  \(period.feed): \(period.years) years from \(period.from == .birth ? "date of birth" : "the record's date")"
        }
        for feed in feedsWithoutPeriod {
            text += "\n  \(feed): no retention period set (retention_years): nothing purged"
        }
        for (table, n) in deleted.sorted(by: { $0.key < $1.key }) {
            text += "\n  \(table): \(n) \(dryRun ? "would go" : "deleted")"
        }
        return text
    }
}

/// Deletes what is past its retention period, and everything derived from it, in one transaction:
///
/// - source records whose period (per feed: `retention_years` from the child's date of birth or
///   from the record's date; see migration 0011) ended on or before `asOf`, except those an open
///   flag still needs (evidence of an open flag; the home address of a family with an open flag);
/// - with them, their indicators, family links and memberships, record links, review pairs and
///   decisions, blocking keys and child assignments (`RecordRemoval`); children and families left
///   with nothing are retired;
/// - closed flags whose evidence has all gone with it (a closed flag lives as long as its evidence;
///   an open flag keeps its evidence whatever its age);
/// - quarantined rows of batches loaded more than the feed's period ago (they have no date of
///   birth to count from).
///
/// It records what it deleted, as counts per table, in the append-only `purge_runs` log. The daemon
/// calls it once a day (`RetentionStage`); `familyconnect purge [--dry-run]` runs it by hand.
public struct Purger {
    let connection: PostgresConnection
    public let periods: [RetentionPeriod]
    public let asOf: CalendarDate

    public init(connection: PostgresConnection, periods: [RetentionPeriod], asOf: CalendarDate = .today()) {
        self.connection = connection
        self.periods = periods
        self.asOf = asOf
    }

    public init(connection: PostgresConnection, definitions: [FeedDefinition], asOf: CalendarDate = .today()) {
        self.init(connection: connection, periods: RetentionPeriod.of(definitions), asOf: asOf)
    }

    private struct DryRun: Error {
        let report: PurgeReport
    }

    public func run(dryRun: Bool = false, startedBy: String = "command") throws -> PurgeReport {
        do {
            return try connection.transaction { connection in
                try PipelineLocks.lockAll(connection)
                var report = PurgeReport()
                report.dryRun = dryRun
                report.asOf = asOf.iso8601
                report.periods = periods
                let feeds = periods.map(\.feed)
                let years = periods.map(\.years)
                let bases = periods.map(\.from.rawValue)
                report.feedsWithoutPeriod = try connection.query(
                    "SELECT DISTINCT feed FROM feed_batches WHERE NOT (feed = ANY($1::text[])) ORDER BY feed", [feeds]
                ).map { try $0.decode(String.self, at: 0) }

                try RecordRemoval.createScratch(connection, children: false)
                report.expired = try connection.execute(
                    """
                    INSERT INTO privacy_records (id)
                    SELECT sr.id
                    FROM source_records sr
                    JOIN feed_batches b ON b.id = sr.batch_id
                    JOIN unnest($1::text[], $2::int[], $3::text[]) AS p (feed, years, basis) ON p.feed = sr.feed
                    WHERE (record_retention_start(p.basis, sr.kind, sr.facts, sr.dob, sr.approximate_age, b.committed_at)
                           + make_interval(years => p.years))::date <= $4::date
                    """, [feeds, years, bases, asOf.iso8601]
                ).affectedRows
                var held: [String: Int] = [:]
                held["evidence of an open flag"] = try connection.execute(
                    """
                    DELETE FROM privacy_records p WHERE EXISTS (
                        SELECT 1 FROM indicators i JOIN flag_evidence e ON e.indicator_id = i.id
                        JOIN flags f ON f.flag_id = e.flag_id
                        WHERE i.record_id = p.id AND f.status <> 'closed')
                    """
                ).affectedRows
                held["home of a family with an open flag"] = try connection.execute(
                    """
                    DELETE FROM privacy_records p WHERE EXISTS (
                        SELECT 1 FROM families fa JOIN flags f ON f.family_id = fa.family_id AND f.status <> 'closed'
                        WHERE fa.address_record_id = p.id)
                    """
                ).affectedRows
                report.heldForOpenFlags = held.values.reduce(0, +)
                var deleted = try RecordRemoval.remove(connection, children: false)
                let quarantined = try connection.execute(
                    """
                    DELETE FROM quarantined_rows q USING feed_batches b, unnest($1::text[], $2::int[]) AS p (feed, years)
                    WHERE q.batch_id = b.id AND p.feed = b.feed
                      AND (b.committed_at::date + make_interval(years => p.years))::date <= $3::date
                    """, [feeds, years, asOf.iso8601]
                ).affectedRows
                if quarantined > 0 { deleted["quarantined_rows"] = quarantined }
                report.deleted = deleted
                if dryRun { throw DryRun(report: report) }

                var periodsJSON: [String: Any] = [:]
                for period in periods {
                    periodsJSON[period.feed] = ["years": period.years, "from": period.from.rawValue]
                }
                report.runID = try connection.execute(
                    """
                    INSERT INTO purge_runs (as_of, os_user, started_by, periods, deleted, held)
                    VALUES ($1::date, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb) RETURNING id
                    """,
                    [
                        asOf.iso8601, AccessLog.osUser, startedBy, try Self.json(periodsJSON), try Self.json(deleted),
                        try Self.json(held.filter { $0.value > 0 }),
                    ]
                ).scalar(Int64.self)
                return report
            }
        } catch let dry as DryRun {
            return dry.report
        }
    }

    static func json(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// For a daily schedule: whether a purge has already run on `day` (UTC).
    public static func hasRun(on day: CalendarDate, _ connection: PostgresConnection) throws -> Bool {
        try connection.execute("SELECT EXISTS (SELECT 1 FROM purge_runs WHERE at::date = $1::date)", [day.iso8601])
            .scalar(Bool.self)
    }
}
