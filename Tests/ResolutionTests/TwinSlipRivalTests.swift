import Testing

@testable import Resolution

/// Twins Alfie and Alfred at one home, born the same day (100k harsh seed 3). Health visiting holds
/// Alfred's 6–8 week review beside his twin's, written "Alfir" (a slip of Alfie), so two children of
/// that date are known; Alfie's new-birth review has no NHS number. The nickname join of Alfie and
/// Alfred outweighed the slip's join by a tenth of a bit, and made one child of the twins.
@Suite("A slip of a twin's name makes a nickname join a guess")
struct TwinSlipRivalTests {
    static func review(_ id: Int64, given: String, nhs: UInt64, review: UInt64) -> MatchRecord {
        MatchRecord(
            id: id, kind: 0, nhs: nhs, upn: 0, given: NameKey(given), preferredGiven: nil, family: NameKey("Smith"),
            preferredFamily: nil, dob: 20260308, approximateAge: -1, ageYear: 0, sex: 0,
            postcode: PostcodeKey("NR2 6WA"), addressKey: 23, carerNHS: 7_595_057_310, sideBySideKey: review)
    }

    /// Alfred and "Alfir" in one 6–8 week review (0xB); Alfie's new-birth review (0xA); Alfred's
    /// new-birth review (0xC), under his own name.
    static let records = [
        review(1, given: "Alfred", nhs: 0, review: 0xB),
        review(2, given: "Alfie", nhs: 0, review: 0xA),
        review(3, given: "Alfir", nhs: 4_494_659_339, review: 0xB),
        review(4, given: "Alfred", nhs: 0, review: 0xC),
    ]

    /// Alfie and Alfir are names in use; Alfir is a slip of Alfie.
    static var frequencies: NameFrequencies {
        var frequencies = NameFrequencies()
        for (name, count) in ["Alfie": 40, "Alfred": 30, "Alfir": 1] {
            frequencies.given[NameKey(name)!.fingerprint] = count
        }
        return frequencies
    }

    /// The weights of the run: the nickname join first, then the slip's, then the side-by-side pair.
    static func clustered(_ links: [(Int, Int, Double)]) -> Clusterer {
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard, frequencies: frequencies)
        clusterer.apply(links.map { Link(a: $0.0, b: $0.1, method: .probabilistic, weight: $0.2, vector: nil) })
        return clusterer
    }

    @Test("Alfie is not joined to Alfred by the nickname while the twin's slip could be Alfie's")
    func nicknameJoinRefused() {
        var clusterer = Self.clustered([(1, 0, 49.93), (1, 2, 49.83), (0, 2, 41.73)])
        let roots = clusterer.roots()
        #expect(roots[1] != roots[0])
        #expect(roots[2] != roots[0])
        #expect(clusterer.refused.contains { $0.link.a == 1 && $0.link.b == 0 && $0.reason == .twins })
    }

    @Test("a slip of the twin's name does not hold back a join by the same name")
    func exactJoinStands() {
        var clusterer = Self.clustered([(3, 0, 50.5), (1, 2, 49.83), (0, 2, 41.73)])
        let roots = clusterer.roots()
        #expect(roots[3] == roots[0])
        #expect(roots[2] != roots[0])
    }
}
