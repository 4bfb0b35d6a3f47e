import Foundation
import Postgres

/// Writes to the append-only `access_audit` table: who looked at (or changed) personal data,
/// which ids, when and why, through `access_audit_record()` (migration 0017), the only way in:
/// the database stamps the login and the time, so a client cannot claim to be someone else; the
/// operating-system user comes from here.
///
/// (Resolution has its own `AccessAudit` for the review queue; this one serves the modules above
/// Feeds: exports, subject access, erasure and purges.)
public enum AccessLog {
    /// The operating-system user running the command.
    public static var osUser: String {
        if let name = getpwuid(geteuid())?.pointee.pw_name { return String(cString: name) }
        return ProcessInfo.processInfo.environment["USER"] ?? "unknown"
    }

    /// The smallest reason the table accepts.
    public static func isAcceptable(reason: String) -> Bool {
        reason.trimmingCharacters(in: .whitespacesAndNewlines).count >= 3
    }

    /// Records one access. `subjects` are ids only (child, family, flag ids; `record:N`, `pair:N`,
    /// `export_file:N`, `tombstone:N`), never names.
    public static func record(
        _ connection: PostgresConnection, action: String, subjects: [String], reason: String
    ) throws {
        try connection.execute(
            "SELECT access_audit_record($1, $2, $3::text[], $4)",
            [osUser, action, subjects, reason])
    }
}
