import Daemon
import Feeds
import Foundation
import Identifiers
import Postgres
import Resolution
import Synth

/// `bench cycle`: the service's whole daily cycle on a synthetic county in a fresh database, then the
/// next day's batch through every stage, with the cost of each stage.
extension BenchCommand {
    /// The next day's batch, as a share of the first day's rows.
    static let nextDayShare = 0.01

    /// The counts each stage's line shows (the stage returns more; these say what it did).
    static let shownCounts: [String: [String]] = [
        "synth": ["feed_rows", "children"],
        "ingest": ["files", "rows_read", "rows_loaded", "rows_quarantined"],
        "resolve": ["records", "pairs_compared", "children", "minted", "merged", "records_moved"],
        "families": [
            "families", "minted", "joined", "moved", "merged", "incremental", "changed_members", "members_regrouped",
            "scope_ms", "load_ms", "group_ms", "store_ms", "indicators_beside_ms", "indicators_beside_failed",
        ],
        "flags": [
            "records", "active", "added", "updated", "withdrawn", "indicators_ms", "families", "families_evaluated",
            "raised",
            "evidence_attached", "flags_ms", "teams_beside_assigned", "teams_beside_failed",
        ],
        "export": ["files", "flags_exported"],
    ]

    static func cycle(_ arguments: ParsedArguments) throws -> Int32 {
        let children = try arguments.integer("children", default: 370_000, range: 50...5_000_000)
        let folder = arguments.value("keep") ?? NSTemporaryDirectory() + "fc-bench-cycle-\(getpid())"
        let schemas = SchemaLocation.directory(arguments)
        let definitions = try FeedDefinition.loadAll(directory: schemas + "/feeds")
        // The synthetic extracts are as of SynthConfig.defaultAsOf (a whole school year: about 2.7 records
        // a child, 1M records at the default size); the stages run as the service would, today and then
        // tomorrow, on batches committed today — never after the day the run is about.
        let dayOneAsOf = CalendarDate.today()
        let scratch = try scratchDatabase(arguments, migrate: true)
        defer {
            _ = try? scratch.admin.execute("DROP DATABASE IF EXISTS \(scratch.name) WITH (FORCE)")
            if arguments.value("keep") == nil { try? FileManager.default.removeItem(atPath: folder) }
        }
        let connection = try PostgresConnection.connect(scratch.conninfo)
        let meter = StageMeter(server: ServerCPU(connection: connection))
        let paths = OutreachPaths(rules: schemas + "/rules", outbox: folder + "/outbox")
        Console.print(
            "bench cycle: \(children) children; stages as the service runs them, on one connection (on a next "
                + "day a second refreshes the indicators beside the families and assigns teams beside the flag rules); "
                + (meter.server == nil
                    ? "server CPU not readable here (db n/a)" : "db = the PostgreSQL server's processes")
                + "; peak = this process's VmHWM, reset at each stage's start")

        var figures: [StageFigures] = []
        func report(_ stage: StageFigures) {
            figures.append(stage)
            Console.print(stage.line(showing: shownCounts[stage.stage] ?? []))
            if stage.stage == "resolve" { Console.print(phaseLine(stage.counts)) }
        }
        var batch = NextDayBatch.Counts()
        report(
            try meter.measure(day: "day 1", stage: "synth") {
                let summary = try SyntheticFeedWriter.write(
                    config: SynthConfig(children: children, seed: 42), to: URL(fileURLWithPath: folder + "/synth"))
                batch = try NextDayBatch.split(
                    source: folder + "/synth", dayOne: folder + "/day-one", nextDay: folder + "/next-day",
                    share: nextDayShare)
                return ["feed_rows": summary.totalFeedRows, "children": summary.children]
            })
        Console.print(
            "next-day batch: \(batch.nextDayTotal) rows = \(batch.newRows) rows of \(batch.newChildren) new children ("
                + FeedKind.allCases.map { "\($0.stem) \(batch.newChildRows[$0] ?? 0)" }.joined(separator: ", ")
                + ") + \(batch.changedRows) changed school rows (\(batch.changedAttendance) corrected attendance, "
                + "\(batch.changedAddress) new address); day one has \(batch.dayOneTotal) rows")

        let days: [(name: String, files: (FeedKind) -> String?, asOf: CalendarDate)] = [
            ("day 1", { folder + "/day-one/" + $0.fileName }, dayOneAsOf),
            (
                "next day",
                { kind in
                    let path = folder + "/next-day/" + NextDayBatch.nextDayFileName(kind)
                    return FileManager.default.fileExists(atPath: path) ? path : nil
                }, dayOneAsOf.adding(days: 1)
            ),
        ]
        for day in days {
            let stages =
                try dropFiles(day.files, into: folder + "/drop", definitions: definitions)
                + [
                    ResolveStage(), FamiliesStage(paths: paths, asOf: day.asOf),
                    FlagsStage(paths: paths, asOf: day.asOf),
                    ExportStage(paths: paths, asOf: day.asOf),
                ] as [any CycleStage]
            let ingest = stages.prefix { $0.name == "ingest" }
            report(
                try meter.measure(day: day.name, stage: "ingest") {
                    try ingest.reduce(into: [String: Int]()) { counts, stage in
                        counts.merge(try stage.run(connection)) { $0 + $1 }
                    }
                })
            for stage in stages.dropFirst(ingest.count) {
                report(try meter.measure(day: day.name, stage: stage.name) { try stage.run(connection) })
            }
            let stagesOfDay = figures.filter { $0.day == day.name && $0.stage != "synth" }
            let wall = stagesOfDay.map(\.wallSeconds).reduce(0, +)
            let cpu = stagesOfDay.map(\.totalCPUSeconds).reduce(0, +)
            Console.print(
                StageFigures.label(day.name, "cycle")
                    + String(
                        format:
                            "wall %7.2f s  cpu %6.2f s (app + db)  cores busy %3.0f%% of 2  peak %5d MiB (highest stage)",
                        wall, cpu, wall > 0 ? cpu / wall / 2 * 100 : 0,
                        (stagesOfDay.map(\.peakBytes).max() ?? 0) / 1_048_576))
        }
        // Not ru_maxrss: on Linux it is the same high-water mark, so the resets above clear it too.
        Console.print(
            "process peak over the whole run (highest stage VmHWM): \((figures.map(\.peakBytes).max() ?? 0) / 1_048_576) MiB"
        )
        return 0
    }

