import Testing

@testable import Resolution

/// Twins at one school without UPNs: Freddie, and Frederick known as Freddie. School rows carry the
/// registered legal name, so Freddie's rows of two terms are one child, Frederick's another.
@Suite("Twins told apart by registered names")
struct RegisteredNameTwinTests {
    static func pupil(_ id: Int64, given: String, term: UInt64, kind: UInt8 = 1) -> MatchRecord {
        MatchRecord(
            id: id, kind: kind, nhs: 0, upn: 0, given: NameKey(given), preferredGiven: NameKey("Freddie"),
            family: NameKey("Shaw"), preferredFamily: nil, dob: 20200112, approximateAge: -1, ageYear: 0, sex: 0,
            postcode: PostcodeKey("NR4 5EW"), addressKey: 17, carerNHS: 0, sideBySideKey: term)
    }

    /// Term A and term B: each twin once a term (two rows of one term are two children).
    static let records = [
        pupil(1, given: "Freddie", term: 0xA), pupil(2, given: "Frederick", term: 0xA),
        pupil(3, given: "Freddie", term: 0xB), pupil(4, given: "Frederick", term: 0xB),
    ]

    static func clustered(_ links: [(Int, Int)], records: [MatchRecord] = records) -> Clusterer {
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard)
        clusterer.apply(
            links.enumerated().map {
                Link(a: $1.0, b: $1.1, method: .probabilistic, weight: 40 - Double($0), vector: nil)
            })
        return clusterer
    }

    @Test("each twin's rows of two terms join under its registered name; the crossed links are refused")
    func registeredNamesJoin() {
        var clusterer = Self.clustered([(0, 2), (1, 3), (0, 3), (1, 2)])
        let roots = clusterer.roots()
        #expect(roots[0] == roots[2])
        #expect(roots[1] == roots[3])
        #expect(roots[0] != roots[1])
    }

    @Test("a join of two different registered names, fitting only by the preferred name, is still refused as twins")
    func preferredNameAloneStaysAmbiguous() {
        let clusterer = Self.clustered([(0, 3)])
        #expect(clusterer.refused.map(\.reason) == [.twins])
    }

    @Test("names as told (meals claims) do not settle it: a claim's Freddie may be either twin's")
    func namesAsToldDoNotDecide() {
        // Term B's rows are meals claims: a claim may name Frederick by the name he goes by.
        let records = [
            Self.records[0], Self.records[1], Self.pupil(3, given: "Freddie", term: 0xB, kind: 2),
            Self.pupil(4, given: "Frederick", term: 0xB, kind: 2),
        ]
        let clusterer = Self.clustered([(0, 2)], records: records)
        #expect(clusterer.refused.map(\.reason) == [.twins])
    }
}
