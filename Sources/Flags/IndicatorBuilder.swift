import Families
import Feeds
import Foundation
import Identifiers
import Postgres
import Resolution

/// What one indicator refresh did: counts only.
public struct IndicatorReport: Sendable, CustomStringConvertible {
    public var runID: Int64 = 0
    public var recordsRead = 0
    /// Records not measured because a number in them is one no feed may send (see `FactRanges`):
    /// it reached the database around the loader. Their ids, for the log line (ids only, first 20).
    public var implausible = 0
    public var implausibleRecords: [Int64] = []
    /// Indicators in force after the run.
    public var active = 0
    public var added = 0
    public var withdrawn = 0
    public var restored = 0
    public var updated = 0
    /// Indicators in force, by definition name.
    public var byIndicator: [String: Int] = [:]
    /// False when every indicator was already up to date: nothing was written (and `runID` is 0).
    public var changed = false
    public var seconds = 0.0

    /// The counts by name, for a log line or metrics.
    public var counts: [String: Int] {
        var out = [
            "run": Int(runID), "changed": changed ? 1 : 0, "records": recordsRead, "implausible": implausible,
            "active": active, "added": added,
            "withdrawn": withdrawn, "restored": restored, "updated": updated,
        ]
        for (name, n) in byIndicator { out["indicator_" + name] = n }
        return out
    }

    public var description: String {
        let skipped =
            implausible == 0
            ? ""
            : " (\(implausible) not measured: implausible numbers, records "
                + implausibleRecords.map(String.init).joined(separator: ", ") + ")"
        return (changed ? "indicators run \(runID): " : "indicators unchanged: ") + "\(recordsRead) records read"
            + skipped + "; \(active) indicators in force (\(added) added, "
            + "\(withdrawn) withdrawn, \(restored) restored, \(updated) updated): "
            + byIndicator.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }
}

/// Measures every partner record against the indicator definitions and keeps the `indicators`
/// table in step: new indicators are added, ones that no longer hold are withdrawn (never deleted,
/// since flags point at them), and a record's indicators follow it when resolution moves it to
/// another child. Unchanged data and rules change nothing.
public final class IndicatorBuilder {
    let connection: PostgresConnection
    public let rules: RuleSet
    /// The day the run is about: a review is overdue relative to this (or to the extract's date if earlier).
    public let asOf: CalendarDate
    static let lockKey: Int64 = 0x6663_696E_6469_6361  // "fcindica"

    public init(connection: PostgresConnection, rules: RuleSet, asOf: CalendarDate = .today()) {
        self.connection = connection
        self.rules = rules
        self.asOf = asOf
    }

    struct Computed {
        var record: Int64
        var definition: IndicatorDefinition
        var child: String?
        var start: Int
        var end: Int
        var description: String
        var measures: String
        var key: String { "\(record)|\(definition.name)|\(definition.version)" }
    }

    /// Brings the indicators up to date. When nothing differs, nothing is written (not even a run
    /// row): `report.changed` is false and `report.runID` is 0.
    public func refresh() throws -> IndicatorReport {
        try connection.transaction { connection in
            try connection.advisoryTransactionLock(Self.lockKey)
            let started = Date()
            var report = IndicatorReport()
            let scope = try IndicatorScope.decide(connection, rules: rules, kinds: kinds, asOf: asOf)
            let (computed, measured) = try compute(scope, report: &report)
            try store(computed, scope: scope, report: &report)
            try scope.remember(measured, inForce: report.byIndicator, rules: rules, asOf: asOf, connection)
            // Every indicator was written: the next (scoped) refreshes and flag runs are planned on the
            // table as it is now, not as it was before (migration 0111).
            if scope.isEverything && report.changed { try connection.execute("SELECT indicator_tables_analyze()") }
            report.seconds = Date().timeIntervalSince(started)
            if report.changed {
                try connection.execute(
                    """
                    UPDATE indicator_runs SET finished_at = now(), records_read = $2, added = $3, withdrawn = $4, restored = $5, updated = $6
                    WHERE id = $1
                    """,
                    [report.runID, report.recordsRead, report.added, report.withdrawn, report.restored, report.updated])
            }
            return report
        }
    }

    // MARK: Measuring

    private struct Row {
        var id: Int64
        var kind: String
        var feed: String
        var child: String?
        var carerNHS: String?
        var reference: Int
        var start: Int
        var end: Int
        /// Sessions, when both are whole numbers no feed could have exceeded (`sessionsMeasurable`).
        var sessions: (possible: Int, attended: Int)?
        var school: String?
        var eligibleFrom: Int?
        var eligibleTo: Int?
        var reviewType: String?
        var reviewDue: Int?
        var reviewStatus: String?
        var reviewDate: Int?
        var incidentType: String?
        var incidentDay: Int?
        var childPresent: Bool?
    }

