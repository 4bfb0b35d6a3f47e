import Identifiers
import Postgres

/// Storing a grouping: the result is compared in memory with what is stored, and only the rows that
/// differ are written (COPY, and set-based deletes through temporary tables): a run on unchanged
/// data writes nothing, and a day's new records rewrite no table whole.
extension FamilyGrouper {
    /// A stored family link, as compared (the run that wrote it is not compared).
    struct LinkRow: Hashable {
        var family: String
        var a: String
        var b: String
        var basis: String
        var recordA: Int64
        var recordB: Int64
        var from: Int?
        var to: Int?
        var rule: String?
    }

    /// A stored address span, as compared.
    struct SpanRow: Hashable {
        var family: String
        var member: String
        var record: Int64
        var first: Int
        var last: Int
        var current: Bool
    }

    /// What membership does this run: events to record, and members whose row is (re)written or removed.
    struct MembershipChanges {
        var events: [[String?]] = []
        /// Members whose row is written: (member, family, evidence date), in member order.
        var changed: [(member: String, family: String, evidence: String?)] = []
        var leaving: [String] = []
    }

    /// Thrown by a scoped run before it writes anything when the stored families of its members hold
    /// members outside it (the stored families were not made by this code): the run regroups everyone.
    struct ScopeNotClosed: Error {}

    /// Stores `result`. `scope`: the members a scoped run regrouped (every old family of theirs must
    /// lie within it); nil when every record was read.
    /// Returns the totals of the stored families it compared with (a scoped run's part of them).
    @discardableResult
    func persist(
        _ result: FamilyGraph.Result, report: inout FamilyReport, scope: Set<String>? = nil
    ) throws -> Totals {
        let stored = try StoredScope(scope, connection: self)
        let storedPart = Totals(
            families: stored.families?.count ?? Set(stored.previous.values).count,
            children: stored.previous.keys.count { !$0.hasPrefix("E") },
            expectantParents: stored.previous.keys.count { $0.hasPrefix("E") })
        let previous = stored.previous
        let members = result.members
        let outcome = try reconcile(result.groups.map { $0.map { members[Int($0)] } }, previous: previous, stored)
        report.families = result.groups.count
        report.minted = outcome.minted.count
        report.merged = outcome.merges.count
        report.split = outcome.splits.count
        report.retired = outcome.retired.count
        report.linksSuperseded = result.linksSuperseded
        report.crowdedAddresses = result.crowdedAddresses
        report.nameDOBKeysOfTwoPeople = result.nameDOBKeysOfTwoPeople

        var dates = DateTexts()
        let membership = try membershipChanges(
            result, outcome: outcome, previous: previous, dates: &dates, report: &report)
        let links = linkRows(result, outcome: outcome, report: &report)
        let storedLinks = try storedLinkRows(stored)
        let (linksGone, linksNew) = (storedLinks.subtracting(links), links.subtracting(storedLinks))
        let spans = spanRows(result, outcome: outcome)
        let storedSpans = try storedSpanRows(stored)
        let (spansGone, spansNew) = (storedSpans.subtracting(spans), spans.subtracting(storedSpans))
        let homes = try changedHomes(result, outcome: outcome, scoped: scope != nil)

        report.changed =
            !outcome.minted.isEmpty || !outcome.merges.isEmpty || !outcome.splits.isEmpty || !outcome.retired.isEmpty
            || !membership.events.isEmpty || !linksGone.isEmpty || !linksNew.isEmpty || !spansGone.isEmpty
            || !spansNew.isEmpty
            || !homes.isEmpty
        guard report.changed else { return storedPart }

        // Something changed: record the run and write.
        let runID = try connection.execute(
            "INSERT INTO family_runs (settings) VALUES ($1::jsonb) RETURNING id", [settings.json]
        ).scalar(Int64.self)
        report.runID = runID
        try writeFamilyIDs(outcome, homes: homes, run: runID, dates: &dates)
        try writeMembership(membership, previous: previous, run: runID)
        try writeLinks(gone: linksGone, new: linksNew, run: runID, dates: &dates)
        try writeSpans(gone: spansGone, new: spansNew, run: runID, dates: &dates)
        let minted = Set(outcome.minted)
        try writeHomes(homes.filter { !minted.contains($0.key) }, run: runID)
        return storedPart
    }

    // MARK: Reading what is stored

