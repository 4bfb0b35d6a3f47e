import Feeds
import Foundation
import Testing

@testable import Daemon

@Suite("service configuration")
struct ServiceConfigurationTests {
    static var repositoryRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(
                atPath: url.appendingPathComponent("deploy/familyconnect.conf.example").path)
            {
                return url.path
            }
        }
        return "."
    }

    @Test("the example configuration in deploy/ parses, with the credential resolved")
    func example() throws {
        let path = Self.repositoryRoot + "/deploy/familyconnect.conf.example"
        let configuration = try ServiceConfiguration.load(
            path: path, environment: ["CREDENTIALS_DIRECTORY": "/run/credentials/familyconnect.service"])
        #expect(configuration.passfile == "/run/credentials/familyconnect.service/pgpass")
        #expect(configuration.connectionString.contains("passfile='/run/credentials/familyconnect.service/pgpass'"))
        #expect(configuration.listen == ListenAddress(host: "127.0.0.1", port: 9464))
        #expect(configuration.lockBehaviour == .wait)
        #expect(configuration.schemasDirectory == "/usr/share/familyconnect/schemas")
        #expect(configuration.dropRoot.hasPrefix("/var/lib/familyconnect"))
    }

    @Test("defaults, relative paths, every key")
    func keys() throws {
        let text = """
            [database]
            conninfo = host=/run/postgresql dbname=fc user=fc
            passfile = secrets/pgpass
            lock = exit
            lock_retry_seconds = 5
            connect_retry_max_seconds = 30
            [paths]
            schemas = schemas
            drop_root = /srv/drop
            staging = staging
            [feeds]
            settle_seconds = 0.5
            [http]
            listen = [::1]:9000
            [service]
            shutdown_grace_seconds = 12
            max_cycle_seconds = 600
            log_level = debug
            """
        let configuration = try ServiceConfiguration.parse(path: "/etc/fc/fc.conf", text: text, environment: [:])
        #expect(configuration.passfile == "/etc/fc/secrets/pgpass")
        #expect(configuration.lockBehaviour == .exit)
        #expect(configuration.schemasDirectory == "/etc/fc/schemas")
        #expect(configuration.migrationsDirectory == "/etc/fc/schemas/migrations")
        #expect(configuration.dropRoot == "/srv/drop")
        #expect(configuration.stagingDirectory == "/etc/fc/staging")
        #expect(configuration.settleSeconds == 0.5)
        #expect(configuration.listen == ListenAddress(host: "::1", port: 9000))
        #expect(configuration.shutdownGraceSeconds == 12)
        #expect(configuration.maximumCycleSeconds == 600)
        #expect(configuration.logLevel == .debug)
        #expect(
            configuration.connectionString == "host=/run/postgresql dbname=fc user=fc passfile='/etc/fc/secrets/pgpass'"
        )
        let defaults = try ServiceConfiguration.parse(path: "/etc/fc/fc.conf", text: "", environment: [:])
        #expect(defaults.listen == ListenAddress(host: "127.0.0.1", port: 9464))
        #expect(defaults.lockBehaviour == .wait)
        #expect(try ServiceConfiguration.parse(path: "x", text: "[http]\nlisten = off", environment: [:]).listen == nil)
    }

    @Test(
        "a password in the configuration is refused, naming the line",
        arguments: [
            "conninfo = host=db password=secret",
            "conninfo = host=db  PASSWORD = 'se cret'",
            "conninfo = postgresql://fc:secret@db/fc",
            "conninfo = postgresql://fc@db/fc?password=secret",
        ])
    func password(line: String) {
        #expect {
            try ServiceConfiguration.parse(path: "fc.conf", text: "[database]\n\(line)\n", environment: [:])
        } throws: { error in
            let error = error as? ConfigurationError
            return error?.line == 2 && error?.key == "database.conninfo" && error!.message.contains("password file")
        }
    }

    @Test(
        "mistakes are refused with file, line and key",
        arguments: [
            ("[database]\nlock = maybe\n", "database.lock"),
            ("[http]\nlisten = localhost:9464\n", "http.listen"),
            ("[http]\nlisten = 127.0.0.1:99999\n", "http.listen"),
            ("[service]\nshutdown_grace_seconds = soon\n", "service.shutdown_grace_seconds"),
            ("[service]\nlog_level = loud\n", "service.log_level"),
            ("[paths]\nschema = x\n", "paths.schema"),
            ("[nothing]\nx = 1\n", "nothing.x"),
            ("[database]\npassfile = credential:pgpass\n", "database.passfile"),
        ])
    func mistakes(text: String, key: String) {
        #expect {
            try ServiceConfiguration.parse(path: "fc.conf", text: text, environment: [:])
        } throws: { error in
            (error as? ConfigurationError)?.key == key && (error as? ConfigurationError)?.line == 2
        }
    }

    @Test("connection strings: passwords found, passfile added")
    func conninfo() {
        #expect(Conninfo.passwordProblem("host=db dbname='my db' user=fc") == nil)
        #expect(Conninfo.passwordProblem("host=db dbname='unterminated") != nil)
        #expect(Conninfo.passwordProblem("postgresql://fc@db:5432/fc?sslmode=verify-full") == nil)
        #expect(
            Conninfo.adding(keyword: "passfile", value: "/run/it's", to: "host=db") == "host=db passfile='/run/it\\'s'")
        #expect(
            Conninfo.adding(keyword: "passfile", value: "/p", to: "postgresql://fc@db/fc")
                == "postgresql://fc@db/fc?passfile=/p")
    }
}

