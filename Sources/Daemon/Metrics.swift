import Foundation
import Postgres

/// Builds the Prometheus text exposition format (version 0.0.4).
public struct PrometheusText: Sendable {
    public enum Kind: String, Sendable { case counter, gauge, summary, untyped }

    public private(set) var text = ""
    private var declared: Set<String> = []

    public init() {}

    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Declares a metric family (once); samples follow with `sample`.
    public mutating func family(_ name: String, _ kind: Kind, _ help: String) {
        guard declared.insert(name).inserted else { return }
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
    }

    public mutating func sample(_ name: String, _ labels: KeyValuePairs<String, String> = [:], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.key)=\"\(Self.escapeLabel($0.value))\"" }.joined(separator: ",") + "}"
        }
        text += " " + Self.format(value) + "\n"
    }

    public mutating func sample(_ name: String, _ labels: KeyValuePairs<String, String> = [:], _ value: Int) {
        sample(name, labels, Double(value))
    }

    /// One-shot: declare and give a single unlabelled sample.
    public mutating func metric(_ name: String, _ kind: Kind, _ help: String, _ value: Double) {
        family(name, kind, help)
        sample(name, [:], value)
    }

    static func escapeLabel(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func escapeHelp(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(format: "%.6f", value)
    }
}

/// Extra metrics read from the database at each scrape (the lead adds families and flags here).
/// Runs on the HTTP thread with that thread's own connection, under a statement timeout.
public protocol MetricsContributor: Sendable {
    func collect(_ connection: PostgresConnection, into metrics: inout PrometheusText) throws
}

