import Foundation
import Postgres

/// Records who looked at personal data, which ids, when and why, in the append-only `access_audit`,
/// through `access_audit_record()` (migration 0017): the database stamps the login and the time.
public enum AccessAudit {
    /// The operating-system user running the command (for a data officer's own account, or the service's).
    public static var osUser: String {
        if let name = getpwuid(geteuid())?.pointee.pw_name { return String(cString: name) }
        return ProcessInfo.processInfo.environment["USER"] ?? "unknown"
    }

    public static func record(
        _ connection: PostgresConnection, action: String, subjects: [String], reason: String
    ) throws {
        try connection.execute(
            "SELECT access_audit_record($1, $2, $3::text[], $4)",
            [osUser, action, subjects, reason])
    }
}
