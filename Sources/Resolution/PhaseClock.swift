import Foundation

/// One timed stage of a run: wall time, and CPU time of this process (all threads, user and
/// system) and, when the caller can see it, of the database server's backend.
public struct RunPhase: Sendable {
    public var name: String
    public var wall: Double
    public var cpu: Double
    /// The PostgreSQL backend's CPU seconds in this phase; nil when unknown (a remote server).
    public var serverCPU: Double?

    /// How many cores this process kept busy on average (1.0 = one core all the time).
    public var coresBusy: Double { wall > 0 ? cpu / wall : 0 }
}

/// Splits a run into named phases as it goes: `mark(name)` closes the phase that started at the
/// previous mark. A class, so the stages of one run (load, link, store) can share it.
public final class PhaseClock {
    public private(set) var phases: [RunPhase] = []
    private let serverCPU: (() -> Double?)?
    private var wallMark: Double
    private var cpuMark: Double
    private var serverMark: Double?

    /// `serverCPU` reads the database backend's CPU seconds so far (the bench knows its pid).
    public init(serverCPU: (() -> Double?)? = nil) {
        self.serverCPU = serverCPU
        wallMark = Self.wallSeconds()
        cpuMark = Self.processCPUSeconds()
        serverMark = serverCPU?()
    }

    public func mark(_ name: String) {
        let wall = Self.wallSeconds()
        let cpu = Self.processCPUSeconds()
        let server = serverCPU?()
        var serverSpent: Double?
        if let server, let serverMark { serverSpent = server - serverMark }
        phases.append(RunPhase(name: name, wall: wall - wallMark, cpu: cpu - cpuMark, serverCPU: serverSpent))
        wallMark = wall
        cpuMark = cpu
        serverMark = server
    }

    static func wallSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// User plus system CPU of every thread of this process.
    public static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
