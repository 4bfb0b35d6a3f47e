import Dispatch
import Feeds
import Foundation
import Synchronization

/// What the service is doing; shared between the worker (main thread), the signal thread, the
/// watchdog thread and the HTTP thread. Everything goes through one mutex, held only briefly.
public final class ServiceState: Sendable {
    public enum Phase: String, Sendable {
        case starting
        case waitingForDatabase = "waiting_for_database"
        case waitingForLock = "waiting_for_lock"
        case running
        case stopping
    }

    public enum CycleResult: Sendable, Equatable {
        case ok
        /// `downstream`: the feed's files loaded but a later stage (resolution, …) failed.
        case failed(reason: String, downstream: Bool)
    }

    public struct FeedStatus: Sendable {
        public var name: String
        public var schedule: FeedSchedule
        public var lastStart: Date?
        public var lastSuccess: Date?
        public var lastResult: CycleResult?
        public var nextRun: Date?
        public var cyclesOK = 0
        public var cyclesFailed = 0
        public var durationSum = 0.0
        public var lastDuration: Double?
        public var batchesLoaded = 0
        public var duplicates = 0
        public var rowsLoaded = 0
        public var rowsQuarantined = 0
        public var filesFailed = 0

        public init(name: String, schedule: FeedSchedule) {
            self.name = name
            self.schedule = schedule
        }
    }

    public enum StageResult: Sendable, Equatable {
        case ok
        /// The stage threw; its transaction rolled back. `reason` is a redacted description (no values).
        case failed(reason: String)
    }

    public struct StageStats: Sendable {
        public var runs = 0
        public var failures = 0
        public var durationSum = 0.0
        public var lastDuration: Double?
        /// nil until the stage first ran in this process.
        public var lastResult: StageResult?
        public var lastSuccess: Date?
        public var lastFailure: Date?
        public var failuresInARow = 0

        public init() {}
    }

    public struct Snapshot: Sendable {
        public var phase: Phase = .starting
        public var phaseDetail = ""
        public var startedAt = Date()
        public var schedulerStartedAt: Date?
        public var databaseConnected = false
        public var lockHeld = false
        public var ready = false
        public var backendPID: Int32 = 0
        public var feeds: [FeedStatus] = []
        public var stages: [(name: String, stats: StageStats)] = []
        public var busy: String?
        public var busySince: ContinuousClock.Instant?
        public var heartbeat = ContinuousClock.now
        public var linksMade = 0
        public var stopRequested = false
        public var stopDeadline: ContinuousClock.Instant?
        public var reloadRequested = false
        public var reloadsApplied = 0
        public var reloadsRefused = 0
        public var connectionString = ""
        public var databaseErrors = 0
    }

    let storage = Mutex(Snapshot())
    /// The feed definitions in force: read at start, replaced by each reload that is applied.
    private let definitions = Mutex<[FeedDefinition]>([])
    /// Wakes the worker when a signal, a finished fetch or a reload needs it.
    let wakeup = DispatchSemaphore(value: 0)

    public init() {}

    public func snapshot() -> Snapshot { storage.withLock { $0 } }

    public func update(_ body: (inout Snapshot) -> Void) {
        storage.withLock { body(&$0) }
    }

    public func wake() { wakeup.signal() }

    /// Sleeps the worker until `deadline` or an earlier wake-up.
    func sleep(until deadline: Date) {
        let seconds = max(0, deadline.timeIntervalSinceNow)
        _ = wakeup.wait(timeout: .now() + .milliseconds(Int(seconds * 1000)))
    }

    public var stopRequested: Bool { storage.withLock { $0.stopRequested } }

    func setPhase(_ phase: Phase, _ detail: String = "") {
        storage.withLock {
            $0.phase = phase
            $0.phaseDetail = detail
            $0.heartbeat = .now
        }
    }

    func beat() { storage.withLock { $0.heartbeat = .now } }

    func beginBusy(_ what: String) {
        storage.withLock {
            $0.busy = what
            $0.busySince = .now
            $0.heartbeat = .now
        }
    }

    func endBusy() {
        storage.withLock {
            $0.busy = nil
            $0.busySince = nil
            $0.heartbeat = .now
        }
    }

