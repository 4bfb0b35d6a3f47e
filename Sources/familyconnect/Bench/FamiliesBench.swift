import Families
import Feeds
import Foundation
import Postgres
import Resolution
import Synth

/// `bench families`: family grouping over a county-sized synthetic population (about 1M records by
/// default), then the same grouping again over every record on unchanged data, which must write
/// nothing and change no family id. Timed in the process (wall, and the client's CPU); release builds only.
enum FamiliesBench {
    static let options: [OptionSpec] = [
        .value(
            "noise", "PROFILE",
            "families: the population's noise profile (default harsh: school contacts, flats shared by households)."),
        .flag(
            "resolved",
            "families: group the database named by --database as it is (already ingested and resolved; a dev copy)."),
    ]

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let settings = try GroupingSettings.load(path: SchemaLocation.directory(arguments) + "/rules/families.conf")
        if arguments.has("resolved") {
            // A database already ingested and resolved (a dev copy: its families are regrouped).
            let connection = try PostgresConnection.connect(DatabaseOptions.connectionString(arguments))
            return try measure(connection, settings: settings)
        }
        let children = try arguments.integer("children", default: 430_000, range: 100...5_000_000)
        let profileName = arguments.value("noise") ?? "harsh"
        guard let profile = NoiseProfile.named(profileName) else {
            throw UsageError(description: "unknown --noise '\(profileName)'")
        }
        let folder = arguments.value("keep") ?? NSTemporaryDirectory() + "fc-bench-families-\(getpid())"
        Console.print("bench families: generating \(children) children (\(profile.name) noise) …")
        var config = SynthConfig(children: children, seed: 42)
        config.profile = profile
        let summary = try SyntheticFeedWriter.write(config: config, to: URL(fileURLWithPath: folder))
        let definitions = try FeedDefinition.loadAll(directory: SchemaLocation.directory(arguments) + "/feeds")
        let scratch = try BenchCommand.scratchDatabase(arguments, migrate: true)
        defer {
            _ = try? scratch.admin.execute("DROP DATABASE IF EXISTS \(scratch.name) WITH (FORCE)")
            if arguments.value("keep") == nil { try? FileManager.default.removeItem(atPath: folder) }
        }
        let connection = try PostgresConnection.connect(scratch.conninfo)
        let prepared = Date()
        try BenchCommand.loadSyntheticFeeds(in: folder, definitions: definitions, connection: connection)
        _ = try Resolver(connection: connection).resolveFull()
        Console.print(
            "loaded and resolved \(summary.totalFeedRows) feed rows in \(String(format: "%.1f", Date().timeIntervalSince(prepared))) s"
        )
        return try measure(connection, settings: settings)
    }

    static func measure(_ connection: PostgresConnection, settings: GroupingSettings) throws -> Int32 {
        let records = try connection.execute("SELECT count(*) FROM source_records").scalar(Int.self)
        try connection.execute("VACUUM ANALYZE source_records")
        let server = ServerCPU(connection: connection)
        func timed(_ label: String, everyone: Bool = false) throws -> (FamilyReport, [String: String]) {
            let cpu = CPUTime.now()
            let serverBefore = server?.seconds()
            Memory.resetPeak()
            let report = try FamilyGrouper(connection: connection, settings: settings).regroup(everyone: everyone)
            let used = CPUTime.now() - cpu
            let serverUsed =
                serverBefore.flatMap { before in server?.seconds().map { String(format: "%.1f", $0 - before) } }
                ?? "n/a"
            Console.print(
                "\(label): \(records) records, \(report.children) children and \(report.expectantParents) expectant parents in \(report.families) families; "
                    + "wall \(String(format: "%.1f", report.seconds)) s (target ≤ 20 s), CPU \(String(format: "%.1f", used)) s in this process "
                    + "+ \(serverUsed) s PostgreSQL server, peak memory \(Memory.peakResidentBytes() / 1_048_576) MiB; written: \(report.changed ? "yes" : "nothing")"
            )
            Console.print(
                "  phases: "
                    + report.phases.map { "\($0.name) \(String(format: "%.1f", $0.seconds)) s" }.joined(separator: ", ")
            )
            return (report, try memberships(connection))
        }
        let (_, first) = try timed("families, first run")
        // Every record read again (an incremental run would find nothing noted and read nothing).
        let (again, second) = try timed("families, unchanged data, every record read again", everyone: true)
        let stable = first == second && !again.changed && again.minted == 0 && again.merged == 0 && again.split == 0
        Console.print(
            "re-run on unchanged data: \(stable ? "no family id changed" : "FAMILY IDS CHANGED") (\(first.count) members compared)"
        )
        return stable ? 0 : 1
    }

    /// Member → family id.
    static func memberships(_ connection: PostgresConnection) throws -> [String: String] {
        var out: [String: String] = [:]
        try connection.forEachRow(
            "SELECT coalesce(child_id, 'E' || expectant_record_id), family_id FROM family_members"
        ) { row in
            out[try row.decode(String.self, at: 0)] = try row.decode(String.self, at: 1)
        }
        return out
    }
}

/// This process's user + system CPU seconds.
enum CPUTime {
    static func now() -> Double {
        Double(clock()) / Double(CLOCKS_PER_SEC)
    }
}
