import Testing

@testable import Resolution

/// Twins Thomas and Tommy: Tommy is on a school's roll; Thomas is known only to the police. One
/// incident names both, Thomas with his date of birth and Tommy with only an age. The police
/// "Thomas" fits the school's Tommy by a nickname, the incident's "Tommy" fits him exactly: the
/// school's child is the incident's Tommy, and Thomas is his twin.
@Suite("A report's other child who fits better")
struct ReportCompanionTests {
    static let incident: UInt64 = 0x1C1D

    static func school(_ id: Int64) -> MatchRecord {
        MatchRecord(
            id: id, kind: 1, nhs: 0, upn: 0x5C4001, given: NameKey("Tommy"), preferredGiven: nil,
            family: NameKey("Barnett"), preferredFamily: nil, dob: 20121031, approximateAge: -1, ageYear: 0, sex: 2,
            postcode: PostcodeKey("NR32 4WU"), addressKey: 21, carerNHS: 0)
    }

    static func police(_ id: Int64, given: String, dob: UInt32 = 0, age: Int16 = -1) -> MatchRecord {
        MatchRecord(
            id: id, kind: 3, nhs: 0, upn: 0, given: NameKey(given), preferredGiven: nil, family: NameKey("Barnett"),
            preferredFamily: nil, dob: dob, approximateAge: age, ageYear: age >= 0 ? 2026 : 0, sex: 0,
            postcode: PostcodeKey("NR32 4WU"), addressKey: 1, carerNHS: 0, sideBySideKey: incident)
    }

    /// The school's two rows (joined by their UPN), the police "Thomas" with the twins' date of
    /// birth, and the incident's other child.
    static func clustered(companion: MatchRecord) -> Clusterer {
        let records = [school(1), school(2), police(3, given: "Thomas", dob: 20121031), companion]
        // Tommy is a common name, so Tojmy is a slip of it.
        var frequencies = NameFrequencies(records: records)
        frequencies.given[NameKey("Tommy")!.fingerprint] = 40
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard, frequencies: frequencies)
        clusterer.apply([
            Link(a: 0, b: 1, method: .upn, weight: 60, vector: nil),
            Link(a: 0, b: 2, method: .probabilistic, weight: 31, vector: nil),
        ])
        return clusterer
    }

    /// Whether the police "Thomas" joined the school's Tommy, and the reasons of the refused links.
    static func thomasJoins(companion: MatchRecord) -> (joined: Bool, refused: [LinkRefusal]) {
        var clusterer = clustered(companion: companion)
        let roots = clusterer.roots()
        #expect(roots[0] == roots[1])
        return (roots[2] == roots[0], clusterer.refused.map(\.reason))
    }

    @Test(
        "another child of the incident who fits the school's Tommy makes Thomas's join a guess",
        arguments: [
            Self.police(4, given: "Tommy", age: 13),  // the same name, an age that fits
            Self.police(4, given: "Tojmy", dob: 20121031),  // a slip of the name, the same date
        ])
    func companionFits(_ companion: MatchRecord) {
        let outcome = Self.thomasJoins(companion: companion)
        #expect(!outcome.joined)
        #expect(outcome.refused == [.anotherChildOfTheReport])
    }

    @Test(
        "another child of the incident who cannot be the school's Tommy says nothing: Thomas joins",
        arguments: [
            Self.police(4, given: "Sophie", age: 13),  // another name
            Self.police(4, given: "Tommy", age: 6),  // an age that cannot be his
        ])
    func companionDoesNotFit(_ companion: MatchRecord) {
        let outcome = Self.thomasJoins(companion: companion)
        #expect(outcome.joined)
        #expect(outcome.refused.isEmpty)
    }

    @Test("a companion with a home of its own (the twin Oliver's health records) does not hold the typo back")
    func companionWithAHome() {
        // Twins Oliver and Ollie, each with a health record under his NHS number; one incident names
        // "Oliver" and "Ollei".
        func health(_ id: Int64, _ given: String) -> MatchRecord {
            MatchRecord(
                id: id, kind: 0, nhs: UInt64(id), upn: 0, given: NameKey(given), preferredGiven: nil,
                family: NameKey("Thomas"),
                preferredFamily: nil, dob: 20250502, approximateAge: -1, ageYear: 0, sex: 2,
                postcode: PostcodeKey("NR1 6AB"), addressKey: 80, carerNHS: 0)
        }
        func police(_ id: Int64, _ given: String) -> MatchRecord {
            MatchRecord(
                id: id, kind: 3, nhs: 0, upn: 0, given: NameKey(given), preferredGiven: nil, family: NameKey("Thomas"),
                preferredFamily: nil, dob: 20250502, approximateAge: -1, ageYear: 0, sex: 0,
                postcode: PostcodeKey("NR1 6AB"), addressKey: 81, carerNHS: 0, sideBySideKey: Self.incident)
        }
        let records = [health(1, "Oliver"), health(2, "Ollie"), police(3, "Oliver"), police(4, "Ollei")]
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard)
        // The typo's link comes first (as by weight it may): the incident's Oliver fits Ollie by a
        // nickname, but fits the twin Oliver's record exactly.
        clusterer.apply([
            Link(a: 1, b: 3, method: .probabilistic, weight: 30, vector: nil),
            Link(a: 0, b: 2, method: .probabilistic, weight: 29, vector: nil),
        ])
        let roots = clusterer.roots()
        #expect(roots[1] == roots[3])
        #expect(roots[0] == roots[2])
        #expect(roots[0] != roots[1])
    }

    @Test("a record joining by the same name is not held back by a companion")
    func exactJoinUnaffected() {
        let records = [
            Self.school(1), Self.school(2), Self.police(3, given: "Tommy", dob: 20121031),
            Self.police(4, given: "Tommy", age: 13),
        ]
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard)
        clusterer.apply([
            Link(a: 0, b: 1, method: .upn, weight: 60, vector: nil),
            Link(a: 0, b: 2, method: .probabilistic, weight: 31, vector: nil),
        ])
        let roots = clusterer.roots()
        #expect(roots[2] == roots[0])
    }
}

