import Feeds
import Foundation
import Identifiers
import Postgres
import Resolution
import Synth

/// Benchmarks print figures; they are run by hand (release build), never as timed unit tests.
enum BenchCommand: Command {
    static let name = "bench"
    static let summary = "Measure speed and memory: 'ingest' (a generated feed file vs plain COPY of the same rows), 'resolve' (full and incremental), 'families' (grouping, then again unchanged), 'cycle' (every stage, then the next day)."
    static let synopsis =
        "ingest [--rows N] | resolve [--children N] [--increment N] | families [--children N] [--noise P] [--resolved] | cycle [--children N]  [--database CONNINFO]"
    static let options = DatabaseOptions.specs + [
        SchemaLocation.spec,
        .value("rows", "N", "Rows in the generated feed file (default 1000000)."),
        .value("keep", "DIR", "Keep the generated file in DIR instead of a temporary folder."),
        .value("file", "CSV", "ingest: load this school attendance file instead of generating one."),
        .value("children", "N", "resolve, families, cycle: children in the synthetic population (default 370000, about 1M records)."),
        .value("increment", "N", "resolve: school rows held back and linked incrementally afterwards (default 10000)."),
    ] + FamiliesBench.options

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        switch arguments.positionals.first {
        case "ingest": return try ingest(arguments)
        case "resolve": return try resolve(arguments)
        case "copy": return try copy(arguments)
        case "families": return try FamiliesBench.run(arguments)
        case "cycle": return try cycle(arguments)
        default: throw UsageError(description: "expected 'bench ingest', 'bench resolve', 'bench families', 'bench cycle' or 'bench copy'")
        }
    }

    /// Makes a throwaway database on the server named by --database (a role that may CREATE DATABASE).
    static func scratchDatabase(_ arguments: ParsedArguments, migrate: Bool) throws -> (name: String, conninfo: String, admin: PostgresConnection) {
        let adminInfo = try DatabaseOptions.connectionString(arguments)
        let admin = try PostgresConnection.connect(adminInfo)
        let name = "fc_bench_\(getpid())"
        try admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        try admin.execute("CREATE DATABASE \(name)")
        let conninfo = adminInfo + " dbname=\(name)"
        if migrate {
            let connection = try PostgresConnection.connect(conninfo)
            try Migrator(directory: SchemaLocation.directory(arguments) + "/migrations").migrate(connection)
        }
        return (name, conninfo, admin)
    }
}

extension BenchCommand {
    /// The Postgres module's COPY path alone: rows of ten short text fields into an unindexed table.
    static func copy(_ arguments: ParsedArguments) throws -> Int32 {
        let rows = try arguments.integer("rows", default: 1_000_000, range: 1...50_000_000)
        let scratch = try scratchDatabase(arguments, migrate: false)
        defer { _ = try? scratch.admin.execute("DROP DATABASE IF EXISTS \(scratch.name) WITH (FORCE)") }
        let connection = try PostgresConnection.connect(scratch.conninfo)
        try connection.execute("CREATE TABLE copy_bench (a text, b text, c text, d text, e text, f text, g text, h text, i text, j text)")
        let fields = ["A926233615002", "Olivia", "Kaur", "2011-08-09", "Female", "28 Coppice Way", "King's Lynn", "PE33 8ZX", "146", nil]
        let started = Date()
        let loaded = try connection.copyIn("COPY copy_bench FROM STDIN") { writer in
            for _ in 0..<rows { try writer.writeRow(fields) }
        }
        let seconds = Date().timeIntervalSince(started)
        Console.print("bench copy: \(loaded) rows of 10 fields in \(String(format: "%.2f", seconds)) s = \(Int(Double(loaded) / seconds)) rows/s")
        return 0
    }