    func feed(_ name: String, _ body: (inout FeedStatus) -> Void) {
        storage.withLock { snapshot in
            if let index = snapshot.feeds.firstIndex(where: { $0.name == name }) { body(&snapshot.feeds[index]) }
        }
    }

    func stage(_ name: String, _ body: (inout StageStats) -> Void) {
        storage.withLock { snapshot in
            if let index = snapshot.stages.firstIndex(where: { $0.name == name }) {
                body(&snapshot.stages[index].stats)
            } else {
                var stats = StageStats()
                body(&stats)
                snapshot.stages.append((name, stats))
            }
        }
    }

    /// The feed definitions in force (for stages that need them, such as the retention purge).
    public func feedDefinitions() -> [FeedDefinition] { definitions.withLock { $0 } }

    /// Replaces the feed list after a (re)load, keeping the history of feeds that stay.
    func setFeeds(_ feeds: [FeedDefinition]) {
        definitions.withLock { $0 = feeds }
        storage.withLock { snapshot in
            var next: [FeedStatus] = []
            for definition in feeds {
                if var existing = snapshot.feeds.first(where: { $0.name == definition.name }) {
                    existing.schedule = definition.schedule
                    next.append(existing)
                } else {
                    next.append(FeedStatus(name: definition.name, schedule: definition.schedule))
                }
            }
            snapshot.feeds = next
        }
    }

    /// Whether the watchdog may be fed: the worker loop is alive (it beats at least every second
    /// when idle), or busy with one step for less than `maximumCycleSeconds`.
    public func schedulerIsHealthy(maximumCycleSeconds: Double, staleAfter: Double) -> Bool {
        storage.withLock { snapshot in
            let now = ContinuousClock.now
            if let since = snapshot.busySince {
                return now - since < .milliseconds(Int64(maximumCycleSeconds * 1000))
            }
            return now - snapshot.heartbeat < .milliseconds(Int64(staleAfter * 1000))
        }
    }
}

/// `/healthz`: 200 when the scheduler runs, every scheduled feed's last cycle succeeded within its
/// expected interval and no stage's last run failed; 503 otherwise. The JSON body says which feed
/// or stage is not well and why. Pending feeds and stages (not run yet) are healthy.
public enum HealthReport {
    public struct FeedHealth: Sendable, Equatable {
        public var feed: String
        public var schedule: String
        /// ok, pending (not polled on its schedule yet, still within the first interval: the run at
        /// start found nothing waiting), failing, overdue, manual.
        public var state: String
        public var healthy: Bool
        public var lastSuccess: Date?
        public var reason: String?
    }

    public static func feedHealth(
        _ feeds: [ServiceState.FeedStatus], schedulerStartedAt: Date?, now: Date
    )
        -> [FeedHealth]
    {
        feeds.map { feed in
            let schedule = ScheduleMath.describe(feed.schedule)
            guard let window = ScheduleMath.healthWindow(feed.schedule) else {
                return FeedHealth(
                    feed: feed.name, schedule: schedule, state: "manual", healthy: true, lastSuccess: feed.lastSuccess,
                    reason: nil)
            }
            switch feed.lastResult {
            case .failed(let reason, let downstream)?:
                return FeedHealth(
                    feed: feed.name, schedule: schedule, state: "failing", healthy: false,
                    lastSuccess: feed.lastSuccess,
                    reason: (downstream ? "a later stage failed: " : "") + reason)
            case .ok?:
                if let success = feed.lastSuccess, now.timeIntervalSince(success) <= window {
                    return FeedHealth(
                        feed: feed.name, schedule: schedule, state: "ok", healthy: true, lastSuccess: success,
                        reason: nil)
                }
                return FeedHealth(
                    feed: feed.name, schedule: schedule, state: "overdue", healthy: false,
                    lastSuccess: feed.lastSuccess,
                    reason: "no successful cycle for more than \(Int(window)) s")
            case nil:
                if let started = schedulerStartedAt, now.timeIntervalSince(started) <= window {
                    return FeedHealth(
                        feed: feed.name, schedule: schedule, state: "pending", healthy: true, lastSuccess: nil,
                        reason: "not polled on its schedule yet"
                            + (feed.nextRun.map { "; first run at " + JSON.timestamp($0) } ?? ""))
                }
                return FeedHealth(
                    feed: feed.name, schedule: schedule, state: "overdue", healthy: false, lastSuccess: nil,
                    reason: "no successful cycle yet")
            }
        }
    }

