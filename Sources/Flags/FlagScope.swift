import Families
import Foundation
import Identifiers
import Postgres

/// Which families a flag run evaluates. A family's evaluation depends only on:
/// - its members and their indicators (triggers note every change to `indicators`, `family_members`
///   and `families` in `flag_changes`, migration 0060);
/// - the as-of date, through each rule's pool (an indicator counts from its start, and until its end
///   falls behind the rule's lookback) and the cool-off after a closed flag: only families with an
///   indicator or a closing date crossing one of those boundaries between the last as-of date and
///   this one can come out differently;
/// - whether statutory services know it: the feed fact on its children's records (a record carrying
///   it linked to, moved from or unlinked from a child is noted) or the list (the families of listed
///   ids are evaluated at every run);
/// - its own flags, evidence, rules and suppressions (changes by anyone but the flag run are noted).
/// Everything else the evaluation reads (rules, indicator definitions, lifecycle and suppression
/// settings, the list's content) is in the fingerprint: when it differs, or there is no state, every
/// family is evaluated. Either way the run writes what a run over every family would.
enum FlagScope {
    case everything
    /// The families to evaluate, in the temporary table `flag_dirty_families` (dropped at commit).
    case changed(families: Int)

    /// Everything the evaluation reads besides the data, as text (set members sorted, rules in order:
    /// the first rule a family meets names its flag).
    static func fingerprint(_ rules: RuleSet) -> String {
        func sorted(_ names: Set<String>?) -> String { names.map { $0.sorted().joined(separator: ",") } ?? "*" }
        func optional(_ value: Int?) -> String { value.map(String.init) ?? "-" }
        var parts = rules.rules.map { rule in
            [
                rule.name, String(rule.version), rule.title, sorted(rule.indicators), sorted(rule.requireAny),
                String(rule.minOtherIndicators), String(rule.minOutcomeAreas), String(rule.minIndicators),
                optional(rule.windowMonths), optional(rule.windowDays), optional(rule.lookbackMonths),
            ].joined(separator: "\u{1F}")
        }
        parts += rules.indicators.map {
            [$0.name, String($0.version), String($0.outcome.rawValue), $0.label].joined(separator: "\u{1F}")
        }
        parts.append("cool_off=\(rules.lifecycle.coolOffDays) feed_fact=\(rules.suppression.useFeedFact)")
        if let list = rules.statutoryList {
            let entries =
                (list.children.map { "\($0.key):\($0.value)" } + list.families.map { "\($0.key):\($0.value)" }).sorted()
            parts.append("list=\(list.path) " + entries.joined(separator: ","))
        }
        return parts.joined(separator: "\u{1E}")
    }

    /// Decides the scope, and for `.changed` fills `flag_dirty_families`. Takes the noted changes
    /// either way (a run over everything covers them).
    static func decide(_ connection: PostgresConnection, rules: RuleSet, asOf: CalendarDate) throws -> FlagScope {
        guard let state = try connection.query("SELECT fingerprint, as_of FROM flag_state").first,
            try state.decode(String.self, at: 0) == fingerprint(rules)
        else {
            try connection.execute("DELETE FROM flag_changes WHERE reader = 'flags'")
            return .everything
        }
        try connection.execute("CREATE TEMP TABLE flag_dirty_families (family_id text PRIMARY KEY) ON COMMIT DROP")
        try connection.execute(
            """
            WITH taken AS (DELETE FROM flag_changes WHERE reader = 'flags' RETURNING family_id, child_id, record_id)
            INSERT INTO flag_dirty_families
            SELECT family_id FROM taken WHERE family_id IS NOT NULL
            UNION SELECT m.family_id FROM taken t JOIN family_members m ON m.child_id = t.child_id
            UNION SELECT m.family_id FROM taken t JOIN family_members m ON m.expectant_record_id = t.record_id
            """)
        try addDateCrossings(
            connection, rules: rules, from: DayNumber.from(try state.decode(PostgresDate.self, at: 1)),
            to: asOf.dayNumber)
        if let list = rules.statutoryList { try addListed(connection, list) }
        try connection.execute("ANALYZE flag_dirty_families")
        return .changed(families: try connection.execute("SELECT count(*) FROM flag_dirty_families").scalar(Int.self))
    }

    /// The families with an indicator entering or leaving a rule's pool, or a closed flag's cool-off
    /// ending, between the two as-of dates (either way round).
    private static func addDateCrossings(
        _ connection: PostgresConnection, rules: RuleSet, from previous: Int, to now: Int
    ) throws {
        guard previous != now else { return }
        let (low, high) = (min(previous, now), max(previous, now))
        func date(_ day: Int) -> String { DayNumber.postgresDate(day).description }
        // An indicator is in a pool once it has started (start <= as-of date) …
        var ranges: [(column: String, from: Int, to: Int)] = [("starts_on", low + 1, high + 1)]
        // … and while it ended no earlier than the lookback's first day.
        for months in Set(rules.rules.compactMap(\.lookbackMonths)).sorted() {
            let floor = { (day: Int) in CalendarDate(dayNumber: day).adding(months: -months).dayNumber }
            if floor(low) < floor(high) { ranges.append(("ends_on", floor(low), floor(high))) }
        }
        for range in ranges {
            try connection.execute(
                """
                INSERT INTO flag_dirty_families
                SELECT DISTINCT coalesce(mc.family_id, me.family_id) FROM indicators i
                LEFT JOIN family_members mc ON mc.child_id = i.child_id
                LEFT JOIN family_members me ON me.expectant_record_id = i.record_id
                WHERE i.withdrawn_at IS NULL AND i.\(range.column) >= $1::date AND i.\(range.column) < $2::date
                  AND coalesce(mc.family_id, me.family_id) IS NOT NULL
                ON CONFLICT DO NOTHING
                """, [date(range.from), date(range.to)])
        }
        // A closed flag no longer holds its family back once as-of >= closed_on + cool-off.
        let coolOff = rules.lifecycle.coolOffDays
        try connection.execute(
            """
            INSERT INTO flag_dirty_families
            SELECT DISTINCT family_id FROM flags WHERE status = 'closed' AND closed_on >= $1::date AND closed_on < $2::date
            ON CONFLICT DO NOTHING
            """, [date(low + 1 - coolOff), date(high + 1 - coolOff)])
    }

