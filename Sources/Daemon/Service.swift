import Config
import Feeds
import Foundation
import Postgres
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `familyconnect serve`: the long-running service.
///
/// Threads:
/// - the **worker** (the thread that calls `run()`, normally the main thread) owns the database
///   connection and the session advisory lock, runs the scheduler, every ingest and every stage;
/// - the **signal thread** turns SIGTERM/SIGINT/SIGHUP into requests, and enforces the shutdown grace:
///   past it, it ends the worker's database session (the transaction rolls back) and finally exits;
/// - the **HTTP thread** accepts connections for `/healthz` and `/metrics`, each answered on a
///   short-lived thread of its own (`/metrics` through one read-only connection of their own);
/// - the **watchdog thread** sends `WATCHDOG=1` while the scheduler is healthy;
/// - one short-lived thread per remote fetch in progress.
///
/// Exit status: 0 after a stop by signal; 78 (EX_CONFIG) for a broken configuration or pending
/// migrations; 75 (EX_TEMPFAIL) when another instance holds the lock and `lock = exit`; 1 otherwise.
public final class Service {
    public enum ExitCode {
        public static let ok: Int32 = 0
        public static let failure: Int32 = 1
        public static let lockHeld: Int32 = 75
        public static let configuration: Int32 = 78
    }

    /// The session advisory lock that keeps one instance per database ("fcdaemon").
    public static let lockKey: Int64 = 0x6663_6461_656D_6F6E
    public static let applicationName = "familyconnect"

    public let configurationPath: String
    public let state: ServiceState
    let stages: [any CycleStage]
    let contributors: [any MetricsContributor]
    let logger: Logger
    let notifier: SystemdNotifier
    let mailbox = FetchMailbox()

    var configuration: ServiceConfiguration
    var feeds: [FeedDefinition] = []
    var runtimes: [String: FeedRuntime] = [:]
    var connection: PostgresConnection?
    var sentReady = false
    var downstreamPending = true
    var downstreamFailures = 0
    var downstreamRetryAt = Date.distantPast
    var lastStatus = ""
    /// The migrations this process was started with (re-read only when a reload changes the schemas folder):
    /// files added on disk for a newer release must not stop a running older one.
    var migrator: Migrator?
    var httpServer: HTTPServer?
    let httpStopped = DispatchSemaphore(value: 0)

    struct FeedRuntime {
        var nextRun: Date?
        var lastStart: Date?
        var fetchInFlight = false
        /// The run at start (or after a reload added or changed the feed) is out of schedule, to pick
        /// up what came while the service was down. If it finds nothing, the feed was not polled on its
        /// schedule yet: it stays pending, with no last success, until its first scheduled run.
        var catchingUp = true
    }

    enum Outcome {
        case ok
        case stop
        case exit(Int32)
        case reconnect
    }

    /// - Parameters:
    ///   - stages: run in order after each ingest that loaded something (and at start-up to catch up).
    ///   - metrics: extra database metrics for `/metrics`.
    ///   - state: what the service shares with its threads; a stage may read the feed definitions in
    ///     force from it (`feedDefinitions()`).
    public init(
        configurationPath: String, stages: [any CycleStage], metrics: [any MetricsContributor] = [],
        logger: Logger = .standardError, notifier: SystemdNotifier = .fromEnvironment(),
        state: ServiceState = ServiceState()
    ) {
        self.configurationPath = configurationPath
        self.state = state
        self.stages = stages
        self.contributors = metrics
        self.logger = logger
        self.notifier = notifier
        self.configuration = ServiceConfiguration(path: configurationPath)
        // Every stage is listed (pending) from the start, so /healthz and /metrics name it before its first run.
        let names = stages.map(\.name)
        state.update { $0.stages = names.map { ($0, ServiceState.StageStats()) } }
    }

    // MARK: Run

    /// Runs until SIGTERM or SIGINT; returns the exit status.
    public func run() -> Int32 {
        // First, before any thread of ours exists: handlers, unblocked signals, libcurl's global init.
        guard let signals = SignalPipe.install() else {
            logger.error("start_failed", ["reason": "cannot set up signal handling"])
            return ExitCode.failure
        }
        setenv("PGCONNECT_TIMEOUT", "10", 0)
        RemoteFetcher.globalInit()
        logger.notice("starting", ["pid": Int(getpid()), "config": configurationPath])
        notifier.status("Starting")

        do {
            configuration = try ServiceConfiguration.load(path: configurationPath)
            feeds = try FeedDefinition.loadAll(directory: configuration.feedsDirectory)
        } catch {
            logger.error("config_invalid", ["reason": ErrorText.describe(error)])
            notifier.status("Configuration error: " + ErrorText.describe(error))
            return ExitCode.configuration
        }
        logger.setLevel(configuration.logLevel)
        applyToState()
        for definition in feeds { runtimes[definition.name] = FeedRuntime() }
        logger.info(
            "configuration_loaded",
            [
                "feeds": feeds.count, "scheduled": feeds.filter { ScheduleMath.isScheduled($0.schedule) }.count,
                "stages": stages.count,
            ])

        startSignalThread(signals)
        if let listen = configuration.listen {
            do {
                let server = try HTTPServer(address: listen)
                httpServer = server
                logger.info("http_listening", ["address": server.address.description])
                startHTTPThread(server)
            } catch {
                logger.error(
                    "http_listen_failed", ["address": listen.description, "reason": ErrorText.describe(error)])
                notifier.status("Cannot listen on \(listen): " + ErrorText.describe(error))
                return ExitCode.failure
            }
        }
        startWatchdogThread()

        let code = work()

        state.setPhase(.stopping)
        if let connection, connection.isOpen {
            if state.snapshot().lockHeld { _ = try? connection.advisoryUnlock(Self.lockKey) }
            connection.close()
        }
        connection = nil
        state.update {
            $0.lockHeld = false
            $0.databaseConnected = false
        }
        if !state.stopRequested { notifier.stopping() }
        if let httpServer {
            httpServer.stop()
            _ = httpStopped.wait(timeout: .now() + 3)
        }
        logger.notice(
            "stopped", ["exit_code": Int(code), "uptime_seconds": Date().timeIntervalSince(state.snapshot().startedAt)])
        return code
    }

