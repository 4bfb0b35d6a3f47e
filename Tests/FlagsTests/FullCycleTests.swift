import Families
import Feeds
import Foundation
import Identifiers
import Postgres
import PostgresTestSupport
import Resolution
import Synth
import Testing

@testable import Flags

@Suite("The whole cycle on synthetic feeds")
struct FullCycleTests {
    @Test("ingest → resolve → families → indicators → flags → export; the same cycle again raises and exports nothing")
    func rerunChangesNothing() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fc-cycle-\(UUID().uuidString)")
        let outbox = folder.appendingPathComponent("outbox").path
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try SyntheticFeedWriter.write(config: SynthConfig(children: 2000, seed: 3), to: folder)
        let definitions = try FeedDefinition.loadAll(directory: TestDatabase.schemasDirectory + "/feeds")
        let rules = try Cycle.shippedRules()
        let teams = try Cycle.shippedTeams()
        let asOf = SynthConfig.defaultAsOf

        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            func cycle() throws -> (FamilyReport, IndicatorReport, FlagReport, ExportReport) {
                for kind in FeedKind.allCases {
                    let definition = try #require(definitions.first { $0.name == kind.stem })
                    _ = try FeedLoader(definition: definition, today: asOf).load(
                        path: folder.appendingPathComponent(kind.fileName).path, connection: connection)
                }
                _ = try Resolver(connection: connection).resolveIncremental()
                let families = try FamilyGrouper(connection: connection).regroup()
                let indicators = try IndicatorBuilder(connection: connection, rules: rules, asOf: asOf).refresh()
                let flags = try FlagEngine(connection: connection, rules: rules, asOf: asOf, teams: teams).run()
                let export = try Exporter(connection: connection, teams: teams, outbox: outbox, asOf: asOf).export()
                return (families, indicators, flags, export)
            }
            let (families, indicators, flags, export) = try cycle()
            print("[cycle] \(families)\n[cycle] \(indicators)\n[cycle] \(flags)\n[cycle] \(export)")
            #expect(indicators.active > 0 && Set(indicators.byIndicator.keys).count >= 5)
            #expect(flags.raised > 0)
            #expect(export.flagsExported == flags.raised)
            // Every flag names its rule and version and holds evidence from its own family's members.
            #expect(
                try Cycle.count(
                    connection,
                    "SELECT count(*) FROM flags f WHERE NOT EXISTS (SELECT 1 FROM flag_evidence e WHERE e.flag_id = f.flag_id)"
                ) == 0)
            #expect(
                try Cycle.count(
                    connection,
                    """
                    SELECT count(*) FROM flag_evidence e JOIN flags f ON f.flag_id = e.flag_id
                    WHERE e.child_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM family_members m WHERE m.child_id = e.child_id AND m.family_id = f.family_id)
                    """) == 0)
            #expect(
                try Cycle.count(
                    connection, "SELECT count(*) FROM flag_rules r JOIN flags f USING (flag_id) WHERE r.reason = '' ")
                    == 0)
            #expect(try Cycle.count(connection, "SELECT count(*) FROM flags WHERE status = 'exported'") == flags.raised)
            let files = try FileManager.default.contentsOfDirectory(atPath: outbox).sorted()
            // deploy/dev/check-export-libreoffice can check these: keep a copy when asked.
            if let keep = ProcessInfo.processInfo.environment["FAMILYCONNECT_KEEP_EXPORTS"], !keep.isEmpty {
                try FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
                for name in files {
                    try? FileManager.default.removeItem(atPath: keep + "/" + name)
                    try FileManager.default.copyItem(atPath: outbox + "/" + name, toPath: keep + "/" + name)
                }
            }
            var exportedRows = 0
            for name in files { exportedRows += try readCSV(outbox + "/" + name).count - 1 }
            #expect(exportedRows == flags.raised)
            // Views answer.
            #expect(
                try Cycle.count(connection, "SELECT count(*) FROM family_overview WHERE open_flag_id IS NOT NULL")
                    == flags.raised)
            #expect(
                try Cycle.count(connection, "SELECT count(DISTINCT flag_id) FROM flag_evidence_detail") == flags.raised)
            #expect(
                try Cycle.count(connection, "SELECT coalesce(sum(indicators), 0)::int FROM indicator_counts")
                    == indicators.active)

            let ledgers =
                "SELECT (SELECT count(*) FROM family_runs) + (SELECT count(*) FROM indicator_runs) + (SELECT count(*) FROM flag_runs) "
                + "+ (SELECT count(*) FROM export_files) + (SELECT count(*) FROM flag_events) + (SELECT count(*) FROM family_membership_events)"
            let before = try Cycle.count(connection, ledgers)
            let (families2, indicators2, flags2, export2) = try cycle()
            // Nothing to do, so nothing written: not even a run row.
            #expect(!families2.changed && !indicators2.changed && !flags2.changed)
            #expect(try Cycle.count(connection, ledgers) == before)
            print(
                "[cycle again] \(families2)\n[cycle again] \(indicators2)\n[cycle again] \(flags2)\n[cycle again] \(export2)"
            )
            #expect(families2.minted == 0 && families2.moved == 0 && families2.joined == 0 && families2.merged == 0)
            #expect(indicators2.added == 0 && indicators2.withdrawn == 0 && indicators2.updated == 0)
            #expect(flags2.raised == 0 && flags2.evidenceAttached == 0 && flags2.suppressedNew == 0)
            #expect(export2.flagsExported == 0 && export2.files.isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: outbox).sorted() == files)
        }
    }
}
