import Foundation
import Identifiers
import Testing

@testable import Feeds

/// The exact bytes the reading thread hands on for small files of tricky rows of the feeds whose
/// addresses come in one column (police, free school meals): quotes, CRLF, UTF-8 names, a
/// backslash, addresses with blank and padded parts, signed ages, bad dates. Written out here, not
/// as a digest, so that a change shows which byte moved; the lane and the reference must both
/// write them. Every refusal is pinned with its record, line, field and reason.
@Suite("Pinned output of tricky rows")
struct PinnedOutputTests {
    static let policeHeader =
        "INCIDENT_REF,INCIDENT_DATETIME,INCIDENT_TYPE,CHILD_PRESENT,CHILD_NAME,CHILD_DOB,CHILD_AGE,ADDRESS,POSTCODE,"
        + "ADULTS_INVOLVED"
    static let policeRows: [String] = [
        "NC-1,20260107 20:36,DOMESTIC ABUSE,Y,ALFRED LOWE,03/05/2021,4,\"157 ROOKERY CRESCENT, NORWICH\",NR5 6SL,UNKNOWN",
        // Blank and padded address parts; an age with a sign and no date of birth.
        "NC-2,20260108 07:05,ASB,N,\"COOPER, ABBIE\",,+7,\"Flat 2 , , 9 High St,  Gorleston ,\tGreat Yarmouth\",nr317aa,2",
        "NC-3,20260109 23:59,MISSING PERSON,Y,JO KHAN,,-1,NO FIXED ABODE,,1",
        "NC-4,20260110 00:00,CONCERN FOR WELFARE,Y,ZOË BROWN,01/01/2019,,\",,,\",NR1 1AA,UNKNOWN",
        "NC-5,2026-01-10 00:00,ASB,Y,SAM LEE,01/01/2019,,\"1 ROAD, NORWICH\",NR1 1AA,1",
        "NC-6,20260111 12:30,THEFT,Y,SAM LEE,01/01/2019,,\"1\\2 ROAD, NORWICH\",NR1 1AA,\"2 \"\"ADULTS\"\"\"",
        "NC-7,20260112 12:30,ASB,Y,\"SAM LEE,01/01/2019,,\"1 ROAD, NORWICH\",NR1 1AA,1",
        "NC-8,20260113 12:30,ASB,Y,SAM LEE,31/02/2019,,\"1 ROAD,NORWICH\",NR1 1AA,1",
    ]

    static let fsmHeader =
        "Parent/Carer Surname,Parent/Carer Forename,Parent/Carer DOB,Parent/Carer NI Number,Child Forename,"
        + "Child Surname,Child DOB,Address,Postcode,Eligible From,Eligible To"
    static let fsmRows: [String] = [
        "Bell,Sian,3/8/1984,WC455350D,Florence,Bell,23/4/2022,\"106 Nettlebed Road, Norwich\",NR5 4TY,24/1/2025,",
        "Bell,Sian,31/2/1984,WC455350D,Florence,Bell,23/4/2022,\"106 Nettlebed Road, Norwich\",NR5 4TY,24/1/2025,",
        "Bell,Sian,3/8/1984,,Florence,Bell,23/4/2022,\"106 Nettlebed Road, Norwich\",NR5 4TY,24/1/2025,1/1/2025",
        "Petrov,Siân,17/11/1982,YY 50 97 11 B,Harvey,Petrov-Chowdhury,12/5/2017,"
            + "\"26 Elmstead Crescent,Thorpe St Andrew,,Norwich\",NR10 5ZQ,19/10/2024,31/8/2026",
        "Bell,Sian,3/8/1984,WC455350D,Florence,Bell,23/4/2022,\"Flat 1,  106 Nettlebed Road ,Thorpe,\tNorwich\",NR5 4TY,24/1/2025,",
        "PETROV,SAMANTHA,17/11/1982,YY509711B,harvey,petrov,12/5/2017,\" , 26 Elmstead Crescent ,\",NR10 5ZQ,19/10/2024,",
    ]

