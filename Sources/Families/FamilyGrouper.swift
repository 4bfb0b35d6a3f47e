import Foundation
import Identifiers
import Postgres
import Resolution

/// What one grouping run did: counts only, for logs and metrics.
public struct FamilyReport: Sendable, CustomStringConvertible {
    public var runID: Int64 = 0
    /// Live children grouped.
    public var children = 0
    /// Antenatal records of expectant parents grouped (a family can be expecting its first child).
    public var expectantParents = 0
    public var families = 0
    public var minted = 0
    public var merged = 0
    public var split = 0
    public var retired = 0
    /// Members new to any family, moved between families, or gone (a child id merged away, records erased).
    public var joined = 0
    public var moved = 0
    public var left = 0
    /// Members whose family id changed only because two families were merged.
    public var familiesMergedMembers = 0
    public var linksByBasis: [String: Int] = [:]
    /// Address links dropped because both members have since moved on.
    public var linksSuperseded = 0
    /// Addresses shared by too many members to be used.
    public var crowdedAddresses = 0
    /// Carer name-and-date-of-birth keys given beside two NHS or two NI numbers: they link nobody.
    public var nameDOBKeysOfTwoPeople = 0
    /// False when the families were already up to date: nothing was written (and `runID` is 0).
    public var changed = false
    /// Whether only the members connected to changed ones were regrouped; how many changed, how many
    /// were regrouped.
    public var incremental = false
    public var changedMembers = 0
    public var membersRegrouped = 0
    public var seconds = 0.0
    /// Where the time went: loading the evidence, grouping, comparing with and writing the stored families.
    public var phases: [(name: String, seconds: Double)] = []

    /// The counts by name, for a log line or metrics.
    public var counts: [String: Int] {
        var out = [
            "run": Int(runID), "changed": changed ? 1 : 0, "children": children, "expectant_parents": expectantParents,
            "families": families, "minted": minted, "merged": merged, "split": split, "retired": retired,
            "joined": joined,
            "moved": moved, "left": left, "links_superseded": linksSuperseded, "crowded_addresses": crowdedAddresses,
            "name_dob_keys_of_two_people": nameDOBKeysOfTwoPeople, "incremental": incremental ? 1 : 0,
            "changed_members": changedMembers, "members_regrouped": membersRegrouped,
        ]
        for (basis, n) in linksByBasis { out["family_links_" + basis] = n }
        for (name, seconds) in phases { out[name + "_ms"] = Int(seconds * 1000) }
        return out
    }

    public var description: String {
        (changed ? "families run \(runID): " : "families unchanged: ")
            + "\(children) children and \(expectantParents) expectant parents in \(families) families "
            + "(\(minted) ids minted, \(merged) merged, \(split) split, \(retired) retired); members \(joined) joined, "
            + "\(moved) moved, \(left) left; links "
            + linksByBasis.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            + "; \(linksSuperseded) address links superseded, \(crowdedAddresses) crowded addresses not used, "
            + "\(nameDOBKeysOfTwoPeople) carer names with dates of birth given with two NHS or NI numbers not used"
            + (incremental
                ? "; \(changedMembers) members' evidence changed, \(membersRegrouped) members connected to them regrouped"
                : "; every record read")
    }
}

/// Groups children into families in PostgreSQL and keeps family ids stable across runs.
///
/// `regroup()` recomputes every family from the evidence (see `FamilyGraph` for the method), then
/// reconciles with the previous run: ids are kept, merged (the old id stays as an alias), split or
/// minted, and every member that joins, moves or leaves gets a row in `family_membership_events`.
/// One transaction under an advisory lock: a failed run leaves the previous families intact.
public final class FamilyGrouper {
    let connection: PostgresConnection
    public var settings: GroupingSettings
    static let lockKey: Int64 = 0x6663_6661_6D69_6C79  // "fcfamily"

    public init(connection: PostgresConnection, settings: GroupingSettings = GroupingSettings()) {
        self.connection = connection
        self.settings = settings
    }

