import Foundation
import Postgres

/// What one stage of the cycle bench cost: wall time, CPU of this process and of the PostgreSQL
/// server, and this process's peak resident memory during the stage.
struct StageFigures {
    var day: String
    var stage: String
    var wallSeconds: Double
    /// User + system time of this process (every thread), from getrusage.
    var appCPUSeconds: Double
    /// User + system time of the server's processes (backends, parallel workers, autovacuum, writers);
    /// nil when the server is not on this machine or its processes cannot be read.
    var databaseCPUSeconds: Double?
    /// VmHWM after resetting it at the start of the stage.
    var peakBytes: Int
    var counts: [String: Int]

    static let cores = 2.0

    var totalCPUSeconds: Double { appCPUSeconds + (databaseCPUSeconds ?? 0) }

    /// CPU ÷ wall as a share of the machine's two cores (100% = both busy all the time).
    var coresBusy: Double { wallSeconds > 0 ? totalCPUSeconds / wallSeconds / Self.cores : 0 }

    func line(showing keys: [String]) -> String {
        let database = databaseCPUSeconds.map { String(format: "%6.2f", $0) } ?? "   n/a"
        let shown = keys.compactMap { key in counts[key].map { "\(key)=\($0)" } }.joined(separator: " ")
        return Self.label(day, stage)
            + String(format: "wall %7.2f s  cpu app %6.2f s + db ", wallSeconds, appCPUSeconds) + database
            + String(format: " s  cores busy %3.0f%% of 2  peak %5d MiB  ", coresBusy * 100, peakBytes / 1_048_576)
            + shown
    }

    /// "day 1    ingest    ": the day and stage in fixed columns.
    static func label(_ day: String, _ stage: String) -> String {
        day.padding(toLength: 8, withPad: " ", startingAt: 0) + " "
            + stage.padding(toLength: 9, withPad: " ", startingAt: 0) + " "
    }
}

/// Takes the figures around one stage.
struct StageMeter {
    let server: ServerCPU?

    func measure(day: String, stage: String, _ body: () throws -> [String: Int]) rethrows -> StageFigures {
        Memory.resetPeak()
        let appBefore = Self.processCPUSeconds()
        let databaseBefore = server?.seconds()
        let started = Date()
        let counts = try body()
        let wall = Date().timeIntervalSince(started)
        let app = Self.processCPUSeconds() - appBefore
        let database = databaseBefore.flatMap { before in server?.seconds().map { $0 - before } }
        return StageFigures(
            day: day, stage: stage, wallSeconds: wall, appCPUSeconds: app, databaseCPUSeconds: database,
            peakBytes: Memory.peakResidentBytes(), counts: counts)
    }

    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    private static func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
}

/// CPU time of a PostgreSQL server on this machine, read from /proc: the postmaster's own time and
/// that of its children that have ended (cutime, cstime), plus each live child's. A stage's share is
/// the difference between two readings; the server must serve nobody else meanwhile.
struct ServerCPU {
    let postmaster: Int32
    private let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// Finds the postmaster as the parent of this connection's backend; nil if it is not readable here.
    init?(connection: PostgresConnection) {
        guard let backend = try? connection.execute("SELECT pg_backend_pid()").scalar(Int.self),
            let fields = Self.statFields(Int32(backend)), fields.count > 1, let parent = Int32(fields[1])
        else { return nil }
        postmaster = parent
        guard seconds() != nil else { return nil }
    }

    func seconds() -> Double? {
        guard let own = Self.statFields(postmaster), own.count > 14 else { return nil }
        // Fields after the command name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
        var ticks = own[11...14].compactMap { Double($0) }.reduce(0, +)
        let parent = String(postmaster)
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), pid != postmaster, let fields = Self.statFields(pid), fields.count > 12,
                fields[1] == parent
            else { continue }
            ticks += (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        }
        return ticks / ticksPerSecond
    }

    /// /proc/PID/stat after the command name (which may hold spaces), split on spaces.
    private static func statFields(_ pid: Int32) -> [Substring]? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }
}