    /// The feed kinds the definitions read.
    private var kinds: [String] { Array(Set(rules.indicators.map(\.kind.feedKind))).sorted() }

    /// The indicators of the records in scope, and each record read whose child the next scope
    /// needs (`IndicatorScope.childReadBack`) with that child.
    private func compute(
        _ scope: IndicatorScope, report: inout IndicatorReport
    ) throws -> ([Computed], [(record: Int64, child: String?)]) {
        var rows: [Row] = []
        let asOfDay = asOf.dayNumber
        func day(_ text: String?) -> Int? {
            guard let text, let date = CalendarDate(iso8601: text.prefix(10)) else { return nil }
            return date.dayNumber
        }
        // Every record in scope, a batch at a time from a cursor, each column read in place from
        // libpq's buffer (dates as day numbers): no array of strings per row.
        var texts = InternedTexts()
        try connection.forEachBatch(
            """
            SELECT sr.id, sr.kind, sr.feed, cr.child_id, sr.carer_nhs_number, b.committed_at::date - DATE '1970-01-01',
                   p.starts_on - DATE '1970-01-01', p.ends_on - DATE '1970-01-01',
                   sr.facts->>'sessions_possible', sr.facts->>'sessions_attended', sr.facts->>'school_name',
                   sr.facts->>'eligible_from', sr.facts->>'eligible_to', sr.facts->>'review_type', sr.facts->>'review_due',
                   sr.facts->>'review_status', sr.facts->>'review_date', sr.facts->>'incident_type', sr.facts->>'incident_at',
                   sr.facts->>'child_present'
            FROM source_records sr
            JOIN feed_batches b ON b.id = sr.batch_id
            CROSS JOIN LATERAL record_evidence_period(sr.kind, sr.facts, b.committed_at) p
            LEFT JOIN child_records cr ON cr.record_id = sr.id
            WHERE sr.kind = ANY($1::text[]) AND (cr.child_id IS NOT NULL OR sr.subject = 'expectant_parent')
              AND \(scope.condition("sr.id"))
            ORDER BY sr.id
            """, [kinds], cursor: "indicator_records"
        ) { result in
            // No `reserveCapacity` per batch: it reserves exactly what it is asked for, so each batch
            // copied every row read so far into a new buffer (20 copies of up to 1M rows at 1M
            // records); appending grows the buffer geometrically.
            for index in 0..<result.rowCount {
                func text(_ column: Int) -> String? { result.string(index, column) }
                func number(_ column: Int) -> Int { Int(result.int64(index, column) ?? 0) }
                let id = result.int64(index, 0) ?? 0
                rows.append(
                    Row(
                        id: id, kind: texts.intern(result.bytes(index, 1)), feed: texts.intern(result.bytes(index, 2)),
                        child: text(3), carerNHS: text(4), reference: min(asOfDay, number(5)), start: number(6),
                        end: number(7),
                        sessions: Self.sessions(id: id, possible: text(8), attended: text(9), report: &report),
                        school: text(10), eligibleFrom: day(text(11)), eligibleTo: day(text(12)),
                        reviewType: text(13), reviewDue: day(text(14)), reviewStatus: text(15),
                        reviewDate: day(text(16)),
                        incidentType: text(17), incidentDay: day(text(18)), childPresent: text(19).map { $0 == "true" })
                )
            }
        }
        report.recordsRead = rows.count

        // Reviews completed on any record: a review done is not overdue, whichever extract says so.
        var completed: Set<String> = []
        for row in rows where row.kind == "health_visiting" && row.reviewStatus == "completed" {
            if let type = row.reviewType { completed.insert(Self.reviewSubject(row) + "|" + type) }
        }

        let context = MeasuringContext(
            definitions: rules.indicators, templates: rules.indicators.map { DescriptionTemplate($0.description) },
            completed: completed,
            feedWords: Dictionary(Set(rows.lazy.map(\.feed)).map { ($0, PlainEnglish.words($0)) }) { first, _ in first }
        )
        // Each record is measured on its own: on both cores, a slice each, the slices' indicators in
        // record order as one pass makes them.
        let records = rows
        let out = ParallelSlices.map(records.count, minimumSlice: 16_384) { range in
            var measured: [Computed] = []
            for index in range { Self.measure(records[index], context, into: &measured) }
            return measured
        }
        // Only the child of a record whose kind the next scope reads back is kept (IndicatorScope.remember).
        let remembered = rows.lazy.filter { IndicatorScope.childReadBack.contains($0.kind) }.map { ($0.id, $0.child) }
        return (out, Array(remembered))
    }

