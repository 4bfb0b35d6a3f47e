import Families
import Feeds
import Foundation
import Identifiers
import Postgres
import PostgresTestSupport
import ScenarioTestSupport
import Testing

@testable import Flags

func readCSV(_ path: String) throws -> [[String]] {
    let reader = try CSVReader(path: path)
    var rows: [[String]] = []
    while let result = try reader.next() {
        guard case .record(let record) = result else { throw ExportFileError(message: "malformed CSV", path: path) }
        rows.append((0..<record.fieldCount).map { record.field($0) })
    }
    return rows
}

@Suite("Exports to outreach teams")
struct ExportTests {
    func temporaryFolder() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("fc-outbox-\(UUID().uuidString)").path
    }

    @Test("one CSV per team, UTF-8 with BOM and header, only what outreach needs; a flag goes to its team once")
    func exportsOnce() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let norwich = TestWorld.Address(line1: "Flat 2, 7 Elm Road", postcode: "NR2 4AB")
            let (child, sibling) = (try world.child(), try world.child())
            try world.record(
                child, kind: "school_attendance", address: norwich, given: "Zoë", family: "O'Brien, Smith",
                dob: "2015-05-05",
                facts:
                    #"{"period_start":"2025-09-03","period_end":"2025-12-19","sessions_possible":100,"sessions_attended":80,"school_name":"Elm Primary"}"#
            )
            try world.record(
                sibling, kind: "school_attendance", address: norwich, given: "=Sam", family: "O'Brien",
                dob: "2018-09-03",
                facts:
                    #"{"period_start":"2025-09-03","period_end":"2025-12-19","sessions_possible":100,"sessions_attended":99,"school_name":"Elm Primary"}"#
            )
            try world.record(
                child, kind: "fsm", address: norwich, given: "Zoë", family: "O'Brien, Smith",
                facts: #"{"eligible_from":"2025-01-10"}"#)
            // A second family in the west team's area.
            let (other, _) = (try world.child(), try world.child())
            try world.school(other, at: .other, from: "2025-09-03", to: "2025-12-19", possible: 100, attended: 80)
            try world.fsm(other, from: "2025-01-10", at: .other)
            try Cycle.run(world.connection, asOf: "2026-09-01")
            #expect(try Cycle.count(world.connection, "SELECT count(*) FROM flags") == 2)

            let outbox = temporaryFolder()
            defer { try? FileManager.default.removeItem(atPath: outbox) }
            let exporter = Exporter(
                connection: world.connection, teams: try Cycle.shippedTeams(), outbox: outbox,
                asOf: CalendarDate(iso8601: "2026-09-02")!)

            // A dry run says what it would write, and writes nothing.
            let dry = try exporter.export(team: "norwich", dryRun: true)
            #expect(dry.dryRun && dry.flagsExported == 1 && dry.files.map(\.team) == ["norwich"])
            #expect(!FileManager.default.fileExists(atPath: outbox))
            #expect(try Cycle.count(world.connection, "SELECT count(*) FROM export_ledger") == 0)
            #expect(try Cycle.count(world.connection, "SELECT count(*) FROM flags WHERE status = 'new'") == 2)

            let report = try exporter.export(team: "norwich")
            #expect(report.flagsExported == 1)
            let file = try #require(report.files.first)
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file.path)))
            #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF])
            #expect(String(decoding: bytes, as: UTF8.self).contains("\r\n"))
            // Only the finished file is in the outbox: no temporary left behind.
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: outbox) == [
                    (file.path as NSString).lastPathComponent
                ])
            let rows = try readCSV(file.path)
            #expect(rows.count == 2)
            #expect(rows[0] == Exporter.columns)
            let row = rows[1]
            #expect(row.count == Exporter.columns.count)
            let family = try #require(try world.family(of: child))
            #expect(row[1] == family)
            #expect(row[2] == "norwich")
            #expect(row[3] == "2026-09-01")
            #expect(row[4] == "Flat 2, 7 Elm Road, NR2 4AB")
            #expect(row[5] == "\(child), Zoë O'Brien, Smith, 11 years\n\(sibling), =Sam O'Brien, 7 years")
            #expect(row[6].hasPrefix("Needs in two or more outcome areas (rule needs_in_two_outcome_areas, version 1)"))
            #expect(row[7].contains("Zoë O'Brien, Smith (\(child)): Attended 80.0% of sessions at Elm Primary"))
            #expect(row[7].contains("[source: school attendance record 1 of file \(world.batchID)]"))
            #expect(row[7].contains("Eligible for free school meals from 10 January 2025"))
            #expect(try Cycle.count(world.connection, "SELECT count(*) FROM flags WHERE status = 'exported'") == 1)

            // Again: nothing new for Norwich. All teams: only the west team's flag.
            let again = try exporter.export(team: "norwich")
            #expect(again.flagsExported == 0 && again.files.isEmpty)
            let all = try exporter.export()
            #expect(all.files.map(\.team) == ["west"] && all.flagsExported == 1)
            #expect(try exporter.export().flagsExported == 0)
            #expect(try Cycle.count(world.connection, "SELECT count(*) FROM export_ledger") == 2)
            #expect(try Cycle.count(world.connection, "SELECT count(*) FROM export_files") == 2)
        }
    }

    @Test("a file an export left without committing is removed by the next export; recorded and foreign files stay")
    func unrecordedFilesRemoved() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let child = try world.child()
            try world.school(child, at: .other, from: "2025-09-03", to: "2025-12-19", possible: 100, attended: 80)
            try world.fsm(child, from: "2025-01-10", at: .other)
            try Cycle.run(world.connection, asOf: "2026-09-01")
            let outbox = temporaryFolder()
            try FileManager.default.createDirectory(atPath: outbox, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: outbox) }
            let leftBehind = [
                "familyconnect-north-east-20260901-987654.csv", ".familyconnect-west-20260901-987655.csv.tmp",
            ]
            let foreign = ["notes.txt", "familyconnect-west-latest.csv", "familyconnect-west-20260901-12.csv.bak"]
            for name in leftBehind + foreign {
                try "Flag ID\r\n".write(toFile: outbox + "/" + name, atomically: false, encoding: .utf8)
            }
            let exporter = Exporter(
                connection: world.connection, teams: try Cycle.shippedTeams(), outbox: outbox,
                asOf: CalendarDate(iso8601: "2026-09-02")!)

            let dry = try exporter.export(dryRun: true)
            #expect(dry.unrecordedFilesRemoved == 0)
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: outbox)) == Set(leftBehind + foreign))

            let report = try exporter.export()
            #expect(report.unrecordedFilesRemoved == 2)
            #expect(report.counts["unrecorded_files_removed"] == 2)
            let written = try #require(report.files.first).path
            #expect(
                Set(try FileManager.default.contentsOfDirectory(atPath: outbox))
                    == Set(foreign + [(written as NSString).lastPathComponent]))
            // The recorded file is the ledger's: the next export keeps it.
            #expect(try exporter.export().unrecordedFilesRemoved == 0)
            #expect(FileManager.default.fileExists(atPath: written))
        }
    }

    @Test("only names the exporter writes are read as export files")
    func exportFileNames() {
        let written = ExportOutbox.fileName(team: "west", asOf: CalendarDate(iso8601: "2026-09-01")!, fileID: 42)
        #expect(written == "familyconnect-west-20260901-42.csv")
        #expect(ExportOutbox.ExportFileName(written) == .init(fileID: 42, isTemporary: false))
        #expect(ExportOutbox.ExportFileName("familyconnect-north-east-20260901-7.csv")?.fileID == 7)
        #expect(
            ExportOutbox.ExportFileName(".familyconnect-west-20260901-42.csv.tmp")
                == .init(fileID: 42, isTemporary: true))
        for name in [
            "familyconnect-west-latest.csv", "familyconnect-west-2026091-42.csv", "familyconnect-west-20260901-0.csv",
            "familyconnect-west-20260901-42.csv.bak", "other-west-20260901-42.csv",
            ".familyconnect-west-20260901-42.csv",
            "familyconnect-20260901-42.csv", "familyconnect-west-+2026090-42.csv",
        ] {
            #expect(ExportOutbox.ExportFileName(name) == nil, "\(name)")
        }
    }

    @Test("a cell starting like a formula is made plain text")
    func formulaCells() {
        #expect(Exporter.safeCell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")")
        #expect(Exporter.safeCell("+44") == "'+44")
        #expect(Exporter.safeCell("C12345678J, Ann") == "C12345678J, Ann")
    }

    @Test("full-width, small and spaced-out formula starts, tabs and CRs are made plain text too; ordinary text is not")
    func lookAlikeFormulaCells() {
        for start in [
            "=", "+", "-", "@", "\t", "\r", "\u{FF1D}", "\u{FF0B}", "\u{FF0D}", "\u{FF20}", "\u{FE66}", "\u{FE62}",
            "\u{FE63}", "\u{2212}",
        ] {
            for cell in [
                start + "HYPERLINK(\"http://x\")", start + "1+1", " " + start + "cmd|' /C calc'!A0",
                "\u{3000}" + start + "1",
            ] {
                #expect(
                    Exporter.safeCell(cell) == "'" + cell, "\(cell.unicodeScalars.map { String($0.value, radix: 16) })")
            }
        }
        for plain in [
            "Ann Smith", "", " ", "1 High Street", "O'Brien", "\u{FF21}nn", "Ann\n=1", "a=b", "C12345678J, Ann",
        ] {
            #expect(Exporter.safeCell(plain) == plain, "\(plain)")
        }
        // What a spreadsheet reads back: the cell starts with the apostrophe, whatever followed.
        var out: [UInt8] = []
        CSVWriter(lineEnding: .lf).appendRow(
            ["\u{FF1D}SUM(A1)", "\u{FF20}x", "Ann"].map(Exporter.safeCell).map { Array($0.utf8) }, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "'\u{FF1D}SUM(A1),'\u{FF20}x,Ann\n")
    }

    @Test("an export file appears whole or not at all: an existing name is refused and nothing is left behind")
    func atomicWrite() throws {
        let folder = temporaryFolder()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = (folder as NSString).appendingPathComponent("out.csv")
        try Exporter.writeAtomically(Array("a,b\r\n".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "a,b\r\n")
        #expect(throws: ExportFileError.self) { try Exporter.writeAtomically(Array("c,d\r\n".utf8), to: path) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "a,b\r\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["out.csv"])
        // A folder that cannot be written: an error naming the folder, no file.
        #expect(throws: ExportFileError.self) { try Exporter.writeAtomically([1], to: folder + "/missing/x.csv") }
    }
}
