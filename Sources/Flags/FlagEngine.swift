import Families
import Foundation
import Identifiers
import Postgres

/// What one flag run did: counts only.
public struct FlagReport: Sendable, CustomStringConvertible {
    public var runID: Int64 = 0
    public var asOf = ""
    /// Live families.
    public var families = 0
    /// Live families evaluated: all of them on a first run or after a rules change, otherwise only
    /// those whose inputs changed (`FlagScope`).
    public var familiesEvaluated = 0
    /// Rule firings found (a family can meet several rules).
    public var firings = 0
    /// New flags, in total and by the rule that raised them.
    public var raised = 0
    public var raisedByRule: [String: Int] = [:]
    /// Indicators attached to flags that were already open, and how many flags received any.
    public var evidenceAttached = 0
    public var flagsWithNewEvidence = 0
    /// Families that met a rule but are known to statutory services: new suppressions, continuing ones,
    /// and open flags closed because the family became known.
    public var suppressedNew = 0
    public var suppressedContinuing = 0
    public var closedBySuppression = 0
    /// Families with a closed flag whose cool-off has not passed, or with no evidence since the closing.
    public var heldByCoolOff = 0
    /// False when nothing changed: nothing was written (and `runID` is 0).
    public var changed = false
    /// Open flags that followed their family into a merged family.
    public var flagsFollowedMerge = 0
    public var seconds = 0.0

    /// The counts by name, for a log line or metrics.
    public var counts: [String: Int] {
        var out = [
            "run": Int(runID), "changed": changed ? 1 : 0, "families": families,
            "families_evaluated": familiesEvaluated,
            "firings": firings, "raised": raised,
            "evidence_attached": evidenceAttached, "flags_with_new_evidence": flagsWithNewEvidence,
            "suppressed_new": suppressedNew,
            "suppressed_continuing": suppressedContinuing, "closed_by_suppression": closedBySuppression,
            "held_by_cool_off": heldByCoolOff, "flags_followed_merge": flagsFollowedMerge,
        ]
        for (rule, n) in raisedByRule { out["raised_" + rule] = n }
        return out
    }

    public var description: String {
        (changed ? "flags run \(runID)" : "flags unchanged")
            + " as of \(asOf): \(families) families (\(familiesEvaluated) evaluated), \(firings) rule firings; \(raised) flags raised ("
            + raisedByRule.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            + "); \(evidenceAttached) indicators attached to \(flagsWithNewEvidence) open flags; \(suppressedNew) new suppressions "
            + "(\(suppressedContinuing) continuing, \(closedBySuppression) open flags closed); \(heldByCoolOff) held by cool-off"
    }
}

/// One indicator as a rule sees it.
struct FamilyIndicator: Equatable {
    var id: Int64
    var name: String
    var outcome: SupportingFamiliesOutcome
    var start: Int
    var end: Int
    var child: String?
    var description: String
}

/// A rule met by a family: the rule and every indicator in the window that met it.
struct Firing {
    var rule: FlagRule
    var indicators: [FamilyIndicator]

    var ruleKey: String { "\(rule.name)|\(rule.version)" }

    /// Plain English, ids only: the rule, the conditions met and the window.
    func reason(labels: [String: String]) -> String {
        var parts: [String] = []
        let required = indicators.filter { rule.requireAny.contains($0.name) }
        if !required.isEmpty {
            parts.append(PlainEnglish.list(orderedUnique(required.map { labels[$0.name] ?? $0.name })))
        }
        let others = indicators.filter { !rule.requireAny.contains($0.name) }
        if rule.minOtherIndicators > 0 {
            parts.append(
                "\(others.count) other indicator\(others.count == 1 ? "" : "s") ("
                    + PlainEnglish.list(orderedUnique(others.map { labels[$0.name] ?? $0.name })) + ")")
        }
        let outcomes = Set(indicators.map(\.outcome)).sorted()
        if rule.minOutcomeAreas > 0 {
            parts.append(
                "indicators in \(outcomes.count) outcome areas ("
                    + PlainEnglish.list(outcomes.map { "\($0.rawValue) \($0.name)" }) + ")")
        }
        if parts.isEmpty { parts.append("\(indicators.count) indicators") }
        // Every indicator of the firing overlaps the window that ends when the latest of them began.
        let windowEnd = indicators.map(\.start).max() ?? 0
        let windowStart = rule.windowStart(to: windowEnd)
        let children = Set(indicators.compactMap(\.child)).count
        let expectant = indicators.contains { $0.child == nil }
        var about = "\(children) child\(children == 1 ? "" : "ren")"
        if expectant { about = children == 0 ? "an expectant parent" : about + " and an expectant parent" }
        return "\(rule.title) (rule \(rule.name), version \(rule.version)): " + parts.joined(separator: " and ")
            + "; \(indicators.count) indicator\(indicators.count == 1 ? "" : "s") about \(about), all in the \(rule.windowText) "
            + "from \(PlainEnglish.date(windowStart)) to \(PlainEnglish.date(windowEnd))."
    }

