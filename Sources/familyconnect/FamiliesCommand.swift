import Families
import Feeds
import Foundation
import Postgres

enum FamiliesCommand: Command {
    static let name = "families"
    static let summary =
        "Group children into families ('group', the default: stable ids, links, membership history) or 'show' one."
    static let synopsis =
        "[group] [--everyone] [--truth FILE [--splits]] | show FAMILY_ID --reason TEXT  [--database CONNINFO] [--schemas DIR]"
    static let options =
        DatabaseOptions.specs + [
            SchemaLocation.spec, ReasonOption.spec,
            .value(
                "truth", "FILE",
                "After grouping, compare with a synthetic truth.csv: same-family pair precision and recall."),
            .flag(
                "splits",
                "With --truth: classify the split true families by the evidence their parts share (ids and counts only)."
            ),
            .flag(
                "everyone",
                "Regroup every record (by default only the members connected to those whose records changed are read)."),
        ]

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let positionals = arguments.positionals
        if positionals.first == "show" {
            guard positionals.count == 2 else { throw UsageError(description: "expected 'families show FAMILY_ID'") }
            let reason = try ReasonOption.required(arguments)
            let connection = try PostgresConnection.connect(DatabaseOptions.connectionString(arguments))
            return try show(positionals[1].uppercased(), reason: reason, connection)
        }
        guard positionals.isEmpty || positionals == ["group"] else {
            throw UsageError(description: "expected 'families [group]' or 'families show FAMILY_ID'")
        }
        let connection = try PostgresConnection.connect(DatabaseOptions.connectionString(arguments))
        let settings = try GroupingSettings.load(path: SchemaLocation.directory(arguments) + "/rules/families.conf")
        let report = try FamilyGrouper(connection: connection, settings: settings).regroup(
            everyone: arguments.has("everyone"))
        Console.print(
            report.description + String(format: " (%.1f s: ", report.seconds)
                + report.phases.map { "\($0.name) \(String(format: "%.1f", $0.seconds)) s" }.joined(separator: ", ")
                + ")")
        if let truth = arguments.value("truth") {
            Console.print(try FamilyEvaluation.evaluate(truthPath: truth, connection: connection).description)
            if arguments.has("splits") {
                let splits = try FamilySplitAnalysis.analyse(
                    truthPath: truth, connection: connection, settings: settings)
                Console.print(splits.description)
            }
        }
        return 0
    }

    static func show(_ asked: String, reason: String, _ connection: PostgresConnection) throws -> Int32 {
        guard
            let row = try connection.query("SELECT resolves_to FROM family_id_resolution WHERE family_id = $1", [asked])
                .first
        else {
            Console.error("no family \(asked)")
            return 1
        }
        let family = try row.decode(String.self, at: 0)
        // Audited before anything is shown: the family, every id it was known by, and its members.
        let subjects = try connection.query(
            """
            SELECT family_id FROM family_id_resolution WHERE resolves_to = $1
            UNION SELECT child_id FROM family_members WHERE family_id = $1 AND child_id IS NOT NULL
            UNION SELECT 'record:' || expectant_record_id FROM family_members WHERE family_id = $1 AND expectant_record_id IS NOT NULL
            ORDER BY 1
            """, [family]
        ).map { try $0.decode(String.self, at: 0) }
        try AccessLog.record(connection, action: "families_show", subjects: subjects, reason: reason)
        if family != asked { Console.print("\(asked) was merged into \(family)") }
        Console.print("family \(family)")
        for member in try connection.query(
            """
            SELECT coalesce(child_id, 'antenatal record ' || expectant_record_id), to_char(joined_at, 'YYYY-MM-DD'), evidence_date::text
            FROM family_members WHERE family_id = $1 ORDER BY 1
            """, [family])
        {
            Console.print(
                "  member \(try member.decode(String.self, at: 0)) since \(try member.decode(String.self, at: 1)), "
                    + "latest evidence \(try member.decode(String?.self, at: 2) ?? "-")")
        }
        for link in try connection.query(
            """
            SELECT member_a, member_b, basis, record_a, record_b, overlap_from::text, overlap_to::text, rule
            FROM family_links WHERE family_id = $1 ORDER BY member_a, member_b, basis
            """, [family])
        {
            let rule = try link.decode(String?.self, at: 7).map { " rule \($0)" } ?? ""
            var text =
                "  link \(try link.decode(String.self, at: 0)) – \(try link.decode(String.self, at: 1)): "
                + "\(try link.decode(String.self, at: 2))\(rule) (records \(try link.decode(Int64.self, at: 3)) and \(try link.decode(Int64.self, at: 4)))"
            if let from = try link.decode(String?.self, at: 5), let to = try link.decode(String?.self, at: 6) {
                text += ", together \(from) to \(to)"
            }
            Console.print(text)
        }
        for span in try connection.query(
            """
            SELECT member, record_id, first_seen::text, last_seen::text, is_current
            FROM family_member_addresses WHERE family_id = $1 ORDER BY member, last_seen, record_id
            """, [family])
        {
            Console.print(
                "  address of \(try span.decode(String.self, at: 0)) (record \(try span.decode(Int64.self, at: 1))): "
                    + "\(try span.decode(String.self, at: 2)) to \(try span.decode(String.self, at: 3))"
                    + (try span.decode(Bool.self, at: 4) ? ", current" : ""))
        }
        for event in try connection.query(
            """
            SELECT to_char(at, 'YYYY-MM-DD HH24:MI'), event, coalesce(child_id, 'antenatal record ' || expectant_record_id),
                   coalesce(from_family, '-'), coalesce(to_family, '-'), coalesce(reason, '')
            FROM family_membership_events WHERE from_family = $1 OR to_family = $1 ORDER BY id
            """, [family])
        {
            Console.print(
                "  \(try event.decode(String.self, at: 0)) \(try event.decode(String.self, at: 1)) \(try event.decode(String.self, at: 2)): "
                    + "\(try event.decode(String.self, at: 3)) → \(try event.decode(String.self, at: 4)) \(try event.decode(String.self, at: 5))"
            )
        }
        return 0
    }
}