@Suite("schedules and health")
struct ScheduleTests {
    var utc: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }

    func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    @Test("intervals run at once, then every interval")
    func every() {
        let now = date("2026-09-01T10:00:00Z")
        #expect(ScheduleMath.nextRun(.every(seconds: 3600), lastStart: nil, now: now) == now)
        #expect(
            ScheduleMath.nextRun(.every(seconds: 3600), lastStart: now, now: now.addingTimeInterval(5))
                == now.addingTimeInterval(3600))
        #expect(
            ScheduleMath.nextRun(.every(seconds: 60), lastStart: now, now: now.addingTimeInterval(500))
                == now.addingTimeInterval(500), "a late cycle runs at once, not twice")
        #expect(ScheduleMath.nextRun(.manual, lastStart: nil, now: now) == nil)
    }

    @Test("daily times: catch up at start, then the next time of day")
    func daily() {
        let now = date("2026-09-01T10:00:00Z")
        let schedule = FeedSchedule.daily(minutesAfterMidnight: [6 * 60, 18 * 60 + 30])
        #expect(ScheduleMath.nextRun(schedule, lastStart: nil, now: now, calendar: utc) == now)
        #expect(ScheduleMath.nextRun(schedule, lastStart: now, now: now, calendar: utc) == date("2026-09-01T18:30:00Z"))
        #expect(
            ScheduleMath.nextRun(schedule, lastStart: now, now: date("2026-09-01T19:00:00Z"), calendar: utc)
                == date("2026-09-02T06:00:00Z"))
        #expect(ScheduleMath.expectedInterval(schedule) == 12.5 * 3600, "the longer gap, 18:30 to 06:00")
        #expect(ScheduleMath.expectedInterval(.daily(minutesAfterMidnight: [420])) == 86400)
        #expect(ScheduleMath.describe(schedule) == "daily 06:00, 18:30")
        #expect(ScheduleMath.describe(.every(seconds: 1800)) == "every 30m")
    }

    @Test("health: ok within the window, failing after a failed cycle, overdue when late, pending at first")
    func health() {
        let start = date("2026-09-01T10:00:00Z")
        var ok = ServiceState.FeedStatus(name: "a", schedule: .every(seconds: 3600))
        ok.lastResult = .ok
        ok.lastSuccess = start
        var failing = ServiceState.FeedStatus(name: "b", schedule: .every(seconds: 60))
        failing.lastResult = .failed(reason: "fetch failed", downstream: false)
        let pending = ServiceState.FeedStatus(name: "c", schedule: .daily(minutesAfterMidnight: [420]))
        let manual = ServiceState.FeedStatus(name: "d", schedule: .manual)

        let soon = HealthReport.feedHealth(
            [ok, failing, pending, manual], schedulerStartedAt: start, now: start.addingTimeInterval(60))
        #expect(soon.map(\.state) == ["ok", "failing", "pending", "manual"])
        #expect(soon.map(\.healthy) == [true, false, true, true])

        let late = HealthReport.feedHealth(
            [ok, pending], schedulerStartedAt: start, now: start.addingTimeInterval(3 * 86400))
        #expect(late.map(\.state) == ["overdue", "overdue"])

        var snapshot = ServiceState.Snapshot()
        snapshot.phase = .running
        snapshot.schedulerStartedAt = start
        snapshot.feeds = [ok, manual]
        let good = HealthReport.evaluate(snapshot, now: start.addingTimeInterval(10))
        #expect(good.status == 200)
        #expect(good.body.hasPrefix("{\"status\":\"ok\""))
        snapshot.feeds.append(failing)
        let bad = HealthReport.evaluate(snapshot, now: start.addingTimeInterval(10))
        #expect(bad.status == 503)
        #expect(bad.body.contains("\"problems\":[\"feed b is failing\"]"))
        #expect(bad.body.contains("\"reason\":\"fetch failed\""))
        snapshot.feeds = [ok]
        snapshot.phase = .waitingForLock
        #expect(HealthReport.evaluate(snapshot, now: start).status == 503)
    }

    @Test("health: a stage whose last run failed makes /healthz 503 and names it; pending stages are healthy")
    func stageHealth() {
        let start = date("2026-09-01T10:00:00Z")
        var snapshot = ServiceState.Snapshot()
        snapshot.phase = .running
        snapshot.schedulerStartedAt = start
        var resolve = ServiceState.StageStats()
        resolve.lastResult = .ok
        resolve.lastSuccess = start
        var flags = ServiceState.StageStats()
        flags.lastResult = .failed(reason: "database error (server) SQLSTATE 22003: integer out of range")
        flags.lastSuccess = start
        flags.lastFailure = start.addingTimeInterval(60)
        flags.failuresInARow = 3
        snapshot.stages = [("resolve", resolve), ("export", ServiceState.StageStats())]
        let good = HealthReport.evaluate(snapshot, now: start.addingTimeInterval(90))
        #expect(good.status == 200, "\(good.body)")
        #expect(
            good.body.contains("{\"stage\":\"export\",\"state\":\"pending\",\"healthy\":true,\"last_success\":null"))
        snapshot.stages.insert(("flags", flags), at: 1)
        let bad = HealthReport.evaluate(snapshot, now: start.addingTimeInterval(90))
        #expect(bad.status == 503)
        #expect(bad.body.contains("\"problems\":[\"stage flags failed\"]"), "\(bad.body)")
        #expect(
            bad.body.contains(
                "{\"stage\":\"flags\",\"state\":\"failed\",\"healthy\":false,\"last_success\":\"2026-09-01T10:00:00Z\",\"last_failure\":\"2026-09-01T10:01:00Z\",\"failures_in_a_row\":3,\"reason\":\"database error (server) SQLSTATE 22003: integer out of range\"}"
            ), "\(bad.body)")
        var metrics = PrometheusText()
        ServiceMetrics.render(snapshot, now: start.addingTimeInterval(90), into: &metrics)
        #expect(metrics.text.contains("familyconnect_stage_healthy{stage=\"flags\"} 0\n"))
        #expect(metrics.text.contains("familyconnect_stage_healthy{stage=\"export\"} 1\n"))
        #expect(metrics.text.contains("familyconnect_stage_failures_in_a_row{stage=\"flags\"} 3\n"))
    }

    @Test("Prometheus text: families declared once, labels escaped, numbers plain")
    func prometheus() {
        var text = PrometheusText()
        text.family("x_total", .counter, "Things.\nMore")
        text.sample("x_total", ["feed": "a\"b\\c\nd"], 3)
        text.family("x_total", .counter, "again")
        text.sample("y", [:], 0.25)
        #expect(
            text.text
                == "# HELP x_total Things.\\nMore\n# TYPE x_total counter\nx_total{feed=\"a\\\"b\\\\c\\nd\"} 3\ny 0.250000\n"
        )
    }
}