    private func orderedUnique(_ values: [String]) -> [String] {
        var seen: Set<String> = []
        return values.filter { seen.insert($0).inserted }
    }
}

/// Applies the flag rules to every family's indicators and runs the flag lifecycle:
/// - a family meeting a rule with no open flag gets a new flag (status `new`), holding the rule,
///   its version and the exact indicators in the window;
/// - a family with an open flag (`new`, `exported`, `acknowledged`) never gets a second one: the
///   rules it meets add their indicators to the open flag as new evidence;
/// - after a flag is closed, the family is flagged again only once the cool-off has passed and by
///   indicators that began after the closing;
/// - a family known to statutory services is not flagged; the suppression is recorded (and an open
///   flag is closed, saying why).
/// One transaction under an advisory lock. Unchanged data raises nothing and attaches nothing.
public final class FlagEngine {
    let connection: PostgresConnection
    public let rules: RuleSet
    public let asOf: CalendarDate
    public let teams: TeamDirectory?
    /// Evaluate every live family, whatever changed (the outputs are the same; for checks and tests).
    public let evaluateEverything: Bool
    static let lockKey: Int64 = 0x6663_666C_6167_7321  // "fcflags!"

    public init(
        connection: PostgresConnection, rules: RuleSet, asOf: CalendarDate = .today(), teams: TeamDirectory? = nil,
        evaluateEverything: Bool = false
    ) {
        self.connection = connection
        self.rules = rules
        self.asOf = asOf
        self.teams = teams
        self.evaluateEverything = evaluateEverything
    }

    /// The latest window in which the family's indicators meet the rule, or nil.
    static func evaluate(_ rule: FlagRule, _ indicators: [FamilyIndicator], asOf: Int) -> Firing? {
        let floor = rule.lookbackMonths.map { CalendarDate(dayNumber: asOf).adding(months: -$0).dayNumber }
        let pool = indicators.filter {
            (rule.indicators?.contains($0.name) ?? true) && $0.start <= asOf && (floor == nil || $0.end >= floor!)
        }
        guard !pool.isEmpty else { return nil }
        for anchor in Set(pool.map(\.start)).sorted(by: >) {
            let window = pool.filter { $0.start <= anchor && rule.windowEnd(from: $0.end) >= anchor }
            if meets(rule, window) {
                return Firing(rule: rule, indicators: window.sorted { ($0.start, $0.id) < ($1.start, $1.id) })
            }
        }
        return nil
    }

    static func meets(_ rule: FlagRule, _ window: [FamilyIndicator]) -> Bool {
        guard window.count >= rule.minIndicators else { return false }
        if !rule.requireAny.isEmpty && !window.contains(where: { rule.requireAny.contains($0.name) }) { return false }
        if window.filter({ !rule.requireAny.contains($0.name) }).count < rule.minOtherIndicators { return false }
        if Set(window.map(\.outcome)).count < rule.minOutcomeAreas { return false }
        return true
    }

    /// The run ledger row, written only when the run changes something.
    final class RunRow {
        let connection: PostgresConnection
        let asOf: String
        let rules: String
        private(set) var id: Int64?

        init(connection: PostgresConnection, asOf: String, rules: String) {
            self.connection = connection
            self.asOf = asOf
            self.rules = rules
        }

        func ensure() throws -> Int64 {
            if let id { return id }
            let new = try connection.execute(
                "INSERT INTO flag_runs (as_of, rules) VALUES ($1::date, $2::jsonb) RETURNING id", [asOf, rules]
            ).scalar(Int64.self)
            id = new
            return new
        }
    }