    /// Recomputes the families. When nothing differs from the stored families (no member joins,
    /// moves or leaves, no id changes, the same links and homes), nothing is written at all, not even
    /// a run row: `report.changed` is false and `report.runID` is 0.
    ///
    /// Only the members connected by shared grouping keys to a member whose evidence changed since the
    /// last run are read and regrouped (FamilyGrouper+Incremental.swift), with the same result as a run
    /// over every record; `everyone`, changed settings or a first run read every record.
    public func regroup(everyone: Bool = false) throws -> FamilyReport {
        try connection.transaction { connection in
            try connection.advisoryTransactionLock(Self.lockKey)
            // This run's own writes are not changes for the next one to regroup (migration 0080).
            try connection.execute("SELECT set_config('familyconnect.family_run', 'on', true)")
            let started = Date()
            var report = FamilyReport()
            let (scope, changed, totals) = try plannedScope(forceEveryone: everyone)
            report.incremental = true
            var scoped: ConnectedScope? = nil
            switch scope {
            case .nothing:
                totals.write(to: &report)
                report.seconds = Date().timeIntervalSince(started)
                return report
            case .members:
                report.changedMembers = changed.count
                let limit = Self.largestScope(totals.members)
                guard changed.count <= limit else { break }
                try Self.planByKey(connection, true)
                scoped = try connectedMembers(of: changed, limit: limit)
            case .everyone:
                break
            }
            var phases: [(name: String, seconds: Double)] =
                scoped == nil ? [] : [("scope", Date().timeIntervalSince(started))]
            do {
                try groupAndStore(scoped, totals: totals, report: &report, phases: &phases)
            } catch is ScopeNotClosed {
                report = FamilyReport()
                phases = []
                try groupAndStore(nil, totals: totals, report: &report, phases: &phases)
            }
            report.seconds = Date().timeIntervalSince(started)
            report.phases = phases
            guard report.changed else { return report }
            var linkCounts = "{"
            for (index, (basis, n)) in report.linksByBasis.sorted(by: { $0.key < $1.key }).enumerated() {
                linkCounts += (index > 0 ? "," : "") + "\"\(basis)\":\(n)"
            }
            linkCounts += "}"
            try connection.execute(
                """
                UPDATE family_runs SET finished_at = now(), members = $2, families = $3, ids_minted = $4, ids_merged = $5,
                    ids_split = $6, ids_retired = $7, members_joined = $8, members_moved = $9, members_left = $10, links = $11::jsonb
                WHERE id = $1
                """,
                [
                    report.runID, report.children + report.expectantParents, report.families, report.minted,
                    report.merged, report.split,
                    report.retired, report.joined, report.moved, report.left, linkCounts,
                ])
            return report
        }
    }

    /// Every read of a scoped run is a few thousand look-ups by key, which the planner (with the
    /// statistics of a table just written in bulk: the service role may not ANALYZE) turned into
    /// scans of whole tables: the scoped evidence read walked every record in id order to meet the
    /// scope's ids (at 60,000 children, the scan was half the read). Nested loops by index instead,
    /// for this transaction; a run over every record plans freely.
    static func planByKey(_ connection: PostgresConnection, _ byKey: Bool) throws {
        let setting = byKey ? "off" : "on"
        for name in ["enable_seqscan", "enable_mergejoin", "enable_hashjoin"] {
            try connection.execute("SELECT set_config($1, $2, true)", [name, setting])
        }
    }

    /// Runs `read` (a cursor over every record, in record order) with merge joins on the record ids
    /// rather than hash joins: rows then stream from the first batch on, and the server reads the
    /// next batch while the last one is parsed. With the statistics a day-one bulk write leaves stale
    /// (the service role may not ANALYZE), the planner chose hash joins and a sort of every row:
    /// at 1M records, on a loaded machine, the first FETCH took 11 s and nothing overlapped. No JIT:
    /// with hash joins off the plan's cost passed the inlining threshold, and compiling took 1.7 s.
    /// The settings are read when the cursor is declared, and restored after.
    static func streamingInRecordOrder<T>(_ connection: PostgresConnection, _ read: () throws -> T) throws -> T {
        let saved = try connection.query("SELECT current_setting('enable_hashjoin'), current_setting('jit')")[0]
        let (hashJoin, jit) = (try saved.decode(String.self, at: 0), try saved.decode(String.self, at: 1))
        try connection.execute("SELECT set_config('enable_hashjoin', 'off', true), set_config('jit', 'off', true)")
        let value = try read()
        try connection.execute(
            "SELECT set_config('enable_hashjoin', $1, true), set_config('jit', $2, true)", [hashJoin, jit])
        return value
    }

    /// A scope larger than this regroups everyone instead (half the members: reading by key is then
    /// no cheaper than reading every record in order).
    static func largestScope(_ storedMembers: Int) -> Int { max(10_000, storedMembers / 2) }