    /// Connect, check, lock, then schedule until asked to stop.
    func work() -> Int32 {
        switch establish() {
        case .ok: break
        case .stop, .reconnect: return ExitCode.ok
        case .exit(let code): return code
        }
        state.update {
            $0.schedulerStartedAt = Date()
        }
        state.setPhase(.running)
        let now = Date()
        for definition in feeds {
            runtimes[definition.name]?.nextRun = ScheduleMath.nextRun(definition.schedule, lastStart: nil, now: now)
        }
        publishNextRuns()

        while !state.stopRequested {
            if state.snapshot().reloadRequested { reload() }
            if connection?.isOpen != true {
                switch establish() {
                case .ok: state.setPhase(.running)
                case .stop, .reconnect: return ExitCode.ok
                case .exit(let code): return code
                }
            }
            state.beat()
            let now = Date()

            // Remote feeds: start the fetches that are due (they run on their own threads).
            for definition in feeds where isDue(definition, now) {
                if case .remote(let settings) = definition.source { startFetch(definition, settings) }
            }
            // Drop-folder feeds that are due, and remote feeds whose download finished.
            var group: [(FeedDefinition, IngestStage, [RemoteFetchJob.Download]?)] = []
            var fetchFailures: [(FeedDefinition, String)] = []
            for (feed, result) in mailbox.takeAll() {
                guard let definition = feeds.first(where: { $0.name == feed }) else { continue }
                runtimes[feed]?.fetchInFlight = false
                switch result {
                case .failed(let reason):
                    fetchFailures.append((definition, reason))
                case .fetched(let downloads, let unchanged):
                    logger.info(
                        "fetch_finished", ["feed": feed, "downloaded": downloads.count, "unchanged": unchanged])
                    group.append((definition, stagingIngest(definition), downloads))
                }
            }
            for (definition, reason) in fetchFailures { recordFetchFailure(definition, reason) }
            for definition in feeds where isDue(definition, now) {
                if case .dropFolder(let folder, let pattern) = definition.source {
                    runtimes[definition.name]?.lastStart = now
                    state.feed(definition.name) { $0.lastStart = now }
                    group.append((definition, dropFolderIngest(definition, folder: folder, pattern: pattern), nil))
                }
            }
            if !group.isEmpty {
                runCycle(group)
                continue
            }
            if downstreamPending && now >= downstreamRetryAt {
                runDownstreamAlone()
                continue
            }
            idle(now)
        }
        return ExitCode.ok
    }

    func isDue(_ definition: FeedDefinition, _ now: Date) -> Bool {
        guard let runtime = runtimes[definition.name], !runtime.fetchInFlight, let next = runtime.nextRun else {
            return false
        }
        return next <= now
    }

    /// Sleeps until the next feed is due, a retry is due, or something wakes the worker (at most 1 s,
    /// so the watchdog sees the loop alive).
    func idle(_ now: Date) {
        var wake = now.addingTimeInterval(1)
        var nextFeed: (String, Date)?
        for definition in feeds {
            guard let runtime = runtimes[definition.name], !runtime.fetchInFlight, let next = runtime.nextRun else {
                continue
            }
            if nextFeed == nil || next < nextFeed!.1 { nextFeed = (definition.name, next) }
            wake = min(wake, next)
        }
        if downstreamPending { wake = min(wake, downstreamRetryAt) }
        let inFlight = runtimes.filter { $0.value.fetchInFlight }.map(\.key).sorted()
        var text = "Idle"
        if let (name, date) = nextFeed { text += "; next: \(name) at \(JSON.timestamp(date))" }
        if !inFlight.isEmpty { text += "; fetching: " + inFlight.joined(separator: ", ") }
        if downstreamPending && downstreamFailures > 0 {
            text += "; later stages failed, retry at \(JSON.timestamp(downstreamRetryAt))"
        }
        status(text)
        state.sleep(until: wake)
    }

    func status(_ text: String) {
        guard text != lastStatus else { return }
        lastStatus = text
        notifier.status(text)
    }

    func publishNextRuns() {
        for (name, runtime) in runtimes { state.feed(name) { $0.nextRun = runtime.nextRun } }
    }

    // MARK: Connecting and locking

    /// Connects (retrying with backoff), checks migrations, says READY once, then takes the lock.
    func establish() -> Outcome {
        while true {
            if state.stopRequested { return .stop }
            if connection?.isOpen != true {
                switch connectAndCheck() {
                case .ok: break
                case let other: return other
                }
                if !sentReady {
                    sentReady = true
                    state.update { $0.ready = true }
                    notifier.ready(status: "Database reachable, migrations up to date; taking the instance lock")
                    lastStatus = ""
                    logger.notice("ready", [:])
                }
            }
            switch acquireLock() {
            case .ok: return .ok
            case .reconnect:
                dropConnection()
                continue
            case let other: return other
            }
        }
    }