    public struct StageHealth: Sendable, Equatable {
        public var stage: String
        /// ok, failed (its last run threw; retried at the next cycle), pending (not run yet).
        public var state: String
        public var healthy: Bool
        public var lastSuccess: Date?
        public var lastFailure: Date?
        public var failuresInARow: Int
        public var reason: String?
    }

    public static func stageHealth(_ stages: [(name: String, stats: ServiceState.StageStats)]) -> [StageHealth] {
        stages.map { name, stats in
            switch stats.lastResult {
            case nil:
                return StageHealth(
                    stage: name, state: "pending", healthy: true, lastSuccess: nil, lastFailure: nil, failuresInARow: 0,
                    reason: "not run yet")
            case .ok?:
                return StageHealth(
                    stage: name, state: "ok", healthy: true, lastSuccess: stats.lastSuccess,
                    lastFailure: stats.lastFailure, failuresInARow: 0, reason: nil)
            case .failed(let reason)?:
                return StageHealth(
                    stage: name, state: "failed", healthy: false, lastSuccess: stats.lastSuccess,
                    lastFailure: stats.lastFailure, failuresInARow: stats.failuresInARow, reason: reason)
            }
        }
    }

    /// Status code and JSON body.
    public static func evaluate(_ snapshot: ServiceState.Snapshot, now: Date = Date()) -> (status: Int, body: String) {
        let feeds = feedHealth(snapshot.feeds, schedulerStartedAt: snapshot.schedulerStartedAt, now: now)
        var problems: [String] = []
        if snapshot.phase != .running {
            problems.append(
                "service is \(snapshot.phase.rawValue)"
                    + (snapshot.phaseDetail.isEmpty ? "" : ": \(snapshot.phaseDetail)"))
        }
        for feed in feeds where !feed.healthy { problems.append("feed \(feed.feed) is \(feed.state)") }
        let stages = stageHealth(snapshot.stages)
        for stage in stages where !stage.healthy { problems.append("stage \(stage.stage) \(stage.state)") }
        let healthy = problems.isEmpty
        var json = "{\"status\":\(JSON.string(healthy ? "ok" : "unhealthy"))"
        json += ",\"phase\":\(JSON.string(snapshot.phase.rawValue))"
        json += ",\"database\":\(JSON.string(snapshot.databaseConnected ? "connected" : "disconnected"))"
        json += ",\"lock\":\(JSON.string(snapshot.lockHeld ? "held" : "not_held"))"
        json += ",\"problems\":[" + problems.map(JSON.string).joined(separator: ",") + "]"
        json += ",\"feeds\":["
        json += feeds.map { feed in
            var item = "{\"feed\":\(JSON.string(feed.feed)),\"schedule\":\(JSON.string(feed.schedule))"
            item += ",\"state\":\(JSON.string(feed.state)),\"healthy\":\(feed.healthy)"
            item += ",\"last_success\":" + (feed.lastSuccess.map { JSON.string(JSON.timestamp($0)) } ?? "null")
            item += ",\"reason\":" + (feed.reason.map(JSON.string) ?? "null") + "}"
            return item
        }.joined(separator: ",")
        json += "],\"stages\":["
        json += stages.map { stage in
            var item = "{\"stage\":\(JSON.string(stage.stage)),\"state\":\(JSON.string(stage.state))"
            item += ",\"healthy\":\(stage.healthy)"
            item += ",\"last_success\":" + (stage.lastSuccess.map { JSON.string(JSON.timestamp($0)) } ?? "null")
            item += ",\"last_failure\":" + (stage.lastFailure.map { JSON.string(JSON.timestamp($0)) } ?? "null")
            item += ",\"failures_in_a_row\":\(stage.failuresInARow)"
            item += ",\"reason\":" + (stage.reason.map(JSON.string) ?? "null") + "}"
            return item
        }.joined(separator: ",")
        json += "]}\n"
        return (healthy ? 200 : 503, json)
    }
}

enum JSON {
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
