import Foundation
import Postgres
import PostgresTestSupport
import ScenarioTestSupport
import Testing

@testable import Families

@Suite("Family grouping scenarios")
struct FamilyScenarioTests {
    let home = TestWorld.Address(line1: "12 Church Lane", postcode: "NR31 3FA")
    let elsewhere = TestWorld.Address(line1: "4 Mill Road", postcode: "NR30 1AB")

    @Test("children seen at the same address at the same time are one family; two styles of one address compare equal")
    func coResident() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let (a, b, c) = (try world.child(), try world.child(), try world.child())
            for term in Terms.year(2025) {
                try world.school(
                    a, at: TestWorld.Address(line1: "Flat 3, 12 Church Rd", postcode: "NR31 3FA"), from: term.0,
                    to: term.1)
                // The FSM style: "Flat 3" alone on line 1, the building on line 2.
                try world.school(
                    b, at: TestWorld.Address(line1: "FLAT 3", postcode: "NR31 3FA", line2: "12 Church Road, Gorleston"),
                    from: term.0, to: term.1)
                try world.school(
                    c, at: TestWorld.Address(line1: "Flat 4, 12 Church Road", postcode: "NR31 3FA"), from: term.0,
                    to: term.1)
            }
            let report = try FamilyGrouper(connection: world.connection).regroup()
            #expect(report.families == 2)
            #expect(try world.family(of: a) == world.family(of: b))
            #expect(try world.family(of: a) != world.family(of: c))
            let basis = try world.connection.query("SELECT basis, overlap_from::text FROM family_links")
            #expect(basis.count == 1)
            #expect(try basis[0].decode(String.self, at: 0) == "same_address")
            #expect(try basis[0].decode(String.self, at: 1) == "2025-09-03")
        }
    }

    @Test("a record with no postcode is matched by premises and town, and only such a record")
    func noPostcode() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let (a, b, c, d) = (try world.child(), try world.child(), try world.child(), try world.child())
            let here = TestWorld.Address(line1: "65 Dairy Gardens", postcode: "NR25 4YD", town: "Holt")
            for term in Terms.year(2025) {
                try world.school(a, at: here, from: term.0, to: term.1)
                // Same premises and town, a different postcode: a different address (two postcodes disagree).
                try world.school(
                    d, at: TestWorld.Address(line1: "65 Dairy Gardens", postcode: "NR25 4YE", town: "Holt"),
                    from: term.0, to: term.1)
            }
            try world.school(
                b, at: TestWorld.Address(line1: "65 DAIRY GARDENS", postcode: nil, town: "HOLT"), from: "2026-01-05",
                to: "2026-03-27")
            try world.school(
                c, at: TestWorld.Address(line1: "65 Dairy Gardens", postcode: nil, town: "Cromer"), from: "2026-01-05",
                to: "2026-03-27")
            _ = try FamilyGrouper(connection: world.connection).regroup()
            // Ambiguous: by town, "65 Dairy Gardens, Holt" has two postcodes, so b is matched to neither.
            #expect(try world.family(of: a) != world.family(of: b))
            #expect(try world.family(of: a) != world.family(of: d))
            #expect(try world.family(of: b) != world.family(of: d))
            // Without d's records (say they were erased), the town match is unambiguous and b joins a.
            try world.connection.execute("DELETE FROM child_records WHERE child_id = $1", [d])
            _ = try FamilyGrouper(connection: world.connection).regroup()
            #expect(try world.family(of: a) == world.family(of: b))
            #expect(try world.family(of: a) != world.family(of: c))
            let basis = try world.connection.query("SELECT basis FROM family_links")
            #expect(try basis.map { try $0.decode(String.self, at: 0) } == ["same_address_no_postcode"])
        }
    }

    @Test("a house that changes hands: households whose stays do not overlap stay apart; overlapping ones join")
    func houseChangesHands() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let settings = GroupingSettings()
            // Household A lived at the address until July 2024 and was not seen again (left the county).
            // Household B was first seen there more than `stay_extends_days` later.
            // (Households of different surnames: see `movedFamilyStaleAddress` for the same surname.)
            let (a, b) = (try world.child(), try world.child())
            for term in Terms.year(2023) { try world.school(a, at: home, from: term.0, to: term.1, family: "Adams") }
            let lastSeen = DayNumber.from(PostgresDate(year: 2024, month: 7, day: 21))
            let firstDay = lastSeen + settings.stayExtendsDays + 1
            let bStart = DayNumber.postgresDate(firstDay).description
            try world.school(
                b, at: home, from: bStart, to: DayNumber.postgresDate(firstDay + 90).description, family: "Brown")
            // Household C moved out in August 2024 (seen elsewhere) and D moved in that September.
            let (c, d) = (try world.child(), try world.child())
            let other = TestWorld.Address(line1: "7 Quay Street", postcode: "NR30 2XY")
            for term in Terms.year(2023) { try world.school(c, at: other, from: term.0, to: term.1, family: "Clarke") }
            for term in Terms.year(2024) {
                try world.school(c, at: elsewhere, from: term.0, to: term.1, family: "Clarke")
                try world.school(d, at: other, from: term.0, to: term.1, family: "Dixon")
            }
            _ = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            #expect(try world.family(of: a) != world.family(of: b))
            #expect(try world.family(of: c) != world.family(of: d))

            // Seen there just before A's stay ends (and then elsewhere, before B came): the same address
            // at the same time is one household.
            let e = try world.child()
            let eHere = DayNumber.postgresDate(firstDay - 10).description
            let eThere = DayNumber.postgresDate(firstDay - 5).description
            try world.school(e, at: home, from: eHere, to: eHere, family: "Evans")
            try world.school(e, at: elsewhere, from: eThere, to: eThere, family: "Evans")
            _ = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            #expect(try world.family(of: a) == world.family(of: e))
            #expect(try world.family(of: a) != world.family(of: b))
        }
    }

    @Test(
        "a family that moved while the school kept one child's old address: same surname links when switched on, within the window only"
    )
    func movedFamilyStaleAddress() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            var settings = GroupingSettings()
            // The Knights lived at `home` (older child a, 2023–24), then moved to `elsewhere` (2024–25);
            // the school still sends `home` for the younger child b in 2024–25.
            let (a, b) = (try world.child(), try world.child())
            for term in Terms.year(2023) { try world.school(a, at: home, from: term.0, to: term.1, family: "Knight") }
            for term in Terms.year(2024) {
                try world.school(a, at: elsewhere, from: term.0, to: term.1, family: "Knight")
                try world.school(b, at: home, from: term.0, to: term.1, family: "Smith-Knight")
            }
            // Strangers who moved into `other` after the Knights' neighbours left: a different surname.
            let (c, d) = (try world.child(), try world.child())
            let other = TestWorld.Address(line1: "7 Quay Street", postcode: "NR30 2XY")
            for term in Terms.year(2023) { try world.school(c, at: other, from: term.0, to: term.1, family: "Clarke") }
            for term in Terms.year(2024) {
                try world.school(
                    c, at: TestWorld.Address(line1: "3 Pier Walk", postcode: "NR32 1AA"), from: term.0, to: term.1,
                    family: "Clarke")
                try world.school(d, at: other, from: term.0, to: term.1, family: "Dixon")
            }
            // Off by default: a same-surname household at a former address is not enough on its own.
            _ = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            #expect(try world.family(of: a) != world.family(of: b))
            settings.sameSurnameAtAddressWithinDays = 730
            _ = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            #expect(try world.family(of: a) == world.family(of: b))
            #expect(try world.family(of: a) != world.family(of: d))
            #expect(try world.family(of: c) != world.family(of: d))
            let links = try world.connection.query(
                "SELECT basis, overlap_from IS NULL FROM family_links WHERE $1 IN (member_a, member_b) AND $2 IN (member_a, member_b)",
                [a, b])
            #expect(links.count == 1)
            #expect(try links.first?.decode(String.self, at: 0) == "same_address_same_surname")
            #expect(try links.first?.decode(Bool.self, at: 1) == true)

            // b first seen at `home` 44 days after a's last evidence there: a window of 43 days keeps them apart, 44 joins.
            let gap =
                DayNumber.from(PostgresDate(year: 2024, month: 9, day: 3))
                - DayNumber.from(PostgresDate(year: 2024, month: 7, day: 21))
            settings.sameSurnameAtAddressWithinDays = gap - 1
            _ = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            #expect(try world.family(of: a) != world.family(of: b))
            settings.sameSurnameAtAddressWithinDays = gap
            _ = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            #expect(try world.family(of: a) == world.family(of: b))
            // Switched off.
            settings.sameSurnameAtAddressWithinDays = 0
            _ = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            #expect(try world.family(of: a) != world.family(of: b))
        }
    }

    @Test("a shared carer links children at different addresses; the carer on the most recent record counts")
    func carers() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let (a, b, c) = (try world.child(), try world.child(), try world.child())
            let hv = #"{"review_type":"12_month","review_due":"2026-03-01","review_status":"completed"}"#
            // More than `superseded_after_days` (a year) later.
            let hvLater = #"{"review_type":"2_2_5_year","review_due":"2027-03-02","review_status":"completed"}"#
            try world.record(a, kind: "health_visiting", address: home, carerNHS: "9434765919", facts: hv)
            try world.record(b, kind: "health_visiting", address: elsewhere, carerNHS: "9434765919", facts: hv)
            // c was with the same mother, then (most recent record) with another carer.
            try world.record(
                c, kind: "health_visiting", address: TestWorld.Address(line1: "1 Elm Way", postcode: "NR1 1AA"),
                carerNHS: "9434765919", facts: hv)
            try world.record(
                c, kind: "health_visiting", address: TestWorld.Address(line1: "1 Elm Way", postcode: "NR1 1AA"),
                carerNHS: "9434765927", facts: hvLater)
            // The FSM parent: NI number, date of birth and surname.
            let (d, e) = (try world.child(), try world.child())
            let fsm = #"{"eligible_from":"2026-01-10"}"#
            try world.record(
                d, kind: "fsm", address: TestWorld.Address(line1: "2 Elm Way", postcode: "NR1 1AB"),
                carer: ("Jo", "Bloggs", "1990-01-01", "AB123456C"), facts: fsm)
            try world.record(
                e, kind: "fsm", address: TestWorld.Address(line1: "9 Oak Row", postcode: "NR2 2AB"),
                carer: ("Joanne", "BLOGGS", "1990-01-01", "ab 12 34 56 c"), facts: fsm)
            _ = try FamilyGrouper(connection: world.connection).regroup()
            #expect(try world.family(of: a) == world.family(of: b))
            #expect(try world.family(of: a) != world.family(of: c))
            #expect(try world.family(of: d) == world.family(of: e))
            let bases = Set(
                try world.connection.query("SELECT DISTINCT basis FROM family_links").map {
                    try $0.decode(String.self, at: 0)
                })
            #expect(bases == ["carer_nhs_number", "carer_ni_number"])
        }
    }

    @Test("family ids are stable; a new link merges two families and the old id stays as an alias")
    func stableIDsAndMerge() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let (a, b, c) = (try world.child(), try world.child(), try world.child())
            for term in Terms.year(2025) {
                try world.school(a, at: home, from: term.0, to: term.1)
                try world.school(b, at: home, from: term.0, to: term.1)
                try world.school(c, at: elsewhere, from: term.0, to: term.1)
            }
            let first = try FamilyGrouper(connection: world.connection).regroup()
            #expect(first.families == 2 && first.minted == 2 && first.joined == 3)
            let familyAB = try #require(try world.family(of: a))
            let familyC = try #require(try world.family(of: c))
            #expect(familyAB.range(of: #"^F[0-9A-HJKMNP-TV-Z]{9}$"#, options: .regularExpression) != nil)

            let again = try FamilyGrouper(connection: world.connection).regroup()
            #expect(again.minted == 0 && again.joined == 0 && again.moved == 0 && again.merged == 0)
            #expect(try world.family(of: a) == familyAB)

            // c turns out to share the mother of a: one family, the larger keeps its id.
            let hv = #"{"review_type":"12_month","review_due":"2026-03-01","review_status":"completed"}"#
            try world.record(a, kind: "health_visiting", address: home, carerNHS: "9434765919", facts: hv)
            try world.record(c, kind: "health_visiting", address: elsewhere, carerNHS: "9434765919", facts: hv)
            let merged = try FamilyGrouper(connection: world.connection).regroup()
            #expect(merged.merged == 1 && merged.families == 1 && merged.minted == 0)
            #expect(try world.family(of: c) == familyAB)
            let alias = try world.connection.query(
                "SELECT resolves_to FROM family_id_resolution WHERE family_id = $1", [familyC])
            #expect(try alias.first?.decode(String.self, at: 0) == familyAB)
            let event = try world.connection.query(
                "SELECT event, from_family, to_family FROM family_membership_events WHERE child_id = $1 ORDER BY id DESC LIMIT 1",
                [c])
            #expect(try event.first?.decode(String.self, at: 0) == "family_merged")
            #expect(try event.first?.decode(String.self, at: 1) == familyC)
        }
    }

    @Test("a child who goes to live with another household moves family, and the move is recorded")
    func childMoves() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let (k, s1, s2, q) = (try world.child(), try world.child(), try world.child(), try world.child())
            for term in Terms.year(2024) {
                for child in [k, s1, s2] { try world.school(child, at: home, from: term.0, to: term.1) }
                try world.school(q, at: elsewhere, from: term.0, to: term.1)
            }
            _ = try FamilyGrouper(connection: world.connection).regroup()
            let old = try #require(try world.family(of: k))
            let other = try #require(try world.family(of: q))
            #expect(try world.family(of: s1) == old && old != other)

            // Two more years: k now lives with q's household; s1 and s2 stay at home.
            for year in [2025, 2026] {
                for term in Terms.year(year) {
                    try world.school(k, at: elsewhere, from: term.0, to: term.1)
                    try world.school(q, at: elsewhere, from: term.0, to: term.1)
                    for child in [s1, s2] { try world.school(child, at: home, from: term.0, to: term.1) }
                }
            }
            let report = try FamilyGrouper(connection: world.connection).regroup()
            #expect(report.moved == 1)
            #expect(report.linksSuperseded >= 1)
            #expect(try world.family(of: k) == other)
            #expect(try world.family(of: s1) == old)
            let events = try world.connection.query(
                "SELECT from_family, to_family, event, evidence_date::text FROM family_membership_events WHERE child_id = $1 ORDER BY id",
                [k])
            #expect(events.count == 2)  // joined, then moved
            #expect(try events[1].decode(String.self, at: 0) == old)
            #expect(try events[1].decode(String.self, at: 1) == other)
            #expect(try events[1].decode(String.self, at: 2) == "moved")
            #expect(try events[1].decode(String.self, at: 3) == "2027-07-21")
        }
    }

    @Test("an expectant mother's antenatal record joins her children's family through her NHS number")
    func expectantParent() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let a = try world.child()
            let hv = #"{"review_type":"12_month","review_due":"2026-03-01","review_status":"completed"}"#
            try world.record(a, kind: "health_visiting", address: home, carerNHS: "9434765919", facts: hv)
            let antenatal = try world.record(
                nil, kind: "health_visiting", address: elsewhere, carerNHS: "9434765919",
                facts: #"{"review_type":"antenatal","review_due":"2026-06-01","review_status":"completed"}"#)
            let alone = try world.record(
                nil, kind: "health_visiting", address: TestWorld.Address(line1: "3 Pond Lane", postcode: "NR5 5ZZ"),
                carerNHS: "9434765927",
                facts: #"{"review_type":"antenatal","review_due":"2026-06-01","review_status":"completed"}"#)
            let report = try FamilyGrouper(connection: world.connection).regroup()
            #expect(report.expectantParents == 2 && report.families == 2)
            let family = try world.connection.query(
                "SELECT family_id FROM family_members WHERE expectant_record_id = $1", [antenatal]
            ).first?.decode(String.self, at: 0)
            #expect(family == (try world.family(of: a)))
            // The family's current home is the most recent evidence of a home: the antenatal record.
            let homeRecord = try world.connection.query(
                "SELECT address_record_id FROM families WHERE family_id = $1", [family])
            #expect(try homeRecord.first?.decode(Int64.self, at: 0) == antenatal)
            #expect(
                try world.connection.query("SELECT 1 FROM family_members WHERE expectant_record_id = $1", [alone]).count
                    == 1)
        }
    }

    @Test("address keys: flats, abbreviations and punctuation")
    func addressKeys() {
        #expect(AddressKey.premises(line1: "Flat 3, 12 Church Rd.", line2: nil) == "FLAT 3 12 CHURCH ROAD")
        #expect(AddressKey.premises(line1: "FLAT 3", line2: "12 Church Road, Gorleston") == "FLAT 3 12 CHURCH ROAD")
        #expect(AddressKey.premises(line1: "Rose Cottage", line2: "Mill Lane") == "ROSE COTTAGE")
        #expect(AddressKey.premises(line1: "  ", line2: nil) == nil)
        #expect(AddressKey.key(line1: "12 Church Lane", line2: nil, postcode: nil, uprn: nil) == nil)
        #expect(AddressKey.key(line1: nil, line2: nil, postcode: nil, uprn: "100 0123 4567") == "uprn:10001234567")
        #expect(
            AddressKey.key(line1: "12 Church St", line2: nil, postcode: "NR31 3FA", uprn: nil)
                == AddressKey.key(line1: "12 CHURCH STREET", line2: nil, postcode: "NR31 3FA", uprn: nil))
        #expect(
            AddressKey.key(line1: "12 Church St", line2: nil, postcode: "NR31 3FA", uprn: nil)
                != AddressKey.key(line1: "14 Church St", line2: nil, postcode: "NR31 3FA", uprn: nil))
    }

    @Test("the grouping settings file: the shipped one loads; errors name the file, line and key")
    func settingsFile() throws {
        let shipped = try GroupingSettings.load(
            path: PostgresTestSupport.TestDatabase.schemasDirectory + "/rules/families.conf")
        #expect(shipped == GroupingSettings())
        let unknown = #expect(throws: (any Error).self) {
            try GroupingSettings.parse(path: "families.conf", text: "[grouping]\nversion = 1\nstay_extend_days = 30\n")
        }
        #expect(String(describing: unknown!).contains("families.conf:3 [grouping.stay_extend_days]"))
        let range = #expect(throws: (any Error).self) {
            try GroupingSettings.parse(path: "families.conf", text: "[grouping]\nversion = 1\nstay_extends_days = -4\n")
        }
        #expect(String(describing: range!).contains("families.conf:3 [grouping.stay_extends_days]"))
        let kinds = #expect(throws: (any Error).self) {
            try GroupingSettings.parse(
                path: "families.conf", text: "[grouping]\nversion = 1\nhome_address_kinds = school\n")
        }
        #expect(String(describing: kinds!).contains("unknown value 'school'"))
    }
}