    /// The families the statutory list names, directly or through a child (as they resolve now).
    private static func addListed(_ connection: PostgresConnection, _ list: StatutoryList) throws {
        try connection.execute(
            """
            INSERT INTO flag_dirty_families
            SELECT m.family_id FROM child_id_resolution r JOIN family_members m ON m.child_id = r.resolves_to
            WHERE r.child_id = ANY($1::text[])
            UNION
            SELECT r.resolves_to FROM family_id_resolution r WHERE r.family_id = ANY($2::text[])
            ON CONFLICT DO NOTHING
            """, [Array(list.children.keys), Array(list.families.keys)])
    }

    /// Adds families to `.changed` (those a merge touched during the run).
    func add(_ families: [String], _ connection: PostgresConnection) throws {
        guard case .changed = self, !families.isEmpty else { return }
        try connection.execute(
            "INSERT INTO flag_dirty_families SELECT unnest($1::text[]) ON CONFLICT DO NOTHING", [families])
    }

    /// For `.changed`, the members of the families in scope, in the temporary table
    /// `flag_dirty_members` (dropped at commit), for reads through the child and record indexes.
    /// Fixed and analysed first: planned from `family_members`' statistics, a day-one write left stale,
    /// the join was estimated at every member (44,607 for 651 families at 50,000 children) and the
    /// reads after it became joins of whole tables.
    func fixMembers(_ connection: PostgresConnection) throws {
        guard case .changed = self else { return }
        try connection.execute(
            """
            CREATE TEMP TABLE flag_dirty_members ON COMMIT DROP AS
            SELECT m.family_id, m.child_id, m.expectant_record_id
            FROM flag_dirty_families d JOIN family_members m ON m.family_id = d.family_id
            """)
        try connection.execute("ANALYZE flag_dirty_members")
    }

    /// The SQL condition limiting a query's family id column to the scope.
    func condition(_ column: String) -> String {
        switch self {
        case .everything: return "true"
        case .changed: return "\(column) IN (SELECT family_id FROM flag_dirty_families)"
        }
    }

    var isEverything: Bool {
        if case .everything = self { return true }
        return false
    }
}

/// What a family came to at its last evaluation, when it met any rule: the run's totals count every
/// family, evaluated this time or not.
struct FamilyOutcome {
    var firings: Int
    var suppressed: Int
    var held: Bool
}

extension FlagScope {
    /// Adds the outcomes of the families not evaluated to the report, stores those evaluated, and
    /// records the state the next run starts from.
    func remember(
        _ outcomes: [String: FamilyOutcome], report: inout FlagReport, rules: RuleSet, asOf: CalendarDate,
        _ connection: PostgresConnection
    ) throws {
        switch self {
        case .everything:
            try connection.execute("DELETE FROM flag_family_outcomes")
        case .changed:
            let rest = try connection.query(
                """
                SELECT coalesce(sum(firings), 0)::int, coalesce(sum(suppressed), 0)::int, (count(*) FILTER (WHERE held))::int
                FROM flag_family_outcomes o WHERE NOT EXISTS (SELECT 1 FROM flag_dirty_families d WHERE d.family_id = o.family_id)
                """)[0]
            report.firings += try rest.decode(Int.self, at: 0)
            report.suppressedContinuing += try rest.decode(Int.self, at: 1)
            report.heldByCoolOff += try rest.decode(Int.self, at: 2)
            report.families = try connection.execute(
                "SELECT count(*) FROM families WHERE merged_into IS NULL AND retired_at IS NULL"
            ).scalar(Int.self)
            try connection.execute(
                "DELETE FROM flag_family_outcomes WHERE family_id IN (SELECT family_id FROM flag_dirty_families)")
        }
        if !outcomes.isEmpty {
            try connection.copyIn("COPY flag_family_outcomes (family_id, firings, suppressed, held) FROM STDIN") {
                writer in
                for (family, outcome) in outcomes.sorted(by: { $0.key < $1.key }) {
                    try writer.writeRow([
                        family, String(outcome.firings), String(outcome.suppressed), outcome.held ? "t" : "f",
                    ])
                }
            }
        }
        try connection.execute(
            """
            INSERT INTO flag_state (fingerprint, as_of) VALUES ($1, $2::date)
            ON CONFLICT (singleton) DO UPDATE SET fingerprint = excluded.fingerprint, as_of = excluded.as_of
            WHERE (flag_state.fingerprint, flag_state.as_of) IS DISTINCT FROM (excluded.fingerprint, excluded.as_of)
            """, [Self.fingerprint(rules), asOf.iso8601])
    }
}
