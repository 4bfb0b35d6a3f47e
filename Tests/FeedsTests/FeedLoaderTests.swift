import Digest
import Foundation
import Identifiers
import Postgres
import PostgresTestSupport
import Testing

@testable import Feeds

/// Loading files into a real PostgreSQL: counts, quarantine, duplicates, atomicity.
@Suite("Feed loader")
struct FeedLoaderTests {
    static let definitionText = FeedDefinitionTests.minimal.replacingOccurrences(
        of: "child.dob = DOB", with: "child.dob = DOB\nchild.nhs_number = NHS\nrecord.ref = Ref")
    static let header = "Ref,UPN,NHS,Forename,Surname,DOB,Postcode,From,To,Possible,Attended\n"
    static let today = CalendarDate(year: 2026, month: 9, day: 1)!

    func definition() throws -> FeedDefinition {
        try FeedDefinition.parse(
            text: Self.definitionText, path: "test.feed", checksum: String(repeating: "a", count: 64))
    }

    func write(_ text: String, name: String = "school.csv") throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fc-feed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func load(_ text: String, in database: TestDatabase) throws -> (BatchReport, PostgresConnection) {
        let connection = try database.connect()
        let outcome = try FeedLoader(definition: try definition(), today: Self.today).load(
            path: try write(text), connection: connection)
        guard case .loaded(let report) = outcome else { throw FeedBatchError(.database, "expected a new batch") }
        return (report, connection)
    }

    /// The quarantine rows of a batch as (line, field, reason).
    func quarantine(_ connection: PostgresConnection, batch: Int64) throws -> [(Int, String?, String)] {
        try connection.query(
            "SELECT line_number, field, reason FROM quarantined_rows WHERE batch_id = $1 ORDER BY line_number", [batch]
        ).map {
            (try $0.decode(Int.self, at: 0), try $0.decode(String?.self, at: 1), try $0.decode(String.self, at: 2))
        }
    }

    @Test("good rows load, bad rows are quarantined with line, field and reason, and nothing is lost")
    func quarantineReasons() throws {
        let text =
            Self.header
            + "r1,B801200005001,9434765919,alfie,SMITH,07/03/2016,nr31 3fa,01/09/2025,31/12/2025,120,110\n"
            + "r2,,9434765918,Bella,Jones,07/03/2016,NR1 1AA,01/09/2025,31/12/2025,120,100\n"  // bad NHS check digit: kept as evidence
            + "r3,,,Cara,Brown,31/02/2016,NR1 1AA,01/09/2025,31/12/2025,120,100\n"  // impossible date
            + "r4,,,\"Dan \"the\" man\",Green,01/01/2016,NR1 1AA,01/09/2025,31/12/2025,120,100\n"  // broken quoting
            + "r5,,,Eve,White,01/01/2030,NR1 1AA,01/09/2025,31/12/2025,120,100\n"  // future DOB
            + "r6,,,Finn,Black,01/01/2016,NR1 1AA,01/09/2025,31/12/2025,100,120\n"  // attended > possible
            + "r7,,,Gus,Grey,01/01/2016,NR1 1AA\n"  // too few fields
            + "r8,,,Hal,Hart,01/01/2016,NR1 1AA,01/09/2025,31/12/2025,120,9"  // truncated last line, no newline: still a row
        try TestDatabase.with(.migrated) { database in
            let (report, connection) = try load(text, in: database)
            #expect(report.rowsRead == 8)
            #expect(report.rowsLoaded == 3)
            #expect(report.rowsQuarantined == 5)
            #expect(report.rowsRead == report.rowsLoaded + report.rowsQuarantined)
            let rows = try quarantine(connection, batch: report.batchID)
            #expect(rows.map(\.0) == [4, 5, 6, 7, 8])
            #expect(rows.map(\.1) == ["child.dob", "column 4", "child.dob", "fact.sessions_attended", nil])
            #expect(rows[0].2.contains("DD/MM/YYYY"))
            #expect(rows[1].2.contains("malformed CSV"))
            #expect(rows[2].2.contains("future"))
            #expect(rows[4].2.contains("fields"))
            // The raw line is kept verbatim so an officer can fix and resend it.
            let raw = try connection.execute(
                "SELECT raw_line FROM quarantined_rows WHERE batch_id = $1 AND line_number = 4", [report.batchID]
            ).scalar(String.self)
            #expect(raw.hasPrefix("r3,,,Cara,Brown,31/02/2016"))

            let stored = try connection.query(
                """
                SELECT partner_ref, nhs_number, nhs_number_raw, upn, given_name, family_name, dob, postcode,
                       facts->>'sessions_attended'
                FROM source_records WHERE batch_id = $1 ORDER BY record_number
                """, [report.batchID])
            #expect(stored.count == 3)
            #expect(try stored[0].decode(String?.self, at: 1) == "9434765919")
            #expect(try stored[0].decode(String?.self, at: 3) == "B801200005001")
            #expect(try stored[0].decode(String.self, at: 4) == "Alfie")
            #expect(try stored[0].decode(String.self, at: 5) == "Smith")
            #expect(try stored[0].decode(PostgresDate.self, at: 6) == PostgresDate(year: 2016, month: 3, day: 7))
            #expect(try stored[0].decode(String.self, at: 7) == "NR31 3FA")
            #expect(try stored[1].decode(String?.self, at: 1) == nil)
            #expect(try stored[1].decode(String?.self, at: 2) == "9434765918")
            #expect(try stored[2].decode(String.self, at: 8) == "9")

            let quality = try connection.query(
                "SELECT rows, present, valid FROM feed_batch_quality WHERE batch_id = $1 AND field = 'child.nhs_number'",
                [report.batchID])
            // Rows 1–3 and 5–6 and 8 were parsed (malformed and short rows are not); two carried a number, one valid.
            #expect(try quality.first?.decode(Int.self, at: 0) == 6)
            #expect(try quality.first?.decode(Int.self, at: 1) == 2)
            #expect(try quality.first?.decode(Int.self, at: 2) == 1)
        }
    }

