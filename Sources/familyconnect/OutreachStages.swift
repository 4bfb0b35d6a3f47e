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

struct FamiliesStage: CycleStage {
    let paths: OutreachPaths
    var name: String { "families" }

    func run(_ connection: PostgresConnection) throws -> [String: Int] {
        let settings = try GroupingSettings.load(path: try paths.load().rules + "/families.conf")
        return try FamilyGrouper(connection: connection, settings: settings).regroup().counts
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
        let indicators = try IndicatorBuilder(connection: connection, rules: rules, asOf: day).refresh()
        let flags = try FlagEngine(connection: connection, rules: rules, asOf: day, teams: teams).run()
        var counts = indicators.counts
        counts.merge(flags.counts) { $1 }
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
        var counts = try Exporter(connection: connection, teams: teams, outbox: outbox, asOf: asOf ?? .today()).export().counts
        // A failed delivery is counted (and logged by the cycle as a count), recorded, and retried next cycle.
        counts.merge(try ExportDelivery(connection: connection, teams: teams, outbox: outbox).deliverPending().counts) { $1 }
        return counts
    }
}
