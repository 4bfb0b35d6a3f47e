import Testing

@testable import Resolution

/// What the model would never link is not queued either (issue 12: a queue worth a person's time).
@Suite("Review queue rules")
struct ReviewQueueRulesTests {
    static func pupil(_ id: Int64, upn: UInt64, sideBySide: UInt64 = 0, kind: UInt8 = 1) -> MatchRecord {
        MatchRecord(
            id: id, kind: kind, nhs: 0, upn: upn, given: NameKey("Harvey"), preferredGiven: nil,
            family: NameKey("Dunmore"),
            preferredFamily: nil, dob: 20170412, approximateAge: -1, ageYear: 0, sex: 0,
            postcode: PostcodeKey("NR1 1AA"),
            addressKey: UInt64(id) * 7, carerNHS: 0, sideBySideKey: sideBySide)
    }

    /// A model in which every level weighs nothing, with a prior that puts 0 bits between the bands:
    /// every compared pair is queued unless a rule keeps it out.
    static func neutralModel() -> (MatchModel, NameFrequencies) {
        let halves = MatchField.allCases.map { [Double](repeating: 0.5, count: $0.levelCount) }
        let model = MatchModel(
            m: halves, u: halves, matchProportion: 0.1, emIterations: 1, pairsUsed: 1, averageExactU: [0, 0], prior: 0.3
        )
        let bands = ResolutionSettings().bands(prior: 0.3)
        precondition(bands.review <= 0 && bands.link > 0)
        return (model, NameFrequencies())
    }

    static func queued(_ records: [MatchRecord]) -> Set<[Int64]> {
        let result = Linkage(settings: ResolutionSettings(), nicknames: .standard).run(
            records: records, model: neutralModel(), decisions: [])
        return Set(result.review.map { [records[$0.a].id, records[$0.b].id].sorted() })
    }

    @Test("two different permanent UPNs are two pupils: their pair is not queued; a meals claim's pair is")
    func differentUPNsNotQueued() {
        #expect(Self.queued([Self.pupil(1, upn: 11), Self.pupil(2, upn: 13)]).isEmpty)
        #expect(Self.queued([Self.pupil(1, upn: 11), Self.pupil(2, upn: 0, kind: 2)]) == [[1, 2]])
    }

    @Test("two rows of one partner of which only one carries its identifier are not queued; across partners they are")
    func identifierOnOneRowOnly() {
        // School rows: a permanent UPN on one, none on the other.
        #expect(Self.queued([Self.pupil(1, upn: 11), Self.pupil(2, upn: 0)]).isEmpty)
        // Health visiting rows: an NHS number on one, none on the other.
        let visit = { (id: Int64, nhs: UInt64) in
            MatchRecord(
                id: id, kind: 0, nhs: nhs, upn: 0, given: NameKey("Harvey"), preferredGiven: nil,
                family: NameKey("Dunmore"), preferredFamily: nil, dob: 20170412, approximateAge: -1, ageYear: 0, sex: 0,
                postcode: PostcodeKey("NR1 1AA"), addressKey: UInt64(id) * 7, carerNHS: 0)
        }
        #expect(Self.queued([visit(1, 9_434_765_919), visit(2, 0)]).isEmpty)
        #expect(Self.queued([visit(1, 0), visit(2, 0)]) == [[1, 2]])
        // A school row with a UPN and a health visiting row without an NHS number: two partners, queued.
        #expect(Self.queued([Self.pupil(1, upn: 11), visit(2, 0)]) == [[1, 2]])
    }

    @Test(
        "a pair whose two records each belong to a child of several records is not queued; a record with no child of its own is"
    )
    func twoMadeChildrenNotQueued() {
        func health(_ id: Int64, nhs: UInt64) -> MatchRecord {
            MatchRecord(
                id: id, kind: 0, nhs: nhs, upn: 0, given: NameKey("Harvey"), preferredGiven: nil,
                family: NameKey("Dunmore"), preferredFamily: nil, dob: 20170412, approximateAge: -1, ageYear: 0, sex: 0,
                postcode: PostcodeKey("NR1 1AA"), addressKey: UInt64(id) * 7, carerNHS: 0)
        }
        // A pupil of two terms (one UPN) and a child of two health visiting rows (one NHS number): every
        // pair between them is between the bands, and each side is a child its identifier made.
        let pupil = [Self.pupil(1, upn: 11), Self.pupil(2, upn: 11)]
        let twoMade = pupil + [health(3, nhs: 4_010_232_137), health(4, nhs: 4_010_232_137)]
        #expect(Self.queued(twoMade).isEmpty)
        // Left out, and counted: the run's report says how many pairs no one was shown.
        let result = Linkage(settings: ResolutionSettings(), nicknames: .standard).run(
            records: twoMade, model: Self.neutralModel(), decisions: [])
        #expect(result.notQueuedBetweenMadeChildren == 4)
        // A health visiting row with no child of its own yet: its pairs with the pupil are queued.
        #expect(Self.queued(pupil + [health(3, nhs: 4_010_232_137)]) == [[1, 3], [2, 3]])
    }

    @Test("a UPN one school gave two pupils of one term says nothing: its pairs are queued as before")
    func sharedUPNStillQueued() {
        // Pupils 1 and 2 carry UPN 11 in one term (keyed twice); pupil 3 is pupil 2 with its own UPN.
        let records = [
            Self.pupil(1, upn: 11, sideBySide: 5), Self.pupil(2, upn: 11, sideBySide: 5), Self.pupil(3, upn: 17),
        ]
        let queued = Self.queued(records)
        #expect(queued.contains([2, 3]))
        #expect(queued.contains([1, 3]))
    }
}
