import Foundation
import Postgres

/// One side of a pair, as a data officer sees it.
public struct RecordView: Sendable {
    public var id: Int64
    public var feed: String
    public var batch: Int64
    public var recordNumber: Int
    public var childID: String?
    public var fields: [(label: String, value: String)]
}

/// A pair in the clerical review queue.
public struct ReviewPair: Sendable {
    public var id: Int64
    public var recordA: Int64
    public var recordB: Int64
    public var weight: Double
    /// The chance the two records are one child: the model's prior and this pair's evidence.
    public var matchProbability: Double?
    public var reason: String
    public var status: String
    public var createdAt: Date
    /// (field, level, weight) in model order.
    public var comparison: [(field: String, level: String, weight: Double)]
}

public struct ReviewError: Error, CustomStringConvertible {
    public let description: String
}

/// The clerical review queue: list pairs, show one side by side, decide. A decision is stored
/// with who and when, overrides the model in every later run, is audited, and takes effect at
/// once: the two children involved are re-clustered.
public struct ReviewQueue {
    let connection: PostgresConnection

    public init(connection: PostgresConnection) { self.connection = connection }

    public func list(limit: Int = 50) throws -> [ReviewPair] {
        try connection.query(
            """
            SELECT id, record_a, record_b, weight, reason, status, created_at, comparison::text, match_probability
            FROM review_pairs WHERE status = 'open' ORDER BY match_probability DESC NULLS LAST, weight DESC, id LIMIT $1
            """, [limit]
        ).map(Self.pair)
    }

    public func openCount() throws -> Int {
        try connection.execute("SELECT count(*) FROM review_pairs WHERE status = 'open'").scalar(Int.self)
    }

    public func pair(_ id: Int64) throws -> ReviewPair {
        guard
            let row = try connection.query(
                """
                SELECT id, record_a, record_b, weight, reason, status, created_at, comparison::text, match_probability
                FROM review_pairs WHERE id = $1
                """,
                [id]
            ).first
        else { throw ReviewError(description: "no review pair \(id)") }
        return try Self.pair(row)
    }

    /// Both records of a pair, for `review show`; audited.
    public func show(_ id: Int64, reason: String) throws -> (pair: ReviewPair, a: RecordView, b: RecordView) {
        let pair = try pair(id)
        try AccessAudit.record(
            connection, action: "review_show",
            subjects: ["pair:\(id)", "record:\(pair.recordA)", "record:\(pair.recordB)"],
            reason: reason)
        return (
            pair, try RecordViews.load(connection, id: pair.recordA), try RecordViews.load(connection, id: pair.recordB)
        )
    }

    /// Stores a decision and re-clusters the children involved. Returns the resolution report, or
    /// nil when this role may not write the match results (a data officer): the decision is then
    /// pending, and the service applies it at its next resolution run (`applyPendingDecisions`).
    @discardableResult
    public func decide(
        _ id: Int64, sameChild: Bool, reason: String, settings: ResolutionSettings = ResolutionSettings()
    )
        throws -> ResolutionReport?
    {
        let pair = try pair(id)
        guard pair.status == "open" || pair.status == "superseded" else {
            throw ReviewError(description: "pair \(id) was already decided (\(pair.status))")
        }
        try connection.transaction { connection in
            try connection.execute(
                """
                INSERT INTO review_decisions (record_a, record_b, decision, decided_by, os_user, reason)
                VALUES ($1, $2, $3, current_user, $4, $5)
                ON CONFLICT (record_a, record_b) DO UPDATE SET decision = EXCLUDED.decision,
                    decided_by = EXCLUDED.decided_by, os_user = EXCLUDED.os_user, decided_at = now(), reason = EXCLUDED.reason,
                    applied_at = NULL
                """,
                [
                    pair.recordA, pair.recordB, sameChild ? "same_child" : "different_children", AccessAudit.osUser,
                    reason,
                ])
            try connection.execute(
                "UPDATE review_pairs SET status = $2 WHERE id = $1", [id, sameChild ? "accepted" : "rejected"])
            try AccessAudit.record(
                connection, action: sameChild ? "review_accept" : "review_reject",
                subjects: ["pair:\(id)", "record:\(pair.recordA)", "record:\(pair.recordB)"], reason: reason)
        }
        let mayResolve = try connection.execute(
            """
            SELECT bool_and(has_table_privilege(t, p))
            FROM (VALUES ('child_records', 'INSERT'), ('child_records', 'UPDATE'), ('record_links', 'INSERT'), ('record_links', 'DELETE'),
                         ('children', 'INSERT'), ('children', 'UPDATE'), ('resolution_runs', 'INSERT'), ('review_pairs', 'INSERT'),
                         ('record_blocking_keys', 'INSERT')) AS needed (t, p)
            """
        ).scalar(Bool.self)
        guard mayResolve else { return nil }
        let report = try Resolver(connection: connection, settings: settings).reresolve(recordIDs: [
            pair.recordA, pair.recordB,
        ])
        try Resolver.markApplied(connection, recordIDs: [pair.recordA, pair.recordB])
        return report
    }