/// Twins Oliver and Ollie (Ollie goes by Oliver at school), each on the roll under his own UPN: two
/// children of one date are known in the home. A police row naming "Ollie" with only an age may be
/// either twin's, so it does not join Oliver by the nickname.
@Suite("Police ages in a home with known twins")
struct AgedRecordTwinTests {
    static func pupil(_ id: Int64, given: String, preferred: String?, upn: UInt64) -> MatchRecord {
        MatchRecord(
            id: id, kind: 1, nhs: 0, upn: upn, given: NameKey(given), preferredGiven: preferred.flatMap { NameKey($0) },
            family: NameKey("Walker"), preferredFamily: nil, dob: 20161017, approximateAge: -1, ageYear: 0, sex: 2,
            postcode: PostcodeKey("NR17 8UA"), addressKey: 60, carerNHS: 0)
    }

    static let policeOllie = MatchRecord(
        id: 9, kind: 3, nhs: 0, upn: 0, given: NameKey("Ollie"), preferredGiven: nil, family: NameKey("Walker"),
        preferredFamily: nil, dob: 0, approximateAge: 8, ageYear: 2026, sex: 0, postcode: PostcodeKey("NR17 8UA"),
        addressKey: 61, carerNHS: 0, sideBySideKey: 0x1D)

    static func joinPoliceToOliver(_ records: [MatchRecord]) -> Clusterer {
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard)
        clusterer.apply([Link(a: 0, b: records.count - 1, method: .probabilistic, weight: 20, vector: nil)])
        return clusterer
    }

    @Test("with the twin Ollie known, a police \"Ollie\" with only an age joins neither by a nickname")
    func agedRowInTwinHome() {
        let records = [
            Self.pupil(1, given: "Oliver", preferred: nil, upn: 0xA1),
            Self.pupil(2, given: "Ollie", preferred: "Oliver", upn: 0xB2),
            Self.policeOllie,
        ]
        var clusterer = Self.joinPoliceToOliver(records)
        let roots = clusterer.roots()
        #expect(roots[2] != roots[0])
        #expect(clusterer.refused.map(\.reason) == [.twins])
    }

    @Test("with no second child of that date known, the police \"Ollie\" joins Oliver")
    func agedRowWithoutKnownTwin() {
        var clusterer = Self.joinPoliceToOliver([
            Self.pupil(1, given: "Oliver", preferred: nil, upn: 0xA1), Self.policeOllie,
        ])
        let roots = clusterer.roots()
        #expect(roots[1] == roots[0])
        #expect(clusterer.refused.isEmpty)
    }
}

