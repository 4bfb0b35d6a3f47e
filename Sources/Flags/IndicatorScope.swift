import Families
import Foundation
import Identifiers
import Postgres

/// Which records an indicator refresh measures. A record's indicators depend only on the record (its
/// facts never change once loaded), the child it belongs to, the day its batch was committed compared
/// with the as-of date, the definitions, and — for an overdue review — whether any record of the same
/// child (or expectant mother) shows the review completed. So after the first refresh only these are
/// read again (`indicator_measured` keeps what was measured, and for which child):
/// - records linked to a child, moved to another or unlinked since the last refresh, and expectant
///   parents' records loaded since (noted by triggers on `child_records` and `source_records`,
///   migration 0060: no comparison of every record with what was measured);
/// - records whose batch was committed after the earlier of the last and this as-of date (the
///   reference day of such a record moves with the as-of date);
/// - every health visiting record of a child or mother one of those health visiting records
///   belongs to, or belonged to (`indicator_measured` keeps the child of health visiting records
///   only: no other record's measured child is ever read back).
/// When the definitions differ from those of the stored state (or there is none), everything is
/// measured again. Either way the indicators written are those a refresh of everything would write.
enum IndicatorScope {
    case everything
    /// The records to measure again, in the temporary table `indicator_dirty`.
    case changed(records: Int)

    /// Everything the measured state depends on in the definitions, as text (set members sorted).
    static func fingerprint(_ rules: RuleSet) -> String {
        rules.indicators.map { definition in
            let kind: String
            switch definition.kind {
            case .attendanceBelow(let tenths, let minimum): kind = "attendance_below \(tenths) \(minimum)"
            case .fsmEligible: kind = "fsm_eligible"
            case .reviewStatus(let statuses, let types): kind = "review_status \(statuses.sorted()) \(types.sorted())"
            case .reviewOverdue(let grace, let types): kind = "review_overdue \(grace) \(types.sorted())"
            case .policeIncident(let types, let present):
                kind = "police_incident \(types.sorted()) \(String(describing: present))"
            }
            return [
                definition.name, String(definition.version), String(definition.outcome.rawValue), definition.label,
                kind,
                definition.description,
            ].joined(separator: "\u{1F}")
        }.joined(separator: "\u{1E}")
    }

    /// The feed kinds whose measured child the scope reads back (the reviews of the child a health
    /// visiting record belonged to). `indicator_measured` holds rows of these kinds only: at 1M
    /// records, writing every record's row was most of a first refresh's writes.
    static let childReadBack: Set<String> = ["health_visiting"]