    static func resolve(_ arguments: ParsedArguments) throws -> Int32 {
        let children = try arguments.integer("children", default: 370_000, range: 100...5_000_000)
        let increment = try arguments.integer("increment", default: 10_000, range: 0...1_000_000)
        let folder = arguments.value("keep") ?? NSTemporaryDirectory() + "fc-bench-resolve-\(getpid())"
        Console.print("bench resolve: generating \(children) children …")
        let summary = try SyntheticFeedWriter.write(config: SynthConfig(children: children, seed: 42), to: URL(fileURLWithPath: folder))
        // Hold back the last `increment` school rows as a later batch.
        let schoolPath = folder + "/" + FeedKind.schoolAttendance.fileName
        let lines = try String(contentsOfFile: schoolPath, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: true)
        let keep = max(1, lines.count - increment)
        try (lines[0..<keep].joined(separator: "\n") + "\n").write(toFile: schoolPath, atomically: true, encoding: .utf8)
        let laterPath = folder + "/school_attendance_later.csv"
        try ([String(lines[0])] + lines[keep...].map(String.init)).joined(separator: "\n").appending("\n")
            .write(toFile: laterPath, atomically: true, encoding: .utf8)

        let definitions = try FeedDefinition.loadAll(directory: SchemaLocation.directory(arguments) + "/feeds")
        let scratch = try scratchDatabase(arguments, migrate: true)
        defer {
            _ = try? scratch.admin.execute("DROP DATABASE IF EXISTS \(scratch.name) WITH (FORCE)")
            if arguments.value("keep") == nil { try? FileManager.default.removeItem(atPath: folder) }
        }
        let connection = try PostgresConnection.connect(scratch.conninfo)
        let loadStarted = Date()
        for kind in FeedKind.allCases {
            guard let definition = definitions.first(where: { $0.name == kind.stem }) else { continue }
            _ = try FeedLoader(definition: definition, today: SynthConfig.defaultAsOf).load(
                path: folder + "/" + kind.fileName, connection: connection)
        }
        let records = try connection.execute("SELECT count(*) FROM source_records WHERE subject = 'child'").scalar(Int.self)
        Console.print("loaded \(records) child records (\(summary.totalFeedRows) feed rows) in \(String(format: "%.1f", Date().timeIntervalSince(loadStarted))) s")

        Memory.resetPeak()
        let full = try Resolver(connection: connection).resolveFull()
        let fullPeak = Memory.peakResidentBytes()
        let school = definitions.first { $0.kind == .schoolAttendance }!
        _ = try FeedLoader(definition: school, today: SynthConfig.defaultAsOf).load(path: laterPath, connection: connection)
        Memory.resetPeak()
        let incremental = try Resolver(connection: connection).resolveIncremental()
        let incrementalPeak = Memory.peakResidentBytes()
        Console.print(
            """
            full resolution:        \(full.records) records, \(full.pairsCompared) pairs compared, \(full.children) children, \
            wall \(String(format: "%.1f", full.seconds)) s (target ≤ 120 s), peak memory \(fullPeak / 1_048_576) MiB (target ≤ 2048 MiB)
              phases: \(full.phases.map { "\($0.name) \(String(format: "%.1f", $0.seconds)) s" }.joined(separator: ", "))
              links \(full.linksDeterministic) by identifier + \(full.linksProbabilistic) probabilistic; review queue \(full.reviewPairs)
            incremental resolution: \(incremental.records) records re-examined for \(lines.count - keep) new rows, \
            \(incremental.pairsCompared) pairs, wall \(String(format: "%.2f", incremental.seconds)) s (target ≤ 5 s), peak memory \(incrementalPeak / 1_048_576) MiB
            """)
        return 0
    }
}

enum Memory {
    /// Resets VmHWM for this process (Linux: writing 5 to clear_refs).
    static func resetPeak() {
        if let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
            handle.write(Data("5".utf8))
            try? handle.close()
        }
    }

    /// VmHWM from /proc/self/status, in bytes.
    static func peakResidentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let digits = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            return digits * 1024
        }
        return 0
    }
}