    func connectAndCheck() -> Outcome {
        if migrator == nil {
            do {
                migrator = try Migrator(directory: configuration.migrationsDirectory)
            } catch {
                logger.error("migrations_unreadable", ["reason": ErrorText.describe(error)])
                notifier.status("Refusing to start: " + ErrorText.describe(error))
                return .exit(ExitCode.configuration)
            }
        }
        let migrator = self.migrator!
        var attempt = 0
        while true {
            if state.stopRequested { return .stop }
            state.beginBusy("connect")
            do {
                let fresh = try PostgresConnection.connect(
                    configuration.connectionString, applicationName: Self.applicationName)
                let logger = self.logger
                fresh.noticeHandler = { notice in
                    // The message may quote values: severity and SQLSTATE only.
                    logger.debug("database_notice", ["severity": notice.severity, "sqlstate": notice.sqlState])
                }
                let pending = try migrator.pending(fresh)
                state.endBusy()
                if !pending.isEmpty {
                    let names = pending.map(\.name).joined(separator: ",")
                    logger.error(
                        "migrations_pending",
                        [
                            "count": pending.count, "migrations": names,
                            "action": "refusing to start; run 'familyconnect migrate' first",
                        ])
                    notifier.status(
                        "Refusing to start: \(pending.count) migrations pending (\(names)); run 'familyconnect migrate'"
                    )
                    fresh.close()
                    return .exit(ExitCode.configuration)
                }
                connection = fresh
                let pid = fresh.backendPID
                state.update {
                    $0.databaseConnected = true
                    $0.backendPID = pid
                }
                logger.info("database_connected", ["backend_pid": Int(pid), "attempts": attempt + 1])
                return .ok
            } catch {
                state.endBusy()
                attempt += 1
                let delay = min(configuration.connectRetryMaximumSeconds, pow(2, Double(min(attempt - 1, 12))))
                let reason = ErrorText.describe(error)
                state.update { $0.databaseErrors += 1 }
                logger.warning(
                    "database_unreachable",
                    [
                        "attempt": attempt, "retry_in_seconds": delay, "sqlstate": ErrorText.sqlState(error),
                        "reason": reason,
                    ])
                state.setPhase(.waitingForDatabase, reason)
                status("Waiting for the database (attempt \(attempt), next in \(Int(delay)) s): \(reason)")
                if !pause(seconds: delay) { return .stop }
            }
        }
    }

    func acquireLock() -> Outcome {
        var announced = false
        while true {
            if state.stopRequested { return .stop }
            guard let connection, connection.isOpen else { return .reconnect }
            do {
                state.beginBusy("lock")
                defer { state.endBusy() }
                if try connection.tryAdvisoryLock(Self.lockKey) {
                    state.update { $0.lockHeld = true }
                    logger.info("lock_acquired", ["backend_pid": Int(connection.backendPID)])
                    return .ok
                }
            } catch {
                logger.warning(
                    "lock_check_failed", ["sqlstate": ErrorText.sqlState(error), "reason": ErrorText.describe(error)])
                return .reconnect
            }
            let holder = lockHolder(connection)
            switch configuration.lockBehaviour {
            case .exit:
                logger.error("lock_held_elsewhere", ["holder": holder, "action": "exiting (lock = exit)"])
                notifier.status("Another instance (\(holder)) works on this database; exiting")
                return .exit(ExitCode.lockHeld)
            case .wait:
                if !announced {
                    announced = true
                    logger.warning("lock_held_elsewhere", ["holder": holder, "action": "waiting (lock = wait)"])
                }
                state.setPhase(.waitingForLock, "another instance (\(holder)) holds the lock")
                status("Standby: another instance (\(holder)) works on this database; waiting for its lock")
                if !pause(seconds: configuration.lockRetrySeconds) { return .stop }
            }
        }
    }

    /// Who holds the lock, for the log: server pid, application name and client address.
    func lockHolder(_ connection: PostgresConnection) -> String {
        let sql = """
            SELECT l.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local')
            FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND l.classid::bigint = $1 AND l.objid::bigint = $2 AND l.objsubid = 1
            LIMIT 1
            """
        let high = Int64(UInt64(bitPattern: Self.lockKey) >> 32)
        let low = Int64(UInt64(bitPattern: Self.lockKey) & 0xFFFF_FFFF)
        guard let row = try? connection.query(sql, [high, low]).first,
            let pid = try? row.decode(Int.self, at: 0)
        else { return "unknown" }
        let application = (try? row.decode(String.self, at: 1)) ?? ""
        let client = (try? row.decode(String.self, at: 2)) ?? ""
        return "server pid \(pid), \(application.isEmpty ? "?" : application) from \(client)"
    }

    func dropConnection() {
        connection?.close()
        connection = nil
        state.update {
            $0.databaseConnected = false
            $0.lockHeld = false
            $0.backendPID = 0
        }
    }

