import Testing

@testable import Resolution

/// Twins Oliver (known as Olly, with a UPN) and Ollie (no UPN), born the same day (100k harsh seed 5).
/// The family moved: Oliver's autumn-term row is at the old address, beside Ollie's row of the same
/// term, so two children of that date are known there. A meals claim at the new address names
/// "Ollie". It met Oliver's new-address row first, where no twin is known, and the twin rule read
/// only that pair's households: the claim's Ollie joined Oliver by the nickname.
@Suite("A twin known at a child's other home counts")
struct TwinKnownAtAnotherHomeTests {
    static let newHome: UInt64 = 101
    static let oldHome: UInt64 = 202

    static func row(
        _ id: Int64, kind: UInt8, given: String, preferred: String?, upn: UInt64, home: UInt64, term: UInt64
    ) -> MatchRecord {
        MatchRecord(
            id: id, kind: kind, nhs: 0, upn: upn, given: NameKey(given),
            preferredGiven: preferred.flatMap { NameKey($0) },
            family: NameKey("Cross"), preferredFamily: nil, dob: 20130516, approximateAge: -1, ageYear: 0, sex: 0,
            postcode: PostcodeKey(home == newHome ? "IP24 0YF" : "IP25 8TN"), addressKey: home, carerNHS: 0,
            sideBySideKey: term)
    }

    /// Oliver's rows at the new home (spring term) and the old (autumn term), the twin Ollie's autumn
    /// row beside his, and the meals claim's Ollie and Oliver at the new home.
    static func records(twinInTheSameTerm: Bool) -> [MatchRecord] {
        [
            row(1, kind: 1, given: "Oliver", preferred: "Olly", upn: 926_239_217_022, home: newHome, term: 0xA),
            row(2, kind: 1, given: "Oliver", preferred: "Olly", upn: 926_239_217_022, home: oldHome, term: 0xB),
            row(
                3, kind: 1, given: "Ollie", preferred: "Ollie", upn: 0, home: oldHome,
                term: twinInTheSameTerm ? 0xB : 0xC),
            row(4, kind: 2, given: "Ollie", preferred: nil, upn: 0, home: newHome, term: 0),
            row(5, kind: 2, given: "Oliver", preferred: nil, upn: 0, home: newHome, term: 0),
        ]
    }

    static func clustered(twinInTheSameTerm: Bool) -> Clusterer {
        var clusterer = Clusterer(
            records: records(twinInTheSameTerm: twinInTheSameTerm), apart: [], nicknames: .standard)
        clusterer.apply([
            Link(a: 0, b: 1, method: .upn, weight: 30, vector: nil),
            Link(a: 4, b: 0, method: .probabilistic, weight: 45, vector: nil),
            Link(a: 3, b: 0, method: .probabilistic, weight: 40, vector: nil),
            Link(a: 3, b: 2, method: .probabilistic, weight: 30, vector: nil),
        ])
        return clusterer
    }

    @Test("the claim's Ollie does not join Oliver when the twin is known at the old home")
    func twinAtTheOldHomeKeepsTheClaimApart() {
        var clusterer = Self.clustered(twinInTheSameTerm: true)
        let roots = clusterer.roots()
        #expect(roots[3] != roots[0])
        #expect(roots[2] != roots[0])
        #expect(clusterer.refused.contains { $0.link.a == 3 && $0.link.b == 0 && $0.reason == .twins })
    }

    @Test("with no second child of that date known, the nickname join stands")
    func noKnownTwinJoins() {
        var clusterer = Self.clustered(twinInTheSameTerm: false)
        let roots = clusterer.roots()
        #expect(roots[3] == roots[0])
    }
}
