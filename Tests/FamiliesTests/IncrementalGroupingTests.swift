import Foundation
import Postgres
import PostgresTestSupport
import ScenarioTestSupport
import Synth
import Testing

@testable import Families

/// A run regroups only the members connected by shared keys to those whose evidence changed: after
/// each day of new, changed, moved and erased records, a run over every record must find nothing to
/// write (the same family ids, members, links, spans and homes).
@Suite("Family grouping in proportion to what changed")
struct IncrementalGroupingTests {
    /// An existing child-subject record's address and child, chosen by a stable order.
    struct Placed {
        var child: String
        var record: Int64
        var address: TestWorld.Address
    }

    static func placed(_ connection: PostgresConnection, skip: Int, kind: String = "school_attendance") throws -> Placed
    {
        let row = try connection.query(
            """
            SELECT cr.child_id, sr.id, sr.address_line1, sr.postcode, sr.address_line2, sr.town
            FROM source_records sr JOIN child_records cr ON cr.record_id = sr.id
            JOIN children c ON c.child_id = cr.child_id AND c.merged_into IS NULL AND c.retired_at IS NULL
            WHERE sr.kind = $1 AND sr.postcode IS NOT NULL AND sr.address_line1 IS NOT NULL
            ORDER BY sr.id OFFSET $2 LIMIT 1
            """, [kind, skip])[0]
        return Placed(
            child: try row.decode(String.self, at: 0), record: try row.decode(Int64.self, at: 1),
            address: TestWorld.Address(
                line1: try row.decode(String.self, at: 2), postcode: try row.decode(String.self, at: 3),
                line2: try row.decode(String?.self, at: 4), town: try row.decode(String?.self, at: 5)))
    }

    /// Every stored family row a run writes, as text (ids included, the run that wrote it not).
    static func state(_ connection: PostgresConnection) throws -> [String: Set<String>] {
        func rows(_ sql: String) throws -> Set<String> {
            Set(try connection.query(sql).map { try $0.decode(String.self, at: 0) })
        }
        var state: [String: Set<String>] = [:]
        let stored = try StoringTests.stored(connection)
        state["links"] = stored.links
        state["spans"] = stored.spans
        state["members"] = stored.members
        state["families"] = try rows(
            """
            SELECT concat_ws('|', family_id, merged_into, retired_at IS NULL, address_record_id, address_as_of)
            FROM families
            """)
        state["keys"] = try rows("SELECT member || '|' || key FROM family_keys")
        return state
    }

