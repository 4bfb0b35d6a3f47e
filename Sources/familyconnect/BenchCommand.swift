import Feeds
import Foundation
import Identifiers
import Postgres
import Resolution
import Synth

/// Benchmarks print figures; they are run by hand (release build), never as timed unit tests.
enum BenchCommand: Command {
    static let name = "bench"
    static let summary =
        "Measure speed and memory: 'ingest' (a generated feed file vs plain COPY of the same rows), 'resolve' (full and incremental), 'families' (grouping, then again unchanged), 'cycle' (every stage, then the next day)."
    static let synopsis =
        "ingest [--rows N | --file CSV [--kind KIND]] [--normaliser-only] | resolve [--children N] [--increment N] | families [--children N] [--noise P] [--resolved] | cycle [--children N]  [--database CONNINFO]"
    static let options =
        DatabaseOptions.specs + [
            SchemaLocation.spec,
            .value("rows", "N", "Rows in the generated feed file (default 1000000)."),
            .value("keep", "DIR", "Keep the generated file in DIR instead of a temporary folder."),
            .value("file", "CSV", "ingest: load this feed file instead of generating school attendance rows."),
            .value(
                "kind", "KIND",
                "ingest: the feed kind of --file (school_attendance, health_visiting, fsm or police; default school_attendance)."
            ),
            .flag(
                "normaliser-only",
                "ingest: time only the normaliser (no database), three times over, and report the fastest; on a shared machine the fastest is the one least disturbed."
            ),
            .value(
                "children", "N",
                "resolve, families, cycle: children in the synthetic population (default 370000, about 1M records)."),
            .value(
                "increment", "N", "resolve: school rows held back and linked incrementally afterwards (default 10000)."),
            .flag(
                "full-again",
                "resolve: then a second full run, which must move no record (the full run equals the incremental one)."),
        ] + FamiliesBench.options

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        switch arguments.positionals.first {
        case "ingest": return try ingest(arguments)
        case "resolve": return try resolve(arguments)
        case "copy": return try copy(arguments)
        case "families": return try FamiliesBench.run(arguments)
        case "cycle": return try cycle(arguments)
        default:
            throw UsageError(
                description: "expected 'bench ingest', 'bench resolve', 'bench families', 'bench cycle' or 'bench copy'"
            )
        }
    }

    /// Loads each feed that synth wrote into `folder`, as of synth's extract date.
    static func loadSyntheticFeeds(
        in folder: String, definitions: [FeedDefinition], connection: PostgresConnection
    ) throws {
        for kind in FeedKind.allCases {
            guard let definition = definitions.first(where: { $0.name == kind.stem }) else { continue }
            _ = try FeedLoader(definition: definition, today: SynthConfig.defaultAsOf).load(
                path: folder + "/" + kind.fileName, connection: connection)
        }
    }

    /// Makes a throwaway database on the server named by --database (a role that may CREATE DATABASE).
    static func scratchDatabase(
        _ arguments: ParsedArguments, migrate: Bool
    ) throws -> (name: String, conninfo: String, admin: PostgresConnection) {
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
        try connection.execute(
            "CREATE TABLE copy_bench (a text, b text, c text, d text, e text, f text, g text, h text, i text, j text)")
        let fields = [
            "A926233615002", "Olivia", "Kaur", "2011-08-09", "Female", "28 Coppice Way", "King's Lynn", "PE33 8ZX",
            "146", nil,
        ]
        let started = Date()
        let loaded = try connection.copyIn("COPY copy_bench FROM STDIN") { writer in
            for _ in 0..<rows { try writer.writeRow(fields) }
        }
        let seconds = Date().timeIntervalSince(started)
        Console.print(
            "bench copy: \(loaded) rows of 10 fields in \(String(format: "%.2f", seconds)) s = \(Int(Double(loaded) / seconds)) rows/s"
        )
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
