import Foundation
import Postgres
import PostgresTestSupport
import Synchronization
import Testing

@Suite("Postgres connection against a real server")
struct ConnectionTests {
    @Test("awkward values round-trip as parameters, never as SQL text")
    func awkwardParameters() throws {
        try TestDatabase.with { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE t (id int, v text)")
            let values: [String?] = [
                "O'Brien", "Robert'); DROP TABLE t; --", "\"quoted\"", "back\\slash", "tab\tand\nnewline",
                "Zoë Łukasz Ørsted 李小龍 👶🏽", "", nil, "$1", String(repeating: "x", count: 100_000),
            ]
            for (index, value) in values.enumerated() {
                try connection.execute("INSERT INTO t VALUES ($1, $2)", [index, value])
            }
            let rows = try connection.query("SELECT id, v FROM t ORDER BY id")
            #expect(rows.count == values.count)
            for row in rows {
                let id = try row.decode(Int.self, at: 0)
                #expect(try row.decode(String?.self, at: 1) == values[id])
            }
            #expect(try connection.execute("SELECT count(*) FROM t WHERE v IS NULL").scalar(Int.self) == 1)
        }
    }

    @Test("integer arrays go as digits, negative and extreme values included, and the server reads them back")
    func integerArrays() throws {
        let ints = [0, 7, -7, 10, 1_234_567_890, Int.max, Int.min]
        #expect(ints.postgresText == "{0,7,-7,10,1234567890,9223372036854775807,-9223372036854775808}")
        #expect([Int]().postgresText == "{}")
        #expect(ints.map { Int64($0) }.postgresText == ints.postgresText)
        // Other element types keep their quoted form.
        #expect(["a\"b", nil].postgresText == "{\"a\\\"b\",NULL}")
        try TestDatabase.with { database in
            let connection = try database.connect()
            let back = try connection.query("SELECT unnest($1::bigint[])", [ints]).map {
                try $0.decode(Int.self, at: 0)
            }
            #expect(back == ints)
            let back64 = try connection.query("SELECT unnest($1::bigint[])", [ints.map { Int64($0) }]).map {
                try $0.decode(Int64.self, at: 0)
            }
            #expect(back64 == ints.map { Int64($0) })
        }
    }
    @Test("a NUL byte in a parameter is refused before it reaches the server")
    func nulParameter() throws {
        try TestDatabase.with { database in
            let connection = try database.connect()
            let error = #expect(throws: PostgresError.self) {
                try connection.execute("SELECT $1::text", ["a\u{0}b"])
            }
            #expect(error?.code == .invalidParameter)
        }
    }

    @Test("typed decoding of text, integers, bool, date, timestamptz, uuid, jsonb and NULL")
    func typedDecoding() throws {
        try TestDatabase.with { database in
            let connection = try database.connect()
            let id = UUID()
            let instant = Date(timeIntervalSince1970: 1_700_000_000.25)
            struct Payload: Codable, Equatable {
                let feed: String
                let rows: Int
            }
            let json = try PostgresJSON(encoding: Payload(feed: "school", rows: 3))
            let row = try #require(
                try connection.query(
                    """
                    SELECT 'text'::text, 42::int4, 9007199254740993::int8, true, false, '2019-02-28'::date,
                           $1::timestamptz, $2::uuid, $3::jsonb, NULL::text, 1.5::float8, $4::date
                    """,
                    [instant, id, json, PostgresDate(year: 2016, month: 2, day: 29)]
                ).first)
            #expect(try row.decode(String.self, at: 0) == "text")
            #expect(try row.decode(Int32.self, at: 1) == 42)
            #expect(try row.decode(Int64.self, at: 2) == 9_007_199_254_740_993)
            #expect(try row.decode(Bool.self, at: 3) == true)
            #expect(try row.decode(Bool.self, at: 4) == false)
            #expect(try row.decode(PostgresDate.self, at: 5) == PostgresDate(year: 2019, month: 2, day: 28))
            #expect(abs(try row.decode(Date.self, at: 6).timeIntervalSince(instant)) < 0.000_01)
            #expect(try row.decode(UUID.self, at: 7) == id)
            #expect(
                try row.decode(PostgresJSON.self, at: 8).decode(as: Payload.self) == Payload(feed: "school", rows: 3))
            #expect(try row.decode(String?.self, at: 9) == nil)
            #expect(try row.decode(Double.self, at: 10) == 1.5)
            #expect(try row.decode(PostgresDate.self, at: 11).description == "2016-02-29")
            let nullError = #expect(throws: PostgresError.self) { try row.decode(String.self, at: 9) }
            #expect(nullError?.code == .decoding)
            let typeError = #expect(throws: PostgresError.self) { try row.decode(Int.self, at: 0) }
            #expect(typeError?.code == .decoding)
        }
    }

    @Test("timestamps with other offsets decode to the same instant")
    func timestampOffsets() throws {
        let a = try Date.decode(postgresText: "2024-03-31 01:30:00+01")
        let b = try Date.decode(postgresText: "2024-03-31 00:30:00+00")
        let c = try Date.decode(postgresText: "2024-03-30 19:00:00.5-05:30")
        #expect(a == b)
        #expect(c.timeIntervalSince(b) == 0.5)
    }

    @Test("a SQL error surfaces with its SQLSTATE and the server's message")
    func sqlState() throws {
        try TestDatabase.with { database in
            let connection = try database.connect()
            let missing = #expect(throws: PostgresError.self) { try connection.execute("SELECT * FROM no_such_table") }
            #expect(missing?.sqlState == "42P01")
            #expect(missing?.message.contains("no_such_table") == true)
            try connection.execute("CREATE TABLE u (k int PRIMARY KEY)")
            try connection.execute("INSERT INTO u VALUES (1)")
            let duplicate = #expect(throws: PostgresError.self) { try connection.execute("INSERT INTO u VALUES (1)") }
            #expect(duplicate?.sqlState == "23505")
            // The connection stays usable after an error.
            #expect(try connection.execute("SELECT count(*) FROM u").scalar(Int.self) == 1)
        }
    }

    @Test("data-exception messages keep the offending value out of description")
    func redaction() throws {
        try TestDatabase.with { database in
            let connection = try database.connect()
            let error = #expect(throws: PostgresError.self) {
                try connection.execute("SELECT $1::date", ["Jessica 31/02/2019"])
            }
            #expect(error?.sqlState == "22007")
            #expect(error.map { String(describing: $0) }?.contains("Jessica") == false)
            #expect(error?.message.contains("Jessica") == true)
        }
    }

    @Test("a thrown error inside a transaction leaves nothing behind")
    func transactionRollback() throws {
        struct Boom: Error {}
        try TestDatabase.with { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE r (v int)")
            #expect(throws: Boom.self) {
                try connection.transaction { connection in
                    try connection.execute("INSERT INTO r VALUES (1), (2)")
                    throw Boom()
                }
            }
            #expect(throws: PostgresError.self) {
                try connection.transaction { connection in
                    try connection.execute("INSERT INTO r VALUES (3)")
                    try connection.execute("INSERT INTO r VALUES ('not a number')")
                }
            }
            #expect(try connection.execute("SELECT count(*) FROM r").scalar(Int.self) == 0)
            let kept = try connection.transaction { connection in
                try connection.execute("INSERT INTO r VALUES (4)").affectedRows
            }
            #expect(kept == 1)
            #expect(try connection.execute("SELECT count(*) FROM r").scalar(Int.self) == 1)
        }
    }

    @Test("COPY loads 100,000 rows with escaping intact, and an aborted COPY loads nothing")
    func copy() throws {
        struct Stop: Error {}
        try TestDatabase.with { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE c (n int, s text, maybe text)")
            let loaded = try connection.copyIn("COPY c (n, s, maybe) FROM STDIN") { writer in
                for n in 0..<100_000 {
                    try writer.appendField(String(n))
                    try writer.appendField("row\t\(n)\\ with \"quotes\"\nand newline, Zoë")
                    try writer.appendField(n % 10 == 0 ? nil : "x")
                    try writer.endRow()
                }
            }
            #expect(loaded == 100_000)
            #expect(try connection.execute("SELECT count(*) FROM c").scalar(Int.self) == 100_000)
            #expect(try connection.execute("SELECT count(*) FROM c WHERE maybe IS NULL").scalar(Int.self) == 10_000)
            let sample = try connection.execute("SELECT s FROM c WHERE n = 77777").scalar(String.self)
            #expect(sample == "row\t77777\\ with \"quotes\"\nand newline, Zoë")

            #expect(throws: Stop.self) {
                try connection.copyIn("COPY c (n, s, maybe) FROM STDIN") { writer in
                    try writer.writeRow(["1", "partial", nil])
                    throw Stop()
                }
            }
            #expect(try connection.execute("SELECT count(*) FROM c").scalar(Int.self) == 100_000)
            let bad = #expect(throws: PostgresError.self) {
                try connection.copyIn("COPY c (n, s, maybe) FROM STDIN") { writer in
                    try writer.writeRow(["not-a-number", "x", nil])
                }
            }
            #expect(bad?.sqlState == "22P02")
            #expect(try connection.execute("SELECT 1").scalar(Int.self) == 1)
        }
    }

    @Test(
        "a raw result reads text, bytes and integers in place; NULL, limits and non-numbers are nil; errors carry SQLSTATE"
    )
    func rawResult() throws {
        try TestDatabase.with { database in
            let connection = try database.connect()
            let values: [(String?, Int64?)] = try connection.withRawResult(
                """
                SELECT v, v FROM unnest(ARRAY['0', '-17', '9223372036854775807', '-9223372036854775808',
                    '9223372036854775808', '12a', '', '-', NULL, 'Zoë']) WITH ORDINALITY AS t(v, n) ORDER BY n
                """
            ) { result in
                #expect(result.columnCount == 2)
                return (0..<result.rowCount).map { (result.string($0, 0), result.int64($0, 1)) }
            }
            #expect(
                values.map(\.0) == [
                    "0", "-17", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "12a", "", "-",
                    nil, "Zoë",
                ])
            #expect(values.map(\.1) == [0, -17, .max, .min, nil, nil, nil, nil, nil, nil])
            let bytes = try connection.withRawResult("SELECT $1::text, NULL::text", ["Zoë"]) { result in
                (Array(result.bytes(0, 0)), result.bytes(0, 1).count, result.isNull(0, 1), result.isNull(0, 0))
            }
            #expect(bytes.0 == Array("Zoë".utf8) && bytes.1 == 0 && bytes.2 && !bytes.3)
            #expect(try connection.withRawResult("SELECT 1 WHERE false") { $0.rowCount } == 0)
            #expect(!connection.inTransaction)
            try connection.transaction { #expect($0.inTransaction) }
            #expect(!connection.inTransaction)
            #expect {
                try connection.withRawResult("SELECT 1/0") { $0.rowCount }
            } throws: { ($0 as? PostgresError)?.sqlState == "22012" }
        }
    }

    @Test("COPY rows encoded on another thread arrive whole: integers, booleans, NULL and escapes")
    func copyTextBuffers() throws {
        try TestDatabase.with { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE b (n bigint, ok boolean, s text, part int)")
            let numbers = [0, 7, -7, 10, 99, 100, -1_000_000, Int.max, Int.min]
            // Two buffers made on a thread without the connection, as the feed loader makes them.
            let made = DispatchSemaphore(value: 0)
            let buffers = Mutex<[CopyTextBuffer]>([])
            Thread {
                for part in 0..<2 {
                    var rows = CopyTextBuffer()
                    for (index, n) in numbers.enumerated() {
                        rows.appendField(n)
                        rows.appendField(index % 2 == 0)
                        try? rows.appendField(index == 3 ? nil : "tab\there\\ and\r\nlines \(n)")
                        rows.appendField(part)
                        rows.endRow()
                    }
                    buffers.withLock { $0.append(rows) }
                }
                made.signal()
            }.start()
            made.wait()
            let loaded = try connection.copyIn("COPY b FROM STDIN") { writer in
                try writer.writeRow(["1", "t", "written here", "-1"])
                for rows in buffers.withLock({ $0 }) { try writer.write(rows) }
            }
            #expect(loaded == 1 + 2 * numbers.count)
            let stored = try connection.query("SELECT n, ok, s FROM b WHERE part = 1 ORDER BY ctid").map {
                (try $0.decode(Int.self, at: 0), try $0.decode(Bool.self, at: 1), try $0.decode(String?.self, at: 2))
            }
            #expect(stored.map(\.0) == numbers)
            #expect(stored.map(\.1) == numbers.indices.map { $0 % 2 == 0 })
            #expect(stored[3].2 == nil)
            #expect(stored[8].2 == "tab\there\\ and\r\nlines \(Int.min)")

            var partial = CopyTextBuffer()
            partial.appendField(1)
            #expect(!partial.isAtRowBoundary, "a buffer that ends mid-row is not sendable")
            var nul = CopyTextBuffer()
            #expect(throws: PostgresError.self) { try nul.appendField("a\u{0}b") }
        }
    }

    @Test("binary COPY in several chunks: bigint extremes, exact float8 bits, text, booleans and NULL arrive whole")
    func copyBinaryBuffers() throws {
        try TestDatabase.with { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE k (key bigint, record bigint)")
            try connection.execute("CREATE TABLE m (n bigint, w float8, s text, ok boolean, part int8)")
            let keys: [Int64] = [0, 1, -1, Int64.max, Int64.min, 1 << 40, -(1 << 33)]
            let loadedKeys = try connection.copyIn("COPY k (key, record) FROM STDIN (FORMAT binary)") { writer in
                // Three chunks: the header opens the first, the trailer closes the last.
                var chunk = CopyBinaryBuffer(header: true)
                for (index, key) in keys.enumerated() {
                    chunk.appendRow(key, Int64(index))
                    if index == 2 || index == 4 {
                        try writer.write(chunk)
                        chunk = CopyBinaryBuffer(header: false)
                    }
                }
                chunk.appendTrailer()
                try writer.write(chunk)
            }
            #expect(loadedKeys == keys.count)
            let storedKeys = try connection.query("SELECT key FROM k ORDER BY record").map {
                Int64(try $0.decode(Int.self, at: 0))
            }
            #expect(storedKeys == keys)

            let weights = [0.1 + 0.2, -16.354370408123457, 1e-300, Double.greatestFiniteMagnitude, 0]
            let texts: [String?] = ["vouched_by_incident", "Zoë \\ \"quoted\" 👶🏽", nil, "", "tab\tline\n"]
            try connection.copyIn("COPY m FROM STDIN (FORMAT binary)") { writer in
                var rows = CopyBinaryBuffer(header: true)
                for index in weights.indices {
                    rows.startRow(fields: 5)
                    rows.appendField(Int64(index))
                    rows.appendField(weights[index])
                    if let text = texts[index] { rows.appendField(utf8: text.utf8) } else { rows.appendNull() }
                    rows.appendField(index % 2 == 0)
                    rows.appendNull()
                }
                rows.appendTrailer()
                try writer.write(rows)
            }
            let stored = try connection.query("SELECT w::text, s, ok, part IS NULL FROM m ORDER BY n").map {
                (
                    try $0.decode(String.self, at: 0), try $0.decode(String?.self, at: 1),
                    try $0.decode(Bool.self, at: 2), try $0.decode(Bool.self, at: 3)
                )
            }
            // float8's text output is its shortest exact form: the same bits came back.
            #expect(stored.map { Double($0.0)!.bitPattern } == weights.map(\.bitPattern))
            #expect(stored.map(\.1) == texts)
            #expect(stored.map(\.2) == weights.indices.map { $0 % 2 == 0 })
            #expect(stored.allSatisfy { $0.3 })
        }
    }

    @Test("array parameters: quotes, backslashes, commas, braces, non-ASCII text and NULL survive as elements")
    func arrayParameters() throws {
        try TestDatabase.with { database in
            let connection = try database.connect()
            let texts: [String?] = ["a,b", "{braced}", "\"q\"", "back\\slash", "Zoë 李 👶🏽", "", nil, "NULL", " spaced "]
            let back = try connection.query(
                "SELECT e FROM unnest($1::text[]) WITH ORDINALITY AS u (e, n) ORDER BY n", [texts]
            )
            .map { try $0.decode(String?.self, at: 0) }
            #expect(back == texts)
            let numbers = [0, -1, Int.max, Int.min, 42]
            let sum = try connection.execute(
                "SELECT count(*) FROM unnest($1::bigint[]) AS n WHERE n = ANY($2::bigint[])",
                [numbers, [Int.min, 42, 7]]
            ).scalar(Int.self)
            #expect(sum == 2)
        }
    }

    @Test("large results stream row by row and errors mid-stream surface")
    func streaming() throws {
        try TestDatabase.with { database in
            let connection = try database.connect()
            var sum = 0
            var count = 0
            try connection.forEachRow("SELECT g FROM generate_series(1, $1::int) g", [50_000]) { row in
                sum += try row.decode(Int.self, at: 0)
                count += 1
            }
            #expect(count == 50_000)
            #expect(sum == 50_000 * 50_001 / 2)
            #expect(throws: PostgresError.self) {
                try connection.forEachRow("SELECT 1 / (g - 3) FROM generate_series(1, 5) g") { _ in }
            }
            #expect(try connection.execute("SELECT 2").scalar(Int.self) == 2)
        }
    }

    @Test("advisory locks exclude a second session until released")
    func advisoryLocks() throws {
        try TestDatabase.with { database in
            let first = try database.connect()
            let second = try database.connect()
            #expect(try first.tryAdvisoryLock(4242))
            #expect(try second.tryAdvisoryLock(4242) == false)
            #expect(try first.advisoryUnlock(4242))
            #expect(try second.tryAdvisoryLock(4242))
            second.close()
            // A closed session's lock is gone (the server ends the backend asynchronously, so poll briefly).
            var freed = false
            for _ in 0..<50 where !freed {
                freed = try first.tryAdvisoryLock(4242)
                if !freed { usleep(20_000) }
            }
            #expect(freed)
        }
    }

    @Test("an unreachable server is a connection error, not a crash")
    func unreachable() throws {
        let error = #expect(throws: PostgresError.self) {
            try PostgresConnection.connect("host=127.0.0.1 port=1 connect_timeout=2 dbname=x user=x")
        }
        #expect(error?.code == .connection)
        #expect(error?.isConnectionLoss == true)
    }

    @Test("a server notice reaches the handler instead of stderr")
    func notices() throws {
        try TestDatabase.with { database in
            let connection = try database.connect()
            final class Seen { var messages: [String] = [] }
            let seen = Seen()
            connection.noticeHandler = { seen.messages.append($0.message) }
            try connection.execute("DO $$ BEGIN RAISE NOTICE 'batch % done', 7; END $$")
            #expect(seen.messages == ["batch 7 done"])
        }
    }
}

@Suite("Postgres connection: a second connection opened like the first")
struct SiblingConnectionTests {
    @Test("the parameters open another session on the same database, as the same role, with the same options")
    func sameDatabaseAndRole() throws {
        try TestDatabase.with { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE only_here (id int)")
            let parameters = try connection.connectionParameters()
            #expect(parameters.contains("dbname='\(database.name)'"))
            let sibling = try PostgresConnection.connect(parameters)
            defer { sibling.close() }
            let mine = try connection.query("SELECT current_database(), current_user, inet_server_port()")[0]
            let theirs = try sibling.query("SELECT current_database(), current_user, inet_server_port()")[0]
            for column in 0..<2 {
                #expect(try mine.decode(String.self, at: column) == theirs.decode(String.self, at: column))
            }
            #expect(try mine.decode(Int?.self, at: 2) == theirs.decode(Int?.self, at: 2))
            #expect(sibling.backendPID != connection.backendPID)
            // The same database: the table created on the first is there on the second.
            #expect(try sibling.execute("SELECT to_regclass('only_here') IS NOT NULL").scalar(Bool.self))
        }
    }
}