    /// What a run compares with: every stored family, or (a scoped run) the old families of its members.
    struct StoredScope {
        /// Member key → family id.
        var previous: [String: String] = [:]
        /// A scoped run's old family ids (nil: every family).
        var families: [String]?
        /// A scoped run's members.
        var members: [String]?

        init(_ scope: Set<String>?, connection grouper: FamilyGrouper) throws {
            guard let scope else {
                previous = try grouper.storedMemberships(families: nil)
                return
            }
            let list = scope.sorted()
            members = list
            let children = list.filter { !$0.hasPrefix("E") }
            let expectant = list.filter { $0.hasPrefix("E") }.map { String($0.dropFirst()) }
            let families = try grouper.connection.query(
                """
                SELECT DISTINCT family_id FROM family_members
                WHERE child_id = ANY($1::text[]) OR expectant_record_id = ANY($2::bigint[])
                """, [children, expectant]
            ).map { try $0.decode(String.self, at: 0) }.sorted()
            self.families = families
            previous = try grouper.storedMemberships(families: families)
            if previous.keys.contains(where: { !scope.contains($0) }) { throw ScopeNotClosed() }
        }
    }

    /// Gives the groups ids. A run over every family checks new ids against every id ever minted,
    /// read once (a failed read is thrown: taking a lost connection for "in use" minted forever); a
    /// scoped run checks only the ids it mints, and mints again in the unlikely case one is taken.
    private func reconcile(
        _ groups: [[String]], previous: [String: String], _ stored: StoredScope
    ) throws -> FamilyReconciler.Outcome {
        var generator = BufferedSystemRandom()
        var taken: Set<String> = []
        if stored.families == nil {
            try connection.forEachRow("SELECT family_id FROM families") {
                taken.insert(try $0.decode(String.self, at: 0))
            }
            return FamilyReconciler.reconcile(groups: groups, previous: previous, generator: &generator) {
                taken.contains($0)
            }
        }
        while true {
            let outcome = FamilyReconciler.reconcile(groups: groups, previous: previous, generator: &generator) {
                taken.contains($0)
            }
            guard !outcome.minted.isEmpty else { return outcome }
            let clashes = try connection.query(
                "SELECT family_id FROM families WHERE family_id = ANY($1::text[])", [outcome.minted]
            ).map { try $0.decode(String.self, at: 0) }
            if clashes.isEmpty { return outcome }
            taken.formUnion(clashes)
        }
    }

    /// Member key → family id, of every family or of these.
    private func storedMemberships(families: [String]?) throws -> [String: String] {
        var previous: [String: String] = [:]
        let sql = "SELECT family_id, child_id, expectant_record_id FROM family_members"
        try fetchAll(
            families == nil ? sql : sql + " WHERE family_id = ANY($1::text[])", families.map { [$0] } ?? []
        ) { result, row in
            let family = AddressKey.string(result.bytes(row, 0))
            if !result.isNull(row, 1) {
                previous[AddressKey.string(result.bytes(row, 1))] = family
            } else if let record = result.int64(row, 2) {
                previous["E\(record)"] = family
            }
        }
        return previous
    }

    private func storedLinkRows(_ stored: StoredScope) throws -> Set<LinkRow> {
        var rows: Set<LinkRow> = []
        let sql = """
            SELECT family_id, member_a, member_b, basis, record_a, record_b, overlap_from - DATE '1970-01-01',
                   overlap_to - DATE '1970-01-01', rule
            FROM family_links
            """
        try fetchAll(
            stored.families == nil ? sql : sql + " WHERE family_id = ANY($1::text[])",
            stored.families.map { [$0] } ?? []
        ) { result, row in
            rows.insert(
                LinkRow(
                    family: AddressKey.string(result.bytes(row, 0)), a: AddressKey.string(result.bytes(row, 1)),
                    b: AddressKey.string(result.bytes(row, 2)), basis: AddressKey.string(result.bytes(row, 3)),
                    recordA: result.int64(row, 4) ?? 0, recordB: result.int64(row, 5) ?? 0,
                    from: result.int64(row, 6).map(Int.init),
                    to: result.int64(row, 7).map(Int.init),
                    rule: result.isNull(row, 8) ? nil : AddressKey.string(result.bytes(row, 8))))
        }
        return rows
    }