    static func pair(_ row: PostgresRow) throws -> ReviewPair {
        ReviewPair(
            id: try row.decode(Int64.self, at: 0), recordA: try row.decode(Int64.self, at: 1),
            recordB: try row.decode(Int64.self, at: 2), weight: try row.decode(Double.self, at: 3),
            matchProbability: try row.decode(Double?.self, at: 8),
            reason: try row.decode(String.self, at: 4), status: try row.decode(String.self, at: 5),
            createdAt: try row.decode(Date.self, at: 6),
            comparison: ComparisonEvidence.parse(try row.decode(String.self, at: 7)))
    }
}

/// Reads the `comparison` JSON stored with links and review pairs.
public enum ComparisonEvidence {
    public static func parse(_ json: String) -> [(field: String, level: String, weight: Double)] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: [String: Any]] else {
            return []
        }
        return (MatchField.allCases.map(\.name) + ["name_frequency"]).compactMap { name in
            guard let entry = object[name] else { return nil }
            return (name, entry["level"] as? String ?? "?", (entry["weight"] as? NSNumber)?.doubleValue ?? 0)
        }
    }
}

/// Loads a source record's fields for display.
public enum RecordViews {
    public static func load(_ connection: PostgresConnection, id: Int64) throws -> RecordView {
        guard
            let row = try connection.query(
                """
                SELECT sr.id, sr.feed, sr.batch_id, sr.record_number, cr.child_id,
                       coalesce(sr.nhs_number, nullif('invalid: ' || sr.nhs_number_raw, 'invalid: ')),
                       coalesce(sr.upn, nullif('invalid: ' || sr.upn_raw, 'invalid: ')),
                       sr.given_name, sr.preferred_given_name, sr.family_name, sr.preferred_family_name,
                       to_char(sr.dob, 'YYYY-MM-DD'), sr.approximate_age::text, sr.sex,
                       concat_ws(', ', sr.address_line1, sr.address_line2, sr.town), coalesce(sr.postcode, sr.postcode_raw),
                       sr.carer_nhs_number, concat_ws(' ', sr.carer_given_name, sr.carer_family_name)
                FROM source_records sr LEFT JOIN child_records cr ON cr.record_id = sr.id
                WHERE sr.id = $1
                """, [id]
            ).first
        else { throw ReviewError(description: "no source record \(id)") }
        let labels = [
            "NHS number", "UPN", "given name", "preferred given name", "family name", "preferred family name",
            "date of birth", "approximate age", "sex", "address", "postcode", "carer NHS number", "carer name",
        ]
        var fields: [(String, String)] = []
        for (offset, label) in labels.enumerated() {
            let value = row.values[5 + offset] ?? ""
            fields.append((label, value.isEmpty ? "—" : value))
        }
        return RecordView(
            id: try row.decode(Int64.self, at: 0), feed: try row.decode(String.self, at: 1),
            batch: try row.decode(Int64.self, at: 2), recordNumber: try row.decode(Int.self, at: 3),
            childID: try row.decode(String?.self, at: 4), fields: fields)
    }
}