    /// Reads the evidence of the scope's members (nil: of everyone), groups it and stores the result.
    /// `totals`: those stored before the run (a scoped run's report gives them with its part replaced).
    private func groupAndStore(
        _ scoped: ConnectedScope?, totals: Totals, report: inout FamilyReport,
        phases: inout [(name: String, seconds: Double)]
    ) throws {
        let members = scoped?.members
        var started = Date()
        func phase(_ name: String) {
            phases.append((name, Date().timeIntervalSince(started)))
            started = Date()
        }
        report.incremental = members != nil
        report.membersRegrouped = members?.count ?? 0
        if members == nil {
            try Self.planByKey(connection, false)
            // Reading every record sorts every child's records by record id: in memory, not in
            // temporary files (at 100,000 children it spilled 9 MB with the default 4MB).
            try connection.execute("SELECT set_config('work_mem', '128MB', true)")
        }
        let evidence: FamilyEvidence
        var collector: KeyCollector? = nil
        if let scoped {
            // The changed members' records were read when their keys were replaced: read the rest.
            let changed = Set(scoped.changedRows.lazy.map(\.member))
            try fillScope(scoped.members.filter { !changed.contains($0) })
            evidence = try loadEvidence(scoped: true, alreadyRead: scoped.changedRows)
        } else {
            let keys = KeyCollector()
            evidence = try Self.streamingInRecordOrder(connection) { try loadEvidence(visit: keys.visit) }
            collector = keys
        }
        phase("load")
        // Into empty tables (a first run, or one after a TRUNCATE) the secondary indexes are built
        // once after the writes, not row by row (migration 0105).
        var firstFill = false
        if members == nil {
            firstFill = try connection.execute("SELECT family_tables_first_fill_begin()").scalar(Bool.self)
        }
        let result = try groupBesideKeys(evidence, keys: collector, firstFill: firstFill)
        phase("group")
        let storedPart = try persist(result, report: &report, scope: members)
        if collector != nil {
            try saveState(Totals(report))
            if firstFill { try connection.execute("SELECT family_tables_first_fill_end()") }
        } else {
            let now = totals.replacing(storedPart, with: Totals(report))
            now.write(to: &report)
            if now != totals { try saveState(now) }
        }
        phase("store")
    }

    /// Groups the evidence. A run over every record also replaces the stored keys (`keys`), which
    /// depend on the records alone: the server stores them while the graph groups on another core
    /// (at 1M records, about 1M keys, most of their cost the server's), instead of after it; on a
    /// first fill, their secondary index is built there too (migration 0141).
    private func groupBesideKeys(
        _ evidence: FamilyEvidence, keys: KeyCollector?, firstFill: Bool
    ) throws -> FamilyGraph.Result {
        guard let keys else { return FamilyGraph.group(evidence, settings: settings) }
        let settings = settings
        let grouping = BackgroundWork { FamilyGraph.group(evidence, settings: settings) }
        // The grouping thread must be waited for even when the keys fail: it reads `evidence`.
        let written = Result {
            try replaceAllKeys(keys)
            if firstFill { try connection.execute("SELECT family_table_first_fill_end('family_keys')") }
        }
        let result = try grouping.wait()
        try written.get()
        return result
    }

    // MARK: Reading (FamilyEvidence.swift)

    /// A UK phone number in national form (`07…`, 11 digits) from any style (`+44 7…`, spaces,
    /// dashes); nil when it is not one.
    static func phoneKey(_ text: String?) -> String? {
        guard var text else { return nil }
        return text.withUTF8 { phoneKey(bytes: $0) }
    }

    static func phoneKey(bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var digits = bytes.filter { $0 >= 48 && $0 <= 57 }
        if digits.starts(with: Array("0044".utf8)) {
            digits.removeFirst(4); digits.insert(48, at: 0)
        } else if digits.starts(with: Array("44".utf8)) && digits.count == 12 {
            digits.removeFirst(2); digits.insert(48, at: 0)
        }
        guard digits.count == 11, digits.first == 48 else { return nil }
        return String(decoding: digits, as: UTF8.self)
    }

    /// The carer's role as the feed gives it: health visiting extracts carry the mother's details; a
    /// school names its contact's relationship; other feeds do not say.
    static func role(_ kind: String, _ relationship: String?) -> String? {
        if kind == "health_visiting" { return "mother" }
        guard kind == "school_attendance", let relationship else { return nil }
        let role = relationship.lowercased().filter(\.isLetter)
        return role.isEmpty ? nil : role
    }

    // MARK: Writing (FamilyGrouper+Storing.swift)
}