    /// Runs the day's incremental grouping, then one over every record, which must write nothing.
    static func checkDay(_ name: String, _ connection: PostgresConnection, expectJoined: Bool = false) throws {
        let total = try connection.execute("SELECT count(*) FROM family_members").scalar(Int.self)
        let day = try FamilyGrouper(connection: connection).regroup()
        #expect(day.incremental, "\(name): regrouped only what changed")
        #expect(day.changed, "\(name): the day changed some family")
        #expect(day.changedMembers > 0 && day.membersRegrouped >= day.changedMembers, "\(name)")
        #expect(day.membersRegrouped < total / 4, "\(name): \(day.membersRegrouped) of \(total) members regrouped")
        if expectJoined { #expect(day.joined > 0, "\(name)") }
        let afterDay = try state(connection)
        let full = try FamilyGrouper(connection: connection).regroup(everyone: true)
        #expect(!full.incremental)
        #expect(!full.changed, "\(name): a run over every record wrote \(full)")
        let afterFull = try state(connection)
        for table in afterDay.keys.sorted() {
            #expect(afterDay[table] == afterFull[table], "\(name): \(table) differ after a run over every record")
        }
        #expect(full.families == day.families && full.children == day.children, "\(name): the totals agree")
        // Nothing noted since: nothing read, nothing written.
        let again = try FamilyGrouper(connection: connection).regroup()
        #expect(again.incremental && !again.changed && again.membersRegrouped == 0)
        #expect(again.families == full.families)
    }

    @Test(
        "after days of new, changed, moved and erased records, a run over every record writes nothing",
        arguments: [("default", 7), ("harsh", 3)] as [(String, UInt64)])
    func incrementalEqualsFull(profile: String, seed: UInt64) throws {
        let pipeline = try SyntheticPipeline(children: 600, seed: seed, profile: NoiseProfile.named(profile)!)
        defer { pipeline.remove() }
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            try pipeline.ingestAndResolve(connection)
            let first = try FamilyGrouper(connection: connection).regroup()
            #expect(!first.incremental && first.changed)
            #expect(try connection.execute("SELECT count(*) FROM family_keys").scalar(Int.self) > first.children)
            let world = try TestWorld(connection)

            // Day 1, new records: a new child at an existing child's address, over the same terms (it
            // joins that family: only the key closure brings the family's unchanged members in), and an
            // expectant mother at another's.
            let host = try Self.placed(connection, skip: 10)
            let newcomer = try world.child()
            for term in Terms.year(2025) { try world.school(newcomer, at: host.address, from: term.0, to: term.1) }
            let expecting = try Self.placed(connection, skip: 4, kind: "health_visiting")
            try world.review(nil, due: "2026-06-01", status: nil, at: expecting.address)
            try Self.checkDay("new records", connection, expectJoined: true)
            #expect(try world.family(of: newcomer) == world.family(of: host.child))

            // Day 2, records changed in place: one record takes another family's address, another
            // names a different carer.
            let (changed, elsewhere) = (try Self.placed(connection, skip: 70), try Self.placed(connection, skip: 400))
            try connection.execute(
                "UPDATE source_records SET address_line1 = $2, postcode = $3, address_line2 = $4, town = $5 WHERE id = $1",
                [
                    changed.record, elsewhere.address.line1, elsewhere.address.postcode, elsewhere.address.line2,
                    elsewhere.address.town,
                ])
            let renamed = try Self.placed(connection, skip: 9, kind: "health_visiting")
            try connection.execute(
                "UPDATE source_records SET carer_given_name = 'Zelda', carer_dob = NULL WHERE id = $1", [renamed.record]
            )
            try Self.checkDay("changed records", connection)

            // Day 3, moves: a child seen at a new address after its old one, a record resolution moves
            // to another child, and a child id merged into another.
            let mover = try Self.placed(connection, skip: 160)
            let destination = try Self.placed(connection, skip: 520)
            for term in Terms.year(2026) {
                try world.school(mover.child, at: destination.address, from: term.0, to: term.1)
            }
            let (from, to) = (try Self.placed(connection, skip: 200), try Self.placed(connection, skip: 260))
            try connection.execute(
                "UPDATE child_records SET child_id = $2 WHERE record_id = $1", [from.record, to.child])
            let (merged, survivor) = (try Self.placed(connection, skip: 300), try Self.placed(connection, skip: 330))
            if merged.child != survivor.child {
                try connection.execute(
                    "UPDATE child_records SET child_id = $2 WHERE child_id = $1", [merged.child, survivor.child])
                try connection.execute(
                    "UPDATE children SET merged_into = $2 WHERE child_id = $1", [merged.child, survivor.child])
            }
            try Self.checkDay("moved records", connection)

            // Day 4, erasure: every record of one child (its id retired), one record of another.
            let erased = try Self.placed(connection, skip: 90)
            let records = try connection.query(
                "SELECT record_id FROM child_records WHERE child_id = $1", [erased.child]
            ).map {
                try $0.decode(Int64.self, at: 0)
            }
            let single = try Self.placed(connection, skip: 230)
            for record in records + [single.record] {
                try connection.execute("DELETE FROM child_records WHERE record_id = $1", [record])
                try connection.execute("DELETE FROM family_links WHERE record_a = $1 OR record_b = $1", [record])
                try connection.execute("DELETE FROM family_member_addresses WHERE record_id = $1", [record])
                try connection.execute(
                    "UPDATE families SET address_record_id = NULL, address_as_of = NULL WHERE address_record_id = $1",
                    [record])
                try connection.execute("DELETE FROM source_records WHERE id = $1", [record])
            }
            try connection.execute("UPDATE children SET retired_at = now() WHERE child_id = $1", [erased.child])
            try Self.checkDay("erased records", connection)
            #expect(try world.family(of: erased.child) == nil)
        }
    }

