import Feeds
import Foundation
import Identifiers
import Postgres
import Synth

/// `bench ingest`: the loader against the honest limit. In one run, on one generated file:
/// 1. the normaliser alone (read, validate, normalise, encode as COPY text; no database), on one core;
/// 2. the whole load (`FeedLoader.load`: the above, SHA-256, quarantine, quality, ledger, COPY, commit);
/// 3. plain COPY of the same rows, already normalised and encoded, into the same `source_records`
///    (emptied first, the same indexes and triggers), in one transaction: what the server alone costs.
/// `same_table_ratio` is (2)'s rows/s over (3)'s: how close the loader comes to the server's limit.
extension BenchCommand {
    static func ingest(_ arguments: ParsedArguments) throws -> Int32 {
        let rows = try arguments.integer("rows", default: 1_000_000, range: 1...50_000_000)
        let folder = arguments.value("keep") ?? NSTemporaryDirectory() + "fc-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        // Every path out of this function, `--normaliser-only` included, removes the generated folder.
        defer { if arguments.value("keep") == nil { try? FileManager.default.removeItem(atPath: folder) } }
        let file = arguments.value("file") ?? folder + "/school_attendance.csv"
        if arguments.value("file") == nil {
            Console.print("bench ingest: generating \(rows) school attendance rows …")
            _ = try SyntheticFeedWriter.writeSingleFeed(
                kind: .schoolAttendance, rows: rows, seed: 42, to: URL(fileURLWithPath: file))
        }
        let bytes = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.intValue ?? 0
        let definitions = try FeedDefinition.loadAll(directory: SchemaLocation.directory(arguments) + "/feeds")
        let kindName = arguments.value("kind") ?? PartnerKind.schoolAttendance.rawValue
        guard let kind = PartnerKind(rawValue: kindName) else {
            let known = PartnerKind.allCases.map(\.rawValue).joined(separator: ", ")
            throw UsageError(description: "unknown feed kind '\(kindName)' (expected one of \(known))")
        }
        guard arguments.value("file") != nil || kind == .schoolAttendance else {
            throw UsageError(
                description: "--kind other than school_attendance needs --file (only school rows are generated)")
        }
        guard let definition = definitions.first(where: { $0.kind == kind }) else {
            throw UsageError(description: "no \(kind.rawValue) feed definition found")
        }
        if arguments.has("normaliser-only") {
            return try normaliserOnly(file: file, megabytes: Double(bytes) / 1_048_576, definition: definition)
        }
        let scratch = try scratchDatabase(arguments, migrate: true)
        defer { _ = try? scratch.admin.execute("DROP DATABASE IF EXISTS \(scratch.name) WITH (FORCE)") }
        let loader = FeedLoader(definition: definition, today: SynthConfig.defaultAsOf)
        let megabytes = Double(bytes) / 1_048_576

        // 1. The normaliser alone, on this thread (which also brings the file into the page cache).
        let alone = try IngestStopwatch.measure(server: nil) { try loader.normaliseOnly(path: file).rows }
        let aloneCPU = alone.threadCPU
        Console.print(
            """
            file:             \(alone.value) rows, \(Int(megabytes)) MiB
            normaliser alone: \(alone.value) rows in \(seconds(alone.wall)) s wall, \(seconds(aloneCPU)) s CPU on one thread \
            = \(Int(Double(alone.value) / aloneCPU)) rows per CPU second, \
            \(Int(megabytes / aloneCPU)) MiB/s (read, validate, normalise, encode COPY text; no database; target ≥ 1000000 rows/s)
            """)

        // 2. The whole load, into an empty source_records.
        Memory.resetPeak()
        let connection = try PostgresConnection.connect(scratch.conninfo)
        let backend = try connection.execute("SELECT pg_backend_pid()").scalar(Int.self)
        let load = try IngestStopwatch.measure(server: backend) { try loader.load(path: file, connection: connection) }
        let peak = Memory.peakResidentBytes()
        guard case .loaded(let report) = load.value else { throw UsageError(description: "the file was not loaded") }
        let ours = Double(report.rowsRead) / load.wall
        Console.print(
            """
            familyconnect:    \(report.rowsLoaded) loaded + \(report.rowsQuarantined) quarantined in \(seconds(load.wall)) s \
            = \(Int(ours)) rows/s (validate, normalise, SHA-256, COPY into source_records, one transaction)
                              CPU \(seconds(load.processCPU)) s ours + \(seconds(load.serverCPU)) s server \
            = \(Int(Double(report.rowsRead) / (load.processCPU + load.serverCPU))) rows per CPU second; \
            peak memory \(peak / 1_048_576) MiB (target < 300 MiB)
            """)

        // 3. Plain COPY of the same rows, already encoded, into the same table emptied.
        let encoded = try loader.encodedRows(path: file, batchID: report.batchID)
        try connection.execute("TRUNCATE source_records CASCADE")
        let plain = try IngestStopwatch.measure(server: backend) {
            try connection.transaction { connection in try FeedLoader.copyEncodedRows(encoded, connection: connection) }
        }
        let theirs = Double(plain.value) / plain.wall
        Console.print(
            """
            plain COPY:       \(plain.value) rows (\(encoded.reduce(0) { $0 + $1.bytes.count } / 1_048_576) MiB of COPY text \
            in memory) in \(seconds(plain.wall)) s = \(Int(theirs)) rows/s (same table, indexes and triggers, one transaction)
                              CPU \(seconds(plain.processCPU)) s client + \(seconds(plain.serverCPU)) s server
            same_table_ratio=\(String(format: "%.2f", ours / theirs)) (familyconnect rows/s ÷ plain COPY rows/s; target ≥ 0.80)
            """)
        return 0
    }

