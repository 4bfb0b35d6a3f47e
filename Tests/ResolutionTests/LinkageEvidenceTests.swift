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
        address: UInt64 = 7, sideBySide: UInt64 = 0, period: UInt64 = 0, kind: UInt8 = 0
    ) -> MatchRecord {
        MatchRecord(
            id: id, kind: kind, nhs: 0, upn: upn, given: NameKey(given),
            preferredGiven: preferred.flatMap { NameKey($0) },
            family: NameKey(family), preferredFamily: nil, dob: dob, approximateAge: age, ageYear: ageYear, sex: 0,
            postcode: PostcodeKey(postcode), addressKey: address, carerNHS: 0, sideBySideKey: sideBySide,
            periodKey: period)
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

    @Test("a claim's name that is one twin's legal name and the other's preferred name joins neither twin")
    func crossedNamesJoinNeitherTwin() {
        let records = [
            record(1, upn: 0x5012, given: "Ollie", preferred: "Oliver"),  // school: one twin
            record(2, upn: 0x5011, given: "Oliver", preferred: "Ollie"),  // school: the other
            record(3, given: "Oliver", kind: 2),  // a meals claim: either twin's preferred or legal name
        ]
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard, frequencies: NameFrequencies())
        clusterer.apply([
            Link(a: 0, b: 2, method: .probabilistic, weight: 30, vector: nil),  // by the preferred name
            Link(a: 1, b: 2, method: .probabilistic, weight: 29, vector: nil),  // by the legal name
        ])
        let roots = clusterer.roots()
        #expect(Set(roots).count == 3)
        #expect(clusterer.refused.map(\.reason) == [.twins, .twins])
    }

    @Test("a familiar form that is a name of its own joins its child where no second child of that date is known")
    func familiarFormJoinsWithoutKnownTwin() {
        var comparer = RecordComparer()
        let school = record(1, upn: 0x6001, given: "Amelia", preferred: "Amelia")
        let claim = record(2, given: "Mia")
        #expect(comparer.bestGiven(school, claim) == .nickname)
        #expect(NicknameTable.standard.areEquivalentIncludingFamiliarForms(NameKey("Mia")!, NameKey("Amelia")!))
        #expect(!NicknameTable.standard.areEquivalent(NameKey("Mia")!, NameKey("Amelia")!))
        var clusterer = Clusterer(
            records: [school, claim], apart: [], nicknames: .standard, frequencies: NameFrequencies())
        clusterer.apply([Link(a: 0, b: 1, method: .probabilistic, weight: 25, vector: nil)])
        let roots = clusterer.roots()
        #expect(roots[0] == roots[1])
        #expect(clusterer.refused.isEmpty)
    }

    @Test("a familiar form shared by two known twins' names joins neither (Ollie, twins Oliver and Olivia)")
    func familiarFormBetweenKnownTwins() {
        let records = [
            record(1, upn: 0x7001, given: "Oliver"), record(2, upn: 0x7002, given: "Olivia"), record(3, given: "Ollie"),
        ]
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard, frequencies: NameFrequencies())
        clusterer.apply([
            Link(a: 0, b: 2, method: .probabilistic, weight: 30, vector: nil),
            Link(a: 1, b: 2, method: .probabilistic, weight: 29, vector: nil),
        ])
        #expect(Set(clusterer.roots()).count == 3)
        // A familiar form that fits only one known twin still joins it (Mia: twins Amelia and Jack).
        let other = [
            record(1, upn: 0x7003, given: "Amelia"), record(2, upn: 0x7004, given: "Jack"), record(3, given: "Mia"),
        ]
        var second = Clusterer(records: other, apart: [], nicknames: .standard, frequencies: NameFrequencies())
        second.apply([Link(a: 0, b: 2, method: .probabilistic, weight: 25, vector: nil)])
        let roots = second.roots()
        #expect(roots[0] == roots[2] && roots[1] != roots[2])
    }

    @Test("a table's @familiar line starts the familiar forms: equivalent only including familiar forms")
    func familiarDirective() throws {
        let table = try NicknameTable(table: "Thomas, Tom\n@familiar\nAmelia, Mia\n")
        #expect(table.groupCount == 2 && table.firstFamiliarGroup == 2)
        #expect(table.areEquivalent(NameKey("Tom")!, NameKey("Thomas")!))
        #expect(table.areEquivalentIncludingFamiliarForms(NameKey("Mia")!, NameKey("Amelia")!))
        #expect(!table.areEquivalent(NameKey("Mia")!, NameKey("Amelia")!))
    }

    @Test(
        "a claim's record joins its twin once the claim's other record has joined the other twin, whichever link comes first"
    )
    func refusedTwinLinkRetried() {
        let records = [
            record(1, upn: 0x8001, given: "Sophie", preferred: "Soph"),  // school: one twin
            record(2, upn: 0x8002, given: "Sophia", preferred: "Sophie"),  // school: the other
            record(3, given: "Sophie", sideBySide: 91),  // one meals claim naming both
            record(4, given: "Sophia", sideBySide: 91),
        ]
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard, frequencies: NameFrequencies())
        clusterer.apply([
            // First, the claim's Sophie could still be the twin known as Sophie: refused for now…
            Link(a: 0, b: 2, method: .probabilistic, weight: 31, vector: nil),
            // …then the claim's Sophia joins the twin Sophia (its Sophie fits the twin Sophie as well)…
            Link(a: 1, b: 3, method: .probabilistic, weight: 30, vector: nil),
        ])
        // …and the first link, tried again, joins: the claim's Sophie can no longer be Sophia's.
        let roots = clusterer.roots()
        #expect(roots[0] == roots[2] && roots[1] == roots[3] && roots[0] != roots[1])
        #expect(clusterer.refused.isEmpty)
    }

    @Test(
        "twins named as forms of one name (Jacob, Jake): a lone record joins neither; a report naming both assigns them"
    )
    func lookAlikeTwins() {
        let twins = [record(1, upn: 0x9101, given: "Jacob"), record(2, upn: 0x9102, given: "Jake")]
        // A police row naming one of them: "Jacob" may be Jake's, written in full.
        var lone = Clusterer(
            records: twins + [record(3, given: "Jacob", kind: 3)], apart: [], nicknames: .standard,
            frequencies: NameFrequencies())
        lone.apply([Link(a: 0, b: 2, method: .probabilistic, weight: 30, vector: nil)])
        #expect(Set(lone.roots()).count == 3)
        #expect(lone.refused.map(\.reason) == [.twins])
        // A health visiting record carries the registered name: its "Jacob" is Jacob.
        var registered = Clusterer(
            records: twins + [record(3, given: "Jacob")], apart: [], nicknames: .standard,
            frequencies: NameFrequencies())
        registered.apply([Link(a: 0, b: 2, method: .probabilistic, weight: 30, vector: nil)])
        let joined = registered.roots()
        #expect(joined[0] == joined[2])
        // A claim naming both: each name fits one twin better, so the claim's records are assigned.
        let claim = [
            record(3, given: "Jacob", sideBySide: 77, kind: 2), record(4, given: "Jake", sideBySide: 77, kind: 2),
        ]
        var both = Clusterer(records: twins + claim, apart: [], nicknames: .standard, frequencies: NameFrequencies())
        both.apply([
            Link(a: 0, b: 2, method: .probabilistic, weight: 30, vector: nil),
            Link(a: 1, b: 3, method: .probabilistic, weight: 29, vector: nil),
        ])
        let roots = both.roots()
        #expect(roots[0] == roots[2] && roots[1] == roots[3] && roots[0] != roots[1])
    }

    @Test("a record that fits one known twin better joins that twin")
    func fitsOneTwin() {
        let records = [
            record(1, upn: 0x4011, given: "Olivia"), record(2, upn: 0x4010, given: "Amelia"),
            record(3, given: "Olivia"),
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
        let pairs = CandidatePairs(
            records: records, rules: BlockingRule.allCases, nicknames: .standard, maxBlock: 1_000)
        #expect(pairs.packed == [0 << 32 | 1])
    }

    @Test(
        "blocking on a birthday and a first letter needs the family initial too; the name itself or its group needs none"
    )
    func firstLetterBlocksWithFamilyInitial() {
        let records = [
            record(1, given: "Aemlia", family: "Smith", dob: 20200502),  // a typo in no group…
            record(2, given: "Amelia", family: "Smyth-Jones", dob: 20200502),  // …meets its name (S, S)
            record(3, given: "Arlo", family: "Clark", dob: 20200502),  // same birthday and letter, another family
            record(4, given: "Roman", family: "Wilson", dob: 20200502),  // a name in no group…
            record(5, given: "Roman", family: "Marsh", dob: 20200502),  // …meets itself whatever the surname
            record(6, given: "Tom", family: "Webb", dob: 20200502),  // a group…
            record(7, given: "Thomas", family: "Brown", dob: 20200502),  // …meets its nickname whatever the surname
        ]
        let pairs = CandidatePairs(
            records: records, rules: [.dobGivenGroup], nicknames: .standard, maxBlock: 1_000
        ).packed
        #expect(pairs.contains(0 << 32 | 1))
        #expect(pairs.contains(3 << 32 | 4))
        #expect(pairs.contains(5 << 32 | 6))
        // A first letter alone no longer pairs a county's children of one birthday.
        #expect(!pairs.contains(0 << 32 | 2) && !pairs.contains(1 << 32 | 2))
        #expect(pairs.count == 3)
    }

    @Test(
        "a short name one letter from a much commoner one is a slip of it (Lwo, Leo); two names in use stay two (Eva, Ava)"
    )
    func shortNameSlips() {
        var counts = NameFrequencies()
        for (name, count) in [("Leo", 60), ("Lwo", 1), ("Eva", 40), ("Ava", 45)] {
            counts.given[NameKey(name)!.fingerprint] = count
        }
        counts.total = 146
        let leo = record(1, given: "Leo")
        let slip = record(2, given: "Lwo")
        var informed = RecordComparer(frequencies: counts)
        #expect(informed.bestGiven(leo, slip) == .editDistance1or2)
        #expect(informed.bestGiven(record(3, given: "Eva"), record(4, given: "Ava")) == .different)
        var plain = RecordComparer()
        #expect(plain.bestGiven(leo, slip) == .different)
        // The twin rule reads it as a typo too: one child, not twins Leo and Lwo.
        var clusterer = Clusterer(records: [leo, slip], apart: [], nicknames: .standard, frequencies: counts)
        clusterer.apply([Link(a: 0, b: 1, method: .probabilistic, weight: 25, vector: nil)])
        let roots = clusterer.roots()
        #expect(roots[0] == roots[1])
        var twins = Clusterer(
            records: [record(3, given: "Eva"), record(4, given: "Ava")], apart: [], nicknames: .standard,
            frequencies: counts)
        twins.apply([Link(a: 0, b: 1, method: .probabilistic, weight: 25, vector: nil)])
        #expect(twins.refused.map(\.reason) == [.twins])
    }

    @Test("two schools' rows of one term are two pupils unless an identifier joins them")
    func twoSchoolsOneTerm() {
        let records = [
            record(
                1, upn: 0x9001, given: "Reggie", family: "Hughes", dob: 20120110, address: 1, sideBySide: 11, period: 5),
            record(2, given: "Reggie", family: "Hughes", dob: 20120110, address: 2, sideBySide: 12, period: 5),
            record(3, given: "Reggie", family: "Hughes", dob: 20120110, address: 2, sideBySide: 13, period: 6),
        ]
        #expect(records[0].reportedApart(from: records[1]))
        #expect(!records[1].reportedApart(from: records[2]))
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard, frequencies: NameFrequencies())
        clusterer.apply([
            Link(a: 0, b: 1, method: .probabilistic, weight: 30, vector: nil),  // two schools, one term: refused
            Link(a: 1, b: 2, method: .probabilistic, weight: 30, vector: nil),  // one school, two terms: joined
        ])
        var roots = clusterer.roots()
        #expect(roots[0] != roots[1] && roots[1] == roots[2])
        #expect(clusterer.refused.map(\.reason) == [.samePeriodInOneFeed])
        // A pupil who moved school mid-term keeps the UPN, which links the rows first.
        let moved = [
            records[0],
            record(2, upn: 0x9001, given: "Reggie", family: "Hughes", dob: 20120110, sideBySide: 12, period: 5),
        ]
        var identified = Clusterer(records: moved, apart: [], nicknames: .standard, frequencies: NameFrequencies())
        identified.apply([Link(a: 0, b: 1, method: .upn, weight: 30, vector: nil)])
        roots = identified.roots()
        #expect(roots[0] == roots[1])
    }

    @Test(
        "a police incident vouches for the two children it names, where their old home is one; alone, an age elsewhere is not linked"
    )
    func incidentVouches() {
        let school = [
            record(1, upn: 0x7004, given: "Mateo", family: "Lambert", dob: 20130802, address: 7),
            record(2, given: "Skye", family: "Lambert", dob: 20151112, address: 7),
        ]
        let police = [
            record(
                3, given: "Mateo", family: "Lambert", dob: 0, age: 13, ageYear: 2026, postcode: "NR11 8SY", address: 9,
                sideBySide: 55),
            record(
                4, given: "Skye", family: "Lambert", dob: 0, age: 11, ageYear: 2026, postcode: "NR11 8SY", address: 9,
                sideBySide: 55),
            record(
                5, given: "Harry", family: "Hunter", dob: 0, age: 12, ageYear: 2026, postcode: "PE32 5ET", address: 11,
                sideBySide: 56),
            record(6, given: "Harry", family: "Hunter", dob: 20130522, address: 12),
        ]
        let records = school + police
        func heldBack(_ a: Int, _ b: Int) -> ReviewCandidate {
            // Same names, an age consistent with the date of birth, another address.
            ReviewCandidate(
                a: a, b: b, weight: 20, vector: ComparisonVector(levels: [0, 0, 5, 2, 4, 2]),
                reason: Linkage.approximateAgeElsewhere)
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

    @Test(
        "a police incident vouches for a dated record it names by a nickname at a new address, while that record has no child yet; a meals claim vouches under its own method"
    )
    func incidentVouchesForADatedRecord() {
        // Oliver and his sister Skye at the old address (7); one incident at the new address (9) names
        // "Ollie" with Oliver's date of birth, and Skye, whose police row has joined her school record.
        func police(_ id: Int64, _ given: String, dob: UInt32, kind: UInt8 = 3) -> MatchRecord {
            record(
                id, given: given, family: "Lambert", dob: dob, postcode: "NR11 8SY", address: 9, sideBySide: 55,
                kind: kind)
        }
        let records = [
            record(1, upn: 0x7004, given: "Oliver", family: "Lambert", dob: 20130802, address: 7, kind: 1),
            record(2, given: "Skye", family: "Lambert", dob: 20151112, address: 7, kind: 1),
            police(3, "Ollie", dob: 20130802),
            police(4, "Skye", dob: 20151112),
        ]
        // A nickname, the same family name and date of birth, another address: between the bands.
        let betweenTheBands = ReviewCandidate(
            a: 0, b: 2, weight: 15, vector: ComparisonVector(levels: [1, 0, 0, 2, 4, 2]),
            reason: "match probability between the bands")
        let skyeJoined = [0, 1, 2, 1]
        let links = Linkage.vouchedForByTheReport([betweenTheBands], records: records, roots: skyeJoined)
        #expect(links.map { Linkage.key($0.a, $0.b) } == [Linkage.key(0, 2)])
        #expect(links.first?.method == .vouchedByIncident)
        #expect(links.first?.vouchedBy == 3)
        // Alone in the incident (Skye's row names another family's child), nothing vouches.
        let stranger =
            records.dropLast() + [
                record(5, given: "Skye", family: "Ward", dob: 20151112, address: 21, sideBySide: 55, kind: 3)
            ]
        #expect(
            Linkage.vouchedForByTheReport([betweenTheBands], records: Array(stranger), roots: [0, 1, 2, 3]).isEmpty)
        // "Ollie" already joined to a child of its own (a health record at the new address): its
        // companions do not move it, though Skye still vouches.
        let withOwnChild = records + [record(6, given: "Oliver", family: "Lambert", dob: 20130802, address: 9)]
        let ollieJoined = [0, 1, 2, 1, 2]
        #expect(Linkage.vouchedForByTheReport([betweenTheBands], records: withOwnChild, roots: ollieJoined).isEmpty)
        // A meals claim naming the two children vouches too, under the claim rule's own method
        // (`claimVouchesForADatedRecord`): the link never says an incident vouched.
        let claim = [
            records[0], records[1], police(3, "Ollie", dob: 20130802, kind: 2),
            police(4, "Skye", dob: 20151112, kind: 2),
        ]
        let claimLinks = Linkage.vouchedForByTheReport([betweenTheBands], records: claim, roots: skyeJoined)
        #expect(claimLinks.map(\.method) == [.vouchedByClaim])
    }

    @Test(
        "below the band, a report may vouch for a pair whose names agree and whose dates are one or a slip; not for other dates or names"
    )
    func reportCouldVouchBelowTheBand() {
        // Levels: given, family, date of birth, sex, location, carer.
        func couldVouch(given: UInt8 = 0, family: UInt8 = 0, date: UInt8) -> Bool {
            Linkage.incidentCouldVouch(ComparisonVector(levels: [given, family, date, 2, 4, 2]))
        }
        #expect(couldVouch(date: DateLevel.oneDigitTypo.rawValue))
        #expect(couldVouch(date: DateLevel.dayMonthSwapped.rawValue))
        #expect(couldVouch(given: NameLevel.nickname.rawValue, date: DateLevel.exact.rawValue))
        #expect(couldVouch(date: 5))  // an approximate age, as before
        #expect(!couldVouch(date: DateLevel.different.rawValue))
        #expect(!couldVouch(date: 6))  // an age that does not fit
        #expect(!couldVouch(given: NameLevel.different.rawValue, date: DateLevel.oneDigitTypo.rawValue))
        #expect(!couldVouch(family: FamilyNameLevel.different.rawValue, date: DateLevel.oneDigitTypo.rawValue))

        // A claim from the new address names Oliver with one digit of his date mistyped, and Skye: below
        // the band, the claim vouches for it as for a queued pair.
        let records = [
            record(1, upn: 0x7004, given: "Oliver", family: "Lambert", dob: 20130802, address: 7, kind: 1),
            record(2, upn: 0x7005, given: "Skye", family: "Lambert", dob: 20151112, address: 7, kind: 1),
            record(3, given: "Oliver", family: "Lambert", dob: 20130803, address: 9, sideBySide: 77, kind: 2),
            record(4, given: "Skye", family: "Lambert", dob: 20151112, address: 9, sideBySide: 77, kind: 2),
        ]
        let below = ReviewCandidate(
            a: 0, b: 2, weight: 9, vector: ComparisonVector(levels: [0, 0, 2, 2, 4, 2]), reason: Linkage.belowBands)
        let links = Linkage.vouchedForByTheReport([below], records: records, roots: [0, 1, 2, 1])
        #expect(links.map { Linkage.key($0.a, $0.b) } == [Linkage.key(0, 2)])
        #expect(links.first?.method == .vouchedByClaim)
        // The same row joined to a child of its own (a health record at the new address) is not moved.
        let withOwnChild = records + [record(5, given: "Oliver", family: "Lambert", dob: 20130803, address: 9)]
        #expect(Linkage.vouchedForByTheReport([below], records: withOwnChild, roots: [0, 1, 2, 1, 2]).isEmpty)
    }

    @Test("without a postcode on one side, two written first address lines that differ are a different location")
    func addressLinesWithoutPostcode() {
        let school = record(1, given: "Jacob", family: "Miller", dob: 20190519, postcode: "NR32 6AF", address: 40)
        func police(address: UInt64) -> MatchRecord {
            record(2, given: "Jacob", family: "Miller", dob: 20190519, postcode: "", address: address, kind: 3)
        }
        func level(_ a: MatchRecord, _ b: MatchRecord) -> String {
            MatchField.location.levels[Int(RecordComparer.location(a, b))]
        }
        #expect(level(school, police(address: 56)) == "different")
        #expect(level(school, police(address: 40)) == "same_address")
        // No address line either: nothing to compare, so missing (no evidence either way).
        #expect(level(school, police(address: 0)) == "missing")
        // With both postcodes the postcode decides as before: another line in the same postcode.
        let neighbour = record(3, given: "Jacob", family: "Miller", dob: 20190519, postcode: "NR32 6AF", address: 41)
        #expect(level(school, neighbour) == "same_postcode")
    }

    @Test(
        "a meals claim vouches for a child it names by a nickname at a new address, as an incident does, under its own method; not for a row with a child of its own, a lone claim, or two candidates"
    )
    func claimVouchesForADatedRecord() {
        // Oliver and his sister Skye at the old address (7), known to a school; one parent's claim
        // from the new address (9) names "Ollie" with Oliver's date of birth, and Skye.
        func claimRow(_ id: Int64, _ given: String, dob: UInt32, claim: UInt64 = 77) -> MatchRecord {
            record(
                id, given: given, family: "Lambert", dob: dob, postcode: "NR11 8SY", address: 9, sideBySide: claim,
                kind: 2)
        }
        let records = [
            record(1, upn: 0x7004, given: "Oliver", family: "Lambert", dob: 20130802, address: 7, kind: 1),
            record(2, upn: 0x7005, given: "Skye", family: "Lambert", dob: 20151112, address: 7, kind: 1),
            claimRow(3, "Ollie", dob: 20130802),
            claimRow(4, "Skye", dob: 20151112),
        ]
        func queued(_ a: Int, _ b: Int) -> ReviewCandidate {
            // A nickname, the same family name and date of birth, another address: between the bands.
            ReviewCandidate(
                a: a, b: b, weight: 15, vector: ComparisonVector(levels: [1, 0, 0, 2, 4, 2]),
                reason: "match probability between the bands")
        }
        let skyeJoined = [0, 1, 2, 1]
        let links = Linkage.vouchedForByTheReport([queued(0, 2)], records: records, roots: skyeJoined)
        #expect(links.map { Linkage.key($0.a, $0.b) } == [Linkage.key(0, 2)])
        #expect(links.first?.method == .vouchedByClaim)
        #expect(links.first?.vouchedBy == 3)
        #expect(links.first.map { $0.method.answersToTheModelRules } == true)

        // Skye on another claim: "Ollie" is alone in its claim, and nothing vouches.
        let loneClaim = Array(records.dropLast()) + [claimRow(5, "Skye", dob: 20151112, claim: 78)]
        #expect(Linkage.vouchedForByTheReport([queued(0, 2)], records: loneClaim, roots: [0, 1, 2, 3]).isEmpty)
        // "Ollie" already joined to a child of its own: the claim does not move it.
        let withOwnChild = records + [record(6, given: "Oliver", family: "Lambert", dob: 20130802, address: 9)]
        #expect(
            Linkage.vouchedForByTheReport([queued(0, 2)], records: withOwnChild, roots: [0, 1, 2, 1, 2]).isEmpty)
        // Two Olivers of that date the claim's Skye could vouch for (a second at the old home): which is a guess.
        let twoOlivers = records + [record(7, given: "Oliver", family: "Lambert", dob: 20130802, address: 7)]
        #expect(
            Linkage.vouchedForByTheReport(
                [queued(0, 2), queued(4, 2)], records: twoOlivers, roots: [0, 1, 2, 1, 4]
            ).isEmpty)
    }
}
