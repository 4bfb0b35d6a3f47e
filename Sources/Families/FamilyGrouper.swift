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
    /// False when the families were already up to date: nothing was written (and `runID` is 0).
    public var changed = false
    public var seconds = 0.0
    /// Where the time went: loading the evidence, grouping, comparing with and writing the stored families.
    public var phases: [(name: String, seconds: Double)] = []

    /// The counts by name, for a log line or metrics.
    public var counts: [String: Int] {
        var out = [
            "run": Int(runID), "changed": changed ? 1 : 0, "children": children, "expectant_parents": expectantParents,
            "families": families, "minted": minted, "merged": merged, "split": split, "retired": retired, "joined": joined,
            "moved": moved, "left": left, "links_superseded": linksSuperseded, "crowded_addresses": crowdedAddresses,
        ]
        for (basis, n) in linksByBasis { out["family_links_" + basis] = n }
        return out
    }

    public var description: String {
        (changed ? "families run \(runID): " : "families unchanged: ") + "\(children) children and \(expectantParents) expectant parents in \(families) families "
            + "(\(minted) ids minted, \(merged) merged, \(split) split, \(retired) retired); members \(joined) joined, "
            + "\(moved) moved, \(left) left; links "
            + linksByBasis.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            + "; \(linksSuperseded) address links superseded, \(crowdedAddresses) crowded addresses not used"
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
    public func regroup() throws -> FamilyReport {
        try connection.transaction { connection in
            try connection.advisoryTransactionLock(Self.lockKey)
            let started = Date()
            var report = FamilyReport()
            let observations = try loadObservations()
            let loaded = Date()
            let result = FamilyGraph.group(observations, settings: settings)
            let grouped = Date()
            try persist(result, report: &report)
            report.seconds = Date().timeIntervalSince(started)
            report.phases = [
                ("load", loaded.timeIntervalSince(started)), ("group", grouped.timeIntervalSince(loaded)),
                ("store", Date().timeIntervalSince(grouped)),
            ]
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
                [report.runID, report.children + report.expectantParents, report.families, report.minted, report.merged, report.split,
                 report.retired, report.joined, report.moved, report.left, linkCounts])
            return report
        }
    }

    // MARK: Reading

    func loadObservations() throws -> [FamilyGraph.Observation] {
        var observations: [FamilyGraph.Observation] = []
        let addressKinds = settings.homeAddressKinds.union(settings.fallbackAddressKinds)
        try connection.forEachRow(
            """
            SELECT sr.id, cr.child_id, sr.subject, sr.kind, sr.address_line1, sr.address_line2, sr.postcode, sr.uprn,
                   sr.carer_nhs_number, sr.carer_given_name, sr.carer_family_name, sr.carer_dob, sr.carer_ni_number,
                   p.starts_on, p.ends_on, sr.facts->>'incident_ref', sr.facts->>'incident_type', sr.town,
                   sr.family_name, sr.facts->>'extra.contact_relationship', sr.facts->>'extra.contact_phone'
            FROM source_records sr
            JOIN feed_batches b ON b.id = sr.batch_id
            CROSS JOIN LATERAL record_evidence_period(sr.kind, sr.facts, b.committed_at) p
            LEFT JOIN child_records cr ON cr.record_id = sr.id
            LEFT JOIN children c ON c.child_id = cr.child_id
            WHERE (sr.subject = 'child' AND cr.child_id IS NOT NULL AND c.merged_into IS NULL AND c.retired_at IS NULL)
               OR sr.subject = 'expectant_parent'
            ORDER BY sr.id
            """
        ) { row in
            let record = try row.decode(Int64.self, at: 0)
            let member: String
            let isChild = try row.decode(String.self, at: 2) == "child"
            if isChild {
                member = try row.decode(String.self, at: 1)
            } else {
                member = "E\(record)"
            }
            let kind = try row.decode(String.self, at: 3)
            var observation = FamilyGraph.Observation(
                member: member, record: record, kind: kind,
                start: DayNumber.from(try row.decode(PostgresDate.self, at: 13)),
                end: DayNumber.from(try row.decode(PostgresDate.self, at: 14)))
            if addressKinds.contains(kind) {
                observation.address = AddressKey.key(
                    line1: try row.decode(String?.self, at: 4), line2: try row.decode(String?.self, at: 5),
                    postcode: try row.decode(String?.self, at: 6), uprn: try row.decode(String?.self, at: 7))
                observation.townAddress = AddressKey.townKey(
                    line1: try row.decode(String?.self, at: 4), line2: try row.decode(String?.self, at: 5),
                    town: try row.decode(String?.self, at: 17))
            }
            // An antenatal record names the mother only: the baby's surname is not known.
            if isChild { observation.surnames = AddressKey.surnameKeys(try row.decode(String?.self, at: 18)) }
            let carerNHS = try row.decode(String?.self, at: 8)
            let given = AddressKey.nameKey(try row.decode(String?.self, at: 9))
            let family = AddressKey.nameKey(try row.decode(String?.self, at: 10))
            let dob = try row.decode(PostgresDate?.self, at: 11)?.description
            let ni = try row.decode(String?.self, at: 12).map { $0.uppercased().filter { !$0.isWhitespace } }
            if settings.carerKeys.contains(.nhsNumber), let carerNHS { observation.carers.append((.nhsNumber, carerNHS)) }
            if settings.carerKeys.contains(.niNumber), let ni, !ni.isEmpty, let dob, let family {
                observation.carers.append((.niNumber, ni + "|" + dob + "|" + family))
            }
            if settings.carerKeys.contains(.nameAndDOB), let given, let family, let dob {
                observation.carers.append((.nameAndDOB, given + "|" + family + "|" + dob))
            }
            if settings.carerKeys.contains(.contactPhone), let family, let phone = Self.phoneKey(try row.decode(String?.self, at: 20)) {
                observation.carers.append((.contactPhone, phone + "|" + family))
            }
            // Read whatever the rules: the guards compare carers too.
            if let given = try row.decode(String?.self, at: 9).flatMap(NameKey.init),
                let family = try row.decode(String?.self, at: 10).flatMap(NameKey.init)
            {
                observation.carerName = FamilyGraph.CarerName(given: given, family: family, role: Self.role(kind, try row.decode(String?.self, at: 19)))
            }
            if kind == "police", let incident = try row.decode(String?.self, at: 15),
                let type = try row.decode(String?.self, at: 16), settings.sameIncidentTypes.contains(type)
            {
                observation.incident = incident
            }
            observations.append(observation)
        }
        return observations
    }

    /// A UK phone number in national form (`07…`, 11 digits) from any style (`+44 7…`, spaces,
    /// dashes); nil when it is not one.
    static func phoneKey(_ text: String?) -> String? {
        guard let text else { return nil }
        var digits = text.utf8.filter { $0 >= 48 && $0 <= 57 }
        if digits.starts(with: Array("0044".utf8)) { digits.removeFirst(4); digits.insert(48, at: 0) }
        else if digits.starts(with: Array("44".utf8)) && digits.count == 12 { digits.removeFirst(2); digits.insert(48, at: 0) }
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

    // MARK: Writing

    private func persist(_ result: FamilyGraph.Result, report: inout FamilyReport) throws {
        var previous: [String: String] = [:]
        for row in try connection.query("SELECT family_id, child_id, expectant_record_id FROM family_members") {
            let family = try row.decode(String.self, at: 0)
            if let child = try row.decode(String?.self, at: 1) {
                previous[child] = family
            } else if let record = try row.decode(Int64?.self, at: 2) {
                previous["E\(record)"] = family
            }
        }
        var generator = SystemRandomNumberGenerator()
        // Every id ever minted, read once (a failed read is thrown: taking a lost connection for "in use"
        // minted forever), instead of one query per new family.
        var taken: Set<String> = []
        try connection.forEachRow("SELECT family_id FROM families") { taken.insert(try $0.decode(String.self, at: 0)) }
        let outcome = FamilyReconciler.reconcile(groups: result.groups, previous: previous, generator: &generator) { taken.contains($0) }
        report.families = result.groups.count
        report.minted = outcome.minted.count
        report.merged = outcome.merges.count
        report.split = outcome.splits.count
        report.retired = outcome.retired.count
        report.linksSuperseded = result.linksSuperseded
        report.crowdedAddresses = result.crowdedAddresses

        // Who joins, moves or leaves.
        let mergedInto = Dictionary(outcome.merges.map { ($0.from, $0.into) }, uniquingKeysWith: { a, _ in a })
        var current: [String: String] = [:]
        for (index, group) in result.groups.enumerated() {
            for member in group { current[member] = outcome.groupIDs[index] }
        }
        func evidence(_ member: String) -> String? { result.latest[member].map { DayNumber.postgresDate($0).description } }
        func split(_ member: String) -> (child: String?, record: String?) {
            member.hasPrefix("E") ? (nil, String(member.dropFirst())) : (member, nil)
        }
        var changed: [String] = []
        var events: [[String?]] = []
        for (member, family) in current.sorted(by: { $0.key < $1.key }) {
            let (child, record) = split(member)
            if let old = previous[member] {
                if old == family { continue }
                let event = mergedInto[old] == family ? "family_merged" : "moved"
                if event == "moved" { report.moved += 1 } else { report.familiesMergedMembers += 1 }
                events.append([child, record, old, family, event, nil, evidence(member)])
            } else {
                report.joined += 1
                events.append([child, record, nil, family, "joined", nil, evidence(member)])
            }
            changed.append(member)
        }
        let leaving = previous.keys.filter { current[$0] == nil }.sorted()
        if !leaving.isEmpty {
            var mergedChildren: Set<String> = []
            for row in try connection.query(
                "SELECT child_id FROM children WHERE child_id = ANY($1::text[]) AND merged_into IS NOT NULL",
                [leaving.filter { !$0.hasPrefix("E") }])
            {
                mergedChildren.insert(try row.decode(String.self, at: 0))
            }
            for member in leaving {
                let (child, record) = split(member)
                report.left += 1
                events.append([child, record, previous[member], nil, "left", mergedChildren.contains(member) ? "child_id_merged" : "no_records", nil])
            }
        }
        report.children = current.keys.filter { !$0.hasPrefix("E") }.count
        report.expectantParents = current.count - report.children

        // The links and homes as they would be stored, against what is stored.
        func day(_ value: Int?) -> String? { value.map { DayNumber.postgresDate($0).description } }
        var links: [[String?]] = []
        for (index, group) in result.links.enumerated() {
            for link in group {
                report.linksByBasis[link.basis, default: 0] += 1
                links.append([
                    outcome.groupIDs[index], link.a, link.b, link.basis, String(link.recordA), String(link.recordB),
                    day(link.overlapFrom), day(link.overlapTo), link.rule,
                ])
            }
        }
        let linkKey = { (row: [String?]) in row.map { $0 ?? "-" }.joined(separator: "|") }
        var storedLinks: Set<String> = []
        for row in try connection.query(
            """
            SELECT family_id, member_a, member_b, basis, record_a::text, record_b::text, overlap_from::text, overlap_to::text, rule
            FROM family_links
            """)
        {
            storedLinks.insert(linkKey(try (0..<9).map { try row.decode(String?.self, at: $0) }))
        }
        let linksChanged = storedLinks != Set(links.map(linkKey))
        var spans: [[String?]] = []
        for (index, group) in result.spans.enumerated() {
            for span in group {
                spans.append([
                    outcome.groupIDs[index], span.member, String(span.record), day(span.first), day(span.last), span.current ? "t" : "f",
                ])
            }
        }
        var storedSpans: Set<String> = []
        for row in try connection.query(
            "SELECT family_id, member, record_id::text, first_seen::text, last_seen::text, CASE WHEN is_current THEN 't' ELSE 'f' END FROM family_member_addresses")
        {
            storedSpans.insert(linkKey(try (0..<6).map { try row.decode(String?.self, at: $0) }))
        }
        let spansChanged = storedSpans != Set(spans.map(linkKey))
        var homes: [[String?]] = []
        var storedHomes: [String: String] = [:]
        for row in try connection.query(
            "SELECT family_id, coalesce(address_record_id::text, '-') || '|' || coalesce(address_as_of::text, '-') FROM families "
                + "WHERE merged_into IS NULL AND retired_at IS NULL")
        {
            storedHomes[try row.decode(String.self, at: 0)] = try row.decode(String.self, at: 1)
        }
        var homesChanged = false
        for (index, home) in result.homes.enumerated() {
            let row = [outcome.groupIDs[index], home.map { String($0.record) }, day(home?.asOf)]
            homes.append(row)
            if storedHomes[outcome.groupIDs[index]] != (row[1] ?? "-") + "|" + (row[2] ?? "-") { homesChanged = true }
        }

        report.changed = !outcome.minted.isEmpty || !outcome.merges.isEmpty || !outcome.splits.isEmpty || !outcome.retired.isEmpty
            || !events.isEmpty || linksChanged || homesChanged || spansChanged
        guard report.changed else { return }

        // Something changed: record the run and write.
        let runID = try connection.execute(
            "INSERT INTO family_runs (settings) VALUES ($1::jsonb) RETURNING id", [settings.json]
        ).scalar(Int64.self)
        report.runID = runID
        let run = String(runID)
        if !outcome.minted.isEmpty {
            // A new family's home goes in with it (one UPDATE of every new row would rewrite them all).
            var homeOf: [String: [String?]] = [:]
            for home in homes { homeOf[home[0]!] = home }
            try connection.copyIn(
                "COPY families (family_id, minted_by_run, address_record_id, address_as_of, updated_by_run) FROM STDIN"
            ) { writer in
                for id in outcome.minted {
                    let home = homeOf[id]
                    try writer.writeRow([id, run, home?[1] ?? nil, home?[2] ?? nil, home?[1] == nil ? nil : run])
                }
            }
        }
        var idEvents: [[String?]] = outcome.minted.map { [$0, "minted", nil, run, nil] }
        for merge in outcome.merges {
            try connection.execute("UPDATE families SET merged_into = $2 WHERE family_id = $1", [merge.from, merge.into])
            try connection.execute("UPDATE families SET merged_into = $2 WHERE merged_into = $1", [merge.from, merge.into])
            idEvents.append([merge.from, "merged_into", merge.into, run, nil])
            idEvents.append([merge.into, "absorbed", merge.from, run, nil])
        }
        for split in outcome.splits {
            idEvents.append([split.new, "split_from", split.from, run, nil])
            idEvents.append([split.from, "split_off", split.new, run, nil])
        }
        if !outcome.retired.isEmpty {
            try connection.execute(
                "UPDATE families SET retired_at = now() WHERE family_id = ANY($1::text[]) AND retired_at IS NULL", [outcome.retired])
            for id in outcome.retired { idEvents.append([id, "retired", nil, run, "0"]) }
        }
        if !idEvents.isEmpty {
            try connection.copyIn("COPY family_id_events (family_id, event, other_family_id, run_id, members) FROM STDIN") { writer in
                for event in idEvents { try writer.writeRow(event) }
            }
        }

        // Membership: events first, then the member rows that changed.
        if !events.isEmpty {
            try connection.copyIn(
                """
                COPY family_membership_events (child_id, expectant_record_id, from_family, to_family, event, reason,
                                               evidence_date, run_id) FROM STDIN
                """
            ) { writer in
                for event in events { try writer.writeRow(event + [run]) }
            }
        }
        let gone = changed.filter { previous[$0] != nil } + leaving
        if !gone.isEmpty {
            try connection.execute(
                "DELETE FROM family_members WHERE child_id = ANY($1::text[]) OR expectant_record_id = ANY($2::bigint[])",
                [gone.filter { !$0.hasPrefix("E") }, gone.filter { $0.hasPrefix("E") }.map { String($0.dropFirst()) }])
        }
        if !changed.isEmpty {
            try connection.copyIn(
                "COPY family_members (family_id, child_id, expectant_record_id, joined_by_run, evidence_date) FROM STDIN"
            ) { writer in
                for member in changed {
                    let (child, record) = split(member)
                    try writer.writeRow([current[member], child, record, run, evidence(member)])
                }
            }
        }

        if linksChanged {
            try connection.execute("DELETE FROM family_links")
            try connection.copyIn(
                """
                COPY family_links (family_id, member_a, member_b, basis, record_a, record_b, overlap_from, overlap_to, rule, run_id)
                FROM STDIN
                """
            ) { writer in
                for link in links { try writer.writeRow(link + [run]) }
            }
        }

        if spansChanged {
            try connection.execute("DELETE FROM family_member_addresses")
            try connection.copyIn(
                "COPY family_member_addresses (family_id, member, record_id, first_seen, last_seen, is_current, run_id) FROM STDIN"
            ) { writer in
                for span in spans { try writer.writeRow(span + [run]) }
            }
        }

        // Each family's current home.
        try connection.execute(
            "CREATE TEMP TABLE family_home_now (family_id text PRIMARY KEY, record_id bigint, as_of date) ON COMMIT DROP")
        try connection.copyIn("COPY family_home_now (family_id, record_id, as_of) FROM STDIN") { writer in
            for home in homes { try writer.writeRow(home) }
        }
        try connection.execute(
            """
            UPDATE families f SET address_record_id = n.record_id, address_as_of = n.as_of, updated_by_run = $1, retired_at = NULL
            FROM family_home_now n
            WHERE f.family_id = n.family_id
              AND (f.address_record_id IS DISTINCT FROM n.record_id OR f.address_as_of IS DISTINCT FROM n.as_of OR f.retired_at IS NOT NULL)
            """, [runID])
        try connection.execute("DROP TABLE family_home_now")
    }
}
