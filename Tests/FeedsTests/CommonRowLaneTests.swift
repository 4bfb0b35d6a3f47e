import Foundation
import Identifiers
import Postgres
import PostgresTestSupport
import Synth
import Testing

@testable import Feeds

/// The loader's byte-level lane (`RecordNormaliser.encodeCommonRow`) against the reference
/// normaliser: on the same file, the COPY text, the quality counts and the quarantine must be the
/// same whether the lane is on or off. No database: only what the reading thread produces.
@Suite("Common row lane")
struct CommonRowLaneTests {
    static let today = CalendarDate(year: 2026, month: 9, day: 1)!

    struct Reading {
        var copyText: [UInt8]
        var summary: ReadSummary
    }

    static func read(
        _ path: String, _ definition: FeedDefinition, lane: Bool, today: CalendarDate = today
    ) throws -> Reading {
        var reading = RowReading(
            definition: definition, today: today, path: path, name: "lane.csv", batchID: 42, tombstones: nil)
        reading.usesCommonLane = lane
        var copyText: [UInt8] = []
        let summary = try reading.read(into: CopyTextBuffer(capacity: 1 << 16)) { rows in
            copyText.append(contentsOf: rows.bytes)
            rows.removeAll()
        }
        return Reading(copyText: copyText, summary: summary)
    }

    /// Compares the two readings of `path`; returns the lane's (for further checks).
    @discardableResult
    static func expectSame(_ path: String, _ definition: FeedDefinition, today: CalendarDate = today) throws -> Reading
    {
        let reference = try read(path, definition, lane: false, today: today)
        let lane = try read(path, definition, lane: true, today: today)
        #expect(reference.summary.laneRows == 0)
        #expect(lane.summary.rowsRead == reference.summary.rowsRead)
        #expect(lane.summary.quality == reference.summary.quality, "\(definition.name)")
        let quarantine = { (summary: ReadSummary) in
            summary.quarantine.map { "\($0.record) \($0.line) \($0.field ?? "-") \($0.reason) \($0.rawBytes)" }
        }
        #expect(quarantine(lane.summary) == quarantine(reference.summary), "\(definition.name)")
        let laneLines = String(decoding: lane.copyText, as: UTF8.self).split(
            separator: "\n", omittingEmptySubsequences: false)
        let referenceLines = String(decoding: reference.copyText, as: UTF8.self).split(
            separator: "\n", omittingEmptySubsequences: false)
        #expect(laneLines.count == referenceLines.count, "\(definition.name)")
        for (index, (mine, theirs)) in zip(laneLines, referenceLines).enumerated() where mine != theirs {
            Issue.record("\(definition.name): COPY row \(index + 1) differs:\n lane      \(mine)\n reference \(theirs)")
            break
        }
        #expect(lane.copyText == reference.copyText, "\(definition.name)")
        return lane
    }

    static func definitions() throws -> [FeedDefinition] {
        try FeedDefinition.loadAll(directory: TestDatabase.schemasDirectory + "/feeds")
    }

