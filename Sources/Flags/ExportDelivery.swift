import Digest
import Feeds
import Foundation
import Postgres

/// What one delivery run did: counts only.
public struct DeliveryReport: Sendable, CustomStringConvertible {
    public var delivered = 0
    public var failed = 0
    /// Files marked for delivery whose team has no delivery target any more (left in the outbox).
    public var noTarget = 0
    /// Files not tried this run because an earlier file to the same target failed (tried next run).
    public var deferred = 0
    /// Each failure: file id and the error's description (target, code, fixed reason; no secrets).
    public var failures: [(file: Int64, error: String)] = []

    public var counts: [String: Int] {
        [
            "delivered": delivered, "delivery_failed": failed, "delivery_deferred": deferred,
            "delivery_without_target": noTarget,
        ]
    }

    public var description: String {
        var text = "delivery: \(delivered) delivered, \(failed) failed (kept in the outbox, retried on the next run)"
        if deferred > 0 { text += ", \(deferred) left for the next run (their target failed)" }
        if noTarget > 0 { text += ", \(noTarget) whose team no longer has a delivery target" }
        for failure in failures { text += "\n  export file \(failure.file): \(failure.error)" }
        return text
    }
}

/// Delivers export files from the outbox to the teams' HTTPS or SFTP targets, and records each
/// attempt in `export_files` (migration 0014).
///
/// Runs after the export has committed: the file is already whole in the outbox and its flags are
/// in the ledger, so a failed delivery loses nothing and exports nothing again; the next run retries
/// the same file (checked against the SHA-256 the ledger recorded, so a file changed in the outbox is
/// not sent). Each file is delivered in its own transaction holding its row, so two runs never send
/// one file at once and a delivery that succeeded is recorded even if a later one fails.
public final class ExportDelivery {
    let connection: PostgresConnection
    public let teams: TeamDirectory
    public let outbox: String
    let fetcher: RemoteFetcher

    public init(
        connection: PostgresConnection, teams: TeamDirectory, outbox: String, fetcher: RemoteFetcher = RemoteFetcher()
    ) {
        self.connection = connection
        self.teams = teams
        self.outbox = outbox
        self.fetcher = fetcher
    }

    /// Delivers every file marked for delivery and not yet delivered (for one team, if named).
    public func deliverPending(team only: String? = nil) throws -> DeliveryReport {
        var report = DeliveryReport()
        let pending = try connection.query(
            """
            SELECT id, team FROM export_files
            WHERE delivery_target IS NOT NULL AND delivered_at IS NULL AND ($1::text IS NULL OR team = $1)
            ORDER BY id
            """, [only]
        ).map { (try $0.decode(Int64.self, at: 0), try $0.decode(String.self, at: 1)) }
        // A target that failed once this run is not tried again for the other files (a server that is
        // down would otherwise cost every file its full time limits and retries).
        var failedTargets: Set<String> = []
        for (file, team) in pending {
            guard let delivery = teams.team(team)?.delivery else {
                report.noTarget += 1
                continue
            }
            guard !failedTargets.contains(delivery.remote.url) else {
                report.deferred += 1
                continue
            }
            let outcome = try deliver(file: file, delivery: delivery)
            if let failure = outcome.failure {
                report.failed += 1
                report.failures.append((file, failure))
                if outcome.targetFailed { failedTargets.insert(delivery.remote.url) }
            } else {
                report.delivered += 1
            }
        }
        return report
    }

    /// `failure` is nil when delivered (or found delivered by another run), else the recorded error;
    /// `targetFailed` when the server could not be reached or refused (not a problem of this file alone).
    private func deliver(file: Int64, delivery: TeamDirectory.Delivery) throws -> (failure: String?, targetFailed: Bool)
    {
        try connection.transaction { connection in
            guard
                let row = try connection.query(
                    "SELECT file_name, sha256 FROM export_files WHERE id = $1 AND delivered_at IS NULL FOR UPDATE SKIP LOCKED",
                    [file]
                ).first
            else { return (nil, false) }
            let name = try row.decode(String.self, at: 0)
            let expected = try row.decode(String?.self, at: 1)
            let target = RemoteSource.safeTarget(delivery.remote.url)
            var failure: String?
            var targetFailed = false
            let path = (outbox as NSString).appendingPathComponent(name)
            if let data = FileManager.default.contents(atPath: path) {
                let bytes = [UInt8](data)
                if let expected, SHA256.hex(of: SHA256.hash(bytes)) != expected {
                    failure =
                        "deliver \(target) refused: the file in the outbox is not the one the ledger recorded (SHA-256 differs)"
                } else {
                    do throws(FetchError) {
                        try fetcher.upload(bytes, as: name, to: delivery.remote.source, method: delivery.method)
                    } catch {
                        failure = error.description
                        // .upload: this file could not be put in place (a name taken); the server works.
                        targetFailed = error.code != .upload
                    }
                }
            } else {
                failure = "deliver \(target) refused: the file is no longer in the outbox"
            }
            try connection.execute(
                """
                UPDATE export_files SET delivery_attempts = delivery_attempts + 1, delivery_attempted_at = now(),
                    delivery_target = $2, delivery_error = $3, delivered_at = CASE WHEN $3::text IS NULL THEN now() END
                WHERE id = $1
                """, [file, target, failure])
            return (failure, targetFailed)
        }
    }
}