    /// What measuring a record reads besides the record: the definitions, their templates, the
    /// reviews completed on any record, and each feed's name in words.
    private struct MeasuringContext: Sendable {
        var definitions: [IndicatorDefinition]
        var templates: [DescriptionTemplate]
        var completed: Set<String>
        var feedWords: [String: String]
    }

    /// Whose review a record is about, for `MeasuringContext.completed`.
    private static func reviewSubject(_ row: Row) -> String {
        if let child = row.child { return "c:" + child }
        if let nhs = row.carerNHS { return "m:" + nhs }
        return "r:\(row.id)"
    }

    /// The indicators one record meets, appended to `out` in definition order.
    private static func measure(_ row: Row, _ context: MeasuringContext, into out: inout [Computed]) {
        for (number, definition) in context.definitions.enumerated() where definition.kind.feedKind == row.kind {
            // Filled only once the record meets the definition: most records meet none.
            var values: [String: String] = [:]
            var measures: [(String, String)] = []
            var start = row.start
            var end = row.end
            switch definition.kind {
            case .attendanceBelow(let tenths, let minimum):
                guard let (possible, attended) = row.sessions, possible >= minimum,
                    let rateTenths = Self.rateTenths(attended: attended, possible: possible), rateTenths < tenths
                else { continue }
                values["rate"] = "\(rateTenths / 10).\(rateTenths % 10)"
                values["attended"] = String(attended)
                values["possible"] = String(possible)
                values["threshold"] = tenths % 10 == 0 ? String(tenths / 10) : "\(tenths / 10).\(tenths % 10)"
                values["period_start"] = PlainEnglish.date(row.start)
                values["period_end"] = PlainEnglish.date(row.end)
                values["school"] = row.school ?? "school"
                measures = [
                    ("sessions_possible", String(possible)), ("sessions_attended", String(attended)),
                    ("below_percent_tenths", String(tenths)),
                ]
            case .fsmEligible:
                guard let from = row.eligibleFrom, from <= row.reference else { continue }
                if let to = row.eligibleTo, to < from { continue }
                start = from
                end = max(from, min(row.eligibleTo ?? row.reference, row.reference))
                values["eligible_from"] = PlainEnglish.date(from)
                if let to = row.eligibleTo, to <= row.reference {
                    values["eligible_to"] = "until " + PlainEnglish.date(to)
                } else {
                    values["eligible_to"] = "still eligible at " + PlainEnglish.date(row.reference)
                }
            case .reviewStatus(let statuses, let types):
                guard let type = row.reviewType, types.contains(type), let status = row.reviewStatus,
                    statuses.contains(status),
                    let due = row.reviewDue
                else { continue }
                let on = min(row.reviewDate ?? due, row.reference)
                (start, end) = (on, on)
                values["review"] = PlainEnglish.reviewNames[type] ?? PlainEnglish.words(type)
                values["due"] = PlainEnglish.date(due)
                values["status"] = PlainEnglish.statusNames[status] ?? PlainEnglish.words(status)
                values["reviewed_on"] = PlainEnglish.date(on)
                measures = [("review_status", "\"\(status)\"")]
            case .reviewOverdue(let grace, let types):
                guard let type = row.reviewType, types.contains(type), let due = row.reviewDue else { continue }
                // Not attended or declined is a missed review, not an overdue one.
                guard row.reviewStatus == nil || row.reviewStatus == "scheduled" else { continue }
                guard row.reference - due > grace, !context.completed.contains(Self.reviewSubject(row) + "|" + type)
                else {
                    continue
                }
                // It became overdue the day after the grace period ended.
                let overdueFrom = due + grace + 1
                (start, end) = (overdueFrom, overdueFrom)
                values["review"] = PlainEnglish.reviewNames[type] ?? PlainEnglish.words(type)
                values["due"] = PlainEnglish.date(due)
                values["grace_days"] = String(grace)
                values["days_overdue"] = String(row.reference - due)
                values["as_of"] = PlainEnglish.date(row.reference)
                measures = [("grace_days", String(grace))]
            case .policeIncident(let types, let present):
                guard let type = row.incidentType, types.contains(type), let on = row.incidentDay else { continue }
                if let present, row.childPresent != present { continue }
                (start, end) = (on, on)
                values["incident_type"] = PlainEnglish.words(type)
                values["incident_date"] = PlainEnglish.date(on)
                values["child_present"] =
                    row.childPresent == true
                    ? "child present"
                    : row.childPresent == false ? "child not present" : "child's presence not recorded"
            }
            values["label"] = definition.label
            values["outcome"] = definition.outcome.name
            values["feed"] = context.feedWords[row.feed] ?? PlainEnglish.words(row.feed)
            let measuresJSON = "{" + measures.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
            out.append(
                Computed(
                    record: row.id, definition: definition, child: row.child, start: start, end: max(start, end),
                    description: context.templates[number].render(values), measures: measuresJSON))
        }
    }