    static func write(_ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fc-lane-\(UUID().uuidString).csv")
            .path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test(
        "every synthetic feed, standard and harsh noise, reads the same with the lane as without",
        arguments: [false, true])
    func syntheticFeeds(harsh: Bool) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fc-lane-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = SynthConfig(
            children: 2000, seed: harsh ? 9 : 5, asOf: SynthConfig.defaultAsOf, noise: harsh ? 2 : 1,
            profile: harsh ? .harsh : .standard)
        _ = try SyntheticFeedWriter.write(config: config, to: folder)
        let definitions = try Self.definitions()
        for kind in FeedKind.allCases {
            let definition = try #require(definitions.first { $0.name == kind.stem })
            let lane = try Self.expectSame(
                folder.appendingPathComponent(kind.fileName).path, definition, today: SynthConfig.defaultAsOf)
            if kind == .schoolAttendance {
                // The lane is not a dead letter: most school rows take it.
                #expect(
                    lane.summary.laneRows * 2 > lane.summary.rowsRead,
                    "\(lane.summary.laneRows) of \(lane.summary.rowsRead)")
            }
        }
    }

    /// School attendance rows that test each rule the lane applies, or hands to the reference.
    static let trickySchoolRows: [String] = [
        // Plain, and the cases the lane takes itself.
        "A123456789012,Ann,Lee,,,2016-05-05,F,1 Road,,Norwich,NR1 1AA,Riverside Primary,2025-09-01,2025-12-19,140,130",
        // A backslash the lane takes: COPY escapes it (the lane copies values as they are only when
        // the record has no such byte).
        "A123456789012,Ann,Lee,,,2016-05-05,F,1\\2 Road,,Norwich,NR1 1AA,Back\\slash Primary,2025-09-01,2025-12-19,140,130",
        "A123456789012,ANN,LEE,ann,lee,2016-05-05,female,1  Road,Flat\t2,Norwich ,nr11aa,Riverside  Primary,2025-09-01,2025-12-19,140,130",
        "a12345678901A,aNN,McLEE,,,2016-05-05,Girl,1 Road,,Norwich,NR1 1AA,\"St Mary's, \"\"The Park\"\"\",2025-09-01,2025-12-19,0,0",
        "X99,O'Brien-Smith,  -Jones'  ,Mary Ann,,2016-05-05,X,1 Road,,Norwich,NR1 1AZZ,School \\ Back,2025-09-01,2025-12-19,140,130",
        ",Zoë,Łukasz,Jоnes,,2016-05-05,M,1 Road,,Kraków,NR1 1AA,Szkoła,2025-09-01,2025-12-19,140,130",
        ",J0hn,--,,,2016-05-05,Other,\"1 Road\nLine\",,Norwich,NR1 1AA,\"Multi\r\nLine\",2025-09-01,2025-12-19,140,130",
        // Refused: the reference must explain each.
        ",Ann,Lee,,,2016-02-30,F,1 Road,,Norwich,NR1 1AA,Riverside,2025-09-01,2025-12-19,140,130",
        ",Ann,Lee,,,2030-01-01,F,1 Road,,Norwich,NR1 1AA,Riverside,2025-09-01,2025-12-19,140,130",
        ",Ann,Lee,,,1990-01-01,F,1 Road,,Norwich,NR1 1AA,Riverside,2025-09-01,2025-12-19,140,130",
        ",Ann,,,,2016-05-05,F,1 Road,,Norwich,NR1 1AA,Riverside,2025-09-01,2025-12-19,140,130",
        ",Ann,Lee,,,,F,1 Road,,Norwich,NR1 1AA,Riverside,2025-09-01,2025-12-19,140,130",
        ",Ann,Lee,,,2016-05-05,F,1 Road,,Norwich,NR1 1AA,Riverside,2025-12-19,2025-09-01,140,130",
        ",Ann,Lee,,,2016-05-05,F,1 Road,,Norwich,NR1 1AA,Riverside,2025-09-01,2025-12-19,+140,130",
        ",Ann,Lee,,,2016-05-05,F,1 Road,,Norwich,NR1 1AA,Riverside,2025-09-01,2025-12-19,007,3",
        ",Ann,Lee,,,2016-05-05,F,1 Road,,Norwich,NR1 1AA,Riverside,2025-09-01,2025-12-19,9223372036854775807,1",
        ",Ann,Lee,,,2016-05-05,F,1 Road,,Norwich,NR1 1AA,Riverside,2025-09-01,2025-12-19,140,141",
        ",Ann,Lee,,,2016-05-05,F,1 Road,,Norwich,NR1 1AA,Riverside,2025-09-01,2025-12-19,-1,0",
        ",Ann,Lee,,,2016-05-05,F,1 Road,,Norwich,NR1 1AA,Riverside,1990-09-01,2025-12-19,140,130",
        ",Ann,Lee,,,2016-05-05,F,1 Road,,Norwich,NR1 1AA,,2025-09-01,2025-12-19,140,130",
        ",Ann,Lee,,,2016-05-05,F,1 Road,,Norwich,NR1 1AA,Riverside,2025-09-01,,140,130",
        ",Ann,Lee,,,2016-05-05,F,1 Road,,Norwich,NR1 1AA,Riverside,2025-09-01,2025-12-19,140",
        ",Ann,Lee,,,2016-05-05,F,1 Road,,Norwich,NR1 1AA,\"Riverside\"x,2025-09-01,2025-12-19,140,130",
        " A123456789012 ,\tAnn,Lee ,,,2016-05-05 ,f ,1 Road,,Norwich,NR1 1AA,Riverside,2025-09-01,2025-12-19, 140,130",
    ]

    static let schoolHeader =
        "UPN,LegalForename,LegalSurname,PreferredForename,PreferredSurname,DateOfBirth,Gender,AddressLine1,AddressLine2,"
        + "Town,Postcode,SchoolName,PeriodStart,PeriodEnd,SessionsPossible,SessionsAttended"

    @Test(
        "tricky rows (quotes, CRLF, a byte order mark, multibyte names, bad dates, spaces) read the same",
        arguments: [
            "\n", "\r\n",
        ])
    func trickyRows(lineEnding: String) throws {
        let definition = try #require(try Self.definitions().first { $0.kind == .schoolAttendance })
        // The contact columns are optional: a second file has them (a one-column name, an extra).
        for (header, extra) in [
            (Self.schoolHeader, ""),
            (Self.schoolHeader + ",PrimaryContactName,PrimaryContactRelationship", ",\"SMITH, Jane\",Mother"),
        ] {
            let rows = Self.trickySchoolRows.map { row in
                // Rows with a column too few stay as they are (a field-count quarantine).
                row.split(separator: ",", omittingEmptySubsequences: false).count >= 16 ? row + extra : row
            }
            let text = header + lineEnding + rows.joined(separator: lineEnding) + lineEnding
            let path = try Self.write([0xEF, 0xBB, 0xBF] + Array(text.utf8))
            defer { try? FileManager.default.removeItem(atPath: path) }
            let lane = try Self.expectSame(path, definition, today: Self.today)
            // Records do not span lines in this feed: a quoted line break leaves malformed lines.
            #expect(lane.summary.rowsRead > rows.count)
            #expect(lane.summary.laneRows >= 3, "the lane takes the plain rows")
            #expect(lane.summary.laneRows < rows.count, "the lane leaves refusals and non-ASCII rows to the reference")
        }
    }

    /// School rows the lane takes since norm10: names with non-ASCII letters (cleaned as text by the
    /// reference's calls), including mixed scripts, combining marks and padding, and ASCII values
    /// padded with spaces and tabs; then two it leaves to the reference.
    static let nonASCIIAndPaddedSchoolRows: [String] = [
        ",Zoë,Wiśniewski,Zoë,Wiśniewski,2016-05-05,F,1 Road,,Norwich,NR1 1AA,Riverside,2025-09-01,2025-12-19,140,130,"
            + "\"WIŚNIEWSKI, Zoë\",Mother",
        ",SEÁN,o'brien,seán,,2016-05-05,M,1 Road,,Norwich,NR1 1AA,Riverside,2025-09-01,2025-12-19,140,130,"
            + "Siobhán Robinson,Mother",
        ",Ann,Jоnes,,,2016-05-05,F,1 Road,,Norwich,NR1 1AA,Riverside,2025-09-01,2025-12-19,140,130,Jоnes,Father",
        ",  Seán ,Jose\u{301},\u{301}Ann,,2016-05-05,F,1 Road,,Norwich,NR1 1AA,Riverside,2025-09-01,2025-12-19,140,130,"
            + " \u{301}Zoë Lee ,Mother",
        " A123456789012 ,\tAnn,Lee ,,,2016-05-05 ,f ,1 Road ,,Norwich,NR1 1AA, Riverside,2025-09-01,2025-12-19, 140,130 ,"
            + " Jane Lee ,Mother\t",
        // The reference's: a non-ASCII town, and a blank surname (refused).
        ",Zoë,Lee,,,2016-05-05,F,1 Road,,Kraków,NR1 1AA,Riverside,2025-09-01,2025-12-19,140,130,Jane Lee,Mother",
        ",Zoë,,,,2016-05-05,F,1 Road,,Norwich,NR1 1AA,Riverside,2025-09-01,2025-12-19,140,130,Jane Lee,Mother",
    ]

    @Test("non-ASCII names and padded values take the lane and read the same", arguments: ["\n", "\r\n"])
    func nonASCIINamesAndPaddedValues(lineEnding: String) throws {
        let definition = try #require(try Self.definitions().first { $0.kind == .schoolAttendance })
        let header = Self.schoolHeader + ",PrimaryContactName,PrimaryContactRelationship"
        let rows = Self.nonASCIIAndPaddedSchoolRows
        let text = header + lineEnding + rows.joined(separator: lineEnding) + lineEnding
        let path = try Self.write(Array(text.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let lane = try Self.expectSame(path, definition, today: Self.today)
        #expect(lane.summary.rowsRead == rows.count)
        #expect(lane.summary.quarantine.count == 1)
        #expect(lane.summary.laneRows == rows.count - 2, "all but the non-ASCII town and the refusal")
        // Mixed scripts are kept but counted as not valid (row 3's surname and contact).
        #expect(
            lane.summary.quality["child.surname"]?.valid == (lane.summary.quality["child.surname"]?.present ?? 0) - 1)
    }

    @Test("sex spellings, known and unknown, each sent again, are mapped by the lane as by the reference")
    func repeatedSexSpellings() throws {
        let definition = try #require(try Self.definitions().first { $0.kind == .schoolAttendance })
        // Each spelling twice: the second is answered from what the lane kept of the first.
        // "Q" and "other" are no spelling the definition knows: stored as U and counted as not valid.
        let spellings = ["Female", "female", "F", "X", "Q", "m", "MALE", "other", "Female", "X", "m", "Q", "other"]
        let rows = spellings.map { sex in
            ",Ann,Lee,,,2016-05-05,\(sex),1 Road,,Norwich,NR1 1AA,Riverside,2025-09-01,2025-12-19,140,130"
        }
        let path = try Self.write(Array((Self.schoolHeader + "\n" + rows.joined(separator: "\n") + "\n").utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let lane = try Self.expectSame(path, definition, today: Self.today)
        #expect(lane.summary.laneRows == rows.count)
        let sexes = String(decoding: lane.copyText, as: UTF8.self).split(separator: "\n").map {
            $0.split(separator: "\t", omittingEmptySubsequences: false)[18]
        }
        #expect(sexes == ["F", "F", "F", "U", "U", "M", "M", "U", "F", "U", "M", "U", "U"])
        #expect(lane.summary.quality["child.sex"] == FieldQuality(rows: 13, present: 13, valid: 9))
    }

    static let healthVisitingHeader =
        "RecordID,ChildNHSNumber,ChildForename,ChildSurname,ChildDOB,ChildSex,AddressLine1,AddressLine2,Town,Postcode,"
        + "MotherNHSNumber,MotherForename,MotherSurname,MotherDOB,ReviewType,ReviewDueDate,ReviewStatus"

    @Test("antenatal health visiting rows take the lane and read the same, a Windows-1252 name too")
    func antenatalRows() throws {
        let definition = try #require(try Self.definitions().first { $0.kind == .healthVisiting })
        let rows: [[UInt8]] = [
            // The lane's: named or identified mothers; blank required facts are allowed antenatally.
            Array(
                "HV1,,,,,,20 Threshing Close,,King's Lynn,PE30 4XE,7540828323,Kimberley,Marsh,21/12/1987,Antenatal,26/07/2026,Completed"
                    .utf8),
            Array(
                "HV2,,,,,,4 Poppyfield Lane,,Norwich,NR3 9XT,7331738321,Joanne,,11/09/1987,Antenatal,04/08/2026,".utf8),
            Array("HV3,,,,,,4 Poppyfield Lane,,Norwich,NR3 9XT,1234567890,,WARD,,Antenatal,04/08/2026,".utf8),
            Array("HV5,,,,,,26 Elmstead Lane,,Fakenham,NR21 3RT,4421704067,VICKY,KING,11/07/2002,,,".utf8),
            Array("HV6,,,,,,1 Road,,Norwich,NR1 1AA,6050659184,Ren".utf8) + [0xE9]
                + Array("e,Evans,31/08/1998,Antenatal,06/07/2026,Completed".utf8),
            Array(
                "HV7,6150201287,Zoë,Jones,26/06/2025,F,1 Road,,Norwich,NR1 1AA,6050659184,Laura,Jones,31/08/1998,New Birth,06/07/2025,Completed"
                    .utf8),
            // The reference's: neither the mother's surname nor a valid NHS number; a bad date.
            Array("HV4,,,,,,4 Poppyfield Lane,,Norwich,NR3 9XT,1234567890,Joanne,,,Antenatal,04/08/2026,".utf8),
            Array(
                "HV8,,,,,,1 Road,,Norwich,NR1 1AA,6050659184,Laura,Jones,31/08/1998,Antenatal,31/02/2026,Completed".utf8
            ),
        ]
        var bytes = Array((Self.healthVisitingHeader + "\n").utf8)
        for row in rows { bytes += row + [0x0A] }
        let path = try Self.write(bytes)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let lane = try Self.expectSame(path, definition, today: Self.today)
        #expect(lane.summary.rowsRead == rows.count)
        #expect(lane.summary.quarantine.count == 2)
        #expect(lane.summary.laneRows == rows.count - 2)
        let copyText = String(decoding: lane.copyText, as: UTF8.self)
        #expect(copyText.components(separatedBy: "\texpectant_parent\t").count - 1 == 5)
        #expect(copyText.contains("\tRenée\t"), "the Windows-1252 name decoded as the reference decodes it")
    }
}
