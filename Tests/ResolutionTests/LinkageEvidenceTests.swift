import Testing

@testable import Resolution

/// Rules added to reach recall ≥ 0.998 without merging twins (issue 12): ambiguous records stay
/// apart, ages are compared with ages, typos meet their names in blocking, and a police incident
/// vouches for the children it names together.
@Suite("Linkage evidence")
struct LinkageEvidenceTests {
    func record(
        _ id: Int64, upn: UInt64 = 0, given: String, preferred: String? = nil, family: String = "Brooks",
        dob: UInt32 = 20200716, age: Int16 = -1, ageYear: Int16 = 0, postcode: String = "NR31 1NS",
        address: UInt64 = 7, sideBySide: UInt64 = 0
    ) -> MatchRecord {
        MatchRecord(
            id: id, kind: 0, nhs: 0, upn: upn, given: NameKey(given), preferredGiven: preferred.flatMap { NameKey($0) },
            family: NameKey(family), preferredFamily: nil, dob: dob, approximateAge: age, ageYear: ageYear, sex: 0,
            postcode: PostcodeKey(postcode), addressKey: address, carerNHS: 0, sideBySideKey: sideBySide)
    }

    @Test("a record that fits two known twins equally well joins neither (Mo, when both twins go by Mo)")
    func ambiguousBetweenTwins() {
        let records = [
            record(1, upn: 0x1003, given: "Muhammad", preferred: "Mo"),  // school: one twin
            record(2, upn: 0x1004, given: "Mohammed", preferred: "Mo"),  // school: the other
            record(3, given: "Mo"),  // a meals claim naming one of them
        ]
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard, frequencies: NameFrequencies())
        clusterer.apply([
            Link(a: 0, b: 2, method: .probabilistic, weight: 30, vector: nil),
            Link(a: 1, b: 2, method: .probabilistic, weight: 29, vector: nil),
        ])
        let roots = clusterer.roots()
        #expect(Set(roots).count == 3)
        #expect(clusterer.refused.map(\.reason) == [.twins, .twins])
    }

    @Test("a record fits the twin whose legal name it carries better than the twin known by that name at school")
    func legalNameFitsBetter() {
        let records = [
            record(1, upn: 0x5012, given: "Ollie", preferred: "Oliver"),  // school: one twin
            record(2, upn: 0x5011, given: "Oliver", preferred: "Ollie"),  // school: the other
            record(3, given: "Oliver"),  // a meals claim
        ]
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard, frequencies: NameFrequencies())
        clusterer.apply([
            Link(a: 0, b: 2, method: .probabilistic, weight: 30, vector: nil),  // by the preferred name: refused
            Link(a: 1, b: 2, method: .probabilistic, weight: 29, vector: nil),  // by the legal name
        ])
        let roots = clusterer.roots()
        #expect(roots[1] == roots[2] && roots[0] != roots[2])
    }

    @Test("a record that fits one known twin better joins that twin")
    func fitsOneTwin() {
        let records = [
            record(1, upn: 0x4011, given: "Olivia"), record(2, upn: 0x4010, given: "Amelia"), record(3, given: "Olivia"),
        ]
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard, frequencies: NameFrequencies())
        clusterer.apply([
            Link(a: 0, b: 2, method: .probabilistic, weight: 30, vector: nil),
            Link(a: 1, b: 2, method: .probabilistic, weight: 29, vector: nil),
        ])
        let roots = clusterer.roots()
        #expect(roots[0] == roots[2] && roots[1] != roots[2])
    }

    @Test("two approximate ages are compared: a child of 0 and one of 3 in one year are two children")
    func agesAgainstAges() {
        let comparer = RecordComparer()
        let baby = record(1, given: "Albie", dob: 0, age: 0, ageYear: 2026)
        let older = record(2, given: "Albie", dob: 0, age: 3, ageYear: 2026)
        let sameNextYear = record(3, given: "Albie", dob: 0, age: 4, ageYear: 2027)
        #expect(comparer.dateLevel(baby, older) == 6)
        #expect(comparer.dateLevel(older, sameNextYear) == 5)
        #expect(comparer.dateLevel(baby, record(4, given: "Albie", dob: 0)) == 7)  // no age: no evidence
    }

    @Test("a first-name typo with no date of birth still meets the name in blocking (Tommu, Tommy)")
    func typoMeetsName() {
        let records = [
            record(1, given: "Tommy", family: "Walker", dob: 20200502),
            record(2, given: "Tommu", family: "Walker", dob: 0, age: 5, ageYear: 2026),
        ]
        let pairs = CandidatePairs(records: records, rules: BlockingRule.allCases, nicknames: .standard, maxBlock: 1_000)
        #expect(pairs.packed == [0 << 32 | 1])
    }

    @Test("a police incident vouches for the two children it names, where their old home is one; alone, an age elsewhere is not linked")
    func incidentVouches() {
        let school = [
            record(1, upn: 0x7004, given: "Mateo", family: "Lambert", dob: 20130802, address: 7),
            record(2, given: "Skye", family: "Lambert", dob: 20151112, address: 7),
        ]
        let police = [
            record(3, given: "Mateo", family: "Lambert", dob: 0, age: 13, ageYear: 2026, postcode: "NR11 8SY", address: 9, sideBySide: 55),
            record(4, given: "Skye", family: "Lambert", dob: 0, age: 11, ageYear: 2026, postcode: "NR11 8SY", address: 9, sideBySide: 55),
            record(5, given: "Harry", family: "Hunter", dob: 0, age: 12, ageYear: 2026, postcode: "PE32 5ET", address: 11, sideBySide: 56),
            record(6, given: "Harry", family: "Hunter", dob: 20130522, address: 12),
        ]
        let records = school + police
        func heldBack(_ a: Int, _ b: Int) -> ReviewCandidate {
            // Same names, an age consistent with the date of birth, another address.
            ReviewCandidate(a: a, b: b, weight: 20, vector: ComparisonVector(levels: [0, 0, 5, 2, 4, 2]), reason: Linkage.approximateAgeElsewhere)
        }
        let review = [heldBack(0, 2), heldBack(1, 3), heldBack(4, 5)]
        let links = Linkage.vouchedForByTheReport(review, records: records, roots: Array(records.indices))
        #expect(Set(links.map { Linkage.key($0.a, $0.b) }) == [Linkage.key(0, 2), Linkage.key(1, 3)])
        // The links say which rule made them and which companion in the incident vouched: the police
        // Skye (record index 3) for Mateo, whose school Skye shares Mateo's home, and the police Mateo for Skye.
        #expect(links.allSatisfy { $0.method == .vouchedByIncident })
        #expect(links.first { Linkage.key($0.a, $0.b) == Linkage.key(0, 2) }?.vouchedBy == 3)
        #expect(links.first { Linkage.key($0.a, $0.b) == Linkage.key(1, 3) }?.vouchedBy == 2)
        // A second Skye Lambert of that age elsewhere: the incident no longer says which.
        let otherSkye = record(7, given: "Skye", family: "Lambert", dob: 20151201, address: 8)
        let twoSkyes = records + [otherSkye, record(8, given: "Mateo", family: "Lambert", dob: 20130901, address: 8)]
        let ambiguous = review + [heldBack(6, 3), heldBack(7, 2)]
        let vouched = Linkage.vouchedForByTheReport(ambiguous, records: twoSkyes, roots: Array(twoSkyes.indices))
        #expect(vouched.isEmpty)
    }
}