    static func read(
        _ header: String, _ rows: [String], kind: PartnerKind, lineEnding: String
    ) throws -> (
        lane: CommonRowLaneTests.Reading, reference: CommonRowLaneTests.Reading
    ) {
        let definition = try #require(try CommonRowLaneTests.definitions().first { $0.kind == kind })
        let text = header + lineEnding + rows.joined(separator: lineEnding) + lineEnding
        let path = try CommonRowLaneTests.write(Array(text.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return (
            try CommonRowLaneTests.read(path, definition, lane: true),
            try CommonRowLaneTests.read(path, definition, lane: false)
        )
    }

    /// The COPY text, then each refusal as `record line field: reason`. (Expected below one line
    /// of each per string; a tab is `\#t` in these raw strings.)
    static func render(_ reading: CommonRowLaneTests.Reading) -> String {
        let refusals = reading.summary.quarantine.map { "\($0.record) \($0.line) \($0.field ?? "-"): \($0.reason)" }
        return String(decoding: reading.copyText, as: UTF8.self) + refusals.joined(separator: "\n")
    }

    static let expectedPolice = [
        #"42\#tpolice_notifications\#tpolice\#t1\#t2\#tNC-1\#tchild\#t\N\#t\N\#t\N\#t\N\#tf\#tAlfred\#tLowe\#t\N\#t\N\#t2021-05-03\#t\N\#t\N\#t157 ROOKERY CRESCENT\#t\N\#tNORWICH\#tNR5 6SL\#t\N\#t\N\#t\N\#t\N\#t\N\#t\N\#t\N\#t\N\#t\N\#t{"adults_involved":"UNKNOWN","child_present":true,"incident_at":"2026-01-07T20:36:00","incident_ref":"NC-1","incident_type":"domestic_abuse"}"#,
        #"42\#tpolice_notifications\#tpolice\#t2\#t3\#tNC-2\#tchild\#t\N\#t\N\#t\N\#t\N\#tf\#tAbbie\#tCooper\#t\N\#t\N\#t\N\#t7\#t\N\#tFlat 2\#t9 High St, Gorleston\#tGreat Yarmouth\#tNR31 7AA\#t\N\#t\N\#t\N\#t\N\#t\N\#t\N\#t\N\#t\N\#t\N\#t{"adults_involved":"2","child_present":false,"incident_at":"2026-01-08T07:05:00","incident_ref":"NC-2","incident_type":"antisocial_behaviour"}"#,
        #"42\#tpolice_notifications\#tpolice\#t4\#t5\#tNC-4\#tchild\#t\N\#t\N\#t\N\#t\N\#tf\#tZoë\#tBrown\#t\N\#t\N\#t2019-01-01\#t\N\#t\N\#t\N\#t\N\#t\N\#tNR1 1AA\#t\N\#t\N\#t\N\#t\N\#t\N\#t\N\#t\N\#t\N\#t\N\#t{"adults_involved":"UNKNOWN","child_present":true,"incident_at":"2026-01-10T00:00:00","incident_ref":"NC-4","incident_type":"concern_for_welfare"}"#,
        #"42\#tpolice_notifications\#tpolice\#t6\#t7\#tNC-6\#tchild\#t\N\#t\N\#t\N\#t\N\#tf\#tSam\#tLee\#t\N\#t\N\#t2019-01-01\#t\N\#t\N\#t1\\2 ROAD\#t\N\#tNORWICH\#tNR1 1AA\#t\N\#t\N\#t\N\#t\N\#t\N\#t\N\#t\N\#t\N\#t\N\#t{"adults_involved":"2 \\"ADULTS\\"","child_present":true,"incident_at":"2026-01-11T12:30:00","incident_ref":"NC-6","incident_type":"THEFT"}"#,
        #"3 4 child.age: not a whole number of years within the feed's plausible ages"#,
        #"5 6 fact.incident_at: not a valid date and time in the format YYYYMMDD hh:mm"#,
        #"7 8 column 5: malformed CSV: textAfterClosingQuote"#,
        #"8 9 child.dob: not a valid date in the format DD/MM/YYYY"#,
    ].joined(separator: "\n")

    static let expectedFSM = [
        #"42\#tfsm_eligibility\#tfsm\#t1\#t2\#t\N\#tchild\#t\N\#t\N\#t\N\#t\N\#tf\#tFlorence\#tBell\#t\N\#t\N\#t2022-04-23\#t\N\#t\N\#t106 Nettlebed Road\#t\N\#tNorwich\#tNR5 4TY\#t\N\#t\N\#t\N\#t\N\#tSian\#tBell\#t1984-08-03\#tWC455350D\#tWC455350D\#t{"eligible_from":"2025-01-24"}"#,
        #"42\#tfsm_eligibility\#tfsm\#t4\#t5\#t\N\#tchild\#t\N\#t\N\#t\N\#t\N\#tf\#tHarvey\#tPetrov-Chowdhury\#t\N\#t\N\#t2017-05-12\#t\N\#t\N\#t26 Elmstead Crescent\#tThorpe St Andrew\#tNorwich\#tNR10 5ZQ\#t\N\#t\N\#t\N\#t\N\#tSiân\#tPetrov\#t1982-11-17\#tYY509711B\#tYY 50 97 11 B\#t{"eligible_from":"2024-10-19","eligible_to":"2026-08-31"}"#,
        #"42\#tfsm_eligibility\#tfsm\#t5\#t6\#t\N\#tchild\#t\N\#t\N\#t\N\#t\N\#tf\#tFlorence\#tBell\#t\N\#t\N\#t2022-04-23\#t\N\#t\N\#tFlat 1\#t106 Nettlebed Road, Thorpe\#tNorwich\#tNR5 4TY\#t\N\#t\N\#t\N\#t\N\#tSian\#tBell\#t1984-08-03\#tWC455350D\#tWC455350D\#t{"eligible_from":"2025-01-24"}"#,
        #"42\#tfsm_eligibility\#tfsm\#t6\#t7\#t\N\#tchild\#t\N\#t\N\#t\N\#t\N\#tf\#tHarvey\#tPetrov\#t\N\#t\N\#t2017-05-12\#t\N\#t\N\#t26 Elmstead Crescent\#t\N\#t\N\#tNR10 5ZQ\#t\N\#t\N\#t\N\#t\N\#tSamantha\#tPetrov\#t1982-11-17\#tYY509711B\#tYY509711B\#t{"eligible_from":"2024-10-19"}"#,
        #"2 3 carer.dob: not a date in the format D/M/YYYY"#,
        #"3 4 fact.eligible_to: eligibility ends before it starts"#,
    ].joined(separator: "\n")

    /// Each feed's header, rows and expected output.
    static let files: [PartnerKind: (header: String, rows: [String], expected: String)] = [
        .police: (policeHeader, policeRows, expectedPolice),
        .fsm: (fsmHeader, fsmRows, expectedFSM),
    ]

    @Test(
        "police and free school meals rows write these bytes and refusals, lane or not",
        arguments: [PartnerKind.police, .fsm], ["\n", "\r\n"])
    func pinned(kind: PartnerKind, lineEnding: String) throws {
        let file = try #require(Self.files[kind])
        let (lane, reference) = try Self.read(file.header, file.rows, kind: kind, lineEnding: lineEnding)
        #expect(Self.render(reference) == file.expected)
        #expect(Self.render(lane) == file.expected)
        #expect(lane.summary.laneRows >= 2, "the lane takes the plain rows")
    }
}