    private func storedSpanRows(_ stored: StoredScope) throws -> Set<SpanRow> {
        var rows: Set<SpanRow> = []
        let sql = """
            SELECT family_id, member, record_id, first_seen - DATE '1970-01-01', last_seen - DATE '1970-01-01', is_current
            FROM family_member_addresses
            """
        try fetchAll(
            stored.members == nil ? sql : sql + " WHERE member = ANY($1::text[])", stored.members.map { [$0] } ?? []
        ) { result, row in
            rows.insert(
                SpanRow(
                    family: AddressKey.string(result.bytes(row, 0)), member: AddressKey.string(result.bytes(row, 1)),
                    record: result.int64(row, 2) ?? 0, first: Int(result.int64(row, 3) ?? 0),
                    last: Int(result.int64(row, 4) ?? 0),
                    current: result.bytes(row, 5).first == UInt8(ascii: "t")))
        }
        return rows
    }

    /// Runs `sql` through a cursor, a batch at a time (the next one read while this one is), each
    /// row read in place.
    func fetchAll(
        _ sql: String, _ parameters: [any PostgresEncodable] = [], _ body: (PostgresRawResult, Int) throws -> Void
    ) throws {
        try connection.forEachBatch(sql, parameters, cursor: "family_rows") { result in
            for row in 0..<result.rowCount { try body(result, row) }
        }
    }

    // MARK: Comparing

    private func membershipChanges(
        _ result: FamilyGraph.Result, outcome: FamilyReconciler.Outcome, previous: [String: String],
        dates: inout DateTexts,
        report: inout FamilyReport
    ) throws -> MembershipChanges {
        var changes = MembershipChanges()
        let mergedInto = Dictionary(outcome.merges.map { ($0.from, $0.into) }, uniquingKeysWith: { a, _ in a })
        var moving: [(member: String, family: String, old: String?, latest: Int)] = []
        var grouped: Set<String> = []
        grouped.reserveCapacity(result.members.count)
        for (index, group) in result.groups.enumerated() {
            let family = outcome.groupIDs[index]
            for m in group {
                let member = result.members[Int(m)]
                grouped.insert(member)
                if !member.hasPrefix("E") { report.children += 1 } else { report.expectantParents += 1 }
                let old = previous[member]
                if old != family { moving.append((member, family, old, result.latest[Int(m)])) }
            }
        }
        moving.sort { $0.member < $1.member }
        for entry in moving {
            let (child, record) = Self.split(entry.member)
            let evidence = entry.latest == Int.min ? nil : dates.text(entry.latest)
            if let old = entry.old {
                let event = mergedInto[old] == entry.family ? "family_merged" : "moved"
                if event == "moved" { report.moved += 1 } else { report.familiesMergedMembers += 1 }
                changes.events.append([child, record, old, entry.family, event, nil, evidence])
            } else {
                report.joined += 1
                changes.events.append([child, record, nil, entry.family, "joined", nil, evidence])
            }
            changes.changed.append((entry.member, entry.family, evidence))
        }
        changes.leaving = previous.keys.filter { !grouped.contains($0) }.sorted()
        if !changes.leaving.isEmpty {
            var mergedChildren: Set<String> = []
            for row in try connection.query(
                "SELECT child_id FROM children WHERE child_id = ANY($1::text[]) AND merged_into IS NOT NULL",
                [changes.leaving.filter { !$0.hasPrefix("E") }])
            {
                mergedChildren.insert(try row.decode(String.self, at: 0))
            }
            for member in changes.leaving {
                let (child, record) = Self.split(member)
                report.left += 1
                changes.events.append(
                    [
                        child, record, previous[member], nil, "left",
                        mergedChildren.contains(member) ? "child_id_merged" : "no_records", nil,
                    ])
            }
        }
        return changes
    }

    static func split(_ member: String) -> (child: String?, record: String?) {
        member.hasPrefix("E") ? (nil, String(member.dropFirst())) : (member, nil)
    }

    private func linkRows(
        _ result: FamilyGraph.Result, outcome: FamilyReconciler.Outcome, report: inout FamilyReport
    ) -> Set<LinkRow> {
        var rows: Set<LinkRow> = []
        for (index, group) in result.links.enumerated() {
            for link in group {
                report.linksByBasis[link.basis, default: 0] += 1
                rows.insert(
                    LinkRow(
                        family: outcome.groupIDs[index], a: result.members[link.a], b: result.members[link.b],
                        basis: link.basis,
                        recordA: link.recordA, recordB: link.recordB, from: link.from, to: link.to, rule: link.rule))
            }
        }
        return rows
    }

