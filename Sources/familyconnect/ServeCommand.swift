import Daemon
import Feeds
import Foundation

enum ServeCommand: Command {
    static let name = "serve"
    static let summary =
        "Run the service: pull each feed on its schedule, load, resolve (then families, flags, exports); for systemd Type=notify."
    static let synopsis = "[--config FILE]"
    static let options: [OptionSpec] = [
        .value(
            "config", "FILE",
            "The service configuration (default: \(ServiceConfiguration.defaultPath)); see deploy/familyconnect.conf.example."
        )
    ]

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        guard arguments.positionals.isEmpty else { throw UsageError(description: "serve takes no file arguments") }
        let path = arguments.value("config") ?? ServiceConfiguration.defaultPath
        // The cycle after each ingest, in order. Each stage is idempotent and runs in its own transaction(s).
        let paths = OutreachPaths(configurationPath: path)
        let state = ServiceState()
        // Retention: once a day, what is past its feed's period goes (counts logged in purge_runs), by
        // the feed definitions in force (those the service started with, or the last reload applied).
        let stages: [any CycleStage] = [
            ResolveStage(), FamiliesStage(paths: paths), FlagsStage(paths: paths), ExportStage(paths: paths),
            RetentionStage(definitions: { state.feedDefinitions() }),
        ]
        return Service(configurationPath: path, stages: stages, state: state).run()
    }
}
