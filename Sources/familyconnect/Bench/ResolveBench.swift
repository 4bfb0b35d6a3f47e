import Feeds
import Foundation
import Postgres
import Resolution
import Synth

/// `bench resolve`: a full run over a synthetic population, then an incremental run of held-back
/// school rows, each phase with its wall time, CPU time (ours and the database backend's) and how
/// busy it kept the cores; with `--full-again`, a second full run that must move no record.
extension BenchCommand {
    static func resolve(_ arguments: ParsedArguments) throws -> Int32 {
        let children = try arguments.integer("children", default: 370_000, range: 100...5_000_000)
        let increment = try arguments.integer("increment", default: 10_000, range: 0...1_000_000)
        let folder = arguments.value("keep") ?? NSTemporaryDirectory() + "fc-bench-resolve-\(getpid())"
        Console.print("bench resolve: generating \(children) children …")
        let summary = try SyntheticFeedWriter.write(
            config: SynthConfig(children: children, seed: 42), to: URL(fileURLWithPath: folder))
        // Hold back the last `increment` school rows as a later batch.
        let schoolPath = folder + "/" + FeedKind.schoolAttendance.fileName
        let lines = try String(contentsOfFile: schoolPath, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: true)
        let keep = max(1, lines.count - increment)
        try (lines[0..<keep].joined(separator: "\n") + "\n").write(
            toFile: schoolPath, atomically: true, encoding: .utf8)
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
        try loadSyntheticFeeds(in: folder, definitions: definitions, connection: connection)
        let records = try connection.execute("SELECT count(*) FROM source_records WHERE subject = 'child'").scalar(
            Int.self)
        Console.print(
            "loaded \(records) child records (\(summary.totalFeedRows) feed rows) in \(String(format: "%.1f", Date().timeIntervalSince(loadStarted))) s"
        )
        let backend = BackendCPU(connection)

        func resolver() -> Resolver {
            let resolver = Resolver(connection: connection)
            resolver.serverCPU = backend.seconds
            return resolver
        }
        Memory.resetPeak()
        let full = try resolver().resolveFull()
        let fullPeak = Memory.peakResidentBytes()
        Console.print(
            """
            full resolution:        \(full.records) records, \(full.pairsCompared) pairs compared, \(full.children) children, \
            wall \(String(format: "%.1f", full.seconds)) s (target ≤ 45 s), peak memory \(fullPeak / 1_048_576) MiB (target ≤ 1536 MiB)
              links \(full.linksDeterministic) by identifier + \(full.linksProbabilistic) probabilistic \
            + \(full.linksVouchedByIncident) vouched by an incident, \(full.linksVouchedByClaim) by a claim; review queue \(full.reviewPairs)
            \(phaseTable(full.phases))
            """)

        let school = definitions.first { $0.kind == .schoolAttendance }!
        _ = try FeedLoader(definition: school, today: SynthConfig.defaultAsOf).load(
            path: laterPath, connection: connection)
        Memory.resetPeak()
        let incremental = try resolver().resolveIncremental()
        let incrementalPeak = Memory.peakResidentBytes()
        Console.print(
            """
            incremental resolution: \(incremental.records) records re-examined for \(lines.count - keep) new rows, \
            \(incremental.pairsCompared) pairs, wall \(String(format: "%.2f", incremental.seconds)) s (target ≤ 5 s), \
            peak memory \(incrementalPeak / 1_048_576) MiB
            \(phaseTable(incremental.phases))
            """)

        if arguments.has("full-again") {
            Memory.resetPeak()
            let again = try resolver().resolveFull()
            Console.print(
                """
                full again:             \(again.children) children, \(again.recordsMoved) records moved (must be 0: \
                the full run equals the incremental one), \(again.minted) minted, \(again.merged) merged, \
                wall \(String(format: "%.1f", again.seconds)) s, peak memory \(Memory.peakResidentBytes() / 1_048_576) MiB
                \(phaseTable(again.phases))
                """)
            if again.recordsMoved != 0 || again.minted != 0 || again.merged != 0 || again.split != 0 { return 1 }
        }
        return 0
    }

    /// One line a phase: wall, our CPU, the cores it kept busy (CPU / wall), the server's CPU.
    static func phaseTable(_ phases: [RunPhase]) -> String {
        func f(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }
        let width = max(30, phases.map(\.name.count).max() ?? 0)
        var lines = [
            "  " + "phase".padding(toLength: width, withPad: " ", startingAt: 0)
                + "   wall s    cpu s  cores   server cpu s"
        ]
        for phase in phases {
            lines.append(
                "  " + phase.name.padding(toLength: width, withPad: " ", startingAt: 0)
                    + f(phase.wall).leftPadded(9) + f(phase.cpu).leftPadded(9) + f(phase.coresBusy).leftPadded(7)
                    + (phase.serverCPU.map { f($0) } ?? "?").leftPadded(15))
        }
        let wall = phases.reduce(0) { $0 + $1.wall }
        let cpu = phases.reduce(0) { $0 + $1.cpu }
        let server = phases.reduce(0) { $0 + ($1.serverCPU ?? 0) }
        lines.append(
            "  " + "total".padding(toLength: width, withPad: " ", startingAt: 0) + f(wall).leftPadded(9)
                + f(cpu).leftPadded(9)
                + f(wall > 0 ? cpu / wall : 0).leftPadded(7) + f(server).leftPadded(15)
                + "   (cores with the server: \(f(wall > 0 ? (cpu + server) / wall : 0)))")
        return lines.joined(separator: "\n")
    }
}

/// The CPU seconds the connection's PostgreSQL backend has used, from /proc (the server on this
/// machine, as in the bench); nil when that process cannot be read.
struct BackendCPU: Sendable {
    let statPath: String?

    init(_ connection: PostgresConnection) {
        let pid = try? connection.execute("SELECT pg_backend_pid()").scalar(Int.self)
        statPath = pid.map { "/proc/\($0)/stat" }
    }

    var seconds: () -> Double? {
        let path = statPath
        return {
            guard let path, let stat = try? String(contentsOfFile: path, encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            // Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
            return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? " " + self : String(repeating: " ", count: width - count) + self
    }
}
