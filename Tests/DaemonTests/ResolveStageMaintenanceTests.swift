import Feeds
import Foundation
import Postgres
import PostgresTestSupport
import Synth
import Testing

@testable import Daemon

/// The resolve stage analyses the tables a full run filled (migration 0142), so the stages after
/// it plan against the same statistics whenever autovacuum's pass comes; an incremental run leaves
/// them to autovacuum.
@Suite("resolve stage maintenance")
struct ResolveStageMaintenanceTests {
    static let definitions: [FeedDefinition] = try! FeedDefinition.loadAll(
        directory: TestDatabase.schemasDirectory + "/feeds")

    static let filledTables = [
        "child_records", "children", "child_id_events", "record_links", "record_blocking_keys",
        "record_blocking_digests",
    ]

    /// How many times each table was analysed by a statement (autovacuum's passes are counted apart).
    static func manualAnalyses(_ connection: PostgresConnection) throws -> [String: Int] {
        var out: [String: Int] = [:]
        for row in try connection.query(
            "SELECT relname::text, analyze_count::int FROM pg_stat_user_tables WHERE relname = ANY($1::text[])",
            [filledTables])
        {
            out[try row.decode(String.self, at: 0)] = try row.decode(Int.self, at: 1)
        }
        return out
    }

    static func load(_ kinds: [FeedKind], from folder: URL, into connection: PostgresConnection) throws {
        for kind in kinds {
            let definition = definitions.first { $0.name == kind.stem }!
            _ = try FeedLoader(definition: definition, today: SynthConfig.defaultAsOf).load(
                path: folder.appendingPathComponent(kind.fileName).path, connection: connection)
        }
    }

    @Test("a full run analyses the six tables it filled; an incremental run analyses none")
    func fullRunAnalysesWhatItFilled() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fc-stage-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try SyntheticFeedWriter.write(config: SynthConfig(children: 300, seed: 3), to: folder)
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            #expect(
                try Self.manualAnalyses(connection)
                    == Dictionary(uniqueKeysWithValues: Self.filledTables.map { ($0, 0) }))
            try Self.load([.healthVisiting, .schoolAttendance, .fsmEligibility], from: folder, into: connection)
            let first = try ResolveStage().run(connection)
            #expect((first["records"] ?? 0) > 0)
            #expect(
                try Self.manualAnalyses(connection)
                    == Dictionary(uniqueKeysWithValues: Self.filledTables.map { ($0, 1) }))

            try Self.load([.policeNotifications], from: folder, into: connection)
            let next = try ResolveStage().run(connection)
            #expect((next["records"] ?? 0) > 0)
            #expect(
                try Self.manualAnalyses(connection)
                    == Dictionary(uniqueKeysWithValues: Self.filledTables.map { ($0, 1) }))
        }
    }
}