    /// The sessions of a record, or nil when it has none; a record whose sessions are not whole
    /// numbers within 0…`FactRanges.sessionsCeiling`, attended at most possible, is counted as
    /// implausible and not measured. The loader refuses all of these; they can only come from outside it.
    static func sessions(
        id: Int64, possible: String?, attended: String?, report: inout IndicatorReport
    ) -> (possible: Int, attended: Int)? {
        guard possible != nil || attended != nil else { return nil }
        let range = 0...FactRanges.sessionsCeiling
        if let possible = possible.flatMap({ Int($0) }), let attended = attended.flatMap({ Int($0) }),
            range.contains(possible), range.contains(attended), attended <= possible
        {
            return (possible, attended)
        }
        report.implausible += 1
        if report.implausibleRecords.count < 20 { report.implausibleRecords.append(id) }
        return nil
    }

    /// Attendance in tenths of a percent, truncated (89.95% is 899, never rounded up to a threshold);
    /// nil when nothing was possible. Computed in double width: no count can overflow it.
    static func rateTenths(attended: Int, possible: Int) -> Int? {
        guard possible > 0, attended >= 0, attended <= possible else { return nil }
        let product = attended.multipliedFullWidth(by: 1000)
        return possible.dividingFullWidth((high: product.high, low: product.low)).quotient
    }

    // MARK: Storing

    /// Adds the indicators in force outside the scope (left as they are) to those computed in it: the
    /// counts the last refresh stored, less those of the records in scope as they were (`before`:
    /// name → indicators in force, current versions); counted in the table when none are stored.
    private func countInForce(before: [String: Int], report: inout IndicatorReport) throws {
        if let stored = try connection.query("SELECT in_force::text FROM indicator_state WHERE in_force IS NOT NULL")
            .first,
            let counts = try JSONSerialization.jsonObject(with: Data(try stored.decode(String.self, at: 0).utf8))
                as? [String: Int]
        {
            for (name, count) in counts where count - (before[name] ?? 0) != 0 {
                report.byIndicator[name, default: 0] += count - (before[name] ?? 0)
            }
            return
        }
        for row in try connection.query(
            """
            SELECT i.indicator, count(*)::int FROM indicators i
            JOIN unnest($1::text[], $2::int[]) AS d(indicator, version) ON d.indicator = i.indicator AND d.version = i.version
            WHERE i.withdrawn_at IS NULL AND i.record_id NOT IN (SELECT record_id FROM indicator_dirty)
            GROUP BY i.indicator
            """, [rules.indicators.map(\.name), rules.indicators.map(\.version)])
        {
            report.byIndicator[try row.decode(String.self, at: 0), default: 0] += try row.decode(Int.self, at: 1)
        }
    }