    private func spanRows(_ result: FamilyGraph.Result, outcome: FamilyReconciler.Outcome) -> Set<SpanRow> {
        var rows: Set<SpanRow> = []
        for (index, group) in result.spans.enumerated() {
            for span in group {
                rows.insert(
                    SpanRow(
                        family: outcome.groupIDs[index], member: result.members[Int(span.member)], record: span.record,
                        first: span.first,
                        last: span.last, current: span.current))
            }
        }
        return rows
    }

    /// Family id → its home as it should be stored, for the families whose stored home differs (or
    /// which are retired and live again, or new).
    private func changedHomes(
        _ result: FamilyGraph.Result, outcome: FamilyReconciler.Outcome, scoped: Bool
    ) throws -> [String: (record: Int64, asOf: Int)?] {
        var stored: [String: (record: Int64?, asOf: Int?, retired: Bool)] = [:]
        let sql = """
            SELECT family_id, address_record_id, address_as_of - DATE '1970-01-01', retired_at IS NOT NULL FROM families
            WHERE merged_into IS NULL
            """
        try fetchAll(
            scoped ? sql + " AND family_id = ANY($1::text[])" : sql, scoped ? [outcome.groupIDs.sorted()] : []
        ) { row, index in
            stored[AddressKey.string(row.bytes(index, 0))] = (
                row.int64(index, 1), row.int64(index, 2).map(Int.init), row.bytes(index, 3).first == UInt8(ascii: "t")
            )
        }
        var changed: [String: (record: Int64, asOf: Int)?] = [:]
        for (index, home) in result.homes.enumerated() {
            let id = outcome.groupIDs[index]
            guard let now = stored[id] else {
                changed[id] = home
                continue
            }
            if now.retired || now.record != home?.record || now.asOf != home?.asOf { changed[id] = home }
        }
        return changed
    }

    // MARK: Writing

    /// New ids (with their homes), merges, splits and retirements, and their history.
    private func writeFamilyIDs(
        _ outcome: FamilyReconciler.Outcome, homes: [String: (record: Int64, asOf: Int)?], run: Int64,
        dates: inout DateTexts
    ) throws {
        let runText = String(run)
        if !outcome.minted.isEmpty {
            // A new family's home goes in with it (one UPDATE of every new row would rewrite them all).
            try connection.copyIn(
                "COPY families (family_id, minted_by_run, address_record_id, address_as_of, updated_by_run) FROM STDIN"
            ) { writer in
                for id in outcome.minted.sorted() {
                    let home = homes[id] ?? nil
                    try writer.writeRow([
                        id, runText, home.map { String($0.record) }, home.map { dates.text($0.asOf) },
                        home == nil ? nil : runText,
                    ])
                }
            }
        }
        var idEvents: [[String?]] = outcome.minted.sorted().map { [$0, "minted", nil, runText, nil] }
        if !outcome.merges.isEmpty {
            // The merged id points at its survivor, and so does every id merged into it before.
            try connection.execute(
                """
                UPDATE families f SET merged_into = m.into_id
                FROM unnest($1::text[], $2::text[]) AS m (from_id, into_id)
                WHERE f.family_id = m.from_id OR f.merged_into = m.from_id
                """, [outcome.merges.map(\.from), outcome.merges.map(\.into)])
        }
        for merge in outcome.merges {
            idEvents.append([merge.from, "merged_into", merge.into, runText, nil])
            idEvents.append([merge.into, "absorbed", merge.from, runText, nil])
        }
        for split in outcome.splits {
            idEvents.append([split.new, "split_from", split.from, runText, nil])
            idEvents.append([split.from, "split_off", split.new, runText, nil])
        }
        if !outcome.retired.isEmpty {
            try connection.execute(
                "UPDATE families SET retired_at = now() WHERE family_id = ANY($1::text[]) AND retired_at IS NULL",
                [outcome.retired])
            for id in outcome.retired { idEvents.append([id, "retired", nil, runText, "0"]) }
        }
        if !idEvents.isEmpty {
            try connection.copyIn(
                "COPY family_id_events (family_id, event, other_family_id, run_id, members) FROM STDIN"
            ) { writer in
                for event in idEvents { try writer.writeRow(event) }
            }
        }
    }