    /// The normaliser alone, three runs (the first also brings the file into the page cache).
    private static func normaliserOnly(file: String, megabytes: Double, definition: FeedDefinition) throws -> Int32 {
        let loader = FeedLoader(definition: definition, today: SynthConfig.defaultAsOf)
        var fastest = Double.infinity
        var rows = 0
        for run in 1...3 {
            let alone = try IngestStopwatch.measure(server: nil) { try loader.normaliseOnly(path: file) }
            rows = alone.value.rows
            fastest = min(fastest, alone.threadCPU)
            Console.print(
                "normaliser alone, run \(run): \(rows) rows (\(alone.value.laneRows) by the byte lane) in "
                    + "\(seconds(alone.wall)) s wall, \(seconds(alone.threadCPU)) s CPU "
                    + "on one thread = \(Int(Double(rows) / alone.threadCPU)) rows per CPU second")
        }
        Console.print(
            "normaliser alone, fastest of 3: \(Int(Double(rows) / fastest)) rows per CPU second, \(Int(megabytes / fastest)) MiB/s "
                + "(read, validate, normalise, encode COPY text; no database; target ≥ 1000000 rows/s)")
        return 0
    }

    private static func seconds(_ value: Double) -> String { String(format: "%.2f", value) }
}

/// Wall time and CPU time of one step: this thread's, this process's, and the server backend's
/// (read from /proc, since the server runs on this machine in the benchmarks).
private struct IngestStopwatch<Value> {
    var value: Value
    var wall: Double
    var threadCPU: Double
    var processCPU: Double
    var serverCPU: Double

    static func measure(server pid: Int?, _ body: () throws -> Value) rethrows -> IngestStopwatch {
        let serverBefore = pid.map(processCPUSeconds) ?? 0
        let processBefore = processCPUSeconds()
        let threadBefore = threadCPUSeconds()
        let started = Date()
        let value = try body()
        let wall = Date().timeIntervalSince(started)
        return IngestStopwatch(
            value: value, wall: wall, threadCPU: threadCPUSeconds() - threadBefore,
            processCPU: processCPUSeconds() - processBefore,
            serverCPU: (pid.map(processCPUSeconds) ?? 0) - serverBefore)
    }

    static func threadCPUSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// User + system time of another process on this machine (fields 14 and 15 of /proc/PID/stat).
    static func processCPUSeconds(_ pid: Int) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command name: state is field 3, utime 14, stime 15 (1-based over the whole line).
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