    /// After an error: if the connection is gone, forget it (the lock went with it); the loop reconnects.
    func checkConnection(after error: any Error) {
        state.update { $0.databaseErrors += 1 }
        guard let connection else { return }
        if !connection.isOpen || (try? connection.execute("SELECT 1")) == nil {
            logger.warning(
                "database_connection_lost",
                ["action": state.stopRequested ? "stopping" : "reconnecting; the lock is taken again"])
            dropConnection()
            state.setPhase(.waitingForDatabase, "connection lost")
        }
    }

    /// Waits up to `seconds`, waking each second for the heartbeat; false when a stop was requested.
    func pause(seconds: Double) -> Bool {
        let until = Date().addingTimeInterval(seconds)
        while Date() < until {
            if state.stopRequested { return false }
            state.beat()
            state.sleep(until: min(until, Date().addingTimeInterval(1)))
        }
        return !state.stopRequested
    }

    // MARK: Cycles

    func dropFolderIngest(_ definition: FeedDefinition, folder: String, pattern: String) -> IngestStage {
        var drop = DropFolder(
            path: (configuration.dropRoot as NSString).appendingPathComponent(folder), pattern: pattern)
        drop.settleSeconds = configuration.settleSeconds
        let state = self.state
        return IngestStage(definition: definition, folder: drop, logger: logger, shouldStop: { state.stopRequested })
    }

    func stagingIngest(_ definition: FeedDefinition) -> IngestStage {
        var staged = DropFolder(path: stagingFolder(definition), pattern: "*")
        staged.settleSeconds = 0
        let state = self.state
        return IngestStage(
            definition: definition, folder: staged, deleteLoaded: true, logger: logger,
            shouldStop: { state.stopRequested })
    }

    func stagingFolder(_ definition: FeedDefinition) -> String {
        (configuration.stagingDirectory as NSString).appendingPathComponent(definition.name)
    }

