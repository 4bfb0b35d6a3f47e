import Digest
import Foundation

/// One numbered SQL file from `schemas/migrations/` (`0001_foundation.sql`).
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String
    /// SHA-256 of the file's bytes, hex.
    public let checksum: String
}

/// What `Migrator.migrate` did.
public struct MigrationReport: Sendable {
    public var applied: [Migration] = []
    public var alreadyApplied: Int = 0
    /// Versions recorded in the database that this binary does not know (applied by a newer release).
    public var unknownInDatabase: [Int] = []
}

/// Applies numbered SQL files in order, each in its own transaction, recording each with its
/// checksum in `schema_migrations`. A file changed after it was applied is refused: a migration
/// that ran is history, and a new change needs a new number.
public struct Migrator {
    /// Serialises concurrent migrators (two daemons starting at once) on one database.
    static let lockKey: Int64 = 0x6663_6d69_6772  // "fcmigr"

    public let migrations: [Migration]

    public init(migrations: [Migration]) throws(PostgresError) {
        let sorted = migrations.sorted { $0.version < $1.version }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.version == next.version {
            throw PostgresError(
                .migration, message: "two migrations share version \(next.version)",
                context: "\(previous.name), \(next.name)")
        }
        self.migrations = sorted
    }

    /// Reads every `NNNN_name.sql` in `directory`. Any other `.sql` name is an error, so a
    /// misnamed file is not silently skipped.
    public init(directory: String) throws(PostgresError) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw PostgresError(.migration, message: "cannot read the migrations folder", context: directory)
        }
        var found: [Migration] = []
        for name in names.sorted() where name.hasSuffix(".sql") {
            let stem = name.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]), version > 0
            else {
                throw PostgresError(
                    .migration, message: "a migration file must be named NNNN_description.sql", context: name)
            }
            let path = (directory as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw PostgresError(.migration, message: "cannot read the migration file", context: path)
            }
            guard let sql = String(data: data, encoding: .utf8) else {
                throw PostgresError(.migration, message: "the migration file is not UTF-8", context: path)
            }
            found.append(
                Migration(version: version, name: name, sql: sql, checksum: SHA256.hex(of: SHA256.hash(Array(data)))))
        }
        try self.init(migrations: found)
    }

    /// Applies what is not yet applied. Running it again is a no-op.
    @discardableResult
    public func migrate(_ connection: PostgresConnection) throws -> MigrationReport {
        try connection.advisoryLock(Self.lockKey)
        defer { _ = try? connection.advisoryUnlock(Self.lockKey) }
        try connection.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        var applied: [Int: (name: String, checksum: String)] = [:]
        for row in try connection.query("SELECT version, name, checksum FROM schema_migrations") {
            applied[try row.decode(Int.self, at: 0)] = (
                try row.decode(String.self, at: 1), try row.decode(String.self, at: 2)
            )
        }
        var report = MigrationReport()
        for migration in migrations {
            if let existing = applied[migration.version] {
                guard existing.checksum == migration.checksum else {
                    throw PostgresError(
                        .migration,
                        message: "migration \(migration.version) was changed after it was applied (checksum "
                            + "\(existing.checksum.prefix(12))… in the database, \(migration.checksum.prefix(12))… on disk);"
                            + " add a new migration instead of editing an applied one",
                        context: migration.name)
                }
                report.alreadyApplied += 1
                continue
            }
            try connection.transaction { connection in
                do {
                    try connection.executeScript(migration.sql)
                } catch var error as PostgresError {
                    error.context = migration.name
                    error.code = .migration
                    throw error
                }
                try connection.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    [migration.version, migration.name, migration.checksum])
            }
            report.applied.append(migration)
        }
        let known = Set(migrations.map(\.version))
        if let unknown = applied.keys.sorted().first(where: { !known.contains($0) }) {
            // Not fatal: a newer binary may have applied it. Said so the operator knows.
            report.unknownInDatabase.append(unknown)
        }
        return report
    }

    /// Versions on disk that the database has not applied; the daemon refuses to start while any remain.
    public func pending(_ connection: PostgresConnection) throws(PostgresError) -> [Migration] {
        let exists = try connection.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").scalar(Bool.self)
        guard exists else { return migrations }
        let done = Set(
            try connection.query("SELECT version FROM schema_migrations").map { row throws(PostgresError) in
                try row.decode(Int.self, at: 0)
            })
        return migrations.filter { !done.contains($0.version) }
    }
}