    /// Membership: events first, then the member rows that changed.
    private func writeMembership(_ changes: MembershipChanges, previous: [String: String], run: Int64) throws {
        let runText = String(run)
        if !changes.events.isEmpty {
            try connection.copyIn(
                """
                COPY family_membership_events (child_id, expectant_record_id, from_family, to_family, event, reason,
                                               evidence_date, run_id) FROM STDIN
                """
            ) { writer in
                for event in changes.events { try writer.writeRow(event + [runText]) }
            }
        }
        let gone = changes.changed.compactMap { previous[$0.member] == nil ? nil : $0.member } + changes.leaving
        if !gone.isEmpty {
            try connection.execute(
                "DELETE FROM family_members WHERE child_id = ANY($1::text[]) OR expectant_record_id = ANY($2::bigint[])",
                [gone.filter { !$0.hasPrefix("E") }, gone.filter { $0.hasPrefix("E") }.map { String($0.dropFirst()) }])
        }
        guard !changes.changed.isEmpty else { return }
        try connection.copyIn(
            "COPY family_members (family_id, child_id, expectant_record_id, joined_by_run, evidence_date) FROM STDIN"
        ) {
            writer in
            for entry in changes.changed {
                let (child, record) = Self.split(entry.member)
                try writer.writeRow([entry.family, child, record, runText, entry.evidence])
            }
        }
    }

    private func writeLinks(gone: Set<LinkRow>, new: Set<LinkRow>, run: Int64, dates: inout DateTexts) throws {
        if !gone.isEmpty {
            try connection.execute(
                """
                DELETE FROM family_links l
                USING unnest($1::text[], $2::text[], $3::text[]) AS g (member_a, member_b, basis)
                WHERE l.member_a = g.member_a AND l.member_b = g.member_b AND l.basis = g.basis
                """, [gone.map(\.a), gone.map(\.b), gone.map(\.basis)])
        }
        guard !new.isEmpty else { return }
        let runText = String(run)
        try connection.copyIn(
            "COPY family_links (family_id, member_a, member_b, basis, record_a, record_b, overlap_from, overlap_to, rule, run_id) FROM STDIN"
        ) { writer in
            // In key order: each index then grows at its right edge instead of at random pages.
            for link in new.sorted(by: { ($0.a, $0.b, $0.basis) < ($1.a, $1.b, $1.basis) }) {
                try writer.writeRow([
                    link.family, link.a, link.b, link.basis, String(link.recordA), String(link.recordB),
                    link.from.map { dates.text($0) },
                    link.to.map { dates.text($0) }, link.rule, runText,
                ])
            }
        }
    }

    private func writeSpans(gone: Set<SpanRow>, new: Set<SpanRow>, run: Int64, dates: inout DateTexts) throws {
        if !gone.isEmpty {
            try connection.execute(
                """
                DELETE FROM family_member_addresses s
                USING unnest($1::text[], $2::bigint[]) AS g (member, record_id)
                WHERE s.member = g.member AND s.record_id = g.record_id
                """, [gone.map(\.member), gone.map { String($0.record) }])
        }
        guard !new.isEmpty else { return }
        let runText = String(run)
        try connection.copyIn(
            "COPY family_member_addresses (family_id, member, record_id, first_seen, last_seen, is_current, run_id) FROM STDIN"
        ) { writer in
            for span in new.sorted(by: { ($0.member, $0.record) < ($1.member, $1.record) }) {
                try writer.writeRow([
                    span.family, span.member, String(span.record), dates.text(span.first), dates.text(span.last),
                    span.current ? "t" : "f", runText,
                ])
            }
        }
    }

    /// The homes of existing families that changed (new families got theirs when they were minted).
    private func writeHomes(_ homes: [String: (record: Int64, asOf: Int)?], run: Int64) throws {
        guard !homes.isEmpty else { return }
        let ordered = homes.sorted { $0.key < $1.key }
        try connection.execute(
            """
            UPDATE families f SET address_record_id = n.record_id, address_as_of = DATE '1970-01-01' + n.as_of, updated_by_run = $4,
                retired_at = NULL
            FROM unnest($1::text[], $2::bigint[], $3::int[]) AS n (family_id, record_id, as_of)
            WHERE f.family_id = n.family_id
            """,
            [
                ordered.map(\.key), ordered.map { $0.value.map { String($0.record) } },
                ordered.map { $0.value.map { String($0.asOf) } }, run,
            ])
    }
}

/// Day numbers as PostgreSQL date text, each day formatted once (a run writes a few thousand
/// distinct days over hundreds of thousands of rows).
struct DateTexts {
    private var cache: [Int: String] = [:]

    mutating func text(_ day: Int) -> String {
        if let known = cache[day] { return known }
        let text = DayNumber.postgresDate(day).description
        cache[day] = text
        return text
    }
}