    func startFetch(_ definition: FeedDefinition, _ settings: RemoteSourceSettings) {
        let name = definition.name
        let now = Date()
        runtimes[name]?.lastStart = now
        runtimes[name]?.fetchInFlight = true
        state.feed(name) { $0.lastStart = now }
        var saved: [String: ConditionalState] = [:]
        if let connection {
            do {
                for row in try connection.query(
                    "SELECT feed, etag, last_modified FROM feed_fetch_state WHERE feed = $1 OR feed LIKE $2",
                    [name, name + "/%"])
                {
                    saved[try row.decode(String.self, at: 0)] = ConditionalState(
                        etag: try row.decode(String?.self, at: 1), lastModified: try row.decode(String?.self, at: 2))
                }
            } catch {
                checkConnection(after: error)
            }
        }
        let folder = stagingFolder(definition)
        // Leftovers of a download cut short (the fetcher writes NAME.part and renames when complete).
        if let names = try? FileManager.default.contentsOfDirectory(atPath: folder) {
            for leftover in names where leftover.hasSuffix(".part") {
                try? FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent(leftover))
            }
        }
        let job = RemoteFetchJob(feed: name, settings: settings, stagingFolder: folder, conditional: saved)
        let mailbox = self.mailbox
        let state = self.state
        logger.info("fetch_started", ["feed": name, "target": RemoteFetchJob.safeTarget(settings.url)])
        let thread = Thread {
            let result = job.run()
            mailbox.post(name, result)
            state.wake()
        }
        thread.name = "fetch-\(name)"
        thread.start()
    }

    func recordFetchFailure(_ definition: FeedDefinition, _ reason: String) {
        let name = definition.name
        let started = runtimes[name]?.lastStart ?? Date()
        let seconds = Date().timeIntervalSince(started)
        logger.warning(
            "fetch_failed", ["feed": name, "seconds": seconds, "reason": reason, "action": "retry on schedule"])
        let next = ScheduleMath.nextRun(definition.schedule, lastStart: started, now: Date())
        runtimes[name]?.nextRun = next
        runtimes[name]?.catchingUp = false
        state.feed(name) {
            $0.lastResult = .failed(reason: reason, downstream: false)
            $0.cyclesFailed += 1
            $0.durationSum += seconds
            $0.lastDuration = seconds
            $0.nextRun = next
        }
    }

    /// One cycle: ingest each feed of the group, then the later stages once if anything is pending.
    func runCycle(_ group: [(FeedDefinition, IngestStage, [RemoteFetchJob.Download]?)]) {
        var ingestResults: [String: ServiceState.CycleResult] = [:]
        var retrySoon: Set<String> = []
        var quiet: Set<String> = []  // nothing to load: logged at debug level
        var interrupted = false
        var connectionLost = false
        var loadedBatches = false

        if connection != nil, (try? connection!.execute("SELECT 1")) == nil {
            checkConnection(after: DaemonError(.configuration, "connection check failed"))
        }

        for (definition, ingest, downloads) in group {
            let name = definition.name
            if state.stopRequested || connectionLost || connection == nil {
                interrupted = true
                break
            }
            state.beginBusy("ingest \(name)")
            status("Loading \(name)")
            logger.debug("cycle_started", ["feed": name])
            do {
                try FileManager.default.createDirectory(atPath: ingest.folder.path, withIntermediateDirectories: true)
            } catch {
                ingestResults[name] = .failed(
                    reason: "cannot create the folder \(ingest.folder.path)", downstream: false)
                logger.error("folder_unusable", ["feed": name, "folder": ingest.folder.path])
                state.endBusy()
                continue
            }
            do {
                let counts = try ingest.run(connection!)
                if counts["batches", default: 0] > 0 {
                    downstreamPending = true
                    loadedBatches = true
                }
                state.feed(name) {
                    $0.batchesLoaded += counts["batches", default: 0]
                    $0.duplicates += counts["duplicates", default: 0]
                    $0.rowsLoaded += counts["rows_loaded", default: 0]
                    $0.rowsQuarantined += counts["rows_quarantined", default: 0]
                    $0.filesFailed += counts["files_failed", default: 0]
                }
                if let downloads, !state.stopRequested { try saveFetchState(downloads) }
                var problems: [String] = []
                if counts["files_failed", default: 0] > 0 {
                    problems.append("\(counts["files_failed", default: 0]) file(s) refused and moved to failed/")
                }
                if counts["archive_errors", default: 0] > 0 {
                    problems.append(
                        "\(counts["archive_errors", default: 0]) file(s) could not be moved out of the folder")
                }
                ingestResults[name] =
                    problems.isEmpty ? .ok : .failed(reason: problems.joined(separator: "; "), downstream: false)
                var fields: [(String, String)] = [("feed", name)]
                for key in ["files", "batches", "duplicates", "rows_loaded", "rows_quarantined", "files_failed"] {
                    fields.append((key, String(counts[key, default: 0])))
                }
                if counts["files", default: 0] == 0 { quiet.insert(name) }
                logger.log(LogEvent(quiet.contains(name) ? .debug : .info, "ingest_finished", fields))
            } catch {
                let reason = ErrorText.describe(error)
                ingestResults[name] = .failed(reason: reason, downstream: false)
                logger.log(
                    state.stopRequested ? .warning : .error, "ingest_failed",
                    [
                        "feed": name, "sqlstate": ErrorText.sqlState(error), "reason": reason,
                        "during_stop": state.stopRequested,
                    ])
                if ErrorText.isTransient(error) || error is PostgresError {
                    checkConnection(after: error)
                    if connection == nil {
                        connectionLost = true
                        // Rolled back: the feed is due again as soon as the database is back.
                        retrySoon.insert(name)
                    }
                }
            }
            state.endBusy()
        }

        // The later stages: after a new batch at once, otherwise when pending and their backoff is over
        // (a stage failing on bad data is not hammered every second by a feed that polls every second).
        var downstreamError: String?
        if downstreamPending && !state.stopRequested && !connectionLost && connection != nil
            && (loadedBatches || Date() >= downstreamRetryAt)
        {
            downstreamError = runDownstream()
        }

        let finished = Date()
        for (definition, _, _) in group {
            let name = definition.name
            guard var result = ingestResults[name] else { continue }  // not reached: stop or lost connection
            if result == .ok, let downstreamError { result = .failed(reason: downstreamError, downstream: true) }
            let started = runtimes[name]?.lastStart ?? finished
            let seconds = finished.timeIntervalSince(started)
            runtimes[name]?.nextRun =
                retrySoon.contains(name)
                ? finished : ScheduleMath.nextRun(definition.schedule, lastStart: started, now: finished)
            let next = runtimes[name]?.nextRun
            // Not polled on its schedule yet and nothing picked up: still pending (no result, no last success).
            let caughtUp = runtimes[name]?.catchingUp == true && result == .ok && quiet.contains(name)
            runtimes[name]?.catchingUp = false
            var stillPending = false
            state.feed(name) {
                $0.durationSum += seconds
                $0.lastDuration = seconds
                $0.nextRun = next
                if result == .ok { $0.cyclesOK += 1 } else { $0.cyclesFailed += 1 }
                if caughtUp && $0.lastResult == nil {
                    stillPending = true
                    return
                }
                $0.lastResult = result
                if result == .ok { $0.lastSuccess = finished }
            }
            if stillPending {
                logger.debug("cycle_finished", ["feed": name, "result": "nothing_waiting", "seconds": seconds])
                continue
            }
            switch result {
            case .ok:
                logger.log(
                    quiet.contains(name) ? .debug : .info, "cycle_finished",
                    ["feed": name, "result": "ok", "seconds": seconds])
            case .failed(let reason, let downstream):
                logger.warning(
                    "cycle_finished",
                    [
                        "feed": name, "result": downstream ? "stages_failed" : "failed", "seconds": seconds,
                        "reason": reason,
                    ])
            }
        }
        // Feeds left out by a stop or a lost connection stay due.
        for (definition, _, _) in group where ingestResults[definition.name] == nil {
            runtimes[definition.name]?.nextRun = Date()
            if interrupted || connectionLost { logger.info("cycle_interrupted", ["feed": definition.name]) }
        }
        publishNextRuns()
    }

    func saveFetchState(_ downloads: [RemoteFetchJob.Download]) throws {
        guard let connection else { return }
        for download in downloads {
            try connection.execute(
                """
                INSERT INTO feed_fetch_state (feed, etag, last_modified, checked_at) VALUES ($1, $2, $3, now())
                ON CONFLICT (feed) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, checked_at = now()
                """, [download.stateKey, download.conditional.etag, download.conditional.lastModified])
        }
    }

    func runDownstreamAlone() {
        if connection != nil, (try? connection!.execute("SELECT 1")) == nil {
            checkConnection(after: DaemonError(.configuration, "connection check failed"))
            return
        }
        _ = runDownstream()
    }

    /// Runs the stages in order. Returns nil on success, or why one or more failed (then retried
    /// with backoff, or at the next cycle that loads something).
    ///
    /// A stage that throws (bad data it trips over, a rule file it cannot read, a constraint it
    /// breaks) is contained: its transaction rolled back, the error is logged with the stage's name
    /// and SQLSTATE (descriptions are redacted, never values), it is marked failed in `/healthz` and
    /// `/metrics`, and the stages after it still run, on what the earlier ones committed. Only a
    /// lost connection ends the round early: the rest run after the reconnect.
    func runDownstream() -> String? {
        var failures: [String] = []
        var retrySoon = false
        for stage in stages {
            if state.stopRequested { break }
            guard let connection, connection.isOpen else {
                failures.append("stage \(stage.name) not run: no database connection")
                retrySoon = true
                break
            }
            if let failure = run(stage, connection) {
                failures.append(failure.reason)
                if failure.transient { retrySoon = true }
                if self.connection == nil { break }
            }
        }
        if state.stopRequested && failures.isEmpty { return nil }
        guard !failures.isEmpty else {
            downstreamPending = false
            downstreamFailures = 0
            // Feeds whose only problem was a later stage are well again.
            let now = Date()
            state.update { snapshot in
                for index in snapshot.feeds.indices {
                    if case .failed(_, true)? = snapshot.feeds[index].lastResult {
                        snapshot.feeds[index].lastResult = .ok
                        snapshot.feeds[index].lastSuccess = now
                    }
                }
            }
            return nil
        }
        downstreamFailures += 1
        let delay = retrySoon ? 0 : min(900, 30 * pow(2, Double(min(downstreamFailures - 1, 10))))
        downstreamRetryAt = Date().addingTimeInterval(delay)
        logger.log(
            state.stopRequested ? .warning : .notice, "stages_retry",
            [
                "failed": failures.count, "rounds_failed_in_a_row": downstreamFailures, "retry_in_seconds": delay,
                "action": "retried then, or at once when a feed loads a new batch",
            ])
        return failures.joined(separator: "; ")
    }

    /// Runs one stage and records its result; nil on success, else the failure.
    func run(_ stage: any CycleStage, _ connection: PostgresConnection) -> (reason: String, transient: Bool)? {
        let name = stage.name
        state.beginBusy("stage \(name)")
        defer { state.endBusy() }
        status("Running \(name)")
        logger.info("stage_started", ["stage": name])
        let started = ContinuousClock.now
        do {
            let counts = try stage.run(connection)
            let seconds = Self.seconds(ContinuousClock.now - started)
            let links = counts.filter { $0.key.hasPrefix("links_") }.reduce(0) { $0 + $1.value }
            let now = Date()
            state.stage(name) {
                $0.runs += 1
                $0.durationSum += seconds
                $0.lastDuration = seconds
                $0.lastResult = .ok
                $0.lastSuccess = now
                $0.failuresInARow = 0
            }
            state.update { $0.linksMade += links }
            var fields: [(String, String)] = [("stage", name), ("seconds", seconds.logText)]
            for key in counts.keys.sorted() { fields.append((key, String(counts[key]!))) }
            logger.log(LogEvent(.info, "stage_finished", fields))
            return nil
        } catch {
            let seconds = Self.seconds(ContinuousClock.now - started)
            let reason = ErrorText.describe(error)
            let now = Date()
            var inARow = 0
            state.stage(name) {
                $0.runs += 1
                $0.failures += 1
                $0.durationSum += seconds
                $0.lastDuration = seconds
                $0.lastResult = .failed(reason: reason)
                $0.lastFailure = now
                $0.failuresInARow += 1
                inARow = $0.failuresInARow
            }
            logger.log(
                state.stopRequested ? .warning : .error, "stage_failed",
                [
                    "stage": name, "seconds": seconds, "sqlstate": ErrorText.sqlState(error), "reason": reason,
                    "failures_in_a_row": inARow, "during_stop": state.stopRequested,
                    "action": "rolled back; the other stages go on; retried next cycle",
                ])
            checkConnection(after: error)
            return ("stage \(name) failed: \(reason)", ErrorText.isTransient(error))
        }
    }

    // MARK: Reload

    func reload() {
        state.update { $0.reloadRequested = false }
        logger.info("reload_requested", [:])
        let fresh: ServiceConfiguration
        let freshFeeds: [FeedDefinition]
        var freshMigrator = migrator
        do {
            fresh = try ServiceConfiguration.load(path: configurationPath)
            freshFeeds = try FeedDefinition.loadAll(directory: fresh.feedsDirectory)
            if fresh.schemasDirectory != configuration.schemasDirectory {
                let candidate = try Migrator(directory: fresh.migrationsDirectory)
                if let connection {
                    let pending = try candidate.pending(connection)
                    if !pending.isEmpty {
                        throw DaemonError(
                            .migrationsPending,
                            "the new schemas folder has \(pending.count) migrations the database has not applied")
                    }
                }
                freshMigrator = candidate
            }
        } catch {
            let reason = ErrorText.describe(error)
            state.update { $0.reloadsRefused += 1 }
            logger.error("reload_refused", ["reason": reason, "action": "keeping the running configuration"])
            lastStatus = ""
            status("Reload refused, previous configuration still running: \(reason)")
            return
        }
        notifier.reloading()
        var applied = fresh
        if fresh.connectionString != configuration.connectionString
            || fresh.lockBehaviour != configuration.lockBehaviour
        {
            applied.conninfo = configuration.conninfo
            applied.passfile = configuration.passfile
            logger.warning(
                "reload_needs_restart", ["setting": "database", "action": "keeping the running value until a restart"])
        }
        if fresh.listen != configuration.listen {
            applied.listen = configuration.listen
            logger.warning(
                "reload_needs_restart",
                ["setting": "http.listen", "action": "keeping the running value until a restart"])
        }
        let now = Date()
        var nextRuntimes: [String: FeedRuntime] = [:]
        for definition in freshFeeds {
            var runtime = runtimes[definition.name] ?? FeedRuntime()
            let old = feeds.first { $0.name == definition.name }
            if old == nil || old!.schedule != definition.schedule || old!.source != definition.source {
                runtime.catchingUp = true
                // New or changed: catch up at once if its next run is not sooner anyway.
                let computed = ScheduleMath.nextRun(definition.schedule, lastStart: runtime.lastStart, now: now)
                runtime.nextRun =
                    old == nil ? ScheduleMath.nextRun(definition.schedule, lastStart: nil, now: now) : computed
            }
            nextRuntimes[definition.name] = runtime
        }
        configuration = applied
        feeds = freshFeeds
        runtimes = nextRuntimes
        migrator = freshMigrator
        logger.setLevel(applied.logLevel)
        applyToState()
        publishNextRuns()
        state.update { $0.reloadsApplied += 1 }
        logger.notice("reload_applied", ["feeds": freshFeeds.count])
        lastStatus = ""
        notifier.ready(status: "Configuration reloaded")
    }

    func applyToState() {
        let connectionString = configuration.connectionString
        let feedList = feeds
        state.setFeeds(feedList)
        state.update {
            $0.connectionString = connectionString
        }
        ShutdownSettings.shared.set(
            grace: configuration.shutdownGraceSeconds, maximumCycle: configuration.maximumCycleSeconds)
    }

    // MARK: Threads

    func startSignalThread(_ signals: SignalPipe) {
        let state = self.state
        let logger = self.logger
        let notifier = self.notifier
        let thread = Thread { Self.signalLoop(signals, state: state, logger: logger, notifier: notifier) }
        thread.name = "signals"
        thread.start()
    }

    /// Turns signals into requests; past the grace period, ends the worker's database session (its
    /// transaction rolls back) and, if even that does not end it, exits.
    static func signalLoop(_ signals: SignalPipe, state: ServiceState, logger: Logger, notifier: SystemdNotifier) {
        var graceEnds: ContinuousClock.Instant?
        var cancelled = false
        var hardDeadline: ContinuousClock.Instant?
        while true {
            var timeout: Double?
            if let end = hardDeadline ?? graceEnds { timeout = max(0, seconds(end - .now)) }
            if let signal = signals.next(timeout: timeout) {
                switch signal {
                case SIGHUP:
                    state.update { $0.reloadRequested = true }
                    state.wake()
                default:
                    if graceEnds == nil {
                        let grace = ShutdownSettings.shared.grace
                        graceEnds = .now + .milliseconds(Int64(grace * 1000))
                        state.update {
                            $0.stopRequested = true
                            $0.stopDeadline = graceEnds
                        }
                        logger.notice("stop_requested", ["signal": SignalPipe.name(signal), "grace_seconds": grace])
                        notifier.stopping(status: "Stopping: finishing the work in flight (at most \(Int(grace)) s)")
                    } else {
                        logger.warning(
                            "stop_hurried",
                            ["signal": SignalPipe.name(signal), "action": "ending the work in flight now"])
                        graceEnds = .now
                    }
                    state.wake()
                }
                continue
            }
            let now = ContinuousClock.now
            if let hard = hardDeadline, now >= hard {
                logger.error(
                    "stop_forced",
                    ["action": "exiting; the server rolls back any open transaction when the connection closes"])
                _exit(0)
            }
            if let end = graceEnds, now >= end, !cancelled {
                cancelled = true
                hardDeadline = .now + .seconds(5)
                let snapshot = state.snapshot()
                if snapshot.busy != nil, snapshot.backendPID != 0 {
                    logger.warning(
                        "stop_grace_exceeded",
                        [
                            "busy": snapshot.busy ?? "-",
                            "action": "ending the worker's database session; its transaction rolls back",
                        ])
                    terminateBackend(snapshot.connectionString, pid: snapshot.backendPID, logger: logger)
                }
            }
        }
    }

    /// Ends the worker's session from another connection: the server rolls back its open transaction
    /// at once, and the worker's next database call fails, so it sees the stop request.
    static func terminateBackend(_ connectionString: String, pid: Int32, logger: Logger) {
        do {
            let connection = try PostgresConnection.connect(connectionString, applicationName: "familyconnect-stop")
            defer { connection.close() }
            try connection.execute("SELECT pg_terminate_backend($1)", [Int(pid)])
        } catch {
            logger.warning("terminate_failed", ["reason": ErrorText.describe(error)])
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    func startHTTPThread(_ server: HTTPServer) {
        let state = self.state
        let contributors = self.contributors
        let logger = self.logger
        let stopped = httpStopped
        let thread = Thread {
            let endpoint = StatusEndpoint(state: state, contributors: contributors, logger: logger)
            server.serve { endpoint.handle($0) }
            endpoint.close()
            stopped.signal()
        }
        thread.name = "http"
        thread.start()
    }

    func startWatchdogThread() {
        guard notifier.isEnabled, let interval = SystemdNotifier.watchdogPingInterval() else { return }
        let state = self.state
        let notifier = self.notifier
        let logger = self.logger
        logger.info("watchdog_enabled", ["ping_every_seconds": interval])
        let thread = Thread {
            var withheld = false
            while true {
                let healthy = state.schedulerIsHealthy(
                    maximumCycleSeconds: ShutdownSettings.shared.maximumCycle, staleAfter: max(10, interval * 2))
                if healthy {
                    notifier.watchdog()
                    if withheld {
                        withheld = false
                        logger.notice("watchdog_resumed", [:])
                    }
                } else if !withheld {
                    withheld = true
                    let busy = state.snapshot().busy ?? "idle loop"
                    logger.error(
                        "watchdog_withheld",
                        ["busy": busy, "reason": "the scheduler is stuck; systemd will restart the service"])
                }
                Thread.sleep(forTimeInterval: interval)
            }
        }
        thread.name = "watchdog"
        thread.start()
    }
}

/// Settings the signal and watchdog threads read; updated on (re)load.
final class ShutdownSettings: Sendable {
    static let shared = ShutdownSettings()
    private let values = Mutex<(grace: Double, maximumCycle: Double)>((30, 3600))

    func set(grace: Double, maximumCycle: Double) { values.withLock { $0 = (grace, maximumCycle) } }
    var grace: Double { values.withLock { $0.grace } }
    var maximumCycle: Double { values.withLock { $0.maximumCycle } }
}

/// Answers `/healthz`, `/metrics` and `/` on the HTTP server's connection threads, several at once.
/// `/healthz` reads only the service state; `/metrics` also reads the database through one scrape
/// connection, which one request at a time may use (libpq allows no more), so a slow database
/// holds up scrapes but never a health check.
final class StatusEndpoint: Sendable {
    let state: ServiceState
    let contributors: [any MetricsContributor]
    let logger: Logger
    private let scrape = Mutex(ScrapeConnection())

    init(state: ServiceState, contributors: [any MetricsContributor], logger: Logger) {
        self.state = state
        self.contributors = contributors
        self.logger = logger
    }

    func close() {
        scrape.withLock { $0.close() }
    }

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        guard request.method == "GET" || request.method == "HEAD" else {
            return HTTPResponse(status: 405, body: "only GET and HEAD\n", headers: [("Allow", "GET, HEAD")])
        }
        switch request.path {
        case "/healthz":
            let (status, body) = HealthReport.evaluate(state.snapshot())
            return HTTPResponse(status: status, contentType: "application/json", body: body)
        case "/metrics":
            return HTTPResponse(status: 200, contentType: PrometheusText.contentType, body: metrics())
        case "/":
            return .text(200, "familyconnect: /healthz (health, JSON), /metrics (Prometheus)")
        default:
            return .text(404, "not found; try /healthz or /metrics")
        }
    }

    func metrics() -> String {
        let snapshot = state.snapshot()
        var text = PrometheusText()
        ServiceMetrics.render(snapshot, now: Date(), into: &text)
        let contributors = self.contributors
        let logger = self.logger
        let database: String? =
            snapshot.ready
            ? scrape.withLock { $0.collect(snapshot.connectionString, contributors: contributors, logger: logger) }
            : nil
        text.metric(
            "familyconnect_metrics_database_up", .gauge, "1 when the database totals below were read for this scrape.",
            database == nil ? 0 : 1)
        return text.text + (database ?? "")
    }
}

