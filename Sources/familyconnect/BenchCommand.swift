import Feeds
import Foundation
import Identifiers
import Postgres
import Resolution
import Synth

/// Benchmarks print figures; they are run by hand (release build), never as timed unit tests.
enum BenchCommand: Command {
    static let name = "bench"
    static let summary = "Measure speed and memory: 'ingest' (a generated feed file vs psql \\copy), 'resolve' (full and incremental)."
    static let synopsis = "ingest [--rows N] | resolve [--children N] [--increment N]  [--database CONNINFO]"
    static let options = DatabaseOptions.specs + [
        SchemaLocation.spec,
        .value("rows", "N", "Rows in the generated feed file (default 1000000)."),
        .value("keep", "DIR", "Keep the generated file in DIR instead of a temporary folder."),
        .value("children", "N", "resolve: children in the synthetic population (default 370000, about 1M records)."),
        .value("increment", "N", "resolve: school rows held back and linked incrementally afterwards (default 10000)."),
        .flag("full-again", "resolve: then a second full run, which must move no record (the full run equals the incremental one)."),
    ]

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        switch arguments.positionals.first {
        case "ingest": return try ingest(arguments)
        case "resolve": return try resolve(arguments)
        case "copy": return try copy(arguments)
        default: throw UsageError(description: "expected 'bench ingest', 'bench resolve' or 'bench copy'")
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

    static func ingest(_ arguments: ParsedArguments) throws -> Int32 {
        let rows = try arguments.integer("rows", default: 1_000_000, range: 1...50_000_000)
        let folder = arguments.value("keep") ?? NSTemporaryDirectory() + "fc-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let file = folder + "/school_attendance.csv"
        Console.print("bench ingest: generating \(rows) school attendance rows …")
        _ = try SyntheticFeedWriter.writeSingleFeed(kind: .schoolAttendance, rows: rows, seed: 42, to: URL(fileURLWithPath: file))
        let bytes = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.intValue ?? 0
        let definitions = try FeedDefinition.loadAll(directory: SchemaLocation.directory(arguments) + "/feeds")
        guard let definition = definitions.first(where: { $0.kind == .schoolAttendance }) else {
            throw UsageError(description: "no school_attendance feed definition found")
        }
        let scratch = try scratchDatabase(arguments, migrate: true)
        defer {
            _ = try? scratch.admin.execute("DROP DATABASE IF EXISTS \(scratch.name) WITH (FORCE)")
            if arguments.value("keep") == nil { try? FileManager.default.removeItem(atPath: folder) }
        }

        // Peak memory of the load alone: reset the high-water mark after generating the file.
        Memory.resetPeak()
        let connection = try PostgresConnection.connect(scratch.conninfo)
        let started = Date()
        let outcome = try FeedLoader(definition: definition, today: SynthConfig.defaultAsOf).load(path: file, connection: connection)
        let seconds = Date().timeIntervalSince(started)
        let peak = Memory.peakResidentBytes()
        guard case .loaded(let report) = outcome else { throw UsageError(description: "the file was not loaded") }

        // The same file through psql \copy into a bare all-text table, in the same run.
        let columns = FeedKind.schoolAttendance.columns.enumerated().map { "c\($0.offset) text" }.joined(separator: ", ")
        try connection.execute("CREATE TABLE bare_copy (\(columns))")
        let psql = Process()
        psql.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        psql.arguments = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", scratch.conninfo, "-c",
                          "\\copy bare_copy FROM '\(file)' WITH (FORMAT csv, HEADER true)"]
        let psqlStarted = Date()
        try psql.run()
        psql.waitUntilExit()
        let psqlSeconds = Date().timeIntervalSince(psqlStarted)
        guard psql.terminationStatus == 0 else { throw UsageError(description: "psql \\copy failed") }
        let psqlRows = try connection.execute("SELECT count(*) FROM bare_copy").scalar(Int.self)

        // The same file through the reader and normaliser alone, to show where the time goes.
        let cpuStarted = Date()
        let cpuRows = try FeedLoader(definition: definition, today: SynthConfig.defaultAsOf).normaliseOnly(path: file)
        let cpuSeconds = Date().timeIntervalSince(cpuStarted)
        Console.print("read + validate + normalise only (no database): \(cpuRows) rows in \(String(format: "%.2f", cpuSeconds)) s")
        let ours = Double(report.rowsRead) / seconds
        let theirs = Double(psqlRows) / psqlSeconds
        Console.print(
            """
            file:            \(rows) rows, \(bytes / 1_048_576) MiB
            familyconnect:   \(report.rowsLoaded) loaded + \(report.rowsQuarantined) quarantined in \(String(format: "%.2f", seconds)) s \
            = \(Int(ours)) rows/s (validate, normalise, SHA-256, COPY into source_records, one transaction)
            peak memory:     \(peak / 1_048_576) MiB (resident high-water mark during the load)
            psql \\copy:      \(psqlRows) rows in \(String(format: "%.2f", psqlSeconds)) s = \(Int(theirs)) rows/s (bare all-text table)
            ratio:           \(String(format: "%.2f", ours / theirs)) of the \\copy rate (target ≥ 0.50), peak memory target < 300 MiB
            """)
        return 0
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