    @Test("a surname mixing Latin and Cyrillic letters is stored as sent, title-cased, and counted as not valid")
    func mixedScriptNames() throws {
        let lowerO = "\u{043E}"
        let text =
            Self.header
            + "r1,,,Ann,J\(lowerO)nes,01/01/2016,NR1 1AA,01/09/2025,31/12/2025,120,110\n"
            + "r2,,,Bob,J\u{041E}NES,01/01/2016,NR1 1AA,01/09/2025,31/12/2025,120,110\n"
            + "r3,,,Cat,Jones,01/01/2016,NR1 1AA,01/09/2025,31/12/2025,120,110\n"
            + "r4,,,Dan,\u{0406}\u{0432}\u{0430}\u{043D}\u{043E}\u{0432},01/01/2016,NR1 1AA,01/09/2025,31/12/2025,120,110\n"
        try TestDatabase.with(.migrated) { database in
            let (report, connection) = try load(text, in: database)
            #expect(report.rowsLoaded == 4)
            let names = try connection.query(
                "SELECT family_name FROM source_records WHERE batch_id = $1 ORDER BY record_number", [report.batchID]
            ).map { try $0.decode(String.self, at: 0) }
            #expect(
                names == [
                    "J\(lowerO)nes", "J\(lowerO)nes", "Jones", "\u{0406}\u{0432}\u{0430}\u{043D}\u{043E}\u{0432}",
                ])
            let quality = try connection.query(
                "SELECT rows, present, valid FROM feed_batch_quality WHERE batch_id = $1 AND field = 'child.surname'",
                [report.batchID])
            #expect(try quality.first?.decode(Int.self, at: 1) == 4)
            #expect(try quality.first?.decode(Int.self, at: 2) == 2, "the two mixed-script surnames are findings")
            let forenames = try connection.query(
                "SELECT valid FROM feed_batch_quality WHERE batch_id = $1 AND field = 'child.forename'",
                [report.batchID])
            #expect(try forenames.first?.decode(Int.self, at: 0) == 4)
        }
    }

    @Test("an empty file is a batch error and leaves no batch behind")
    func emptyFile() throws {
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            let error = #expect(throws: FeedBatchError.self) {
                try FeedLoader(definition: try definition(), today: Self.today).load(
                    path: try write(""), connection: connection)
            }
            #expect(error?.code == .empty)
            #expect(try connection.execute("SELECT count(*) FROM feed_batches").scalar(Int.self) == 0)
        }
    }

    @Test("a header lacking a mapped column fails the batch, naming the column")
    func missingColumn() throws {
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            let error = #expect(throws: FeedBatchError.self) {
                try FeedLoader(definition: try definition(), today: Self.today).load(
                    path: try write(Self.header.replacingOccurrences(of: "Possible,", with: "") + "x\n"),
                    connection: connection)
            }
            #expect(error?.code == .header)
            #expect(error?.message.contains("Possible") == true)
            #expect(try connection.execute("SELECT count(*) FROM source_records").scalar(Int.self) == 0)
        }
    }

    @Test("the same content loads once, even under another name")
    func duplicates() throws {
        let text = Self.header + "r1,,,Ann,Lee,01/01/2016,NR1 1AA,01/09/2025,31/12/2025,120,110\n"
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            let loader = FeedLoader(definition: try definition(), today: Self.today)
            guard
                case .loaded(let first) = try loader.load(path: try write(text, name: "a.csv"), connection: connection)
            else {
                Issue.record("first load should be new")
                return
            }
            // The ledger keeps the file's own SHA-256 (computed while the rows loaded).
            #expect(
                try connection.execute("SELECT sha256 FROM feed_batches").scalar(String.self)
                    == SHA256.hex(of: SHA256.hash(Array(text.utf8))))
            let again = try loader.load(path: try write(text, name: "renamed.csv"), connection: connection)
            #expect(again == .duplicate(batchID: first.batchID))
            #expect(try connection.execute("SELECT count(*) FROM source_records").scalar(Int.self) == 1)
            #expect(try connection.execute("SELECT count(*) FROM feed_batches").scalar(Int.self) == 1)
        }
    }

    /// Rows for `manyRows`: every 997th has an impossible date of birth (quarantined).
    static func manyRows(_ count: Int) -> String {
        var text = header
        text.reserveCapacity(count * 90)
        for n in 1...count {
            let dob = n % 997 == 0 ? "31/02/2016" : "0\(n % 9 + 1)/03/2016"
            text += "r\(n),,,Ann \(n % 13),Lee\(n % 977),\(dob),NR1 1AA,01/09/2025,31/12/2025,120,\(n % 120)\n"
        }
        return text
    }

    @Test("a file of many hand-over buffers loads every row once, in file order, with its quarantine")
    func manyBuffers() throws {
        // About 60,000 rows of encoded COPY text: well over the 16 buffers of 256 KiB in flight at once,
        // so the reading thread waits for the connection's and buffers are reused.
        let count = 60_000
        try TestDatabase.with(.migrated) { database in
            let (report, connection) = try load(Self.manyRows(count), in: database)
            let bad = count / 997
            #expect(report.rowsRead == count)
            #expect(report.rowsQuarantined == bad)
            #expect(report.rowsLoaded == count - bad)
            let order = try connection.query(
                """
                SELECT count(*), count(DISTINCT record_number), min(record_number), max(record_number),
                       bool_and(line_number = record_number + 1),
                       count(*) FILTER (WHERE partner_ref <> 'r' || record_number),
                       count(*) FILTER (WHERE id_rank <> record_rank)
                FROM (SELECT *, rank() OVER (ORDER BY id) AS id_rank, rank() OVER (ORDER BY record_number) AS record_rank
                      FROM source_records WHERE batch_id = $1) s
                """, [report.batchID]
            ).first
            #expect(try order?.decode(Int.self, at: 0) == count - bad)
            #expect(try order?.decode(Int.self, at: 1) == count - bad)
            #expect(try order?.decode(Int.self, at: 2) == 1)
            #expect(try order?.decode(Int.self, at: 3) == count)
            #expect(try order?.decode(Bool.self, at: 4) == true)
            #expect(try order?.decode(Int.self, at: 5) == 0, "every row keeps its own reference")
            #expect(try order?.decode(Int.self, at: 6) == 0, "rows are stored in file order")
            let held = try quarantine(connection, batch: report.batchID)
            #expect(held.map(\.0) == (1...bad).map { $0 * 997 + 1 })
            #expect(held.allSatisfy { $0.1 == "child.dob" })
        }
    }

    @Test("a COPY the server refuses half-way leaves no batch, and the reading thread is stopped")
    func refusedMidway() throws {
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            // A constraint only row 40,000 breaks: the server refuses the COPY well after it started.
            try connection.execute(
                "ALTER TABLE source_records ADD CONSTRAINT test_refuse CHECK (record_number <> 40000)")
            let loader = FeedLoader(definition: try definition(), today: Self.today)
            let path = try write(Self.manyRows(60_000))
            let error = #expect(throws: PostgresError.self) { try loader.load(path: path, connection: connection) }
            #expect(error?.sqlState == "23514")
            #expect(try connection.execute("SELECT count(*) FROM feed_batches").scalar(Int.self) == 0)
            #expect(try connection.execute("SELECT count(*) FROM source_records").scalar(Int.self) == 0)
            // The connection is usable and the same file loads once the obstacle is gone.
            try connection.execute("ALTER TABLE source_records DROP CONSTRAINT test_refuse")
            guard case .loaded(let report) = try loader.load(path: path, connection: connection) else {
                Issue.record("the file should load")
                return
            }
            #expect(report.rowsRead == 60_000)
        }
    }

    @Test("the batch reference holds: no record names a missing batch, no referenced batch goes away")
    func batchReference() throws {
        let text = Self.header + "r1,,,Ann,Lee,01/01/2016,NR1 1AA,01/09/2025,31/12/2025,120,110\n"
        try TestDatabase.with(.migrated) { database in
            let (report, connection) = try load(text, in: database)
            func sqlState(_ sql: String, _ parameters: [any PostgresEncodable] = []) -> String? {
                do {
                    try connection.execute(sql, parameters)
                    return nil
                } catch {
                    return error.sqlState ?? "?"
                }
            }
            let missing = report.batchID + 1
            #expect(
                sqlState(
                    """
                    INSERT INTO source_records (batch_id, feed, kind, record_number, line_number, subject)
                    VALUES ($1, 'test_school', 'school_attendance', 2, 3, 'child')
                    """, [missing]) == "23503")
            let copied = #expect(throws: PostgresError.self, "one bad row among good ones refuses the statement") {
                try connection.copyIn(
                    "COPY source_records (batch_id, feed, kind, record_number, line_number, subject) FROM STDIN"
                ) {
                    writer in
                    try writer.writeRow([String(report.batchID), "test_school", "school_attendance", "2", "3", "child"])
                    try writer.writeRow([String(missing), "test_school", "school_attendance", "3", "4", "child"])
                }
            }
            #expect(copied?.sqlState == "23503")
            #expect(sqlState("UPDATE source_records SET batch_id = $1", [missing]) == "23503")
            #expect(sqlState("DELETE FROM feed_batch_quality") == nil)
            #expect(sqlState("DELETE FROM feed_batches WHERE id = $1", [report.batchID]) == "23503")
            #expect(sqlState("UPDATE feed_batches SET id = $1 WHERE id = $2", [missing, report.batchID]) == "23503")
            #expect(sqlState("TRUNCATE feed_batches CASCADE") != nil)
            #expect(try connection.execute("SELECT count(*) FROM source_records").scalar(Int.self) == 1)
            #expect(try connection.execute("SELECT count(*) FROM feed_batches").scalar(Int.self) == 1)
            // Once its records are gone, a batch may go (the ledger is not otherwise append-only).
            #expect(sqlState("UPDATE feed_batches SET source_name = 'renamed.csv'") == nil)
            #expect(sqlState("DELETE FROM source_records") == nil)
            #expect(sqlState("DELETE FROM feed_batches") == nil)
        }
    }

    @Test("a drop folder takes only complete files and archives each")
    func dropFolder() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fc-drop-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for name in ["b.csv", "a.csv", "c.csv.part", ".d.csv", "notes.txt"] {
            try Data("x".utf8).write(to: URL(fileURLWithPath: folder + "/" + name))
        }
        var drop = DropFolder(path: folder)
        drop.settleSeconds = 0
        let pending = try drop.pendingFiles()
        #expect(pending.map { ($0 as NSString).lastPathComponent } == ["a.csv", "b.csv"])
        let moved = try drop.archive(pending[0], succeeded: true)
        let failed = try drop.archive(pending[1], succeeded: false)
        #expect(moved.contains("/processed/") && FileManager.default.fileExists(atPath: moved))
        #expect(failed.contains("/failed/") && FileManager.default.fileExists(atPath: failed))
        #expect(try drop.pendingFiles().isEmpty)
        drop.settleSeconds = 60
        try Data("y".utf8).write(to: URL(fileURLWithPath: folder + "/e.csv"))
        #expect(try drop.pendingFiles().isEmpty, "a file still being written is left alone")
    }
}