    /// Applies the rules and the lifecycle. When nothing changes (no flag raised, closed or moved, no
    /// evidence attached, no new or changed suppression), nothing is written, not even a run row:
    /// `report.changed` is false and `report.runID` is 0.
    public func run() throws -> FlagReport {
        try connection.transaction { connection in
            try connection.advisoryTransactionLock(Self.lockKey)
            let started = Date()
            var report = FlagReport()
            report.asOf = asOf.iso8601
            let run = RunRow(connection: connection, asOf: asOf.iso8601, rules: rules.ruleVersionsJSON)
            // The run's own writes are the outcome of an evaluation, not changes to evaluate again (migration 0060).
            try connection.execute("SET LOCAL familyconnect.flag_run = 'on'")
            // The reads of a run over some families go through indexes; JIT compilation (triggered by
            // misestimates on freshly loaded tables) costs more than they do.
            try connection.execute("SET LOCAL jit = off")
            // A first run (or a changed directory) sorts every child's school records for the team
            // assignment: in memory, not in temporary files (measured 0.74 → 0.56 s at 130,000 records;
            // at 1M records, 721,589 school records, the sort took 100 MB: with 64MB it spilled 55 MB
            // to disk, and the statement took 15.2 s against 10.2 s on a loaded machine).
            try connection.execute("SET LOCAL work_mem = '256MB'")
            let scope: FlagScope
            if evaluateEverything {
                try connection.execute("DELETE FROM flag_changes WHERE reader = 'flags'")
                scope = .everything
            } else {
                scope = try FlagScope.decide(connection, rules: rules, asOf: asOf)
            }
            if let teams { try TeamAssigner(connection: connection, directory: teams).assign() }
            try followMerges(run, report: &report, scope: scope)
            let outcomes = try apply(run, report: &report, scope: scope)
            try scope.remember(outcomes, report: &report, rules: rules, asOf: asOf, connection)
            // Every family was evaluated: the next (scoped) runs are planned on the tables as they
            // are now, not as they were before (migration 0111).
            if scope.isEverything && run.id != nil { try connection.execute("SELECT flag_tables_analyze()") }
            report.seconds = Date().timeIntervalSince(started)
            if let runID = run.id {
                report.runID = runID
                report.changed = true
                try connection.execute(
                    """
                    UPDATE flag_runs SET finished_at = now(), families = $2, firings = $3, raised = $4, evidence_attached = $5,
                        suppressed = $6, held_by_cool_off = $7 WHERE id = $1
                    """,
                    [
                        runID, report.families, report.firings, report.raised, report.evidenceAttached,
                        report.suppressedNew,
                        report.heldByCoolOff,
                    ])
            }
            return report
        }
    }

    // MARK: Families merged since the last run

