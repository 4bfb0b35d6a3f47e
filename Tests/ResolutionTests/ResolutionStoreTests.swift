import Foundation
import Postgres
import PostgresTestSupport
import Testing

@testable import Resolution

/// What the store writes when records change between full runs, and what it leaves alone.
@Suite("Resolution store")
struct ResolutionStoreTests {
    static func rows(_ connection: PostgresConnection, _ sql: String) throws -> [String] {
        try connection.query(sql).map { try $0.decode(String.self, at: 0) }
    }

    static let linksSQL =
        "SELECT record_a || '-' || record_b || ' ' || method || ' ' || weight || ' ' || record_link_comparison(l)::text || ' ' || coalesce(vouched_by::text, '') FROM record_links l ORDER BY 1"
    static let keysSQL = "SELECT key || ':' || record_id FROM record_blocking_keys ORDER BY 1"

    @Test(
        "a full run after a record changed replaces that record's keys and links only, as a fresh run would store them")
    func changedRecordReplacesItsKeys() throws {
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            _ = try ResolverTests.load(
                children: 600, seed: 21, feeds: [.healthVisiting, .schoolAttendance], into: connection)
            let first = try Resolver(connection: connection).resolveFull()
            // The first run wrote every assignment straight into child_records, each with its run.
            #expect(first.recordsMoved == first.records)
            #expect(
                try connection.execute("SELECT count(*) FROM child_records WHERE assigned_by_run = $1", [first.runID])
                    .scalar(Int.self) == first.records)
            // A record that has links: a new family name changes its keys (Soundex rules) and its evidence.
            let changed = try connection.execute(
                """
                SELECT l.record_a FROM record_links l JOIN source_records s ON s.id = l.record_a
                WHERE l.method = 'probabilistic' AND s.family_name IS NOT NULL ORDER BY l.record_a LIMIT 1
                """
            ).scalar(Int64.self)
            let keysBefore = try Self.rows(connection, Self.keysSQL)
            let ownKeysBefore = try Self.rows(
                connection, "SELECT key::text FROM record_blocking_keys WHERE record_id = \(changed) ORDER BY 1")
            try connection.execute(
                "UPDATE source_records SET family_name = 'Quarrington-Vexley' WHERE id = $1", [changed])
            let second = try Resolver(connection: connection).resolveFull()
            let keysAfter = try Self.rows(connection, Self.keysSQL)
            let ownKeysAfter = try Self.rows(
                connection, "SELECT key::text FROM record_blocking_keys WHERE record_id = \(changed) ORDER BY 1")
            #expect(!ownKeysAfter.isEmpty)
            #expect(ownKeysAfter != ownKeysBefore, "the changed record's keys were not replaced")
            // Every other record's keys are as they were.
            let suffix = ":\(changed)"
            #expect(keysBefore.filter { !$0.hasSuffix(suffix) } == keysAfter.filter { !$0.hasSuffix(suffix) })
            // Links not involving the record keep the first run's id: nothing else was rewritten.
            let rewritten = try connection.execute(
                "SELECT count(*) FROM record_links WHERE run_id = $1 AND record_a <> $2 AND record_b <> $2",
                [second.runID, changed]
            ).scalar(Int.self)
            #expect(rewritten == 0, "\(rewritten) links of unchanged records were rewritten")
            #expect(
                try connection.execute("SELECT count(*) FROM record_links WHERE run_id = $1", [first.runID])
                    .scalar(Int.self) > 0)

            // The stored state is what one fresh full run stores from the same records.
            let links = try Self.rows(connection, Self.linksSQL)
            try connection.execute("TRUNCATE record_links, record_blocking_keys, record_blocking_digests")
            _ = try Resolver(connection: connection).resolveFull()
            #expect(try Self.rows(connection, Self.linksSQL) == links)
            #expect(try Self.rows(connection, Self.keysSQL) == keysAfter)
        }
    }

    @Test(
        "links whose evidence digest differs from the evidence a run computes are rewritten with it; the rest are left alone"
    )
    func linksWithoutDigestAreRewrittenOnce() throws {
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            _ = try ResolverTests.load(
                children: 500, seed: 23, feeds: [.healthVisiting, .schoolAttendance], into: connection)
            let first = try Resolver(connection: connection).resolveFull()
            let links = try Self.rows(connection, Self.linksSQL)
            #expect(links.count > 100)
            #expect(
                try connection.execute("SELECT count(*) FROM record_links WHERE evidence_digest IS NULL").scalar(
                    Int.self) == 0)
            // As stored before the digest column (NULL), and as a link whose evidence was written
            // by another model would differ (another digest).
            try connection.execute(
                "UPDATE record_links SET evidence_digest = NULL WHERE (record_a % 5) = 0")
            try connection.execute(
                "UPDATE record_links SET evidence_digest = evidence_digest + 1, levels = NULL WHERE (record_a % 5) = 1"
            )
            let stale = try connection.execute("SELECT count(*) FROM record_links WHERE (record_a % 5) IN (0, 1)")
                .scalar(Int.self)
            #expect(stale > 0)
            let second = try Resolver(connection: connection).resolveFull()
            #expect(second.recordsMoved == 0)
            #expect(try Self.rows(connection, Self.linksSQL) == links, "the rewritten links carry the same evidence")
            #expect(
                try connection.execute("SELECT count(*) FROM record_links WHERE run_id = $1", [second.runID]).scalar(
                    Int.self) == stale)
            #expect(
                try connection.execute("SELECT count(*) FROM record_links WHERE evidence_digest IS NULL").scalar(
                    Int.self) == 0)
            #expect(
                try connection.execute("SELECT count(*) FROM record_links WHERE run_id = $1", [first.runID]).scalar(
                    Int.self)
                    == links.count - stale)
            // A third run finds nothing to write.
            let third = try Resolver(connection: connection).resolveFull()
            #expect(
                try connection.execute("SELECT count(*) FROM record_links WHERE run_id = $1", [third.runID]).scalar(
                    Int.self) == 0)
        }
    }
}
