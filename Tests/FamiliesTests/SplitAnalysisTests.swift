import Resolution
import Testing

@testable import Families

/// `families group --truth --splits`: the candidate rule "the same carer's name at two addresses" is
/// counted against the truth (never applied), and the ceiling counts the pairs kept apart that any
/// evidence in common could join. Grouping and counting need no database: the evidence is built here.
@Suite("Family split analysis: cross-address carer-name candidates and the recall ceiling")
struct SplitAnalysisTests {
    /// Day numbers, early in each year (stays last a year past their evidence: these never overlap).
    static let (year2018, year2020, year2021, year2022, year2025) = (17_550, 18_300, 18_700, 19_000, 20_100)

    struct Row {
        var member: String
        var trueFamily: String
        var address: String
        var from: Int
        var to: Int
        var surname: String
        var carer: (String, String)? = nil
        var phone: String? = nil
        var carerNHS: String? = nil
        var school: Int32? = nil
    }

    /// A pupil's school year 2025 at `address`.
    static func thisYear(
        _ member: String, _ family: String, at address: String, surname: String, carer: (String, String)? = nil,
        phone: String? = nil, school: Int32 = 1
    ) -> Row {
        Row(
            member: member, trueFamily: family, address: address, from: year2025, to: year2025 + 200, surname: surname,
            carer: carer, phone: phone, school: school)
    }

    static func analyse(_ rows: [Row]) -> FamilySplitAnalysis {
        var builder = FamilyEvidence.Builder()
        var truth: [Int64: FamilySplitAnalysis.TrueRecord] = [:]
        var schoolOfRecord: [Int64: Int32] = [:]
        for (index, row) in rows.enumerated() {
            let record = Int64(index + 1)
            var parsed = FamilyEvidence.ParsedRow(
                record: record, member: row.member, kind: "school_attendance", start: row.from, end: row.to)
            parsed.address = "addr:NR31 3FA|" + row.address
            parsed.surnames = [row.surname]
            if let carer = row.carer {
                parsed.carerName = FamilyGraph.CarerName(
                    given: NameKey(carer.0)!, family: NameKey(carer.1)!, role: "mother")
            }
            parsed.nhsCarer = row.carerNHS
            if let phone = row.phone, let carer = row.carer { parsed.phoneCarer = phone + "|" + carer.1.uppercased() }
            builder.add(parsed)
            truth[record] = FamilySplitAnalysis.TrueRecord(family: row.trueFamily, oldAddress: false)
            schoolOfRecord[record] = row.school
        }
        let evidence = builder.evidence
        let result = FamilyGraph.group(evidence, settings: GroupingSettings())
        return FamilySplitAnalysis.classify(
            evidence, result, trueFamilyOfRecord: truth, schoolOfRecord: schoolOfRecord)
    }

