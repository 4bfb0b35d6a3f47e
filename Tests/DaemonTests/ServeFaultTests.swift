import Foundation
import Postgres
import PostgresTestSupport
import Synth
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `familyconnect serve` against data that makes a stage throw, slow HTTP clients, and its first minutes.
@Suite("serve (faults)")
struct ServeFaultTests {
    /// Opens a connection to the service's HTTP port and sends half a request, never the rest.
    func halfSentRequest(_ port: Int) throws -> Int32 {
        guard let fd = connectLoopback(port) else { throw TestFailure("connect failed: \(errno)") }
        let request = "GET /healthz HTTP/1.1\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        return fd
    }

    @Test(
        "a row that makes a stage throw: the service stays up, /healthz and /metrics name the stage, the other stages run, and the next clean cycle is ok"
    )
    func poisonedRow() throws {
        let setup = try ServeSetup(feeds: ["school_attendance": "every 1s"])
        defer { setup.remove() }
        try TestDatabase.with(.migrated) { database in
            try setup.writeConfig(conninfo: database.connectionString)
            let watcher = try database.connect()
            let serve = try ServeProcess(config: setup.configPath)
            defer { serve.kill9() }
            let port = try serve.httpPort()
            #expect(serve.waitForLog("event=lock_acquired") != nil, "\(serve.logs.text)")

            // A clean first cycle: every stage ok.
            try setup.drop(
                kind: .schoolAttendance, feed: "school_attendance", rows: 150, seed: 61, name: "school_attendance-1.csv"
            )
            #expect(
                serve.waitForLog(after: ["event=batch_loaded"], then: ["event=stage_finished", "stage=retention"])
                    != nil, "\(serve.logs.timedText)")
            let clean = try curl("http://127.0.0.1:\(port)/healthz")
            #expect(clean.status == 200, "\(clean.body)")
            #expect(clean.body.contains("{\"stage\":\"families\",\"state\":\"ok\",\"healthy\":true"), "\(clean.body)")

            // The poison: a term that starts on 30 February, written straight into the table (the loader
            // would have quarantined it). Every stage that reads a record's evidence period throws 22008.
            let poisoned = try watcher.execute(
                "SELECT min(id) FROM source_records WHERE kind = 'school_attendance' AND facts ? 'period_start'"
            ).scalar(Int.self)
            let original = try watcher.execute(
                "SELECT facts->>'period_start' FROM source_records WHERE id = $1", [poisoned]
            ).scalar(String.self)
            try watcher.execute(
                "UPDATE source_records SET facts = facts || jsonb_build_object('period_start', $2::text) WHERE id = $1",
                [poisoned, "2024-02-30"])
            let failedBefore = serve.count("event=stage_failed", "stage=families")
            try setup.drop(
                kind: .schoolAttendance, feed: "school_attendance", rows: 40, seed: 62, name: "school_attendance-2.csv")
            #expect(
                poll(timeout: 60) { serve.count("event=stage_failed", "stage=families") > failedBefore },
                "\(serve.logs.timedText)")
            let failure = try #require(
                serve.logs.lines.last { $0.contains("event=stage_failed") && $0.contains("stage=families") })
            #expect(failure.hasPrefix("<3>"))
            #expect(failure.contains("sqlstate=22008"), "\(failure)")
            #expect(!serve.logs.text.contains("2024-02-30"), "the offending value reached the log")
            // Flags read the same periods and fail too. Export, after them, runs: with a team directory
            // that names no schools it reads no school record's period. Retention, last, still runs.
            #expect(
                serve.waitForLog(
                    after: ["event=stage_failed", "stage=flags"], then: ["event=stage_finished", "stage=export"])
                    != nil, "\(serve.logs.timedText)")
            #expect(
                serve.waitForLog(
                    after: ["event=stage_failed", "stage=flags"], then: ["event=stage_finished", "stage=retention"])
                    != nil, "\(serve.logs.timedText)")

            // Still up, and monitoring says which stage and why (redacted), even with 16 slow clients.
            let held = try (0..<16).map { _ in try halfSentRequest(port) }
            defer { for fd in held { close(fd) } }
            usleep(200_000)
            let asked = Date()
            let sick = try curl("http://127.0.0.1:\(port)/healthz")
            let seconds = Date().timeIntervalSince(asked)
            #expect(seconds < 1, "/healthz took \(seconds) s with 16 half-sent requests open")
            #expect(serve.process.isRunning)
            #expect(sick.status == 503, "\(sick.body)")
            #expect(
                sick.body.contains("\"stage families failed\",\"stage flags failed\"]"),
                "\(sick.body)")
            for stage in ["families", "flags"] {
                #expect(
                    sick.body.contains("{\"stage\":\"\(stage)\",\"state\":\"failed\",\"healthy\":false"), "\(sick.body)"
                )
            }
            #expect(sick.body.contains("{\"stage\":\"resolve\",\"state\":\"ok\""), "\(sick.body)")
            #expect(sick.body.contains("{\"stage\":\"export\",\"state\":\"ok\""), "\(sick.body)")
            #expect(sick.body.contains("{\"stage\":\"retention\",\"state\":\"ok\""), "\(sick.body)")
            #expect(sick.body.contains("SQLSTATE 22008"), "\(sick.body)")
            #expect(!sick.body.contains("2024-02-30"))
            let metrics = try curl("http://127.0.0.1:\(port)/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.body.contains("familyconnect_stage_healthy{stage=\"families\"} 0"), "\(metrics.body)")
            #expect(metrics.body.contains("familyconnect_stage_healthy{stage=\"resolve\"} 1"))
            #expect(metrics.body.contains("familyconnect_stage_runs_total{stage=\"families\",result=\"error\"} 1"))
            #expect(metrics.body.contains("familyconnect_stage_failures_in_a_row{stage=\"families\"} 1"))

            // Later cycles go on: the feed is still polled every second.
            let cycles = serve.count("event=ingest_finished")
            try setup.drop(
                kind: .schoolAttendance, feed: "school_attendance", rows: 20, seed: 63, name: "school_attendance-3.csv")
            #expect(poll(timeout: 30) { serve.count("event=ingest_finished") > cycles }, "\(serve.logs.timedText)")

            // The poison removed, the next cycle that loads a batch runs every stage cleanly.
            try watcher.execute(
                "UPDATE source_records SET facts = facts || jsonb_build_object('period_start', $2::text) WHERE id = $1",
                [poisoned, original])
            try setup.drop(
                kind: .schoolAttendance, feed: "school_attendance", rows: 20, seed: 64, name: "school_attendance-4.csv")
            let loaded = ["event=batch_loaded", "file=school_attendance-4.csv"]
            #expect(
                serve.waitForLog(after: loaded, then: ["event=stage_finished", "stage=retention"]) != nil,
                "\(serve.logs.timedText)")
            let afterLoad = serve.logs.lines.drop { line in !loaded.allSatisfy { line.contains($0) } }
            for stage in ["resolve", "families", "flags", "export", "retention"] {
                #expect(afterLoad.contains { $0.contains("event=stage_finished stage=\(stage) ") }, "\(stage)")
            }
            #expect(!afterLoad.contains { $0.contains("event=stage_failed") }, "\(serve.logs.timedText)")
            let well = try curl("http://127.0.0.1:\(port)/healthz")
            #expect(well.status == 200, "\(well.body)")
            #expect(
                well.body.contains(
                    "{\"stage\":\"families\",\"state\":\"ok\",\"healthy\":true"), "\(well.body)")
            #expect(well.body.contains("\"failures_in_a_row\":0"))
            let after = try curl("http://127.0.0.1:\(port)/metrics")
            #expect(after.body.contains("familyconnect_stage_healthy{stage=\"families\"} 1"))
            #expect(try watcher.execute("SELECT count(*) FROM feed_batches").scalar(Int.self) == 4)

            serve.signal(SIGTERM)
            #expect(serve.waitForExit(timeout: 15) == 0, "\(serve.logs.timedText)")
        }
    }

    @Test("at start a feed with nothing waiting is pending, with no last success, until it is polled on its schedule")
    func pendingUntilPolled() throws {
        // Daily runs twelve hours from now: the only run in this test is the one at start.
        let later = Calendar.current.dateComponents([.hour, .minute], from: Date().addingTimeInterval(12 * 3600))
        let daily = String(format: "daily %02d:%02d", later.hour!, later.minute!)
        let setup = try ServeSetup(feeds: ["school_attendance": daily, "fsm_eligibility": daily])
        defer { setup.remove() }
        try TestDatabase.with(.migrated) { database in
            try setup.writeConfig(conninfo: database.connectionString)
            // A file waiting for one feed when the service starts; nothing for the other.
            try setup.drop(
                kind: .fsmEligibility, feed: "fsm_eligibility", rows: 30, seed: 71, name: "fsm_eligibility-1.csv")
            try FileManager.default.createDirectory(
                at: setup.folder("school_attendance"), withIntermediateDirectories: true)
            let serve = try ServeProcess(config: setup.configPath)
            defer { serve.kill9() }
            let port = try serve.httpPort()
            #expect(
                serve.waitForLog("event=cycle_finished", "feed=fsm_eligibility", "result=ok", timeout: 60) != nil,
                "\(serve.logs.timedText)")
            let health = try curl("http://127.0.0.1:\(port)/healthz")
            #expect(health.status == 200, "pending is not a problem: \(health.body)")
            #expect(
                health.body.contains(
                    "{\"feed\":\"school_attendance\",\"schedule\":\"\(daily)\",\"state\":\"pending\",\"healthy\":true,\"last_success\":null"
                ), "\(health.body)")
            #expect(
                health.body.contains(
                    "{\"feed\":\"fsm_eligibility\",\"schedule\":\"\(daily)\",\"state\":\"ok\",\"healthy\":true,\"last_success\":\""
                ), "the file picked up at start is a success: \(health.body)")
            let metrics = try curl("http://127.0.0.1:\(port)/metrics")
            #expect(metrics.body.contains("familyconnect_feed_healthy{feed=\"school_attendance\"} 1"))
            #expect(
                !metrics.body.contains("familyconnect_feed_last_success_timestamp_seconds{feed=\"school_attendance\"}"),
                "\(metrics.body)")
            #expect(
                metrics.body.contains("familyconnect_feed_last_success_timestamp_seconds{feed=\"fsm_eligibility\"}"))
            serve.signal(SIGTERM)
            #expect(serve.waitForExit(timeout: 15) == 0)
        }
    }
}
