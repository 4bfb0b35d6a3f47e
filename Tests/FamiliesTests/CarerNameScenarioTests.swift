import Foundation
import Postgres
import PostgresTestSupport
import ScenarioTestSupport
import Testing

@testable import Families

/// Carer names without a date of birth, addresses over time, and the guards against strangers
/// (schemas/rules/README.md, families.conf): each scenario with a case either side of its rule.
@Suite("Family grouping: carer names, addresses over time, guards")
struct CarerNameScenarioTests {
    static func address(_ n: Int) -> TestWorld.Address {
        TestWorld.Address(line1: "\(n) Church Lane", postcode: "NR31 3FA")
    }

    /// A health visiting review of `child` (nil: an antenatal record) on `day`, naming the mother.
    @discardableResult
    static func review(
        _ world: TestWorld, _ child: String?, at address: TestWorld.Address, on day: String, mother: (String, String),
        born: String = "1990-02-03"
    ) throws -> Int64 {
        try world.record(
            child, kind: "health_visiting", address: address, carer: (mother.0, mother.1, born, nil), dob: "2023-05-20",
            facts: #"{"review_type":"12_month","review_due":"\#(day)","review_status":"completed"}"#)
    }

    /// A school period of `child` naming its primary contact as a school's extract does: a name, no date of birth.
    @discardableResult
    static func school(
        _ world: TestWorld, _ child: String, at address: TestWorld.Address, from: String, to: String,
        family: String = "Child",
        contact: (String, String, relationship: String)?
    ) throws -> Int64 {
        let id = try world.school(child, at: address, from: from, to: to, family: family)
        if let contact {
            try world.connection.execute(
                """
                UPDATE source_records SET carer_given_name = $2, carer_family_name = $3,
                    facts = facts || jsonb_build_object('extra.contact_relationship', $4::text)
                WHERE id = $1
                """, [id, contact.0, contact.1, contact.relationship])
        }
        return id
    }

    static func day(_ iso: String, plus days: Int = 0) -> String {
        let date = CalendarDateParts(iso)
        return DayNumber.postgresDate(DayNumber.from(PostgresDate(year: date.0, month: date.1, day: date.2)) + days)
            .description
    }

    static func CalendarDateParts(_ iso: String) -> (Int, Int, Int) {
        let parts = iso.split(separator: "-").map { Int($0)! }
        return (parts[0], parts[1], parts[2])
    }

    @Test(
        "the baby known to health visiting and the school-age siblings whose contact is the mother join, within the rule's window only"
    )
    func babyAndSchoolSiblings() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            var settings = GroupingSettings()
            settings.stayExtendsDays = 30  // the address alone links nothing here
            settings.carerNameRules = [
                CarerNameRule(
                    name: "mother_then_school", kinds: ["health_visiting", "school_attendance"], withinYears: 1)
            ]
            let lastReview = "2024-06-01"
            // At the edge of the window (365 days), a nickname of the mother (Kate for Katherine): one family.
            let (baby, s1, s2) = (try world.child(), try world.child(), try world.child())
            try Self.review(world, baby, at: Self.address(1), on: "2023-06-01", mother: ("Katherine", "Ward"))
            let babyRecord = try Self.review(
                world, baby, at: Self.address(1), on: lastReview, mother: ("Katherine", "Ward"))
            for child in [s1, s2] {
                try Self.school(
                    world, child, at: Self.address(1), from: Self.day(lastReview, plus: 365),
                    to: Self.day(lastReview, plus: 465), family: "Ward",
                    contact: ("Kate", "Ward", relationship: "Mother"))
            }
            // One day past the window: apart.
            let (baby2, s3) = (try world.child(), try world.child())
            try Self.review(
                world, baby2, at: Self.address(2), on: lastReview, mother: ("Katherine", "Ward"), born: "1991-03-04")
            try Self.school(
                world, s3, at: Self.address(2), from: Self.day(lastReview, plus: 366),
                to: Self.day(lastReview, plus: 466), family: "Ward",
                contact: ("Kate", "Ward", relationship: "Mother"))
            // Within the window, another carer's name: apart.
            let (baby3, s4) = (try world.child(), try world.child())
            try Self.review(
                world, baby3, at: Self.address(3), on: lastReview, mother: ("Katherine", "Ward"), born: "1992-04-05")
            try Self.school(
                world, s4, at: Self.address(3), from: Self.day(lastReview, plus: 100),
                to: Self.day(lastReview, plus: 200), family: "Ward",
                contact: ("Mary", "Ward", relationship: "Grandmother"))

            _ = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            #expect(try world.family(of: baby) == world.family(of: s1))
            #expect(try world.family(of: baby) == world.family(of: s2))
            #expect(try world.family(of: baby2) != world.family(of: s3))
            #expect(try world.family(of: baby3) != world.family(of: s4))
            let links = try world.connection.query(
                "SELECT basis, rule, record_a = $2 OR record_b = $2 FROM family_links WHERE $1 IN (member_a, member_b) ORDER BY member_b",
                [baby, babyRecord])
            #expect(links.count >= 1)
            for link in links {
                #expect(try link.decode(String.self, at: 0) == "carer_name_at_address")
                #expect(try link.decode(String?.self, at: 1) == "mother_then_school")
                #expect(try link.decode(Bool.self, at: 2))
            }
            // A window of two years takes in the second household too.
            settings.carerNameRules[0] = CarerNameRule(
                name: "mother_then_school", kinds: ["health_visiting", "school_attendance"], withinYears: 2)
            _ = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            #expect(try world.family(of: baby2) == world.family(of: s3))
            #expect(try world.family(of: baby3) != world.family(of: s4))
            // The shipped rules do the same with their own windows.
            _ = try FamilyGrouper(connection: world.connection).regroup()
            #expect(try world.family(of: baby) == world.family(of: s1))
            #expect(try world.family(of: baby2) == world.family(of: s3))
        }
    }

    @Test(
        "strangers of the same surname who move in stay apart: a new mother ends the old household's stay; a father or the same mother does not"
    )
    func sameSurnameStrangersMoveIn() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            var settings = GroupingSettings()
            settings.carerNameRules = []
            // The Smiths' baby last seen in June; in September (within `stay_extends_days`) a pupil called
            // Smith whose contact is another mother: strangers.
            let (a, b) = (try world.child(), try world.child())
            try Self.review(world, a, at: Self.address(1), on: "2024-06-01", mother: ("Jane", "Smith"))
            try Self.school(
                world, b, at: Self.address(1), from: "2024-09-03", to: "2024-12-19", family: "Smith",
                contact: ("Kate", "Smith", relationship: "Mother"))
            // The same, but the pupil's contact is the father: nothing says the household changed.
            let (c, d) = (try world.child(), try world.child())
            try Self.review(
                world, c, at: Self.address(2), on: "2024-06-01", mother: ("Jane", "Smith"), born: "1991-03-04")
            try Self.school(
                world, d, at: Self.address(2), from: "2024-09-03", to: "2024-12-19", family: "Smith",
                contact: ("John", "Smith", relationship: "Father"))
            // The pupil's contact is the baby's mother.
            let (e, f) = (try world.child(), try world.child())
            try Self.review(
                world, e, at: Self.address(3), on: "2024-06-01", mother: ("Jane", "Smith"), born: "1992-04-05")
            try Self.school(
                world, f, at: Self.address(3), from: "2024-09-03", to: "2024-12-19", family: "Smith",
                contact: ("Jane", "Smith", relationship: "Mother"))

            _ = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            #expect(try world.family(of: a) != world.family(of: b))
            #expect(try world.family(of: c) == world.family(of: d))
            #expect(try world.family(of: e) == world.family(of: f))
            // The guard switched off: the stay's usual extension links the strangers.
            settings.differentCarerEndsHousehold = false
            settings.differentCarerNoAddressLink = false
            _ = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            #expect(try world.family(of: a) == world.family(of: b))
        }
    }

    @Test(
        "a family that moved is followed: the same id, the newest address its home, each member's span at both addresses kept"
    )
    func movedFamilyFollowed() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let (old, new) = (Self.address(1), TestWorld.Address(line1: "4 Mill Road", postcode: "NR30 1AB"))
            let jane = ("Jane", "Smith", relationship: "Mother")
            let (a, b) = (try world.child(), try world.child())
            var lastAtOld: Int64 = 0
            for term in Terms.year(2023) {
                for child in [a, b] {
                    lastAtOld = try Self.school(
                        world, child, at: old, from: term.0, to: term.1, family: "Smith", contact: jane)
                }
            }
            _ = try FamilyGrouper(connection: world.connection).regroup()
            let family = try #require(try world.family(of: a))
            #expect(try world.family(of: b) == family)
            #expect(
                try world.connection.query("SELECT address_record_id FROM families WHERE family_id = $1", [family])
                    .first?.decode(Int64.self, at: 0) == lastAtOld)

            // They move; a family of strangers (another mother) moves into the old house.
            var lastAtNew: Int64 = 0
            let stranger = try world.child()
            for term in Terms.year(2024) {
                for child in [a, b] {
                    lastAtNew = try Self.school(
                        world, child, at: new, from: term.0, to: term.1, family: "Smith", contact: jane)
                }
                try Self.school(
                    world, stranger, at: old, from: term.0, to: term.1, family: "Smith",
                    contact: ("Kate", "Smith", relationship: "Mother"))
            }
            let report = try FamilyGrouper(connection: world.connection).regroup()
            #expect(report.minted == 1)  // the strangers' family only
            #expect(try world.family(of: a) == family && world.family(of: b) == family)
            #expect(try world.family(of: stranger) != family)
            #expect(
                try world.connection.query("SELECT address_record_id FROM families WHERE family_id = $1", [family])
                    .first?.decode(Int64.self, at: 0) == lastAtNew)
            let spans = try world.connection.query(
                "SELECT first_seen::text, last_seen::text, is_current FROM family_member_addresses WHERE member = $1 ORDER BY first_seen",
                [a])
            #expect(spans.count == 2)
            #expect(try spans.map { try $0.decode(String.self, at: 0) } == ["2023-09-03", "2024-09-03"])
            #expect(try spans.map { try $0.decode(String.self, at: 1) } == ["2024-07-21", "2025-07-21"])
            #expect(try spans.map { try $0.decode(Bool.self, at: 2) } == [false, true])
            // Nothing new: nothing written, no id changed.
            let again = try FamilyGrouper(connection: world.connection).regroup()
            #expect(!again.changed && again.minted == 0 && again.moved == 0)
        }
    }

    @Test(
        "two families at one flat address stay apart when each names its own mother; a pupil whose record names no one cannot be told apart"
    )
    func twoFamiliesOneFlat() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let flat = TestWorld.Address(line1: "Flat 3, 12 High Street", postcode: "NR1 1AA")
            let other = TestWorld.Address(line1: "Flat 4, 12 High Street", postcode: "NR1 1AA")
            let (a1, a2, b1, c1, c2) = (
                try world.child(), try world.child(), try world.child(), try world.child(), try world.child()
            )
            for term in Terms.year(2025) {
                try Self.school(
                    world, a1, at: flat, from: term.0, to: term.1, family: "Smith",
                    contact: ("Jane", "Smith", relationship: "Mother"))
                try Self.school(
                    world, a2, at: flat, from: term.0, to: term.1, family: "Smith",
                    contact: ("Janet", "Smith", relationship: "Mother"))
                try Self.school(
                    world, b1, at: flat, from: term.0, to: term.1, family: "Jones",
                    contact: ("Kate", "Jones", relationship: "Mother"))
                try Self.school(
                    world, c1, at: other, from: term.0, to: term.1, family: "Brown",
                    contact: ("Anna", "Brown", relationship: "Mother"))
                try Self.school(world, c2, at: other, from: term.0, to: term.1, family: "Green", contact: nil)
            }
            var settings = GroupingSettings()
            _ = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            #expect(try world.family(of: a1) == world.family(of: a2))  // Janet: a typo of Jane is one carer
            #expect(try world.family(of: a1) != world.family(of: b1))
            #expect(try world.family(of: c1) == world.family(of: c2))
            settings.differentCarerNoAddressLink = false
            _ = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            #expect(try world.family(of: a1) == world.family(of: b1))
        }
    }

    @Test(
        "two mothers in one home: children at one address at the same time whose records name different mothers join when they share a surname, and only then"
    )
    func twoMothersOneSurname() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let home = Self.address(1)
            let flat = TestWorld.Address(line1: "Flat 2, 9 Quay Side", postcode: "NR30 2BB")
            let (a1, a2, b1, b2) = (try world.child(), try world.child(), try world.child(), try world.child())
            for term in Terms.year(2025) {
                // One surname, each child's school naming a different mother.
                try Self.school(
                    world, a1, at: home, from: term.0, to: term.1, family: "Owen",
                    contact: ("Leah", "Williams", relationship: "Mother"))
                try Self.school(
                    world, a2, at: home, from: term.0, to: term.1, family: "Owen",
                    contact: ("Leanne", "Owen", relationship: "Mother"))
                // The same, but the children's surnames differ: two households behind one front door.
                try Self.school(
                    world, b1, at: flat, from: term.0, to: term.1, family: "Owen",
                    contact: ("Leah", "Williams", relationship: "Mother"))
                try Self.school(
                    world, b2, at: flat, from: term.0, to: term.1, family: "Jones",
                    contact: ("Kate", "Jones", relationship: "Mother"))
            }
            var settings = GroupingSettings()
            _ = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            #expect(try world.family(of: a1) == world.family(of: a2))
            #expect(try world.family(of: b1) != world.family(of: b2))
            let bases = try world.connection.query(
                "SELECT basis FROM family_links WHERE (member_a, member_b) IN (($1, $2), ($2, $1))", [a1, a2]
            ).map { try $0.decode(String.self, at: 0) }
            #expect(bases == ["same_address_one_surname"])
            // Switched off, the two mothers are two households.
            settings.differentCarersOneSurnameOneHousehold = false
            _ = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            #expect(try world.family(of: a1) != world.family(of: a2))
        }
    }

    @Test("a record with no postcode matched by premises and town links a child of the same surname, not another")
    func noPostcodeNeedsSurname() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let here = TestWorld.Address(line1: "58 Falcon Mews", postcode: "NR31 8GS", town: "Gorleston")
            let noPostcode = TestWorld.Address(line1: "58 Falcon Mews", postcode: nil, town: "Gorleston")
            let (a, b, c) = (try world.child(), try world.child(), try world.child())
            for term in Terms.year(2025) {
                try world.school(a, at: here, from: term.0, to: term.1, family: "Green")
                try world.school(b, at: noPostcode, from: term.0, to: term.1, family: "Johnson")
                try world.school(c, at: noPostcode, from: term.0, to: term.1, family: "Green-Wright")
            }
            var settings = GroupingSettings()
            _ = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            #expect(try world.family(of: a) == world.family(of: c))
            #expect(try world.family(of: a) != world.family(of: b))
            settings.noPostcodeAddressNeedsSurname = false
            _ = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            #expect(try world.family(of: a) == world.family(of: b))
        }
    }

    @Test("a crowded address gives no address-only link: surnames and carers, either side of each limit")
    func crowdedAddress() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            var settings = GroupingSettings()
            settings.maxSurnamesPerAddress = 4
            settings.maxCarersPerAddress = 2
            func children(
                _ surnames: [String], at address: TestWorld.Address, contacts: [(String, String, relationship: String)?]
            ) throws -> [String] {
                var out: [String] = []
                for (index, surname) in surnames.enumerated() {
                    let child = try world.child()
                    for term in Terms.year(2025) {
                        try Self.school(
                            world, child, at: address, from: term.0, to: term.1, family: surname,
                            contact: contacts[index])
                    }
                    out.append(child)
                }
                return out
            }
            // Four surnames (Smith-Jones shares a form with Smith): linked; five: not.
            let four = try children(
                ["Smith", "Smith-Jones", "Brown", "Green", "White"].dropLast().map { $0 }, at: Self.address(1),
                contacts: [nil, nil, nil, nil])
            let fourAndForm = try children(
                ["Smith", "Smith-Jones", "Brown", "Green", "White"], at: Self.address(2),
                contacts: [nil, nil, nil, nil, nil])
            let five = try children(
                ["Smith", "Jones", "Brown", "Green", "White"], at: Self.address(3), contacts: [nil, nil, nil, nil, nil])
            // Two carers named (a mother and a father): linked; three: not.
            let two = try children(
                ["Smith", "Smith", "Smith"], at: Self.address(4),
                contacts: [("Jane", "Smith", relationship: "Mother"), ("John", "Smith", relationship: "Father"), nil])
            let three = try children(
                ["Smith", "Smith", "Smith"], at: Self.address(5),
                contacts: [
                    ("Jane", "Smith", relationship: "Mother"), ("John", "Smith", relationship: "Father"),
                    ("Mary", "Smith", relationship: "Grandmother"),
                ])
            let report = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            func together(_ members: [String]) throws -> Bool {
                Set(try members.map { try world.family(of: $0) }).count == 1
            }
            func apart(_ members: [String]) throws -> Bool {
                Set(try members.map { try world.family(of: $0) }).count == members.count
            }
            #expect(try together(four))
            #expect(try together(fourAndForm))
            #expect(try apart(five))
            #expect(try together(two))
            #expect(try apart(three))
            #expect(report.crowdedAddresses == 2)
        }
    }

    @Test(
        "a school contact's phone number follows a family that moved: siblings at an old and a new address join; another number does not"
    )
    func contactPhone() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            func pupil(at address: TestWorld.Address, phone: String?) throws -> String {
                let child = try world.child()
                for term in Terms.year(2025) {
                    let id = try Self.school(
                        world, child, at: address, from: term.0, to: term.1, family: "Ward",
                        contact: ("Kate", "Ward", relationship: "Mother"))
                    if let phone {
                        try world.connection.execute(
                            "UPDATE source_records SET facts = facts || jsonb_build_object('extra.contact_phone', $2::text) WHERE id = $1",
                            [id, phone])
                    }
                }
                return child
            }
            // One school still has the old address for the older child.
            let older = try pupil(at: Self.address(1), phone: "07700 900123")
            let younger = try pupil(
                at: TestWorld.Address(line1: "4 Mill Road", postcode: "NR30 1AB"), phone: "+44 7700 900123")
            let stranger = try pupil(
                at: TestWorld.Address(line1: "9 Oak Row", postcode: "NR2 2AB"), phone: "07700900124")
            _ = try FamilyGrouper(connection: world.connection).regroup()
            #expect(try world.family(of: older) == world.family(of: younger))
            #expect(try world.family(of: older) != world.family(of: stranger))
            let basis = try world.connection.query("SELECT DISTINCT basis FROM family_links").map {
                try $0.decode(String.self, at: 0)
            }
            #expect(basis == ["carer_contact_phone"])
        }
        #expect(FamilyGrouper.phoneKey("+44 (0)7700-900123") == nil)  // 12 digits after the 44: not a number
        #expect(FamilyGrouper.phoneKey("0044 7700 900123") == "07700900123")
        #expect(FamilyGrouper.phoneKey("07700 900123") == "07700900123")
        #expect(FamilyGrouper.phoneKey("900123") == nil)
    }

    @Test(
        "a carer's name and date of birth given beside two NHS numbers is two people and links nobody; beside one it links"
    )
    func nameAndDOBOfTwoPeople() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            func mother(_ child: String, _ n: Int, nhs: String?, ni: String?, name: (String, String, String)) throws {
                try world.record(
                    child, kind: nhs == nil ? "fsm" : "health_visiting", address: Self.address(n), carerNHS: nhs,
                    carer: (name.0, name.1, name.2, ni),
                    facts: nhs == nil
                        ? #"{"eligible_from":"2025-01-06"}"# : #"{"review_type":"12_month","review_due":"2025-03-01"}"#)
            }
            // One Sarah Smith (one NHS number): her baby and the child of her meals claim are one family.
            let sarah = ("Sarah", "Smith", "1990-02-03")
            let (a, b) = (try world.child(), try world.child())
            try mother(a, 1, nhs: "9434765919", ni: nil, name: sarah)
            try mother(b, 2, nhs: nil, ni: "AB123456C", name: sarah)
            // Two Jane Browns born on one day, each with her own NHS number, and a meals claim naming one of them.
            let jane = ("Jane", "Brown", "1988-01-01")
            let (c, d, e) = (try world.child(), try world.child(), try world.child())
            try mother(c, 3, nhs: "9434765870", ni: nil, name: jane)
            try mother(d, 4, nhs: "9434765862", ni: nil, name: jane)
            try mother(e, 5, nhs: nil, ni: "CD654321A", name: jane)
            var settings = GroupingSettings()
            let report = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            #expect(report.nameDOBKeysOfTwoPeople == 1)
            #expect(try world.family(of: a) == world.family(of: b))
            #expect(Set(try [c, d, e].map { try world.family(of: $0) }).count == 3)
            settings.nameDOBWithTwoNumbersLinksNothing = false
            _ = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            #expect(Set(try [c, d, e].map { try world.family(of: $0) }).count == 1)
        }
        let off = try GroupingSettings.parse(
            path: "families.conf", text: "[grouping]\nversion = 1\nname_dob_with_two_numbers_links_nothing = false\n")
        #expect(!off.nameDOBWithTwoNumbersLinksNothing)
    }

    @Test(
        "a name and date of birth beside an NHS number on one child's records and an NI number on the other's links them only with an address or a surname in common"
    )
    func nameAndDOBAcrossNumbers() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            func mother(
                _ child: String, _ n: Int, nhs: String?, ni: String?, name: (String, String, String), surname: String,
                on day: String = "2025-03-01"
            ) throws {
                try world.record(
                    child, kind: nhs == nil ? "fsm" : "health_visiting", address: Self.address(n), carerNHS: nhs,
                    carer: (name.0, name.1, name.2, ni), family: surname,
                    facts: nhs == nil
                        ? #"{"eligible_from":"2025-01-06"}"# : #"{"review_type":"12_month","review_due":"\#(day)"}"#)
            }
            // The health visitor's Sarah Smith and a meals claimant Sarah Smith born the same day: no address,
            // no surname in common.
            let sarah = ("Sarah", "Smith", "1990-02-03")
            let (a, b) = (try world.child(), try world.child())
            try mother(a, 1, nhs: "9434765919", ni: nil, name: sarah, surname: "Brown")
            try mother(b, 2, nhs: nil, ni: "AB123456C", name: sarah, surname: "Jones")
            // The same at two addresses, the children of one surname.
            let kate = ("Kate", "Hill", "1991-03-04")
            let (c, d) = (try world.child(), try world.child())
            try mother(c, 3, nhs: "9434765870", ni: nil, name: kate, surname: "Brown")
            try mother(d, 4, nhs: nil, ni: "CD654321A", name: kate, surname: "Brown")
            // Two surnames, one address years apart (too far apart for the address alone to link them).
            let amy = ("Amy", "Cole", "1992-04-05")
            let (e, f) = (try world.child(), try world.child())
            try mother(e, 5, nhs: "9434765862", ni: nil, name: amy, surname: "Brown", on: "2020-03-01")
            try mother(f, 5, nhs: nil, ni: "EF123456B", name: amy, surname: "Jones")
            var settings = GroupingSettings()
            _ = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            #expect(try world.family(of: a) != world.family(of: b))
            #expect(try world.family(of: c) == world.family(of: d))
            #expect(try world.family(of: e) == world.family(of: f))
            let bases = try world.connection.query(
                "SELECT basis FROM family_links WHERE (member_a, member_b) IN (($1, $2), ($2, $1))", [e, f]
            ).map { try $0.decode(String.self, at: 0) }
            #expect(bases == ["carer_name_dob"])
            settings.nameDOBAcrossNumbersNeedsAddressOrSurname = false
            _ = try FamilyGrouper(connection: world.connection, settings: settings).regroup()
            #expect(try world.family(of: a) == world.family(of: b))
        }
    }

    @Test("carer-name rules in the settings file: read in order; a bad rule names its section")
    func rulesFile() throws {
        let settings = try GroupingSettings.parse(
            path: "families.conf",
            text:
                "[grouping]\nversion = 1\n[carer_name.b_rule]\nkinds = fsm, school_attendance\nwithin_years = 2\n[carer_name.a_rule]\nkinds = health_visiting, health_visiting\nwithin_years = 0\n"
        )
        #expect(settings.carerNameRules.map(\.name) == ["b_rule", "a_rule"])
        #expect(settings.carerNameRules.map(\.withinDays) == [730, 0])
        #expect(settings.carerNameRules[0].applies("school_attendance", "fsm"))
        #expect(!settings.carerNameRules[1].applies("health_visiting", "fsm"))
        #expect(
            try GroupingSettings.parse(path: "families.conf", text: "[grouping]\nversion = 1\n").carerNameRules.isEmpty)
        let one = #expect(throws: (any Error).self) {
            try GroupingSettings.parse(
                path: "families.conf", text: "[grouping]\nversion = 1\n[carer_name.x]\nkinds = fsm\nwithin_years = 2\n")
        }
        #expect(String(describing: one!).contains("carer_name.x.kinds"))
        let years = #expect(throws: (any Error).self) {
            try GroupingSettings.parse(
                path: "families.conf", text: "[grouping]\nversion = 1\n[carer_name.x]\nkinds = fsm, fsm\n")
        }
        #expect(String(describing: years!).contains("carer_name.x.within_years"))
        let guardValue = #expect(throws: (any Error).self) {
            try GroupingSettings.parse(
                path: "families.conf", text: "[grouping]\nversion = 1\ndifferent_carer_ends_household = maybe\n")
        }
        #expect(String(describing: guardValue!).contains("different_carer_ends_household"))
    }
}