/// The scrape connection of `/metrics`: read-only, short statement timeout, reconnect at most every 10 s.
struct ScrapeConnection {
    var connection: PostgresConnection?
    var lastAttempt: ContinuousClock.Instant?
    var lastError: String?

    mutating func close() {
        connection?.close()
        connection = nil
    }

    /// The database totals as Prometheus text, or nil when they could not be read.
    mutating func collect(
        _ connectionString: String, contributors: [any MetricsContributor], logger: Logger
    ) -> String? {
        guard let connection = databaseConnection(connectionString, logger: logger) else { return nil }
        var database = PrometheusText()
        do {
            try ServiceMetrics.collectDatabase(connection, into: &database)
            for contributor in contributors { try contributor.collect(connection, into: &database) }
            lastError = nil
            return database.text
        } catch {
            let reason = ErrorText.describe(error)
            if reason != lastError {
                logger.warning("metrics_query_failed", ["sqlstate": ErrorText.sqlState(error), "reason": reason])
                lastError = reason
            }
            if !connection.isOpen || ErrorText.isTransient(error) { close() }
            return nil
        }
    }

    mutating func databaseConnection(_ connectionString: String, logger: Logger) -> PostgresConnection? {
        if let connection, connection.isOpen { return connection }
        connection = nil
        if let lastAttempt, ContinuousClock.now - lastAttempt < .seconds(10) { return nil }
        lastAttempt = .now
        do {
            let fresh = try PostgresConnection.connect(connectionString, applicationName: "familyconnect-metrics")
            try fresh.execute("SET statement_timeout = '5s'")
            try fresh.execute("SET default_transaction_read_only = on")
            connection = fresh
            return fresh
        } catch {
            let reason = ErrorText.describe(error)
            if reason != lastError {
                logger.warning("metrics_database_unreachable", ["reason": reason])
                lastError = reason
            }
            return nil
        }
    }
}
