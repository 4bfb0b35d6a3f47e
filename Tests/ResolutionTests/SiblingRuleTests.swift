import Testing

@testable import Resolution

/// Sisters at one address (100k harsh seed 3): a meals claim names "Tilly", born 2023; health
/// visiting has the newborn Matilda, born 2026. Surname, address and a nickname gave 26 bits with a
/// year that differs by one digit, and the two sisters became one child.
@Suite("Siblings who share only a home stay apart")
struct SiblingRuleTests {
    static func record(
        _ id: Int64, kind: UInt8, given: String, preferred: String? = nil, dob: UInt32, nhs: UInt64 = 0
    ) -> MatchRecord {
        MatchRecord(
            id: id, kind: kind, nhs: nhs, upn: 0, given: NameKey(given),
            preferredGiven: preferred.flatMap { NameKey($0) },
            family: NameKey("Burgess"), preferredFamily: nil, dob: dob, approximateAge: -1, ageYear: 0, sex: 0,
            postcode: PostcodeKey("NR4 3DB"), addressKey: 41, carerNHS: 0)
    }

    static let claim = record(1, kind: 2, given: "Tilly", dob: 20230801)
    static let newborn = record(2, kind: 0, given: "Matilda", dob: 20260801, nhs: 4_730_621_441)

    static func clustered(_ records: [MatchRecord], _ links: [(Int, Int, Double)]) -> Clusterer {
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard)
        clusterer.apply(links.map { Link(a: $0.0, b: $0.1, method: .probabilistic, weight: $0.2, vector: nil) })
        return clusterer
    }

    @Test("a nickname and a date of another year at one address do not join two children")
    func formAndOtherYearRefused() {
        var clusterer = Self.clustered([Self.claim, Self.newborn], [(0, 1, 26.32)])
        let roots = clusterer.roots()
        #expect(roots[0] != roots[1])
        #expect(clusterer.refused.map(\.reason) == [.possibleSiblings])
        #expect(Clusterer.looksLikeSiblings(Self.claim, Self.newborn, .standard))
    }

    @Test("the same date of birth, or the name written the same, lets the link through")
    func oneAgreementSuffices() {
        let sameDay = Self.record(1, kind: 2, given: "Tilly", dob: 20260801)
        var byDate = Self.clustered([sameDay, Self.newborn], [(0, 1, 30)])
        #expect(byDate.roots()[0] == byDate.roots()[1])
        #expect(!Clusterer.looksLikeSiblings(sameDay, Self.newborn, .standard))

        // Matilda's school row gives the name she goes by, as the claim writes it: the year is the slip.
        let school = Self.record(3, kind: 1, given: "Matilda", preferred: "Tilly", dob: 20260801)
        var byName = Self.clustered([Self.claim, Self.newborn, school], [(1, 2, 40), (0, 1, 26.32)])
        let roots = byName.roots()
        #expect(roots[0] == roots[1])
        #expect(roots[2] == roots[1])
    }

    @Test("dates closer than two births are one child's slip: a day/month swap within the year joins")
    func swapWithinTheYearJoins() {
        let swapped = Self.record(1, kind: 2, given: "Tilly", dob: 20260108)
        var clusterer = Self.clustered([swapped, Self.newborn], [(0, 1, 22)])
        #expect(clusterer.roots()[0] == clusterer.roots()[1])
        #expect(!Clusterer.couldBeSiblings(20260108, 20260801))
        #expect(Clusterer.couldBeSiblings(20250901, 20260601))
    }

    @Test(
        "a slip of the date within the year is one child's, however many months it moves",
        arguments: [
            (20261201, 20260112),  // day and month swapped, eleven months apart
            (20261101, 20260101),  // one digit of the month wrong, ten months apart
        ] as [(UInt32, UInt32)])
    func slipWithinTheYearJoins(_ dates: (UInt32, UInt32)) {
        let claim = Self.record(1, kind: 2, given: "Tilly", dob: dates.0)
        let newborn = Self.record(2, kind: 0, given: "Matilda", dob: dates.1, nhs: 4_730_621_441)
        var clusterer = Self.clustered([claim, newborn], [(0, 1, 22)])
        #expect(clusterer.roots()[0] == clusterer.roots()[1])
        #expect(clusterer.refused.isEmpty)
        #expect(!Clusterer.couldBeSiblings(dates.0, dates.1))
        #expect(!Clusterer.looksLikeSiblings(claim, newborn, .standard))
    }

    @Test("a year one digit apart on the same day and month stays two births (sisters born on one day of the year)")
    func yearOneDigitApartStaysApart() {
        #expect(Clusterer.couldBeSiblings(20230801, 20260801))
        #expect(Clusterer.couldBeSiblings(20190315, 20180315))
    }

    @Test("an identifier still joins them: the rule answers only the model's links")
    func identifierJoins() {
        var clusterer = Clusterer(records: [Self.claim, Self.newborn], apart: [], nicknames: .standard)
        clusterer.apply([Link(a: 0, b: 1, method: .nhsNumber, weight: 26.32, vector: nil)])
        #expect(clusterer.roots()[0] == clusterer.roots()[1])
    }
}
