import Foundation
import Postgres
import PostgresTestSupport
import Synth
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `familyconnect serve` as a real child process against a real PostgreSQL.
@Suite("serve (integration)")
struct ServeIntegrationTests {
    @Test(
        "drop a file: ingested and resolved; /metrics and /healthz; a second instance; a lost connection; SIGHUP with a broken config; SIGTERM exits 0"
    )
    func endToEnd() throws {
        let setup = try ServeSetup(feeds: ["school_attendance": "every 1s", "police_notifications": "manual"])
        defer { setup.remove() }
        try TestDatabase.with(.migrated) { database in
            try setup.writeConfig(conninfo: database.connectionString)
            let notify = try NotifySocket(abstract: true)
            let serve = try ServeProcess(
                config: setup.configPath, notify: notify, environment: ["WATCHDOG_USEC": "1000000"])
            defer { serve.kill9() }
            let watcher = try database.connect()

            // Readiness over a real datagram socket in the abstract namespace.
            #expect(notify.waitFor({ $0 == "READY=1" }, timeout: 30), "no READY=1; log:\n\(serve.logs.text)")
            let port = try serve.httpPort()
            #expect(notify.waitFor({ $0 == "WATCHDOG=1" }, timeout: 10), "no WATCHDOG=1 although WATCHDOG_USEC is set")
            #expect(notify.assignments().contains { $0.hasPrefix("STATUS=") })

            // Drop a synthetic file; it is loaded, archived and resolved.
            let file = try setup.drop(
                kind: .schoolAttendance, feed: "school_attendance", rows: 400, seed: 11, name: "school_attendance-1.csv"
            )
            let personal = try personalValues(inFeedFile: file)
            let processed = setup.folder("school_attendance").appendingPathComponent("processed")
            let resolved = try poll(timeout: 60) {
                let batches = try watcher.execute("SELECT count(*) FROM feed_batches").scalar(Int.self)
                let unresolved = try watcher.execute(
                    "SELECT count(*) FROM source_records sr WHERE sr.subject = 'child' AND NOT EXISTS (SELECT 1 FROM child_records cr WHERE cr.record_id = sr.id)"
                ).scalar(Int.self)
                return batches == 1 && unresolved == 0
            }
            #expect(resolved, "the file was not ingested and resolved; log:\n\(serve.logs.text)")
            let rowsLoaded = try watcher.execute("SELECT rows_loaded FROM feed_batches").scalar(Int.self)
            #expect(rowsLoaded > 300)
            #expect(try watcher.execute("SELECT count(*) FROM child_records").scalar(Int.self) == rowsLoaded)
            #expect(serve.waitForLog("event=stage_finished", "stage=resolve", "records=\(rowsLoaded)") != nil)
            #expect(serve.waitForLog("event=cycle_finished", "feed=school_attendance", "result=ok") != nil)
            #expect((try FileManager.default.contentsOfDirectory(atPath: processed.path)).count == 1)
            // The later stages ran on the new children: families grouped, indicators and flags evaluated, exports written.
            for stage in ["families", "flags", "export"] {
                #expect(
                    serve.waitForLog("event=stage_finished", "stage=\(stage)") != nil, "stage \(stage) did not finish")
            }
            #expect(try watcher.execute("SELECT count(*) FROM family_members").scalar(Int.self) > 0)
            #expect(try watcher.execute("SELECT count(*) FROM indicators").scalar(Int.self) > 0)

            // Metrics: the Prometheus text format, with rows, links, review queue, durations, last success.
            let metrics = try curl("http://127.0.0.1:\(port)/metrics")
            #expect(metrics.status == 200)
            for line in metrics.body.split(separator: "\n") where !line.hasPrefix("#") {
                #expect(
                    line.wholeMatch(of: /[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+]+/) != nil,
                    "not a Prometheus sample line: \(line)")
            }
            #expect(
                metrics.body.contains("familyconnect_db_feed_rows_loaded{feed=\"school_attendance\"} \(rowsLoaded)"))
            #expect(
                metrics.body.contains("familyconnect_feed_rows_loaded_total{feed=\"school_attendance\"} \(rowsLoaded)"))
            #expect(metrics.body.contains("familyconnect_db_feed_rows_quarantined{feed=\"school_attendance\"} "))
            #expect(metrics.body.contains("familyconnect_feed_batches_loaded_total{feed=\"school_attendance\"} 1"))
            #expect(metrics.body.contains("familyconnect_db_review_queue_open "))
            #expect(metrics.body.contains("familyconnect_db_record_links{method="))
            #expect(metrics.body.contains("familyconnect_links_made_total "))
            #expect(metrics.body.contains("familyconnect_stage_duration_seconds_count{stage=\"resolve\"}"))
            #expect(metrics.body.contains("familyconnect_feed_cycle_duration_seconds_sum{feed=\"school_attendance\"}"))
            #expect(
                metrics.body.contains("familyconnect_feed_last_success_timestamp_seconds{feed=\"school_attendance\"}"))
            #expect(metrics.body.contains("familyconnect_metrics_database_up 1"))
            // Families, flags and exports are counted when their tables exist (migrations 0004, 0005).
            for table in ["families", "flags", "flags_exported"]
            where try watcher.execute(
                "SELECT to_regclass($1) IS NOT NULL", [table == "flags_exported" ? "export_ledger" : table]
            )
            .scalar(Bool.self) {
                #expect(metrics.body.contains("# TYPE familyconnect_db_\(table) gauge"), "\(table)")
            }

            // Health: 200 and JSON naming the feed; the manual feed does not count.
            let health = try curl("http://127.0.0.1:\(port)/healthz")
            #expect(health.status == 200, "\(health.body)")
            #expect(health.body.contains("\"status\":\"ok\""))
            #expect(
                health.body.contains(
                    "{\"feed\":\"school_attendance\",\"schedule\":\"every 1s\",\"state\":\"ok\",\"healthy\":true"))
            #expect(
                health.body.contains("\"feed\":\"police_notifications\",\"schedule\":\"manual\",\"state\":\"manual\""))
            #expect(try curl("http://127.0.0.1:\(port)/nothing").status == 404)
            #expect(try curl("http://127.0.0.1:\(port)/healthz", method: "POST").status == 405)

            // A second instance on the same database with lock = exit says so and exits 75.
            let secondSetup = try ServeSetup(feeds: ["school_attendance": "every 1s"])
            defer { secondSetup.remove() }
            try secondSetup.writeConfig(conninfo: database.connectionString, lock: "exit")
            let second = try ServeProcess(config: secondSetup.configPath)
            defer { second.kill9() }
            #expect(second.waitForExit(timeout: 30) == 75)
            #expect(second.logs.text.contains("event=lock_held_elsewhere"), "\(second.logs.text)")

            // The worker's connection is cut: it reconnects, takes the lock again and goes on.
            let workerLine = try #require(serve.waitForLog("event=lock_acquired", "backend_pid="))
            let before = try #require(Int(workerLine.split(separator: "=").last ?? ""))
            #expect(
                try watcher.execute(
                    "SELECT application_name FROM pg_stat_activity WHERE pid = $1", [before]
                ).scalar(String.self) == "familyconnect")
            #expect(try watcher.execute("SELECT pg_terminate_backend($1)", [before]).scalar(Bool.self))
            #expect(serve.waitForLog("event=database_connection_lost") != nil, "\(serve.logs.timedText)")
            #expect(poll(timeout: 30) { serve.count("event=lock_acquired") == 2 }, "\(serve.logs.timedText)")
            try setup.drop(
                kind: .schoolAttendance, feed: "school_attendance", rows: 50, seed: 12, name: "school_attendance-2.csv")
            #expect(
                try poll(timeout: 60) {
                    try watcher.execute("SELECT count(*) FROM feed_batches").scalar(Int.self) == 2
                },
                "\(serve.logs.timedText)")
            let lockHolder = try watcher.execute(
                """
                SELECT a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'familyconnect'
                """
            ).rows.first.map { try $0.decode(Int.self, at: 0) }
            #expect(lockHolder != nil && lockHolder != before, "the lock must be held again by the new session")

            // SIGHUP with a broken configuration: refused, the old one keeps running.
            let good = try String(contentsOfFile: setup.configPath, encoding: .utf8)
            try (good + "\nthis line has no equals sign\n").write(
                toFile: setup.configPath, atomically: true, encoding: .utf8)
            serve.signal(SIGHUP)
            let refused = serve.waitForLog("event=reload_refused")
            #expect(refused != nil, "\(serve.logs.text)")
            #expect(refused?.hasPrefix("<3>") == true)
            #expect(refused?.contains("familyconnect.conf:") == true, "the reason names the file and line")
            #expect(notify.waitFor({ $0.hasPrefix("STATUS=Reload refused") }, timeout: 10))
            let cycles = serve.count("event=ingest_finished")
            try setup.drop(
                kind: .schoolAttendance, feed: "school_attendance", rows: 30, seed: 13, name: "school_attendance-3.csv")
            #expect(
                try poll(timeout: 60) { try watcher.execute("SELECT count(*) FROM feed_batches").scalar(Int.self) == 3 }
            )
            // The line follows the commit (and the file's move to processed/): wait for it.
            #expect(poll(timeout: 30) { serve.count("event=ingest_finished") > cycles }, "\(serve.logs.timedText)")
            #expect(
                try curl("http://127.0.0.1:\(port)/healthz").status == 200, "still healthy on the old configuration")

            // A good configuration is taken on SIGHUP (RELOADING=1, then READY=1 again).
            try good.replacingOccurrences(of: "log_level = info", with: "log_level = debug")
                .write(toFile: setup.configPath, atomically: true, encoding: .utf8)
            serve.signal(SIGHUP)
            #expect(serve.waitForLog("event=reload_applied") != nil, "\(serve.logs.text)")
            #expect(notify.waitFor({ $0 == "RELOADING=1" }, timeout: 10))

            // SIGTERM: STOPPING=1, exit 0 within 10 s, nothing half-written, no session left.
            let stopStarted = Date()
            serve.signal(SIGTERM)
            let status = serve.waitForExit(timeout: 10)
            #expect(
                status == 0,
                "exit status \(String(describing: status)) after \(Date().timeIntervalSince(stopStarted)) s; log:\n\(serve.logs.timedText)"
            )
            #expect(notify.assignments().contains("STOPPING=1"))
            #expect(serve.logs.text.contains("event=stopped exit_code=0"))
            #expect(
                try watcher.execute("SELECT sum(rows_loaded)::int FROM feed_batches").scalar(Int.self)
                    == (try watcher.execute("SELECT count(*) FROM source_records").scalar(Int.self)))
            #expect(try watcher.execute("SELECT count(*) FROM feed_batch_failures").scalar(Int.self) == 0)
            #expect(
                try poll(timeout: 10) {
                    try watcher.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'familyconnect%' AND application_name <> 'familyconnect-tests'"
                    ).scalar(Int.self) == 0
                })
            let left = try FileManager.default.contentsOfDirectory(atPath: setup.folder("school_attendance").path)
            #expect(left.sorted() == ["processed"], "drop folder still holds \(left)")

            // Logs: one event per line with a journald priority; no synthetic name, date of birth, postcode or address.
            let lines = serve.logs.lines
            #expect(lines.count > 10)
            for line in lines { #expect(isWellFormedLogLine(line), "malformed log line: \(line)") }
            // Opaque ids (child, family, flag) are random base-32 and may spell an upper-cased name by chance.
            let withoutIDs = serve.logs.text.replacing(/\b[A-Z][0-9ABCDEFGHJKMNPQRSTVWXYZ]{9}\b/, with: "")
            let words = Set(withoutIDs.split(whereSeparator: { !$0.isLetter }).map(String.init))
            let leaked = words.intersection(personal.words)
            #expect(leaked.isEmpty, "names in the log: \(leaked.sorted().prefix(10))")
            let leakedPhrases = personal.phrases.filter { serve.logs.text.contains($0) }
            #expect(
                leakedPhrases.isEmpty, "dates of birth, postcodes or addresses in the log: \(leakedPhrases.prefix(5))")
        }
    }

    @Test("SIGKILL in the middle of a cycle, then a restart: the database ends as after an undisturbed run")
    func killedMidCycle() throws {
        let source = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fc-kill-source-\(UUID().uuidString.prefix(8)).csv")
        defer { try? FileManager.default.removeItem(at: source) }
        // Big enough that resolution takes a good fraction of a second in a debug build.
        try SyntheticFeedWriter.writeSingleFeed(kind: .schoolAttendance, rows: 1800, seed: 21, to: source)

        func dropCopy(_ setup: ServeSetup) throws {
            let folder = setup.folder("school_attendance")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let temporary = folder.appendingPathComponent(".incoming.part")
            try FileManager.default.copyItem(at: source, to: temporary)
            guard rename(temporary.path, folder.appendingPathComponent("school_attendance-2026-09-01.csv").path) == 0
            else {
                throw TestFailure("rename failed")
            }
        }
        func waitResolved(_ watcher: PostgresConnection, _ serve: ServeProcess) throws {
            let done = try poll(timeout: 120) {
                let batches = try watcher.execute("SELECT count(*) FROM feed_batches").scalar(Int.self)
                let unresolved = try watcher.execute(
                    "SELECT count(*) FROM source_records sr WHERE sr.subject = 'child' AND NOT EXISTS (SELECT 1 FROM child_records cr WHERE cr.record_id = sr.id)"
                ).scalar(Int.self)
                return batches == 1 && unresolved == 0
            }
            #expect(done, "not resolved; log:\n\(serve.logs.text)")
        }
        func waitGone(_ watcher: PostgresConnection) throws {
            // The server rolls the killed session's transaction back once it notices the closed socket.
            try poll(timeout: 20) {
                try watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'familyconnect%' AND application_name <> 'familyconnect-tests'"
                ).scalar(Int.self) == 0
            }
        }

        // Undisturbed run.
        let undisturbed: DatabaseState = try TestDatabase.with(.migrated) { database in
            let setup = try ServeSetup(feeds: ["school_attendance": "every 1s"])
            defer { setup.remove() }
            try setup.writeConfig(conninfo: database.connectionString)
            let watcher = try database.connect()
            let serve = try ServeProcess(config: setup.configPath)
            defer { serve.kill9() }
            #expect(serve.waitForLog("event=lock_acquired") != nil, "\(serve.logs.text)")
            try dropCopy(setup)
            try waitResolved(watcher, serve)
            serve.signal(SIGTERM)
            #expect(serve.waitForExit(timeout: 10) == 0)
            return try DatabaseState.read(watcher)
        }
        #expect(undisturbed.sourceRecords > 1000)
        #expect(undisturbed.childRecords == undisturbed.sourceRecords)

        // Disturbed run: killed while loading, killed while resolving, then left to finish. Resolution
        // is held on a lock until the kills are done, so "while resolving" does not depend on timing.
        let disturbed: DatabaseState = try TestDatabase.with(.migrated) { database in
            let setup = try ServeSetup(feeds: ["school_attendance": "every 1s"])
            defer { setup.remove() }
            try setup.writeConfig(conninfo: database.connectionString)
            let watcher = try database.connect()
            let blocker = try ResolutionBlocker(database)

            let first = try ServeProcess(config: setup.configPath)
            defer { first.kill9() }
            #expect(first.waitForLog("event=lock_acquired") != nil, "\(first.logs.text)")
            try dropCopy(setup)
            #expect(first.waitForLog("event=batch_started", timeout: 60) != nil)
            first.signal(SIGKILL)
            #expect(first.waitForExit(timeout: 10) != nil)
            try endServiceSessions(watcher)
            try waitGone(watcher)
            // Whatever the moment, a batch is there whole or not at all.
            let batches = try watcher.execute("SELECT count(*) FROM feed_batches").scalar(Int.self)
            let records = try watcher.execute("SELECT count(*) FROM source_records").scalar(Int.self)
            let declared = try watcher.execute("SELECT coalesce(sum(rows_loaded), 0)::int FROM feed_batches").scalar(
                Int.self)
            #expect(batches <= 1 && records == declared)
            #expect(try watcher.execute("SELECT count(*) FROM child_records").scalar(Int.self) == 0)

            // The second run loads the batch if the first did not, starts resolving and is killed there.
            let second = try ServeProcess(config: setup.configPath)
            defer { second.kill9() }
            let waiter = try blocker.waitForWaiter(watcher)
            #expect(waiter != nil, "resolution never reached its first write; log:\n\(second.logs.text)")
            #expect(second.logs.text.contains("stage=resolve"), "\(second.logs.text)")
            #expect(try watcher.execute("SELECT count(*) FROM feed_batches").scalar(Int.self) == 1)
            second.signal(SIGKILL)
            #expect(second.waitForExit(timeout: 10) != nil)
            try endServiceSessions(watcher)
            try waitGone(watcher)
            try blocker.release()
            #expect(try watcher.execute("SELECT count(*) FROM feed_batches").scalar(Int.self) == 1)
            #expect(
                try watcher.execute("SELECT count(*) FROM child_records").scalar(Int.self) == 0,
                "the resolution run was killed before it committed, so none of it is kept")
            #expect(try watcher.execute("SELECT count(*) FROM resolution_runs").scalar(Int.self) == 0)

            let third = try ServeProcess(config: setup.configPath)
            defer { third.kill9() }
            try waitResolved(watcher, third)
            third.signal(SIGTERM)
            #expect(third.waitForExit(timeout: 10) == 0)
            let left = try FileManager.default.contentsOfDirectory(atPath: setup.folder("school_attendance").path)
            #expect(left == ["processed"], "drop folder still holds \(left)")
            return try DatabaseState.read(watcher)
        }
        #expect(disturbed == undisturbed, "undisturbed: \(undisturbed)\ndisturbed:   \(disturbed)")
    }

    @Test(
        "connection lost in the middle of a stage: rolled back, reconnected, retried; SIGTERM in the middle of a stage: rolled back past the grace period, exit 0"
    )
    func interruptedStages() throws {
        let setup = try ServeSetup(feeds: ["school_attendance": "every 1s"])
        defer { setup.remove() }
        try TestDatabase.with(.migrated) { database in
            try setup.writeConfig(conninfo: database.connectionString, grace: 1)
            let watcher = try database.connect()
            let serve = try ServeProcess(config: setup.configPath)
            defer { serve.kill9() }
            #expect(serve.waitForLog("event=lock_acquired") != nil, "\(serve.logs.text)")
            // Resolution waits on this lock in the middle of its transaction until the test lets go.
            let blocker = try ResolutionBlocker(database)
            try setup.drop(
                kind: .schoolAttendance, feed: "school_attendance", rows: 1800, seed: 41,
                name: "school_attendance-1.csv")
            let blocked = try blocker.waitForWaiter(watcher)
            #expect(blocked != nil, "resolution never reached its first write; log:\n\(serve.logs.text)")
            #expect(serve.logs.text.contains("stage=resolve"), "\(serve.logs.text)")

            // The database session is cut while resolution runs (not a stop): the run is rolled back,
            // the service reconnects, takes the lock again and runs the stage again.
            let worker = try #require(blocked)
            #expect(try watcher.execute("SELECT pg_terminate_backend($1)", [worker]).scalar(Bool.self))
            let failed = serve.waitForLog("event=stage_failed", "stage=resolve", timeout: 60)
            #expect(failed?.hasPrefix("<3>") == true, "\(serve.logs.timedText)")
            #expect(serve.waitForLog(after: ["event=stage_failed"], then: ["event=lock_acquired"]) != nil)
            #expect(
                serve.waitForLog(after: ["event=stage_failed"], then: ["event=stage_started", "stage=resolve"]) != nil,
                "\(serve.logs.timedText)")
            #expect(try watcher.execute("SELECT count(*) FROM resolution_runs").scalar(Int.self) == 0)

            // SIGTERM while the retried run is in flight: past the 1 s grace its session is ended.
            let retried = try blocker.waitForWaiter(watcher)
            #expect(retried != nil && retried != worker, "the retried run never reached its first write")
            let started = Date()
            serve.signal(SIGTERM)
            let status = serve.waitForExit(timeout: 10)
            let seconds = Date().timeIntervalSince(started)
            #expect(status == 0, "\(serve.logs.timedText)")
            #expect(seconds < 1 + 5 + 2, "bounded by the grace period plus the hard limit: \(seconds) s")
            // All or nothing: the batch is whole, and resolution either committed or left no trace.
            let records = try watcher.execute("SELECT count(*) FROM source_records").scalar(Int.self)
            #expect(records == (try watcher.execute("SELECT sum(rows_loaded)::int FROM feed_batches").scalar(Int.self)))
            #expect(
                try poll(timeout: 10) {
                    try watcher.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'familyconnect'"
                    ).scalar(Int.self) == 0
                })
            try blocker.release()
            #expect(try watcher.execute("SELECT count(*) FROM child_records").scalar(Int.self) == 0)
            #expect(try watcher.execute("SELECT count(*) FROM resolution_runs").scalar(Int.self) == 0)
            #expect(serve.logs.text.contains("event=stop_grace_exceeded"), "\(serve.logs.timedText)")
        }
    }

    @Test("database unreachable at start: retries with backoff, says so in STATUS, no READY, SIGINT stops it cleanly")
    func databaseUnreachable() throws {
        let setup = try ServeSetup(feeds: ["school_attendance": "every 1s"])
        defer { setup.remove() }
        // Port 1 on loopback: connection refused at once.
        try setup.writeConfig(conninfo: "host=127.0.0.1 port=1 dbname=nothing user=nobody connect_timeout=2")
        let notify = try NotifySocket(abstract: false)
        let serve = try ServeProcess(config: setup.configPath, notify: notify)
        defer { serve.kill9() }
        let port = try serve.httpPort()
        #expect(serve.waitForLog("event=database_unreachable", "attempt=2", timeout: 20) != nil, "\(serve.logs.text)")
        #expect(notify.waitFor({ $0.hasPrefix("STATUS=Waiting for the database") }, timeout: 10))
        #expect(!notify.assignments().contains("READY=1"))
        #expect(serve.process.isRunning, "no crash loop: the process waits")
        let health = try curl("http://127.0.0.1:\(port)/healthz")
        #expect(health.status == 503)
        #expect(health.body.contains("\"phase\":\"waiting_for_database\""), "\(health.body)")
        serve.signal(SIGINT)
        #expect(serve.waitForExit(timeout: 10) == 0)
        #expect(notify.assignments().contains("STOPPING=1"))
    }

    @Test("pending migrations: refuses to start, says which, exit 78")
    func pendingMigrations() throws {
        let setup = try ServeSetup(feeds: ["school_attendance": "every 1s"])
        defer { setup.remove() }
        try TestDatabase.with(.empty) { database in
            try setup.writeConfig(conninfo: database.connectionString)
            let notify = try NotifySocket(abstract: true)
            let serve = try ServeProcess(config: setup.configPath, notify: notify)
            defer { serve.kill9() }
            #expect(serve.waitForExit(timeout: 30) == 78)
            let line = serve.logs.lines.first { $0.contains("event=migrations_pending") }
            #expect(line?.hasPrefix("<3>") == true, "\(serve.logs.text)")
            #expect(line?.contains("0001_foundation.sql") == true)
            #expect(!notify.assignments().contains("READY=1"))
            #expect(notify.assignments().contains { $0.hasPrefix("STATUS=Refusing to start") })
        }
    }

    @Test("a feed server that hangs holds up only its own feed; /healthz names it")
    func slowFeedServer() throws {
        // A TCP socket that listens but never accepts: connections hang in the handshake.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        listen(listener, 1)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let original = try String(
            contentsOfFile: TestDatabase.schemasDirectory + "/feeds/health_visiting.feed", encoding: .utf8)
        var remote = ""
        var inSource = false
        for line in original.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("[") { inSource = line == "[source]" }
            if line.hasPrefix("name =") {
                remote += "name = partner_remote\n"
            } else if inSource && line.contains("=") {
                continue
            } else {
                remote += line + "\n"
            }
            if line == "[source]" {
                remote +=
                    "type = https\nurl = https://127.0.0.1:\(port)/extract.csv\ntimeout_seconds = 4\nretries = 0\nschedule = every 2s\n"
            }
        }
        let setup = try ServeSetup(feeds: ["school_attendance": "every 1s"], extraFeeds: ["partner_remote": remote])
        defer { setup.remove() }
        try TestDatabase.with(.migrated) { database in
            try setup.writeConfig(conninfo: database.connectionString)
            let serve = try ServeProcess(config: setup.configPath)
            defer { serve.kill9() }
            let http = try serve.httpPort()
            #expect(serve.waitForLog("event=fetch_started", "feed=partner_remote") != nil, "\(serve.logs.text)")
            try setup.drop(
                kind: .schoolAttendance, feed: "school_attendance", rows: 60, seed: 31, name: "school_attendance-1.csv")
            #expect(serve.waitForLog("event=batch_loaded", "feed=school_attendance", timeout: 60) != nil)
            let failed = serve.waitForLog("event=fetch_failed", "feed=partner_remote", timeout: 30)
            #expect(failed?.contains("127.0.0.1") == true, "\(serve.logs.text)")
            let loadedAt = serve.logs.lines.firstIndex { $0.contains("event=batch_loaded") } ?? .max
            let failedAt = serve.logs.lines.firstIndex { $0.contains("event=fetch_failed") } ?? -1
            #expect(loadedAt < failedAt, "the school feed was loaded while the partner server hung")
            let health = try curl("http://127.0.0.1:\(http)/healthz")
            #expect(health.status == 503)
            #expect(
                health.body.contains("\"feed\":\"partner_remote\",\"schedule\":\"every 2s\",\"state\":\"failing\""),
                "\(health.body)")
            #expect(
                health.body.contains("\"feed\":\"school_attendance\",\"schedule\":\"every 1s\",\"state\":\"ok\""),
                "\(health.body)")
            let metrics = try curl("http://127.0.0.1:\(http)/metrics")
            #expect(metrics.body.contains("familyconnect_feed_healthy{feed=\"partner_remote\"} 0"))
            #expect(metrics.body.contains("familyconnect_feed_healthy{feed=\"school_attendance\"} 1"))
            // Stopping does not wait for a fetch in flight.
            serve.signal(SIGTERM)
            #expect(serve.waitForExit(timeout: 10) == 0)
        }
    }
}