    /// Resolve's phases (its `_ms` counts), slowest first: where the stage's time went.
    static func phaseLine(_ counts: [String: Int]) -> String {
        let phases = counts.filter { $0.key.hasSuffix("_ms") }.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
        return "           phases: " + phases.map { "\($0.key.dropLast(3)) \($0.value)" }.joined(separator: ", ")
            + " (ms)"
    }

    /// One ingest stage per feed with a file for the day, each reading its own drop folder, as the
    /// service's drop-folder feeds do; the file is moved into the folder first (already settled).
    private static func dropFiles(
        _ file: (FeedKind) -> String?, into drop: String, definitions: [FeedDefinition]
    ) throws -> [any CycleStage] {
        var stages: [any CycleStage] = []
        for kind in FeedKind.allCases {
            guard let path = file(kind) else { continue }
            guard let definition = definitions.first(where: { $0.name == kind.stem }) else {
                throw UsageError(description: "no feed definition for \(kind.stem)")
            }
            let folder = drop + "/" + kind.stem
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try FileManager.default.moveItem(atPath: path, toPath: folder + "/" + (path as NSString).lastPathComponent)
            var drop = DropFolder(path: folder, pattern: "*.csv")
            drop.settleSeconds = 0
            stages.append(IngestStage(definition: definition, folder: drop, logger: Logger(minimum: .warning)))
        }
        return stages
    }
}