    @Test("changed settings, or a TRUNCATE of what grouping reads, make the next run read every record")
    func settingsChangeReadsEveryone() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let home = TestWorld.Address(line1: "12 Church Lane", postcode: "NR31 3FA")
            let (a, b) = (try world.child(), try world.child())
            for term in Terms.year(2024) {
                for child in [a, b] { try world.school(child, at: home, from: term.0, to: term.1) }
            }
            let first = try FamilyGrouper(connection: world.connection).regroup()
            #expect(!first.incremental && first.changed)
            #expect(try FamilyGrouper(connection: world.connection).regroup().incremental)
            var settings = GroupingSettings()
            settings.stayExtendsDays += 1
            let changedSettings = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            #expect(!changedSettings.incremental)
            #expect(try FamilyGrouper(connection: world.connection, settings: settings).regroup().incremental)
            try world.connection.execute("TRUNCATE family_keys")
            #expect(!(try FamilyGrouper(connection: world.connection, settings: settings).regroup()).incremental)
            #expect(try world.connection.execute("SELECT count(*) FROM family_keys").scalar(Int.self) == 2)
        }
    }

    static func secondaryIndexes(_ connection: PostgresConnection) throws -> [String: SecondaryIndex] {
        try SecondaryIndex.of(
            tables: [
                "family_keys", "family_members", "family_membership_events", "family_id_events", "family_links",
                "family_member_addresses",
            ], connection)
    }

    @Test(
        "a first run into empty tables builds their secondary indexes after its writes, as the migrations define them")
    func firstFillBuildsIndexesAfterwards() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let migrated = try Self.secondaryIndexes(world.connection)
            #expect(migrated.count == 9)
            let home = TestWorld.Address(line1: "12 Church Lane", postcode: "NR31 3FA")
            let (a, b) = (try world.child(), try world.child())
            for term in Terms.year(2024) {
                for child in [a, b] { try world.school(child, at: home, from: term.0, to: term.1) }
            }
            let first = try FamilyGrouper(connection: world.connection).regroup()
            #expect(first.changed && !first.incremental)
            #expect(try world.family(of: a) == world.family(of: b))
            let built = try Self.secondaryIndexes(world.connection)
            #expect(built.mapValues(\.definition) == migrated.mapValues(\.definition))
            // Dropped while the tables were empty and built again afterwards: new relations.
            for (name, index) in built { #expect(index.relation != migrated[name]?.relation, "\(name)") }
            // Into filled tables, a run over every record leaves them alone.
            let again = try FamilyGrouper(connection: world.connection).regroup(everyone: true)
            #expect(!again.incremental && !again.changed)
            #expect(try Self.secondaryIndexes(world.connection) == built)
        }
    }

    @Test("a first run into empty tables leaves statistics on the two tables the flags stage reads next")
    func firstFillAnalysesWhatFlagsRead() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            func analysed() throws -> Set<String> {
                Set(
                    try world.connection.query(
                        """
                        SELECT DISTINCT tablename::text FROM pg_stats
                        WHERE schemaname = current_schema() AND tablename IN ('families', 'family_members')
                        """
                    ).map { try $0.decode(String.self, at: 0) })
            }
            let home = TestWorld.Address(line1: "12 Church Lane", postcode: "NR31 3FA")
            let (a, b) = (try world.child(), try world.child())
            for term in Terms.year(2024) {
                for child in [a, b] { try world.school(child, at: home, from: term.0, to: term.1) }
            }
            #expect(try analysed().isEmpty)
            let first = try FamilyGrouper(connection: world.connection).regroup()
            #expect(first.changed && !first.incremental && first.families == 1)
            #expect(try analysed() == ["families", "family_members"])
        }
    }

    @Test("numbering by a hash made beforehand gives two texts that share a hash two numbers")
    func keyNumberingConfirmsText() {
        var numbering = KeyNumbering()
        #expect(numbering.number("12 church lane|NR313FA", hash: 7) == (0, true))
        #expect(numbering.number("14 church lane|NR313FA", hash: 7) == (1, true), "same hash, other text")
        #expect(numbering.number("12 church lane|NR313FA", hash: 7) == (0, false))
        #expect(numbering.number("14 church lane|NR313FA", hash: 7) == (1, false))
        // Past the first table's size (it grows at half full), every text keeps its number.
        for n in 2..<5_000 { #expect(numbering.number("key \(n)", hash: Int64(n % 97)) == (Int32(n), true)) }
        for n in 2..<5_000 { #expect(numbering.number("key \(n)", hash: Int64(n % 97)) == (Int32(n), false)) }
        #expect(numbering.number("12 church lane|NR313FA", hash: 7) == (0, false))
        #expect(numbering.count == 5_000)
    }

    @Test("grouping keys are stable numbers of their text, one space per kind of key")
    func keyHashes() {
        var row = FamilyEvidence.ParsedRow(record: 1, member: "C1", kind: "school_attendance", start: 0, end: 0)
        row.address = "12 church lane|NR313FA"
        row.townAddress = "12 church lane|NR313FA"
        row.nhsCarer = "9434765919"
        #expect(FamilyGrouper.groupingKeys(row).count == 2, "an address and a town address share one space")
        row.niCarer = "9434765919"
        #expect(FamilyGrouper.groupingKeys(row).count == 3, "an NHS and an NI number with one text are two keys")
        // FNV-1a 64 over the tag then the text (the value Python's arithmetic gives for b"Aa"): the
        // same in every process, unlike Swift's seeded Hasher.
        #expect(FamilyGrouper.keyHash(UInt8(ascii: "A"), "a") == Int64(bitPattern: 0x0908_4307_b5a0_b597))
        #expect(FamilyGrouper.keyHash(UInt8(ascii: "A"), "x") != FamilyGrouper.keyHash(UInt8(ascii: "N"), "x"))
    }
}
