import Flags
import Foundation
import Identifiers
import Postgres

enum ExportCommand: Command {
    static let name = "export"
    static let summary =
        "Write each outreach team's new flags to a CSV in the outbox (once per flag and team), then deliver files to teams with an HTTPS or SFTP target."
    static let synopsis =
        "--reason TEXT [--team T] [--dry-run] [--outbox DIR] [--as-of DATE] [--database CONNINFO] [--schemas DIR]"
    static let options =
        DatabaseOptions.specs + [
            SchemaLocation.spec, ReasonOption.spec,
            .value("team", "T", "Only this team (a key from rules/teams.conf)."),
            .flag("dry-run", "Say which files would be written and how many flags; write nothing, record nothing."),
            .value(
                "outbox", "DIR",
                "Where files go (default: $FAMILYCONNECT_OUTBOX, then teams.conf [export] outbox, then ./outbox)."),
            .value("as-of", "YYYY-MM-DD", "The date in file names and for children's ages (default: today)."),
        ]

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let teams = try TeamDirectory.load(path: SchemaLocation.directory(arguments) + "/rules/teams.conf")
        let outbox =
            arguments.value("outbox") ?? ProcessInfo.processInfo.environment["FAMILYCONNECT_OUTBOX"] ?? teams.outbox
            ?? "outbox"
        var asOf = CalendarDate.today()
        if let text = arguments.value("as-of") {
            guard let date = CalendarDate(iso8601: text) else {
                throw UsageError(description: "--as-of expects a date as YYYY-MM-DD")
            }
            asOf = date
        }
        // A dry run shows counts and file names only; a real export writes names and addresses: audited.
        let dryRun = arguments.has("dry-run")
        let reason = dryRun ? (arguments.value("reason") ?? "dry run") : try ReasonOption.required(arguments)
        let connection = try PostgresConnection.connect(DatabaseOptions.connectionString(arguments))
        let report = try Exporter(connection: connection, teams: teams, outbox: outbox, asOf: asOf)
            .export(team: arguments.value("team"), dryRun: dryRun, reason: reason)
        Console.print(report.description)
        guard !dryRun else { return 0 }
        // Files for teams with an HTTPS or SFTP target, this run's and any earlier run's that failed.
        let delivery = try ExportDelivery(connection: connection, teams: teams, outbox: outbox).deliverPending(
            team: arguments.value("team"))
        if delivery.delivered + delivery.failed + delivery.noTarget > 0 { Console.print(delivery.description) }
        return delivery.failed == 0 ? 0 : 1
    }
}