enum ServiceMetrics {
    /// Metrics the process knows without asking the database.
    static func render(_ snapshot: ServiceState.Snapshot, now: Date, into m: inout PrometheusText) {
        m.metric(
            "familyconnect_start_time_seconds", .gauge, "When the service started (Unix time).",
            snapshot.startedAt.timeIntervalSince1970)
        m.metric(
            "familyconnect_ready", .gauge, "1 once migrations were checked and the database reached.",
            snapshot.ready ? 1 : 0)
        m.metric(
            "familyconnect_database_connected", .gauge, "1 while the worker's database connection is up.",
            snapshot.databaseConnected ? 1 : 0)
        m.metric(
            "familyconnect_instance_lock_held", .gauge, "1 while this instance holds the database's advisory lock.",
            snapshot.lockHeld ? 1 : 0)
        m.metric(
            "familyconnect_database_errors_total", .counter,
            "Database errors met by the worker (connection losses included).",
            Double(snapshot.databaseErrors))
        m.metric(
            "familyconnect_reloads_total", .counter, "Configuration reloads applied.", Double(snapshot.reloadsApplied))
        m.metric(
            "familyconnect_reloads_refused_total", .counter,
            "Configuration reloads refused (the old configuration kept running).",
            Double(snapshot.reloadsRefused))
        m.metric(
            "familyconnect_links_made_total", .counter, "Record links made by resolution runs of this process.",
            Double(snapshot.linksMade))

        let health = HealthReport.feedHealth(snapshot.feeds, schedulerStartedAt: snapshot.schedulerStartedAt, now: now)
        m.family(
            "familyconnect_feed_healthy", .gauge, "1 when the feed's last cycle succeeded within its expected interval."
        )
        for feed in health { m.sample("familyconnect_feed_healthy", ["feed": feed.feed], feed.healthy ? 1 : 0) }

        m.family(
            "familyconnect_feed_cycles_total", .counter, "Feed cycles (fetch or pick-up, load, later stages) by result."
        )
        for feed in snapshot.feeds {
            m.sample("familyconnect_feed_cycles_total", ["feed": feed.name, "result": "ok"], feed.cyclesOK)
            m.sample("familyconnect_feed_cycles_total", ["feed": feed.name, "result": "error"], feed.cyclesFailed)
        }
        m.family("familyconnect_feed_cycle_duration_seconds", .summary, "Duration of feed cycles.")
        for feed in snapshot.feeds {
            m.sample("familyconnect_feed_cycle_duration_seconds_sum", ["feed": feed.name], feed.durationSum)
            m.sample(
                "familyconnect_feed_cycle_duration_seconds_count", ["feed": feed.name],
                feed.cyclesOK + feed.cyclesFailed)
        }
        m.family("familyconnect_feed_last_cycle_duration_seconds", .gauge, "Duration of the feed's last cycle.")
        for feed in snapshot.feeds {
            if let last = feed.lastDuration {
                m.sample("familyconnect_feed_last_cycle_duration_seconds", ["feed": feed.name], last)
            }
        }
        m.family(
            "familyconnect_feed_last_success_timestamp_seconds", .gauge,
            "When the feed's last successful cycle finished (Unix time).")
        for feed in snapshot.feeds {
            if let success = feed.lastSuccess {
                m.sample(
                    "familyconnect_feed_last_success_timestamp_seconds", ["feed": feed.name],
                    success.timeIntervalSince1970)
            }
        }
        m.family("familyconnect_feed_batches_loaded_total", .counter, "Files loaded as new batches by this process.")
        m.family(
            "familyconnect_feed_duplicate_files_total", .counter,
            "Files skipped because the same content was loaded before.")
        m.family("familyconnect_feed_failed_files_total", .counter, "Files refused as a whole by this process.")
        m.family("familyconnect_feed_rows_loaded_total", .counter, "Rows loaded by this process.")
        m.family("familyconnect_feed_rows_quarantined_total", .counter, "Rows quarantined by this process.")
        for feed in snapshot.feeds {
            m.sample("familyconnect_feed_batches_loaded_total", ["feed": feed.name], feed.batchesLoaded)
            m.sample("familyconnect_feed_duplicate_files_total", ["feed": feed.name], feed.duplicates)
            m.sample("familyconnect_feed_failed_files_total", ["feed": feed.name], feed.filesFailed)
            m.sample("familyconnect_feed_rows_loaded_total", ["feed": feed.name], feed.rowsLoaded)
            m.sample("familyconnect_feed_rows_quarantined_total", ["feed": feed.name], feed.rowsQuarantined)
        }

        m.family("familyconnect_stage_runs_total", .counter, "Runs of the stages after ingest (resolve, …) by result.")
        for (name, stats) in snapshot.stages {
            m.sample("familyconnect_stage_runs_total", ["stage": name, "result": "ok"], stats.runs - stats.failures)
            m.sample("familyconnect_stage_runs_total", ["stage": name, "result": "error"], stats.failures)
        }
        m.family("familyconnect_stage_duration_seconds", .summary, "Duration of stage runs.")
        for (name, stats) in snapshot.stages {
            m.sample("familyconnect_stage_duration_seconds_sum", ["stage": name], stats.durationSum)
            m.sample("familyconnect_stage_duration_seconds_count", ["stage": name], stats.runs)
        }
        m.family("familyconnect_stage_last_duration_seconds", .gauge, "Duration of the stage's last run.")
        for (name, stats) in snapshot.stages {
            if let last = stats.lastDuration {
                m.sample("familyconnect_stage_last_duration_seconds", ["stage": name], last)
            }
        }
        m.family(
            "familyconnect_stage_healthy", .gauge,
            "0 when the stage's last run failed (it is retried next cycle); 1 otherwise.")
        for stage in HealthReport.stageHealth(snapshot.stages) {
            m.sample("familyconnect_stage_healthy", ["stage": stage.stage], stage.healthy ? 1 : 0)
        }
        m.family(
            "familyconnect_stage_failures_in_a_row", .gauge, "Runs of the stage that failed since its last success.")
        for (name, stats) in snapshot.stages {
            m.sample("familyconnect_stage_failures_in_a_row", ["stage": name], stats.failuresInARow)
        }
        m.family(
            "familyconnect_stage_last_success_timestamp_seconds", .gauge,
            "When the stage's last successful run finished (Unix time).")
        for (name, stats) in snapshot.stages {
            if let success = stats.lastSuccess {
                m.sample(
                    "familyconnect_stage_last_success_timestamp_seconds", ["stage": name],
                    success.timeIntervalSince1970)
            }
        }
    }

