import Foundation
import Postgres
import PostgresTestSupport
import ScenarioTestSupport
import Testing

@testable import Families

/// The grouper reads keys from bytes and writes only what changed: both must give exactly what the
/// plain String functions and a whole rewrite give.
@Suite("Family grouping: byte keys and writing only what changed")
struct StoringTests {
    static let addresses: [(String?, String?)] = [
        ("Flat 3, 12 Church Rd.", nil), ("FLAT 3", "12 Church Road, Gorleston"), ("Rose Cottage", "Mill Lane"),
        ("  ", nil),
        ("12  church   st", nil), ("Flat 3", nil), ("Unit 4b,  , 9 High St", "Town"), (",,Flat 2,7 Mill Ln", nil),
        ("apt", "1 Oak Cl"),
        ("12 Church Lane Rd", nil), ("Studio 1 Rd", nil), ("Flat 10 Rd", "x"), ("Maison Zoë, 3 Rue", nil),
        ("12 Ørsted Gdns", "Flat 1"),
        ("", "9 Oak Row"), ("FLAT A, 5-7 QUEEN'S RD", "Norwich"), ("Room", "Hostel, 3 St"), (nil, nil),
        ("Flat 3 Block B", "12 Church Rd"),
    ]

    static func withBytes<T>(_ text: String?, _ body: (UnsafeBufferPointer<UInt8>) -> T) -> T {
        guard var text else { return body(UnsafeBufferPointer(start: nil, count: 0)) }
        return text.withUTF8 { body($0) }
    }

    @Test("keys made from bytes equal the String functions' keys, ASCII or not")
    func byteKeysEqualStringKeys() {
        for (line1, line2) in Self.addresses {
            let premises = Self.withBytes(line1) { a in
                Self.withBytes(line2) { b in AddressKey.premises(line1: a, line2: b) }
            }
            #expect(
                premises.map { String(decoding: $0, as: UTF8.self) } == AddressKey.premises(line1: line1, line2: line2))
            for (postcode, uprn, town) in [
                ("nr31 3fa", nil, "Holt"), ("NR1 1AA", "100 0123 4567", "gorleston-on-sea"), ("", nil, ""),
                ("NR2", "", "Zoë Town"),
            ] as [(String, String?, String)] {
                let key = Self.withBytes(postcode) { p in
                    Self.withBytes(uprn) { u in AddressKey.key(premises: premises, postcode: p, uprn: u) }
                }
                #expect(key == AddressKey.key(line1: line1, line2: line2, postcode: postcode, uprn: uprn))
                let townKey = Self.withBytes(town) { AddressKey.townKey(premises: premises, town: $0) }
                #expect(townKey == AddressKey.townKey(line1: line1, line2: line2, town: town))
            }
        }
        for name in [
            "Smith-Jones", "O'Brien", "Smith .", "Mary Ann", "de la Cruz", "Zoë", "  ", "A-B", "Núñez-García", "x\ty",
        ] {
            #expect(Self.withBytes(name) { AddressKey.nameKey($0) } == AddressKey.nameKey(name))
            #expect(Self.withBytes(name) { AddressKey.surnameKeys($0) } == AddressKey.surnameKeys(name))
        }
        #expect(Self.withBytes(" ab 12 34 56 c ") { FamilyGrouper.niKey($0) } == "AB123456C")
        #expect(Self.withBytes("  ") { FamilyGrouper.niKey($0) } == nil)
    }

    /// Every stored link and span, as text, without the run that wrote it.
    static func stored(
        _ connection: PostgresConnection
    ) throws -> (links: Set<String>, spans: Set<String>, members: Set<String>) {
        func rows(_ sql: String) throws -> Set<String> {
            Set(try connection.query(sql).map { try $0.decode(String.self, at: 0) })
        }
        return (
            try rows(
                "SELECT concat_ws('|', family_id, member_a, member_b, basis, record_a, record_b, overlap_from, overlap_to, rule) FROM family_links"
            ),
            try rows(
                "SELECT concat_ws('|', family_id, member, record_id, first_seen, last_seen, is_current) FROM family_member_addresses"
            ),
            try rows("SELECT concat_ws('|', family_id, child_id, expectant_record_id) FROM family_members")
        )
    }

    @Test("a new record rewrites only the rows it changes, and the tables then equal a whole rewrite")
    func writesOnlyWhatChanged() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let home = TestWorld.Address(line1: "12 Church Lane", postcode: "NR31 3FA")
            let other = TestWorld.Address(line1: "4 Mill Road", postcode: "NR30 1AB")
            let (a, b, c, d) = (try world.child(), try world.child(), try world.child(), try world.child())
            for term in Terms.year(2024) {
                for child in [a, b] { try world.school(child, at: home, from: term.0, to: term.1) }
                for child in [c, d] { try world.school(child, at: other, from: term.0, to: term.1) }
            }
            let first = try FamilyGrouper(connection: world.connection).regroup()
            #expect(first.changed)
            // A third child joins the family at the first address; the other family is untouched.
            let e = try world.child()
            for term in Terms.year(2025) {
                for child in [a, b, e] { try world.school(child, at: home, from: term.0, to: term.1) }
            }
            let second = try FamilyGrouper(connection: world.connection).regroup()
            #expect(second.changed && second.joined == 1 && second.moved == 0 && second.minted == 0)
            let untouched = try world.connection.query(
                "SELECT count(*) FROM family_links WHERE run_id = $1 AND $2 IN (member_a, member_b)", [first.runID, c]
            ).first!.decode(Int.self, at: 0)
            #expect(untouched == 1)
            let rewritten = try world.connection.query(
                "SELECT count(*) FROM family_member_addresses WHERE run_id = $1 AND member IN ($2, $3)",
                [first.runID, c, d]
            ).first!.decode(Int.self, at: 0)
            #expect(rewritten == 2)
            #expect(
                try world.connection.query("SELECT count(*) FROM family_links WHERE run_id = $1", [second.runID]).first!
                    .decode(Int.self, at: 0) >= 2)
            #expect(try world.family(of: e) == world.family(of: a))

            // The same tables written whole from nothing (ids kept through the members) are equal.
            let incremental = try Self.stored(world.connection)
            try world.connection.execute("DELETE FROM family_links")
            try world.connection.execute("DELETE FROM family_member_addresses")
            let whole = try FamilyGrouper(connection: world.connection).regroup()
            #expect(whole.changed && whole.minted == 0 && whole.joined == 0)
            let rewrittenWhole = try Self.stored(world.connection)
            #expect(rewrittenWhole.links == incremental.links)
            #expect(rewrittenWhole.spans == incremental.spans)
            #expect(rewrittenWhole.members == incremental.members)
            // And nothing new: nothing written.
            #expect(!(try FamilyGrouper(connection: world.connection).regroup()).changed)
        }
    }
}