    /// Decides the scope, and for `.changed` fills `indicator_dirty` (dropped at commit).
    static func decide(
        _ connection: PostgresConnection, rules: RuleSet, kinds: [String], asOf: CalendarDate
    ) throws -> IndicatorScope {
        guard let state = try connection.query("SELECT definitions, as_of FROM indicator_state").first,
            try state.decode(String.self, at: 0) == fingerprint(rules)
        else {
            try connection.execute("DELETE FROM flag_changes WHERE reader = 'indicators'")
            return .everything
        }
        let since = min(DayNumber.from(try state.decode(PostgresDate.self, at: 1)), asOf.dayNumber)
        try connection.execute("CREATE TEMP TABLE indicator_dirty (record_id bigint PRIMARY KEY) ON COMMIT DROP")
        // Records linked, moved or unlinked since (and new expectant parents' records), as noted by
        // the triggers of migration 0060; and records whose reference day moves with the as-of date.
        try connection.execute(
            """
            WITH taken AS (DELETE FROM flag_changes WHERE reader = 'indicators' RETURNING record_id)
            INSERT INTO indicator_dirty
            SELECT sr.id FROM source_records sr WHERE sr.id IN (SELECT record_id FROM taken) AND sr.kind = ANY($1::text[])
            UNION
            SELECT sr.id FROM source_records sr
            WHERE sr.batch_id IN (SELECT id FROM feed_batches WHERE committed_at::date > $2::date) AND sr.kind = ANY($1::text[])
            """, [kinds, DayNumber.postgresDate(since).description])
        try connection.execute("ANALYZE indicator_dirty")
        // The reviews of the children and mothers those records are about, before and now. The
        // children and mothers are collected into arrays first (init plans), so each is looked up
        // through its index: written as `IN (SELECT …)`, with statistics the day-one bulk write left
        // stale, the planner hash-joined every health visiting record (0.78 s at 1M records for a
        // next day of a few thousand).
        try connection.execute(
            """
            WITH touched AS MATERIALIZED (
                SELECT cr.child_id, m.child_id AS measured_child, sr.carer_nhs_number
                FROM indicator_dirty d JOIN source_records sr ON sr.id = d.record_id
                LEFT JOIN child_records cr ON cr.record_id = sr.id
                LEFT JOIN indicator_measured m ON m.record_id = sr.id
                WHERE sr.kind = 'health_visiting'),
            children AS (SELECT child_id FROM touched WHERE child_id IS NOT NULL
                         UNION SELECT measured_child FROM touched WHERE measured_child IS NOT NULL),
            mothers AS (SELECT DISTINCT carer_nhs_number FROM touched WHERE carer_nhs_number IS NOT NULL)
            INSERT INTO indicator_dirty
            SELECT cr.record_id FROM child_records cr JOIN source_records sr ON sr.id = cr.record_id
            WHERE cr.child_id = ANY(ARRAY(SELECT child_id FROM children)) AND sr.kind = 'health_visiting'
            UNION
            SELECT sr.id FROM source_records sr
            WHERE sr.subject = 'expectant_parent' AND sr.kind = 'health_visiting'
              AND sr.carer_nhs_number = ANY(ARRAY(SELECT carer_nhs_number FROM mothers))
              AND NOT EXISTS (SELECT 1 FROM child_records cr WHERE cr.record_id = sr.id)
            ON CONFLICT DO NOTHING
            """)
        try connection.execute("ANALYZE indicator_dirty")
        return .changed(records: try connection.execute("SELECT count(*) FROM indicator_dirty").scalar(Int.self))
    }

    var isEverything: Bool {
        if case .everything = self { return true }
        return false
    }

    /// The SQL condition limiting a query's `alias.column` (a record id) to the scope.
    func condition(_ column: String) -> String {
        switch self {
        case .everything: return "true"
        case .changed: return "\(column) IN (SELECT record_id FROM indicator_dirty)"
        }
    }

    /// Records what was measured: for each record measured (in scope and linked) of a kind in
    /// `childReadBack`, the child it was measured for; then the definitions, the as-of date and the indicators in force by name (so
    /// the next refresh counts them without reading every indicator).
    func remember(
        _ measured: [(record: Int64, child: String?)], inForce: [String: Int], rules: RuleSet, asOf: CalendarDate,
        _ connection: PostgresConnection
    )
        throws
    {
        switch self {
        case .everything: try connection.execute("DELETE FROM indicator_measured")
        case .changed:
            try connection.execute(
                "DELETE FROM indicator_measured WHERE record_id IN (SELECT record_id FROM indicator_dirty)")
        }
        if !measured.isEmpty {
            try connection.copyIn("COPY indicator_measured (record_id, child_id) FROM STDIN") { writer in
                // Field by field: no array per row (a first refresh writes one row per record).
                for item in measured {
                    try writer.appendField(String(item.record))
                    try writer.appendField(item.child)
                    try writer.endRow()
                }
            }
        }
        try connection.execute(
            """
            INSERT INTO indicator_state (definitions, as_of, in_force) VALUES ($1, $2::date, $3::jsonb)
            ON CONFLICT (singleton) DO UPDATE SET definitions = excluded.definitions, as_of = excluded.as_of, in_force = excluded.in_force
            WHERE (indicator_state.definitions, indicator_state.as_of, indicator_state.in_force)
                IS DISTINCT FROM (excluded.definitions, excluded.as_of, excluded.in_force)
            """,
            [
                Self.fingerprint(rules), asOf.iso8601,
                "{" + inForce.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",")
                    + "}",
            ])
    }
}