    /// Totals kept in the database. Every query is defensive: a table that does not exist yet (families,
    /// flags and exports arrive in later migrations) is skipped, not an error.
    static func collectDatabase(_ connection: PostgresConnection, into m: inout PrometheusText) throws {
        func exists(_ table: String) throws -> Bool {
            try connection.execute("SELECT to_regclass($1) IS NOT NULL", [table]).scalar(Bool.self)
        }
        func hasColumn(_ table: String, _ column: String) throws -> Bool {
            try connection.execute(
                """
                SELECT EXISTS (SELECT 1 FROM information_schema.columns
                               WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2)
                """, [table, column]
            ).scalar(Bool.self)
        }

        if try exists("feed_batches") {
            let rows = try connection.query(
                """
                SELECT feed, count(*), coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0),
                       coalesce(sum(rows_quarantined), 0), extract(epoch FROM max(committed_at))::float8
                FROM feed_batches GROUP BY feed ORDER BY feed
                """)
            m.family("familyconnect_db_feed_batches", .gauge, "Batches in the database, per feed.")
            m.family("familyconnect_db_feed_rows_read", .gauge, "Rows read from the feed's batches in the database.")
            m.family(
                "familyconnect_db_feed_rows_loaded", .gauge, "Rows loaded (source records) per feed, in the database.")
            m.family("familyconnect_db_feed_rows_quarantined", .gauge, "Rows quarantined per feed, in the database.")
            m.family(
                "familyconnect_db_feed_last_batch_timestamp_seconds", .gauge, "When the feed's latest batch committed.")
            for row in rows {
                let feed = try row.decode(String.self, at: 0)
                m.sample("familyconnect_db_feed_batches", ["feed": feed], try row.decode(Int.self, at: 1))
                m.sample("familyconnect_db_feed_rows_read", ["feed": feed], try row.decode(Int.self, at: 2))
                m.sample("familyconnect_db_feed_rows_loaded", ["feed": feed], try row.decode(Int.self, at: 3))
                m.sample("familyconnect_db_feed_rows_quarantined", ["feed": feed], try row.decode(Int.self, at: 4))
                m.sample(
                    "familyconnect_db_feed_last_batch_timestamp_seconds", ["feed": feed],
                    try row.decode(Double.self, at: 5))
            }
        }
        if try exists("feed_batch_failures") {
            m.family(
                "familyconnect_db_feed_failed_files", .gauge, "Files refused as a whole, per feed, in the database.")
            for row in try connection.query(
                "SELECT feed, count(*) FROM feed_batch_failures GROUP BY feed ORDER BY feed")
            {
                m.sample(
                    "familyconnect_db_feed_failed_files", ["feed": try row.decode(String.self, at: 0)],
                    try row.decode(Int.self, at: 1))
            }
        }
        if try exists("record_links") {
            m.family("familyconnect_db_record_links", .gauge, "Links holding children together, by method.")
            for row in try connection.query("SELECT method, count(*) FROM record_links GROUP BY method ORDER BY method")
            {
                m.sample(
                    "familyconnect_db_record_links", ["method": try row.decode(String.self, at: 0)],
                    try row.decode(Int.self, at: 1))
            }
        }
        if try exists("child_records") {
            m.metric(
                "familyconnect_db_children", .gauge, "Children holding at least one record.",
                Double(try connection.execute("SELECT count(DISTINCT child_id) FROM child_records").scalar(Int.self)))
            m.metric(
                "familyconnect_db_records_resolved", .gauge, "Source records assigned to a child.",
                Double(try connection.execute("SELECT count(*) FROM child_records").scalar(Int.self)))
        }
        if try exists("review_pairs") {
            m.metric(
                "familyconnect_db_review_queue_open", .gauge, "Record pairs waiting for a data officer's decision.",
                Double(
                    try connection.execute("SELECT count(*) FROM review_pairs WHERE status = 'open'").scalar(Int.self)))
        }
        if try exists("resolution_runs") {
            let row = try connection.query(
                """
                SELECT count(*), coalesce(extract(epoch FROM max(finished_at))::float8, 0)
                FROM resolution_runs
                """
            ).first
            if let row {
                m.metric(
                    "familyconnect_db_resolution_runs", .gauge, "Resolution runs recorded.",
                    Double(try row.decode(Int.self, at: 0)))
                m.metric(
                    "familyconnect_db_resolution_last_finished_timestamp_seconds", .gauge,
                    "When the latest resolution run finished (0: never).", try row.decode(Double.self, at: 1))
            }
        }
        // Flags and exports come from another module's migrations: count whatever is there.
        for table in ["families"] where try exists(table) {
            m.metric(
                "familyconnect_db_\(table)", .gauge, "Rows in \(table).",
                Double(try connection.execute("SELECT count(*) FROM \(table)").scalar(Int.self)))
        }
        if try exists("flags") {
            m.family("familyconnect_db_flags", .gauge, "Flags raised, by status where the table has one.")
            if try hasColumn("flags", "status") {
                for row in try connection.query("SELECT status::text, count(*) FROM flags GROUP BY 1 ORDER BY 1") {
                    m.sample(
                        "familyconnect_db_flags", ["status": (try? row.decode(String.self, at: 0)) ?? "null"],
                        try row.decode(Int.self, at: 1))
                }
            } else {
                m.sample(
                    "familyconnect_db_flags", [:], try connection.execute("SELECT count(*) FROM flags").scalar(Int.self)
                )
            }
        }
        if try exists("export_ledger") {
            m.metric(
                "familyconnect_db_flags_exported", .gauge, "Flags exported to outreach teams (export ledger rows).",
                Double(try connection.execute("SELECT count(*) FROM export_ledger").scalar(Int.self)))
        }
        if try exists("export_files") {
            m.metric(
                "familyconnect_db_export_files", .gauge, "Export files written for teams.",
                Double(try connection.execute("SELECT count(*) FROM export_files").scalar(Int.self)))
        }
    }
}
