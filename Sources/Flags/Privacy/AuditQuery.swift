import Foundation
import Identifiers
import Postgres

/// One entry of the access audit.
public struct AuditEntry: Sendable {
    public var id: Int64
    public var at: Date
    public var databaseRole: String
    public var osUser: String?
    public var action: String
    public var subjects: [String]
    public var reason: String
}

/// Reads the access audit (`familyconnect audit`): the auditor's and the data protection
/// officer's question "who looked at this child, when and why".
public enum AuditQuery {
    /// Newest first. `subject` matches an entry naming it; a child id also matches entries naming
    /// any id merged into the same child, or one of that child's source records (`record:N`).
    public static func entries(
        _ connection: PostgresConnection, since: CalendarDate? = nil, subject: String? = nil, role: String? = nil,
        action: String? = nil, limit: Int = 200
    ) throws -> [AuditEntry] {
        var subjects: [String] = []
        if let subject {
            let asked = subject.uppercased()
            subjects = [subject, asked]
            if let resolved = try connection.query(
                "SELECT resolves_to FROM child_id_resolution WHERE child_id = $1", [asked]
            ).first {
                let child = try resolved.decode(String.self, at: 0)
                subjects += try connection.query(
                    """
                    SELECT child_id FROM child_id_resolution WHERE resolves_to = $1
                    UNION SELECT 'record:' || record_id FROM child_records
                          WHERE child_id IN (SELECT child_id FROM child_id_resolution WHERE resolves_to = $1)
                    """, [child]
                ).map { try $0.decode(String.self, at: 0) }
            }
        }
        return try connection.query(
            """
            SELECT id, at, database_role, os_user, action, array_to_json(subject_ids)::text, reason
            FROM access_audit
            WHERE ($1::date IS NULL OR at >= $1::date)
              AND ($2::text[] IS NULL OR subject_ids && $2::text[])
              AND ($3::text IS NULL OR database_role = $3 OR database_role LIKE $3 || ' as %')
              AND ($4::text IS NULL OR action = $4)
            ORDER BY id DESC LIMIT $5
            """,
            [since?.iso8601, subject == nil ? nil : subjects, role, action, limit]
        ).map { row in
            let json = try row.decode(String.self, at: 5)
            let list = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String] ?? []
            return AuditEntry(
                id: try row.decode(Int64.self, at: 0), at: try row.decode(Date.self, at: 1),
                databaseRole: try row.decode(String.self, at: 2), osUser: try row.decode(String?.self, at: 3),
                action: try row.decode(String.self, at: 4), subjects: list, reason: try row.decode(String.self, at: 6))
        }
    }
}