/// Twins Louis (known as Lou, no UPN) and Louie, each named with his date of birth in one incident,
/// so each is a child of his own. A later police "Louis" and another incident's "Louie" aged 8 fit
/// each other by a nickname, but each fits one twin exactly: they are the two twins' records.
@Suite("Each side fits another twin")
struct EachSideFitsAnotherTwinTests {
    static func record(
        _ id: Int64, _ given: String, kind: UInt8, dob: UInt32 = 20181028, age: Int16 = -1, incident: UInt64 = 0
    )
        -> MatchRecord
    {
        MatchRecord(
            id: id, kind: kind, nhs: 0, upn: 0, given: NameKey(given), preferredGiven: nil, family: NameKey("Martin"),
            preferredFamily: nil, dob: dob, approximateAge: age, ageYear: age >= 0 ? 2026 : 0, sex: 2,
            postcode: PostcodeKey("NR17 1UZ"), addressKey: 29, carerNHS: 0, sideBySideKey: incident)
    }

    /// The twins' records; `namedTogether`: the first two are police rows of one incident (two
    /// children), else two police rows of two incidents.
    static func twins(namedTogether: Bool) -> [MatchRecord] {
        [
            record(1, "Louis", kind: 3, incident: 0xA),
            record(2, "Louie", kind: 3, incident: namedTogether ? 0xA : 0xD),
            record(3, "Louis", kind: 1), record(4, "Louie", kind: 1),
        ]
    }

    static let later = [record(5, "Louis", kind: 3, incident: 0xB), record(6, "Louie", kind: 3, age: 8, incident: 0xC)]

    static func joins(namedTogether: Bool) -> Bool {
        var clusterer = Clusterer(records: twins(namedTogether: namedTogether) + later, apart: [], nicknames: .standard)
        clusterer.apply([
            Link(a: 0, b: 2, method: .probabilistic, weight: 40, vector: nil),
            Link(a: 1, b: 3, method: .probabilistic, weight: 39, vector: nil),
            Link(a: 4, b: 5, method: .probabilistic, weight: 20, vector: nil),
        ])
        let roots = clusterer.roots()
        return roots[4] == roots[5]
    }

    @Test("a police Louis and an incident's Louie aged 8 stay apart: each fits one twin exactly")
    func eachFitsOneTwin() {
        #expect(!Self.joins(namedTogether: true))
    }

    @Test("with nothing saying Louis and Louie are two children, the nickname joins them")
    func noTwinsKnown() {
        #expect(Self.joins(namedTogether: false))
    }
}

/// Twins Harrison (known as Harry at school) and Harry, known only to the police. One incident names
/// "Harry" with the twins' date of birth and a "Harriison" aged 16: the "Harry" fits Harrison only
/// by the name he goes by, the "Harriison" fits his legal name, so the "Harry" may be the other twin.
@Suite("A report's other child against a preferred name")
struct PreferredNameCompanionTests {
    static func record(
        _ id: Int64, _ given: String, preferred: String? = nil, kind: UInt8, age: Int16 = -1, upn: UInt64 = 0
    )
        -> MatchRecord
    {
        MatchRecord(
            id: id, kind: kind, nhs: 0, upn: upn, given: NameKey(given),
            preferredGiven: preferred.flatMap { NameKey($0) },
            family: NameKey("Hall"), preferredFamily: nil, dob: age >= 0 ? 0 : 20100305, approximateAge: age,
            ageYear: age >= 0 ? 2026 : 0, sex: 2, postcode: PostcodeKey("NR2 1AB"), addressKey: 146, carerNHS: 0,
            sideBySideKey: kind == 3 ? 0x835 : 0)
    }

    static func harryJoins(companion: MatchRecord) -> Bool {
        let records = [
            record(1, "Harrison", preferred: "Harry", kind: 1, upn: 0x48),
            record(2, "Harrison", preferred: "Harry", kind: 1, upn: 0x48),
            record(3, "Harry", kind: 3), companion,
        ]
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard)
        clusterer.apply([
            Link(a: 0, b: 1, method: .upn, weight: 60, vector: nil),
            Link(a: 0, b: 2, method: .probabilistic, weight: 35, vector: nil),
        ])
        let roots = clusterer.roots()
        return roots[2] == roots[0]
    }

    @Test("a Harriison of the twins' age in the same incident keeps the police Harry out of Harrison")
    func legalNameCompanion() {
        #expect(!Self.harryJoins(companion: Self.record(4, "Harriison", kind: 3, age: 16)))
    }

    @Test("a companion that fits neither name (Sophie, 16) leaves the Harry to join Harrison")
    func unrelatedCompanion() {
        #expect(Self.harryJoins(companion: Self.record(4, "Sophie", kind: 3, age: 16)))
    }
}
