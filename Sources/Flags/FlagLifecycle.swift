import Foundation
import Identifiers
import Postgres

/// Why a lifecycle step was refused. Carries ids and statuses only.
public struct FlagLifecycleError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// The steps people take on a flag: an outreach team acknowledges it, then closes it with an outcome.
/// new → exported (by the exporter) → acknowledged → closed. Every step is a `flag_events` row with
/// the database role and the person's name.
public enum FlagLifecycle {
    /// Marks an exported flag as received by its team.
    public static func acknowledge(flagID: String, by person: String, connection: PostgresConnection) throws {
        let flagID = flagID.uppercased()
        try connection.transaction { connection in
            let status = try currentStatus(flagID, connection)
            guard status == "exported" else {
                throw FlagLifecycleError(
                    description: "flag \(flagID) is \(status); only an exported flag can be acknowledged")
            }
            try connection.execute(
                "UPDATE flags SET status = 'acknowledged', acknowledged_at = now(), acknowledged_by = $2 WHERE flag_id = $1",
                [flagID, person])
            try connection.execute(
                "INSERT INTO flag_events (flag_id, event, by_name) VALUES ($1, 'acknowledged', $2)", [flagID, person])
        }
    }

    /// Closes an open flag with its outcome (e.g. "engaged with early help", "declined", "no further action").
    /// `on` is the closing date the cool-off counts from.
    public static func close(
        flagID: String, outcome: String, on date: CalendarDate = .today(), by person: String,
        connection: PostgresConnection
    ) throws {
        let outcome = outcome.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !outcome.isEmpty else { throw FlagLifecycleError(description: "a flag is closed with an outcome") }
        let flagID = flagID.uppercased()
        try connection.transaction { connection in
            let status = try currentStatus(flagID, connection)
            guard status != "closed" else { throw FlagLifecycleError(description: "flag \(flagID) is already closed") }
            try connection.execute(
                """
                UPDATE flags SET status = 'closed', closed_on = $2::date, closed_at = now(), closed_by = $3, close_outcome = $4
                WHERE flag_id = $1
                """, [flagID, date.iso8601, person, outcome])
            try connection.execute(
                "INSERT INTO flag_events (flag_id, event, by_name, details) VALUES ($1, 'closed', $2, $3::jsonb)",
                [flagID, person, #"{"from_status":"\#(status)"}"#])
        }
    }

    private static func currentStatus(_ flagID: String, _ connection: PostgresConnection) throws -> String {
        guard OpaqueID(flagID, prefix: "G") != nil else {
            throw FlagLifecycleError(description: "'\(flagID)' is not a flag id (G…)")
        }
        guard let row = try connection.query("SELECT status FROM flags WHERE flag_id = $1 FOR UPDATE", [flagID]).first
        else {
            throw FlagLifecycleError(description: "no flag \(flagID)")
        }
        return try row.decode(String.self, at: 0)
    }
}
