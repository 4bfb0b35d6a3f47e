import Daemon
import Families
import Flags
import Foundation
import Identifiers
import Postgres

/// The stages after resolution, as the service runs them after each ingest: families, then
/// indicators and flags, then exports. The folders come from the configuration the service
/// started with (a broken file on disk must not stop a running service); the rule files in them
/// are read at every run, so an edited rule applies to the next cycle. Each stage is idempotent:
/// on unchanged data it raises nothing and exports nothing.
struct OutreachPaths: Sendable {
    struct Folders: Sendable {
        let rules: String
        /// Exports go beside the staging folder: /var/lib/familyconnect/outbox by default.
        let outbox: String
    }

    /// The folders, or why the configuration could not be read. The service refuses to start on such
    /// a file (exit 78); should it change in between, each stage that needs the folders fails with this
    /// error, reported like any stage failure, rather than running on default folders.
    private let folders: Result<Folders, DaemonError>

    /// Fixed folders (the cycle bench), not read from a configuration file.
    init(rules: String, outbox: String) {
        folders = .success(Folders(rules: rules, outbox: outbox))
    }

    init(configurationPath: String) {
        do {
            let configuration = try ServiceConfiguration.load(path: configurationPath)
            folders = .success(
                Folders(
                    rules: (configuration.schemasDirectory as NSString).appendingPathComponent("rules"),
                    outbox: ((configuration.stagingDirectory as NSString).deletingLastPathComponent as NSString)
                        .appendingPathComponent("outbox")))
        } catch {
            folders = .failure(DaemonError(.configuration, ErrorText.describe(error)))
        }
    }

    func load() throws -> (rules: String, outbox: String) {
        let folders = try folders.get()
        return (folders.rules, folders.outbox)
    }
}

/// Regroups the families and, beside it on a second connection, refreshes the indicators.
///
/// Indicators depend on the records and the children resolve linked them to, never on families, and
/// the two write different tables under different locks: on two cores the refresh then costs no
/// wall time (at 1M records, a next day's refresh took about 0.4 s of the flags stage). `FlagsStage`
/// still refreshes them first, which finds nothing left to do when this one succeeded, and redoes
/// the work (reporting any error under its own name) when it failed. Only once both have state (a
/// next day): a first refresh and a first grouping each read every record, and side by side they
/// would add their memory together.
struct FamiliesStage: CycleStage {
    let paths: OutreachPaths
    /// The day the indicators refreshed beside are about: `FlagsStage`'s. Nil is today at each run.
    var asOf: CalendarDate? = nil
    var name: String { "families" }

    func run(_ connection: PostgresConnection) throws -> [String: Int] {
        let rulesDirectory = try paths.load().rules
        let settings = try GroupingSettings.load(path: rulesDirectory + "/families.conf")
        let beside =
            try Self.bothHaveState(connection) ? Self.refreshIndicators(besides: connection, rulesDirectory, asOf) : nil
        let grouped = Result { try FamilyGrouper(connection: connection, settings: settings).regroup().counts }
        // Waited for even when the grouping failed: no thread or connection outlives the stage.
        let refreshed = beside?.result()
        var counts = try grouped.get()
        switch refreshed {
        case .success(let milliseconds)?: counts["indicators_beside_ms"] = milliseconds
        case .failure?: counts["indicators_beside_failed"] = 1
        case nil: break
        }
        return counts
    }

    /// Whether the indicators and the families have both been computed before.
    private static func bothHaveState(_ connection: PostgresConnection) throws -> Bool {
        try connection.execute(
            "SELECT EXISTS (SELECT 1 FROM indicator_state) AND EXISTS (SELECT 1 FROM family_state)"
        ).scalar(Bool.self)
    }

    /// Starts the refresh on a second connection; its result is the refresh's milliseconds.
    private static func refreshIndicators(
        besides connection: PostgresConnection, _ rulesDirectory: String, _ asOf: CalendarDate?
    ) -> WorkBeside<Int> {
        WorkBeside(besides: connection) { sibling in
            let rules = try RuleSet.load(directory: rulesDirectory)
            let report = try IndicatorBuilder(connection: sibling, rules: rules, asOf: asOf ?? .today()).refresh()
            return Int(report.seconds * 1000)
        }
    }
}

struct FlagsStage: CycleStage {
    let paths: OutreachPaths
    /// The day the flags are about; nil is today at each run (the service runs for days on end).
    var asOf: CalendarDate? = nil
    var name: String { "flags" }

    func run(_ connection: PostgresConnection) throws -> [String: Int] {
        let rulesDirectory = try paths.load().rules
        let rules = try RuleSet.load(directory: rulesDirectory)
        let teams = try TeamDirectory.load(path: rulesDirectory + "/teams.conf")
        let day = asOf ?? .today()
        // Usually already done beside the families (`FamiliesStage`): then this finds nothing to do.
        let indicators = try IndicatorBuilder(connection: connection, rules: rules, asOf: day).refresh()
        // The team assignment depends on families and school records only, and the flag rules never
        // read teams: it runs beside them on a second connection. On day 1 too: the first assignment
        // (every family's postcode, then the school of the few whose district no team covers) is
        // mostly the server's work (its two longest statements took 2.6-6.3 s at 1M records on a
        // loaded machine) and holds little in this process (a family id and a team each).
        let teamsBeside = WorkBeside(besides: connection) { try TeamAssigner.assignOnItsOwn($0, directory: teams) }
        let flagged = Result { try FlagEngine(connection: connection, rules: rules, asOf: day, teams: nil).run() }
        // Waited for even when the rules failed: no thread or connection outlives the stage.
        let assigned = teamsBeside.result()
        let flags = try flagged.get()
        var counts = indicators.counts
        counts.merge(flags.counts) { $1 }
        switch assigned {
        case .success(let perTeam): counts["teams_beside_assigned"] = perTeam.values.reduce(0, +)
        case .failure:
            // Assigned here then, as before, so a failure is reported under this stage's name.
            counts["teams_beside_failed"] = 1
            _ = try TeamAssigner.assignOnItsOwn(connection, directory: teams)
        }
        // Where the stage's time went, for the log line and the cycle bench.
        counts["indicators_ms"] = Int(indicators.seconds * 1000)
        counts["flags_ms"] = Int(flags.seconds * 1000)
        return counts
    }
}

struct ExportStage: CycleStage {
    let paths: OutreachPaths
    /// The export's date; nil is today at each run.
    var asOf: CalendarDate? = nil
    var name: String { "export" }

    func run(_ connection: PostgresConnection) throws -> [String: Int] {
        let (rulesDirectory, outbox) = try paths.load()
        try FileManager.default.createDirectory(atPath: outbox, withIntermediateDirectories: true)
        let teams = try TeamDirectory.load(path: rulesDirectory + "/teams.conf")
        var counts = try Exporter(connection: connection, teams: teams, outbox: outbox, asOf: asOf ?? .today()).export()
            .counts
        // A failed delivery is counted (and logged by the cycle as a count), recorded, and retried next cycle.
        counts.merge(try ExportDelivery(connection: connection, teams: teams, outbox: outbox).deliverPending().counts) {
            $1
        }
        return counts
    }
}