    /// Open flags of families merged into another: read from the merged families (the partial index
    /// on `merged_into`), as `family_id_resolution` resolves them, without resolving every family.
    private func followMerges(_ run: RunRow, report: inout FlagReport, scope: FlagScope) throws {
        let moved = try connection.query(
            """
            WITH RECURSIVE chain (family_id, current, depth) AS (
                SELECT family_id, merged_into, 1 FROM families WHERE merged_into IS NOT NULL
                UNION ALL
                SELECT c.family_id, f.merged_into, c.depth + 1 FROM chain c JOIN families f ON f.family_id = c.current
                WHERE f.merged_into IS NOT NULL AND c.depth < 100),
            resolved AS (SELECT DISTINCT ON (family_id) family_id, current AS resolves_to FROM chain ORDER BY family_id, depth DESC)
            SELECT fl.flag_id, fl.family_id, r.resolves_to
            FROM flags fl JOIN resolved r ON r.family_id = fl.family_id
            WHERE fl.status <> 'closed' AND r.resolves_to <> fl.family_id
            ORDER BY fl.raised_at, fl.flag_id
            """)
        for row in moved {
            let (flag, from, to) = (
                try row.decode(String.self, at: 0), try row.decode(String.self, at: 1),
                try row.decode(String.self, at: 2)
            )
            try scope.add([from, to], connection)
            let runID = try run.ensure()
            let details = #"{"from_family":"\#(from)","to_family":"\#(to)"}"#
            if let other = try connection.query(
                "SELECT flag_id FROM flags WHERE family_id = $1 AND status <> 'closed'", [to]
            ).first {
                let keeper = try other.decode(String.self, at: 0)
                try connection.execute(
                    """
                    INSERT INTO flag_rules (flag_id, rule_name, rule_version, reason, run_id)
                    SELECT $2, rule_name, rule_version, reason, $3 FROM flag_rules WHERE flag_id = $1 ON CONFLICT DO NOTHING
                    """, [flag, keeper, runID])
                try connection.execute(
                    """
                    INSERT INTO flag_evidence (flag_id, indicator_id, rule_name, rule_version, child_id, description, run_id, at_raise)
                    SELECT $2, indicator_id, rule_name, rule_version, child_id, description, $3, false FROM flag_evidence WHERE flag_id = $1
                    ON CONFLICT DO NOTHING
                    """, [flag, keeper, runID])
                try close(
                    flag, outcome: "merged: the family was merged into \(to); evidence moved to flag \(keeper)",
                    runID: runID)
                try event(
                    keeper, "family_merged", runID: runID,
                    details: #"{"from_family":"\#(from)","merged_flag":"\#(flag)"}"#)
            } else {
                try connection.execute("UPDATE flags SET family_id = $2 WHERE flag_id = $1", [flag, to])
                try event(flag, "family_merged", runID: runID, details: details)
            }
            report.flagsFollowedMerge += 1
        }
    }

    // MARK: Rules and lifecycle

    private struct Statutory {
        var basis: String
        var child: String?
        var record: Int64?
        var detail: String?
    }

    /// Evaluates the families in scope and writes what changed; returns what each family that met a
    /// rule came to (for the totals of later runs that do not evaluate it).
    private func apply(_ runRow: RunRow, report: inout FlagReport, scope: FlagScope) throws -> [String: FamilyOutcome] {
        let asOfDay = asOf.dayNumber
        let labels = Dictionary(uniqueKeysWithValues: rules.indicators.map { ($0.name, $0.label) })

        // The members in scope, read by the look-ups below.
        try scope.fixMembers(connection)
        let families = try liveFamilies(scope)
        report.families = families.count
        report.familiesEvaluated = families.count

        let indicators = try familyIndicators(scope)
        let statutory = try knownToStatutoryServices(families, scope: scope)
        let familyOfFlag = scope.condition("f.family_id")

        var openFlag: [String: String] = [:]
        for row in try connection.query(
            "SELECT f.family_id, f.flag_id FROM flags f WHERE f.status <> 'closed' AND \(familyOfFlag)")
        {
            openFlag[try row.decode(String.self, at: 0)] = try row.decode(String.self, at: 1)
        }
        var attached: Set<String> = []  // flag|indicator|rule|version
        var firedRules: Set<String> = []  // flag|rule|version
        for row in try connection.query(
            """
            SELECT e.flag_id, e.indicator_id, e.rule_name, e.rule_version FROM flag_evidence e JOIN flags f ON f.flag_id = e.flag_id
            WHERE f.status <> 'closed' AND \(familyOfFlag)
            """)
        {
            attached.insert(
                "\(try row.decode(String.self, at: 0))|\(try row.decode(Int64.self, at: 1))|\(try row.decode(String.self, at: 2))|\(try row.decode(Int.self, at: 3))"
            )
        }
        for row in try connection.query(
            """
            SELECT r.flag_id, r.rule_name, r.rule_version FROM flag_rules r JOIN flags f ON f.flag_id = r.flag_id
            WHERE f.status <> 'closed' AND \(familyOfFlag)
            """)
        {
            firedRules.insert(
                "\(try row.decode(String.self, at: 0))|\(try row.decode(String.self, at: 1))|\(try row.decode(Int.self, at: 2))"
            )
        }
        var lastClosed: [String: Int] = [:]
        var closedEvidence: [String: Set<Int64>] = [:]
        for row in try connection.query(
            """
            SELECT f.family_id, max(f.closed_on), array_remove(array_agg(DISTINCT e.indicator_id), NULL)::text
            FROM flags f LEFT JOIN flag_evidence e ON e.flag_id = f.flag_id
            WHERE f.status = 'closed' AND \(familyOfFlag) GROUP BY f.family_id
            """)
        {
            let family = try row.decode(String.self, at: 0)
            lastClosed[family] = DayNumber.from(try row.decode(PostgresDate.self, at: 1))
            let list = try row.decode(String.self, at: 2).trimmingCharacters(in: CharacterSet(charactersIn: "{}"))
            closedEvidence[family] = Set(list.split(separator: ",").compactMap { Int64($0) })
        }

        var storedSuppressions:
            [String: (ids: [Int64], basis: String, child: String?, record: Int64?, detail: String?)] = [:]
        for row in try connection.query(
            """
            SELECT f.family_id, f.rule_name, f.rule_version, f.indicator_ids::text, f.basis, f.basis_child_id, f.basis_record_id,
                   f.basis_detail
            FROM flag_suppressions f WHERE \(familyOfFlag)
            """)
        {
            let key =
                "\(try row.decode(String.self, at: 0))|\(try row.decode(String.self, at: 1))|\(try row.decode(Int.self, at: 2))"
            storedSuppressions[key] = (
                try row.decode(String.self, at: 3).trimmingCharacters(in: CharacterSet(charactersIn: "{}")).split(
                    separator: ","
                )
                .compactMap { Int64($0) },
                try row.decode(String.self, at: 4), try row.decode(String?.self, at: 5),
                try row.decode(Int64?.self, at: 6),
                try row.decode(String?.self, at: 7)
            )
        }
        // Flag ids minted by this run; checked against those in use once, after the loop.
        var mintedFlagIDs: Set<String> = []
        var outcomes: [String: FamilyOutcome] = [:]

        var suppressionRows: [[String?]] = []
        var flagRows: [[String?]] = []
        var evidenceRows: [[String?]] = []
        var ruleRows: [[String?]] = []
        var events: [(flag: String, event: String, details: String)] = []
        var generator = SystemRandomNumberGenerator()
        var runText: String { (runRow.id).map { String($0) } ?? "" }

        for family in families.keys.sorted() {
            guard let own = indicators[family], !own.isEmpty else { continue }
            var firings = rules.rules.compactMap { Self.evaluate($0, own, asOf: asOfDay) }
            guard !firings.isEmpty else { continue }
            report.firings += firings.count
            outcomes[family] = FamilyOutcome(firings: firings.count, suppressed: 0, held: false)

            if let known = statutory[family] {
                outcomes[family]?.suppressed = firings.count
                for firing in firings {
                    let ids = firing.indicators.map(\.id)
                    if let stored = storedSuppressions["\(family)|\(firing.rule.name)|\(firing.rule.version)"],
                        stored.ids == ids,
                        stored.basis == known.basis, stored.child == known.child, stored.record == known.record,
                        stored.detail == known.detail
                    {
                        report.suppressedContinuing += 1
                        continue
                    }
                    let runID = try runRow.ensure()
                    suppressionRows.append([
                        family, firing.rule.name, String(firing.rule.version), known.basis, known.child,
                        known.record.map { String($0) },
                        known.detail, "{" + ids.map(String.init).joined(separator: ",") + "}", String(runID),
                    ])
                }
                if let open = openFlag[family] {
                    try close(
                        open, outcome: "suppressed: the family is known to statutory services",
                        runID: try runRow.ensure())
                    report.closedBySuppression += 1
                    openFlag[family] = nil
                }
                continue
            }

            if let open = openFlag[family] {
                var count = 0
                for firing in firings {
                    let ruleKey = "\(open)|\(firing.ruleKey)"
                    if !firedRules.contains(ruleKey) {
                        firedRules.insert(ruleKey)
                        _ = try runRow.ensure()
                        ruleRows.append([
                            open, firing.rule.name, String(firing.rule.version), firing.reason(labels: labels), runText,
                        ])
                    }
                    for indicator in firing.indicators
                    where attached.insert("\(open)|\(indicator.id)|\(firing.ruleKey)").inserted {
                        _ = try runRow.ensure()
                        evidenceRows.append(
                            [
                                open, String(indicator.id), firing.rule.name, String(firing.rule.version),
                                indicator.child,
                                indicator.description, runText, "f",
                            ])
                        count += 1
                    }
                }
                if count > 0 {
                    report.evidenceAttached += count
                    report.flagsWithNewEvidence += 1
                    events.append((open, "evidence_attached", #"{"indicators":\#(count)}"#))
                }
                continue
            }

            if let closedOn = lastClosed[family] {
                guard asOfDay >= closedOn + rules.lifecycle.coolOffDays else {
                    report.heldByCoolOff += 1
                    outcomes[family]?.held = true
                    continue
                }
                let before = closedEvidence[family] ?? []
                firings = firings.filter { firing in
                    firing.indicators.contains { $0.start > closedOn && !before.contains($0.id) }
                }
                guard !firings.isEmpty else {
                    report.heldByCoolOff += 1
                    outcomes[family]?.held = true
                    continue
                }
            }

            // Raise one flag for the family, held by every rule it meets.
            let runID = try runRow.ensure()
            let run = String(runID)
            var flag: String
            repeat {
                flag = OpaqueID.mint(prefix: "G", using: &generator).value
            } while !mintedFlagIDs.insert(flag).inserted
            let first = firings[0]
            flagRows.append([
                flag, family, first.rule.name, String(first.rule.version), asOf.iso8601, run,
                first.reason(labels: labels),
            ])
            var count = 0
            for firing in firings {
                ruleRows.append([
                    flag, firing.rule.name, String(firing.rule.version), firing.reason(labels: labels), run,
                ])
                for indicator in firing.indicators {
                    evidenceRows.append(
                        [
                            flag, String(indicator.id), firing.rule.name, String(firing.rule.version), indicator.child,
                            indicator.description, run, "t",
                        ])
                    count += 1
                }
            }
            events.append((flag, "raised", #"{"rules":\#(firings.count),"indicators":\#(count)}"#))
            openFlag[family] = flag
            report.raised += 1
            report.raisedByRule[first.rule.name, default: 0] += 1
        }

        try mintAgainWhereTaken(mintedFlagIDs, in: &flagRows, &ruleRows, &evidenceRows, &events, generator: &generator)
        try storeSuppressions(suppressionRows, report: &report)
        if !flagRows.isEmpty {
            try connection.copyIn(
                "COPY flags (flag_id, family_id, rule_name, rule_version, first_flagged_on, raised_by_run, reason) FROM STDIN"
            ) { writer in
                for row in flagRows { try writer.writeRow(row) }
            }
        }
        if !ruleRows.isEmpty {
            try connection.copyIn("COPY flag_rules (flag_id, rule_name, rule_version, reason, run_id) FROM STDIN") {
                writer in
                for row in ruleRows { try writer.writeRow(row) }
            }
        }
        try describe(&evidenceRows)
        if !evidenceRows.isEmpty {
            try connection.copyIn(
                "COPY flag_evidence (flag_id, indicator_id, rule_name, rule_version, child_id, description, run_id, at_raise) FROM STDIN"
            ) { writer in
                for row in evidenceRows { try writer.writeRow(row) }
            }
        }
        if !events.isEmpty {
            try connection.copyIn("COPY flag_events (flag_id, event, run_id, details) FROM STDIN") { writer in
                for item in events {
                    try writer.writeRow([item.flag, item.event, runRow.id.map { String($0) }, item.details])
                }
            }
        }
        return outcomes
    }

    /// Each live family in scope and its child members. Read as two lists and joined here: planned
    /// from the statistics of tables the families stage had just filled, the join was a nested loop
    /// with an index scan of the members per family (27,548 of them at 50,000 children).
    private func liveFamilies(_ scope: FlagScope) throws -> [String: [String]] {
        var families: [String: [String]] = [:]
        for row in try connection.query(
            """
            SELECT f.family_id FROM families f
            WHERE f.merged_into IS NULL AND f.retired_at IS NULL AND \(scope.condition("f.family_id"))
            """)
        {
            families[try row.decode(String.self, at: 0)] = []
        }
        let members = scope.isEverything ? "family_members" : "flag_dirty_members"
        for row in try connection.query("SELECT family_id, child_id FROM \(members) WHERE child_id IS NOT NULL") {
            families[try row.decode(String.self, at: 0)]?.append(try row.decode(String.self, at: 1))
        }
        return families
    }

    /// Each family's indicators (current definitions, not withdrawn), as the rules see them: an
    /// indicator belongs to its child's family, or (an expectant parent's, or a child in no family) to
    /// the family of its record's expectant parent.
    private func familyIndicators(_ scope: FlagScope) throws -> [String: [FamilyIndicator]] {
        try readFamilyIndicators(scope.isEverything ? Self.indicatorsOfEveryFamily : Self.indicatorsOfDirtyFamilies)
    }

    static let familyIndicatorColumns = """
        i.id, i.indicator, i.version, i.outcome, i.starts_on - DATE '1970-01-01', i.ends_on - DATE '1970-01-01', i.child_id
        """

    /// Every indicator with its family, in one pass over the table.
    static let indicatorsOfEveryFamily = """
        SELECT \(familyIndicatorColumns), coalesce(mc.family_id, me.family_id)
        FROM indicators i
        LEFT JOIN family_members mc ON mc.child_id = i.child_id
        LEFT JOIN family_members me ON me.expectant_record_id = i.record_id
        WHERE i.withdrawn_at IS NULL AND coalesce(mc.family_id, me.family_id) IS NOT NULL
        ORDER BY i.id
        """

    /// The indicators of the members in `flag_dirty_members`, through the child and record indexes.
    static let indicatorsOfDirtyFamilies = """
        SELECT \(familyIndicatorColumns), m.family_id
        FROM flag_dirty_members m JOIN indicators i ON i.child_id = m.child_id
        WHERE i.withdrawn_at IS NULL
        UNION ALL
        SELECT \(familyIndicatorColumns), m.family_id
        FROM flag_dirty_members m JOIN indicators i ON i.record_id = m.expectant_record_id
        WHERE i.withdrawn_at IS NULL
          AND (i.child_id IS NULL OR NOT EXISTS (SELECT 1 FROM family_members mc WHERE mc.child_id = i.child_id))
        ORDER BY 1
        """

    private func readFamilyIndicators(_ query: String) throws -> [String: [FamilyIndicator]] {
        let current = Dictionary(uniqueKeysWithValues: rules.indicators.map { ($0.name, $0.version) })
        var indicators: [String: [FamilyIndicator]] = [:]
        var names = InternedTexts()
        // A batch at a time from a cursor, read in place (dates as day numbers).
        try connection.forEachBatch(query, cursor: "family_indicators") { result in
            for row in 0..<result.rowCount {
                let name = names.intern(result.bytes(row, 1))
                guard let version = result.int64(row, 2), current[name] == Int(version),
                    let outcome = result.int64(row, 3).flatMap({ SupportingFamiliesOutcome(rawValue: Int($0)) }),
                    let family = result.string(row, 7)
                else { continue }
                indicators[family, default: []].append(
                    FamilyIndicator(
                        id: result.int64(row, 0) ?? 0, name: name, outcome: outcome,
                        start: Int(result.int64(row, 4) ?? 0), end: Int(result.int64(row, 5) ?? 0),
                        child: result.string(row, 6),
                        // Read below for the indicators that become evidence, not for every one.
                        description: ""))
            }
        }
        return indicators
    }

    /// Flag ids are random (45 bits): should one minted this run already be in use, it is minted
    /// again everywhere it appears.
    private func mintAgainWhereTaken(
        _ minted: Set<String>, in flagRows: inout [[String?]], _ ruleRows: inout [[String?]],
        _ evidenceRows: inout [[String?]],
        _ events: inout [(flag: String, event: String, details: String)], generator: inout SystemRandomNumberGenerator
    ) throws {
        guard !minted.isEmpty else { return }
        let taken = try connection.query("SELECT flag_id FROM flags WHERE flag_id = ANY($1::text[])", [Array(minted)])
            .map {
                try $0.decode(String.self, at: 0)
            }
        guard !taken.isEmpty else { return }
        var inUse = minted.union(taken)
        var replacement: [String: String] = [:]
        for old in taken.sorted() {
            var flag: String
            repeat {
                flag = OpaqueID.mint(prefix: "G", using: &generator).value
            } while !inUse.insert(flag).inserted
            replacement[old] = flag
        }
        func swap(_ rows: inout [[String?]]) {
            for index in rows.indices { if let id = rows[index][0], let new = replacement[id] { rows[index][0] = new } }
        }
        swap(&flagRows)
        swap(&ruleRows)
        swap(&evidenceRows)
        for index in events.indices { if let new = replacement[events[index].flag] { events[index].flag = new } }
        try mintAgainWhereTaken(
            Set(replacement.values), in: &flagRows, &ruleRows, &evidenceRows, &events, generator: &generator)
    }

    /// Fills in each evidence row's indicator description (column 5) from the indicator (column 1).
    private func describe(_ evidenceRows: inout [[String?]]) throws {
        guard !evidenceRows.isEmpty else { return }
        let ids = Array(Set(evidenceRows.compactMap { $0[1].flatMap { Int64($0) } }))
        var descriptions: [Int64: String] = [:]
        for row in try connection.query("SELECT id, description FROM indicators WHERE id = ANY($1::bigint[])", [ids]) {
            descriptions[try row.decode(Int64.self, at: 0)] = try row.decode(String.self, at: 1)
        }
        for index in evidenceRows.indices {
            evidenceRows[index][5] = evidenceRows[index][1].flatMap { Int64($0) }.flatMap { descriptions[$0] } ?? ""
        }
    }

    /// New and changed suppressions, in one statement: counts which were new.
    private func storeSuppressions(_ rows: [[String?]], report: inout FlagReport) throws {
        guard !rows.isEmpty else { return }
        try connection.execute(
            """
            CREATE TEMP TABLE flag_suppressions_now (family_id text, rule_name text, rule_version integer, basis text,
                basis_child_id text, basis_record_id bigint, basis_detail text, indicator_ids bigint[], run bigint) ON COMMIT DROP
            """)
        try connection.copyIn("COPY flag_suppressions_now FROM STDIN") { writer in
            for row in rows { try writer.writeRow(row) }
        }
        let inserted = try connection.execute(
            """
            WITH upserted AS (
                INSERT INTO flag_suppressions (family_id, rule_name, rule_version, basis, basis_child_id, basis_record_id,
                                               basis_detail, indicator_ids, first_run, last_seen_run)
                SELECT family_id, rule_name, rule_version, basis, basis_child_id, basis_record_id, basis_detail, indicator_ids, run, run
                FROM flag_suppressions_now
                ON CONFLICT (family_id, rule_name, rule_version) DO UPDATE SET last_seen_run = excluded.last_seen_run,
                    last_seen_at = now(), indicator_ids = excluded.indicator_ids, basis = excluded.basis,
                    basis_child_id = excluded.basis_child_id, basis_record_id = excluded.basis_record_id,
                    basis_detail = excluded.basis_detail
                RETURNING (xmax = 0) AS inserted)
            SELECT count(*) FILTER (WHERE inserted)::int FROM upserted
            """
        ).scalar(Int.self)
        report.suppressedNew += inserted
        report.suppressedContinuing += rows.count - inserted
        try connection.execute("DROP TABLE flag_suppressions_now")
    }

    /// Families known to statutory services, and why.
    private func knownToStatutoryServices(
        _ families: [String: [String]], scope: FlagScope
    ) throws -> [String: Statutory] {
        var byChild: [String: Statutory] = [:]
        if rules.suppression.useFeedFact {
            let members =
                scope.isEverything
                ? "true"
                : "cr.child_id IN (SELECT child_id FROM flag_dirty_members)"
            for row in try connection.query(
                """
                SELECT DISTINCT ON (cr.child_id) cr.child_id, sr.id, (sr.facts->>'known_to_statutory_services')::boolean
                FROM source_records sr
                JOIN child_records cr ON cr.record_id = sr.id
                JOIN feed_batches b ON b.id = sr.batch_id
                CROSS JOIN LATERAL record_evidence_period(sr.kind, sr.facts, b.committed_at) p
                WHERE sr.facts ? 'known_to_statutory_services' AND \(members)
                ORDER BY cr.child_id, p.ends_on DESC, sr.id DESC
                """)
            where try row.decode(Bool.self, at: 2) {
                let child = try row.decode(String.self, at: 0)
                byChild[child] = Statutory(
                    basis: "feed_fact", child: child, record: try row.decode(Int64.self, at: 1), detail: nil)
            }
        }
        var byFamily: [String: Statutory] = [:]
        if let list = rules.statutoryList {
            let file = (list.path as NSString).lastPathComponent
            if !list.children.isEmpty {
                for row in try connection.query(
                    "SELECT child_id, resolves_to FROM child_id_resolution WHERE child_id = ANY($1::text[])",
                    [Array(list.children.keys)])
                {
                    let listed = try row.decode(String.self, at: 0)
                    let child = try row.decode(String.self, at: 1)
                    if byChild[child] == nil {
                        byChild[child] = Statutory(
                            basis: "statutory_list", child: child, record: nil,
                            detail: "\(file) line \(list.children[listed]!)")
                    }
                }
            }
            if !list.families.isEmpty {
                for row in try connection.query(
                    "SELECT family_id, resolves_to FROM family_id_resolution WHERE family_id = ANY($1::text[])",
                    [Array(list.families.keys)])
                {
                    let listed = try row.decode(String.self, at: 0)
                    byFamily[try row.decode(String.self, at: 1)] = Statutory(
                        basis: "statutory_list", child: nil, record: nil,
                        detail: "\(file) line \(list.families[listed]!)")
                }
            }
        }
        var out: [String: Statutory] = [:]
        for (family, children) in families {
            if let child = children.sorted().first(where: { byChild[$0] != nil }) {
                out[family] = byChild[child]
            } else if let listed = byFamily[family] {
                out[family] = listed
            }
        }
        return out
    }

    private func close(_ flag: String, outcome: String, runID: Int64) throws {
        try connection.execute(
            """
            UPDATE flags SET status = 'closed', closed_on = $2::date, closed_at = now(), closed_by = 'familyconnect', close_outcome = $3
            WHERE flag_id = $1
            """, [flag, asOf.iso8601, outcome])
        try event(flag, "closed", runID: runID, details: "{}")
    }

    private func event(_ flag: String, _ name: String, runID: Int64?, details: String) throws {
        try connection.execute(
            "INSERT INTO flag_events (flag_id, event, run_id, details) VALUES ($1, $2, $3, $4::jsonb)",
            [flag, name, runID, details])
    }
}
