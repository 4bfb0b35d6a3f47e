import Families
import Feeds
import Flags
import Foundation
import Identifiers
import Postgres

enum FlagsCommand: Command {
    static let name = "flags"
    static let summary =
        "Indicators and early-help flags: 'run', 'check' (rule files), 'list', 'show FLAG', 'acknowledge FLAG', 'close FLAG'."
    static let synopsis =
        "run [--as-of DATE] | check | list | show FLAG --reason TEXT | acknowledge FLAG --by NAME | close FLAG --outcome TEXT --by NAME [--on DATE]"
    static let options =
        DatabaseOptions.specs + [
            SchemaLocation.spec, ReasonOption.spec,
            .value("as-of", "YYYY-MM-DD", "The day the run is about (default: today in Europe/London)."),
            .value("by", "NAME", "Who acknowledges or closes the flag (recorded with the database role)."),
            .value(
                "outcome", "TEXT",
                "Why the flag is closed, e.g. 'engaged with early help', 'declined', 'no further action'."),
            .value("on", "YYYY-MM-DD", "The closing date the cool-off counts from (default: today)."),
        ]

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let rulesDirectory = SchemaLocation.directory(arguments) + "/rules"
        let subcommand = arguments.positionals.first
        if subcommand == "check" {
            let rules = try RuleSet.load(directory: rulesDirectory)
            let teams = try TeamDirectory.load(path: rulesDirectory + "/teams.conf")
            _ = try GroupingSettings.load(path: rulesDirectory + "/families.conf")
            for indicator in rules.indicators {
                Console.print(
                    "indicator \(indicator.name) v\(indicator.version): outcome \(indicator.outcome.rawValue) \(indicator.outcome.name) — OK"
                )
            }
            for rule in rules.rules { Console.print("rule \(rule.name) v\(rule.version): \(rule.title) — OK") }
            Console.print("teams: \(teams.teams.map(\.key).joined(separator: ", ")) — OK; families.conf — OK")
            return 0
        }
        let connection = try PostgresConnection.connect(DatabaseOptions.connectionString(arguments))
        switch subcommand {
        case "run":
            let rules = try RuleSet.load(directory: rulesDirectory)
            let teams = try TeamDirectory.load(path: rulesDirectory + "/teams.conf")
            let asOf = try date(arguments, "as-of")
            let indicators = try IndicatorBuilder(connection: connection, rules: rules, asOf: asOf).refresh()
            Console.print(indicators.description)
            let flags = try FlagEngine(connection: connection, rules: rules, asOf: asOf, teams: teams).run()
            Console.print(flags.description)
        case "list":
            for row in try connection.query(
                """
                SELECT f.flag_id, f.family_id, f.status, f.rule_name, f.rule_version, f.first_flagged_on::text, coalesce(t.team, '-'),
                       (SELECT count(*) FROM flag_evidence e WHERE e.flag_id = f.flag_id)
                FROM flags f LEFT JOIN family_teams t ON t.family_id = f.family_id
                WHERE f.status <> 'closed' ORDER BY f.first_flagged_on, f.flag_id
                """)
            {
                Console.print(
                    "\(try row.decode(String.self, at: 0))  \(try row.decode(String.self, at: 1))  \(try row.decode(String.self, at: 2))  "
                        + "\(try row.decode(String.self, at: 3)) v\(try row.decode(Int.self, at: 4))  first flagged \(try row.decode(String.self, at: 5))  "
                        + "team \(try row.decode(String.self, at: 6))  \(try row.decode(Int.self, at: 7)) evidence rows"
                )
            }
        case "show":
            guard arguments.positionals.count == 2 else {
                throw UsageError(description: "expected 'flags show FLAG_ID'")
            }
            return try show(
                arguments.positionals[1].uppercased(), reason: try ReasonOption.required(arguments), connection)
        case "acknowledge":
            guard arguments.positionals.count == 2 else {
                throw UsageError(description: "expected 'flags acknowledge FLAG_ID --by NAME'")
            }
            try FlagLifecycle.acknowledge(
                flagID: arguments.positionals[1], by: try arguments.required("by"), connection: connection)
            Console.print("\(arguments.positionals[1].uppercased()) acknowledged")
        case "close":
            guard arguments.positionals.count == 2 else {
                throw UsageError(description: "expected 'flags close FLAG_ID --outcome TEXT --by NAME'")
            }
            try FlagLifecycle.close(
                flagID: arguments.positionals[1], outcome: try arguments.required("outcome"),
                on: try date(arguments, "on"),
                by: try arguments.required("by"), connection: connection)
            Console.print("\(arguments.positionals[1].uppercased()) closed")
        default:
            throw UsageError(description: "expected one of: run, check, list, show, acknowledge, close")
        }
        return 0
    }

    static func date(_ arguments: ParsedArguments, _ option: String) throws -> CalendarDate {
        guard let text = arguments.value(option) else { return .today() }
        guard let date = CalendarDate(iso8601: text) else {
            throw UsageError(description: "--\(option) expects a date as YYYY-MM-DD")
        }
        return date
    }

    static func show(_ flag: String, reason: String, _ connection: PostgresConnection) throws -> Int32 {
        guard
            let row = try connection.query(
                """
                SELECT family_id, status, first_flagged_on::text, coalesce(close_outcome, '') FROM flags WHERE flag_id = $1
                """, [flag]
            ).first
        else {
            Console.error("no flag \(flag)")
            return 1
        }
        // Audited before anything is shown: the flag, its family and the children its evidence is about.
        let subjects =
            try [flag, try row.decode(String.self, at: 0)]
            + connection.query(
                """
                SELECT DISTINCT child_id FROM flag_evidence WHERE flag_id = $1 AND child_id IS NOT NULL
                UNION SELECT DISTINCT 'record:' || i.record_id FROM flag_evidence e JOIN indicators i ON i.id = e.indicator_id
                      WHERE e.flag_id = $1 AND e.child_id IS NULL
                ORDER BY 1
                """, [flag]
            ).map { try $0.decode(String.self, at: 0) }
        try AccessLog.record(connection, action: "flags_show", subjects: subjects, reason: reason)
        Console.print(
            "flag \(flag): family \(try row.decode(String.self, at: 0)), \(try row.decode(String.self, at: 1)), first flagged "
                + "\(try row.decode(String.self, at: 2)) \(try row.decode(String.self, at: 3))")
        for reason in try connection.query(
            "SELECT reason FROM flag_rules WHERE flag_id = $1 ORDER BY first_fired_at, rule_name", [flag])
        {
            Console.print("  " + (try reason.decode(String.self, at: 0)))
        }
        for evidence in try connection.query(
            """
            SELECT DISTINCT ON (indicator_id) coalesce(child_id, 'expectant parent'), description, feed, record_number, batch_id, indicator_withdrawn_at IS NOT NULL
            FROM flag_evidence_detail WHERE flag_id = $1 ORDER BY indicator_id
            """, [flag])
        {
            Console.print(
                "  - \(try evidence.decode(String.self, at: 0)): \(try evidence.decode(String.self, at: 1)) [\(try evidence.decode(String.self, at: 2)) "
                    + "record \(try evidence.decode(Int.self, at: 3)), batch \(try evidence.decode(Int64.self, at: 4))]"
                    + (try evidence.decode(Bool.self, at: 5) ? " (since withdrawn)" : ""))
        }
        for event in try connection.query(
            "SELECT to_char(at, 'YYYY-MM-DD HH24:MI'), event, by_role, coalesce(by_name, '') FROM flag_events WHERE flag_id = $1 ORDER BY id",
            [flag])
        {
            Console.print(
                "  \(try event.decode(String.self, at: 0)) \(try event.decode(String.self, at: 1)) by \(try event.decode(String.self, at: 2)) "
                    + (try event.decode(String.self, at: 3)))
        }
        return 0
    }
}
