import Flags
import Foundation
import Identifiers
import Postgres

enum ReportCommand: Command {
    static let name = "report"
    static let summary =
        "Write one self-contained HTML report (feeds, matching, children and families, flags): charts and counts, no personal data."
    static let synopsis = "--out FILE.html [--since YYYY-MM-DD] [--database CONNINFO]"
    static let options =
        DatabaseOptions.specs + [
            .value(
                "out", "FILE.html",
                "Where to write the report (replaced if it exists). It needs no other file, no script and no network."),
            .value(
                "since", "YYYY-MM-DD",
                "Start the figures over time (batches, quarantine, field quality, flags) on this date (default: all)."),
        ]

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let out = try arguments.required("out")
        var since: CalendarDate?
        if let text = arguments.value("since") {
            guard let date = CalendarDate(iso8601: text) else {
                throw UsageError(description: "--since expects a date as YYYY-MM-DD")
            }
            since = date
        }
        let connection = try PostgresConnection.connect(DatabaseOptions.connectionString(arguments))
        let report = try ReportBuilder(connection: connection, since: since).build()
        // Written whole under a temporary name and renamed: a reader never sees half a report.
        try Data(report.html.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        Console.print("report written to \(out) (\(report.html.utf8.count / 1024) KB): \(report.summary)")
        return 0
    }
}