    private func store(_ computed: [Computed], scope: IndicatorScope, report: inout IndicatorReport) throws {
        struct Existing {
            var id: Int64
            var name: String
            var version: Int
            var child: String?
            var description: String
            var start: Int
            var end: Int
            var withdrawn: Bool
        }
        var existing: [String: Existing] = [:]
        try connection.forEachRow(
            """
            SELECT id, record_id, indicator, version, child_id, description, starts_on, ends_on, withdrawn_at IS NOT NULL
            FROM indicators WHERE \(scope.condition("record_id"))
            """
        ) { row in
            let key =
                "\(try row.decode(Int64.self, at: 1))|\(try row.decode(String.self, at: 2))|\(try row.decode(Int.self, at: 3))"
            existing[key] = Existing(
                id: try row.decode(Int64.self, at: 0), name: try row.decode(String.self, at: 2),
                version: try row.decode(Int.self, at: 3),
                child: try row.decode(String?.self, at: 4),
                description: try row.decode(String.self, at: 5),
                start: DayNumber.from(try row.decode(PostgresDate.self, at: 6)),
                end: DayNumber.from(try row.decode(PostgresDate.self, at: 7)),
                withdrawn: try row.decode(Bool.self, at: 8))
        }
        var fresh: [Computed] = []
        var changed: [(id: Int64, computed: Computed)] = []
        var restored: [Int64] = []
        var desired: Set<String> = []
        for item in computed {
            desired.insert(item.key)
            report.byIndicator[item.definition.name, default: 0] += 1
            guard let old = existing[item.key] else {
                fresh.append(item)
                continue
            }
            if old.withdrawn { restored.append(old.id) }
            if old.withdrawn || old.child != item.child || old.description != item.description
                || old.start != item.start
                || old.end != item.end
            {
                changed.append((old.id, item))
            }
        }
        let withdrawn = existing.filter { !$0.value.withdrawn && !desired.contains($0.key) }.map(\.value.id)
        if case .changed = scope {
            let current = Dictionary(uniqueKeysWithValues: rules.indicators.map { ($0.name, $0.version) })
            var before: [String: Int] = [:]
            for old in existing.values where !old.withdrawn && current[old.name] == old.version {
                before[old.name, default: 0] += 1
            }
            try countInForce(before: before, report: &report)
        }
        report.active = report.byIndicator.values.reduce(0, +)
        report.added = fresh.count
        report.restored = restored.count
        report.updated = changed.count - restored.count
        report.withdrawn = withdrawn.count
        report.changed = !fresh.isEmpty || !changed.isEmpty || !withdrawn.isEmpty
        guard report.changed else { return }
        let runID = try connection.execute(
            "INSERT INTO indicator_runs (as_of, definitions) VALUES ($1::date, $2::jsonb) RETURNING id",
            [asOf.iso8601, rules.indicatorVersionsJSON]
        ).scalar(Int64.self)
        report.runID = runID
        let run = String(runID)

        // A first fill (no indicator stored yet) builds the secondary indexes once, after the COPY,
        // instead of row by row (migration 0085).
        var firstFill = false
        if !fresh.isEmpty && existing.isEmpty && scope.isEverything {
            firstFill = try connection.execute("SELECT indicators_first_fill_begin()").scalar(Bool.self)
        }
        if !fresh.isEmpty {
            try connection.copyIn(
                """
                COPY indicators (record_id, indicator, version, outcome, child_id, starts_on, ends_on, description, measures,
                                 created_by_run) FROM STDIN
                """
            ) { writer in
                // Field by field: no array per row (a first refresh writes every indicator).
                for item in fresh {
                    try writer.appendField(String(item.record))
                    try writer.appendField(item.definition.name)
                    try writer.appendField(String(item.definition.version))
                    try writer.appendField(String(item.definition.outcome.rawValue))
                    try writer.appendField(item.child)
                    try writer.appendField(DayNumber.postgresDate(item.start).description)
                    try writer.appendField(DayNumber.postgresDate(item.end).description)
                    try writer.appendField(item.description)
                    try writer.appendField(item.measures)
                    try writer.appendField(run)
                    try writer.endRow()
                }
            }
        }
        if firstFill { try connection.execute("SELECT indicators_first_fill_end()") }
        if !changed.isEmpty {
            try connection.execute(
                """
                CREATE TEMP TABLE indicator_changes (id bigint PRIMARY KEY, child_id text, starts_on date, ends_on date,
                    description text, measures jsonb) ON COMMIT DROP
                """)
            try connection.copyIn("COPY indicator_changes FROM STDIN") { writer in
                for (id, item) in changed {
                    try writer.writeRow([
                        String(id), item.child, DayNumber.postgresDate(item.start).description,
                        DayNumber.postgresDate(item.end).description, item.description, item.measures,
                    ])
                }
            }
            try connection.execute(
                """
                UPDATE indicators i SET child_id = c.child_id, starts_on = c.starts_on, ends_on = c.ends_on,
                    description = c.description, measures = c.measures, withdrawn_at = NULL, withdrawn_by_run = NULL
                FROM indicator_changes c WHERE c.id = i.id
                """)
            try connection.execute("DROP TABLE indicator_changes")
        }
        if !withdrawn.isEmpty {
            try connection.execute(
                "UPDATE indicators SET withdrawn_at = now(), withdrawn_by_run = $2 WHERE id = ANY($1::bigint[])",
                [withdrawn, runID])
        }
    }
}

/// The few distinct texts a column repeats on every row (feed kinds, feed names), made into a
/// `String` once each instead of once a row.
struct InternedTexts {
    private var known: [(bytes: [UInt8], text: String)] = []

    mutating func intern(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        for entry in known where entry.bytes.elementsEqual(bytes) { return entry.text }
        let text = String(decoding: bytes, as: UTF8.self)
        // Only a handful are expected; past that each is made afresh rather than searched for.
        if known.count < 32 { known.append((Array(bytes), text)) }
        return text
    }
}