    @Test(
        "each guard of the candidate rule refuses its pair; rarity, time order and a move in the records label the rest"
    )
    func candidates() {
        let sarah = ("Sarah", "Smith")
        let rows = [
            // One family: a pupil still at the old address A, a sibling at B, one mother named by both.
            Self.thisYear("C1", "T1", at: "1 A ROAD", surname: "SMITH", carer: sarah),
            Self.thisYear("C2", "T1", at: "2 B ROAD", surname: "SMITH", carer: sarah),
            // Another child seen at A and then at B, years before: the move in the records.
            Row(
                member: "M", trueFamily: "T3", address: "1 A ROAD", from: Self.year2020, to: Self.year2020 + 30,
                surname: "OTHER"),
            Row(
                member: "M", trueFamily: "T3", address: "2 B ROAD", from: Self.year2021, to: Self.year2021 + 30,
                surname: "OTHER"),
            // A namesake mother of a Smith child elsewhere, with a phone.
            Self.thisYear("C3", "T2", at: "4 D ROAD", surname: "SMITH", carer: sarah, phone: "07700900003", school: 2),
            // A namesake mother of a Jones child: the children's surnames differ.
            Self.thisYear("C4", "T4", at: "5 E ROAD", surname: "JONES", carer: sarah),
            // A namesake whose phone is not C3's: refused against C3 only.
            Self.thisYear("C5", "T5", at: "6 F ROAD", surname: "SMITH", carer: sarah, phone: "07700900005"),
            // A rarer name, at two addresses, one side's evidence ending before the other's begins.
            Row(
                member: "C7", trueFamily: "T6", address: "7 G ROAD", from: Self.year2020, to: Self.year2020 + 100,
                surname: "BROWN", carer: ("Emma", "Brown")),
            Row(
                member: "C8", trueFamily: "T6", address: "8 H ROAD", from: Self.year2025, to: Self.year2025 + 100,
                surname: "BROWN", carer: ("Emma", "Brown")),
            // Two babies of one mother, at G and then at H (her NHS number), years before: a move in the records.
            Row(
                member: "B1", trueFamily: "T8", address: "7 G ROAD", from: Self.year2018, to: Self.year2018 + 30,
                surname: "WHITE", carerNHS: "9434765919"),
            Row(
                member: "B2", trueFamily: "T8", address: "8 H ROAD", from: Self.year2022, to: Self.year2022 + 30,
                surname: "WHITE", carerNHS: "9434765919"),
            // Two pupils of one family whose schools name two carers of one surname (the mother, the father).
            Self.thisYear("C11", "T9", at: "11 K ROAD", surname: "JONES", carer: ("Sarah", "Jones")),
            Self.thisYear("C12", "T9", at: "12 L ROAD", surname: "JONES", carer: ("Mark", "Jones")),
            // Two pupils of one family sharing only their surname: no evidence a rule could use.
            Row(
                member: "C9", trueFamily: "T7", address: "9 I ROAD", from: Self.year2025, to: Self.year2025 + 100,
                surname: "GREEN"),
            Row(
                member: "C10", trueFamily: "T7", address: "10 J ROAD", from: Self.year2025, to: Self.year2025 + 100,
                surname: "GREEN"),
        ]
        let analysis = Self.analyse(rows)
        typealias Count = FamilySplitAnalysis.CandidateCount
        #expect(
            analysis.candidates == [
                // C1–C2 (A and B: M moved between them).
                "at 3-5 addresses, concurrent, one school, mover": Count(links: 1, right: 1, wrong: 0),
                // C1–C5, C2–C5 (all three at school 1); C1–C3, C2–C3 (C3 at school 2); not C3–C5 (phones
                // differ), nor any pair with C4 (Jones).
                "at 3-5 addresses, concurrent, one school, no mover": Count(links: 2, right: 0, wrong: 2),
                "at 3-5 addresses, concurrent, no mover": Count(links: 2, right: 0, wrong: 2),
                // C7–C8 (G and H: one mother's NHS number was given at both).
                "at 2 addresses, sequential, mover": Count(links: 1, right: 1, wrong: 0),
            ])
        #expect(analysis.memberPairs["carer_name_two_addresses"] == 2)
        #expect(analysis.memberPairs["child_surname_only"] == 1)
        #expect(analysis.memberPairs["carer_surname_two_addresses"] == 1)
        #expect(analysis.trueMemberPairs == 5)
        #expect(analysis.ceilingLines.count == 2)
        #expect(analysis.ceilingLines[0].contains("5 true member pairs, 4 apart"))
        #expect(analysis.ceilingLines[0].contains("2 of them in splits whose parts share an address or a carer's name"))
        #expect(analysis.ceilingLines[0].contains("leaves 2 apart (recall 0.6000)"))
        // C11 and C12 share a carer's surname; C9 and C10 only their own.
        #expect(analysis.ceilingLines[1].contains("joining as well the 1 in splits"))
        #expect(analysis.ceilingLines[1].contains("leaves 1 apart (recall 0.8000)"))
    }

    @Test("a name mentioned by more members than the bound is counted, not paired; at the bound it is paired")
    func commonestNamesNotPaired() {
        func namesakes(_ n: Int) -> [Row] {
            (0..<n).map {
                Self.thisYear("C\($0)", "T\($0)", at: "\($0) A ROAD", surname: "SMITH", carer: ("Sarah", "Smith"))
            }
        }
        let bound = FamilySplitAnalysis.mentionsPairedPerName
        let over = Self.analyse(namesakes(bound + 1)).candidates
        #expect(over.count == 1)
        #expect(over.values.first?.links == bound + 1)
        #expect(over.keys.first?.hasSuffix("not paired") == true)
        let at = Self.analyse(namesakes(bound)).candidates
        #expect(
            at["at 6+ addresses, concurrent, one school, no mover"]
                == .init(links: bound * (bound - 1) / 2, right: 0, wrong: bound * (bound - 1) / 2))
    }

    @Test("members already in one computed family are no candidates: a shared address links C1 and C2 first")
    func alreadyJoined() {
        let sarah = ("Sarah", "Smith")
        let analysis = Self.analyse([
            Self.thisYear("C1", "T1", at: "1 A ROAD", surname: "SMITH", carer: sarah),
            Self.thisYear("C2", "T1", at: "1 A ROAD", surname: "SMITH", carer: sarah),
            Self.thisYear("C2", "T1", at: "2 B ROAD", surname: "SMITH", carer: sarah),
        ])
        #expect(analysis.candidates.isEmpty)
        #expect(analysis.trueMemberPairs == 1)
        #expect(analysis.memberPairs.isEmpty)
    }
}
