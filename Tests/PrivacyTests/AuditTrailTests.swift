import Feeds
import Foundation
import Postgres
import PostgresTestSupport
import Testing

@testable import Flags

/// Issue 11, finding 4: a data officer's own SQL on personal data is audited (pgaudit, migration
/// 0017), and the access audit can be added to only through `access_audit_record()`, which stamps
/// the real login whatever it is passed.
@Suite("Audit trail: direct reads are logged, forged entries refused")
struct AuditTrailTests {
    static let howToFix =
        "run deploy/dev/test (it installs postgresql-NN-pgaudit and restarts the dev cluster with pgaudit loaded), "
        + "or set the server up as deploy/PRIVACY.md §2 says"

    /// The folder of the test server's JSON log, where pgaudit's lines go; fails the test, saying
    /// how to fix it, when the server does not audit `login`'s sessions.
    static func pgauditLogFolder(_ admin: PostgresConnection, auditing login: PostgresConnection) throws -> String {
        let preload = try admin.execute("SELECT current_setting('shared_preload_libraries')").scalar(String.self)
        try #require(
            preload.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == "pgaudit" },
            "pgaudit is not loaded by the test server (shared_preload_libraries = '\(preload)'): \(howToFix)")
        // Asked in the login's session: the dev cluster exempts its superuser (deploy/dev/lib.sh).
        let role = try login.execute("SELECT coalesce(current_setting('pgaudit.role', true), '')").scalar(String.self)
        try #require(
            role == "familyconnect_pgaudit", "pgaudit.role is '\(role)', not familyconnect_pgaudit: \(howToFix)")
        let file = try admin.execute("SELECT coalesce(pg_current_logfile('jsonlog'), '')").scalar(String.self)
        try #require(!file.isEmpty, "the test server writes no JSON log (log_destination lacks jsonlog): \(howToFix)")
        let data = try admin.execute("SELECT current_setting('data_directory')").scalar(String.self)
        return ((file.hasPrefix("/") ? file : data + "/" + file) as NSString).deletingLastPathComponent
    }

    /// The logging collector writes asynchronously: wait (bounded) for `count` reads to appear.
    static func reads(in folder: String, database: String, login: String, atLeast count: Int) throws -> [DirectRead] {
        let deadline = Date().addingTimeInterval(10)
        var reads: [DirectRead] = []
        repeat {
            reads = try DirectReads.read(paths: [folder], database: database, login: login)
            if reads.count >= count { break }
            Thread.sleep(forTimeInterval: 0.1)
        } while Date() < deadline
        return reads
    }

    @Test(
        "an officer's own SELECT on source_records (directly, through a view, with parameters) lands in the audit trail"
    )
    func directReadsAreAudited() throws {
        try TestDatabase.with(.migrated) { database in
            let users = try RoleUsers(database)
            defer { users.dropAll() }
            let officer = try users.user("officer", in: "familyconnect_officer")
            let auditor = try users.user("auditor", in: "familyconnect_auditor")
            let asOfficer = try database.connect(as: officer)
            defer { asOfficer.close() }
            let folder = try Self.pgauditLogFolder(users.admin, auditing: asOfficer)
            let started = Date().addingTimeInterval(-1)

            // Two records (as the test's superuser, whose reads are not the officer's).
            let batch = try users.admin.execute(
                """
                INSERT INTO feed_batches (feed, kind, source_name, sha256, bytes, rows_read, rows_loaded, rows_quarantined,
                                          started_at, definition_sha256)
                VALUES ('school_attendance', 'school_attendance', 'test.csv', repeat('a', 64), 1, 2, 2, 0, now(), repeat('b', 64))
                RETURNING id
                """
            ).scalar(Int64.self)
            let records = try users.admin.query(
                """
                INSERT INTO source_records (batch_id, feed, kind, record_number, line_number, subject, given_name, family_name)
                SELECT $1, 'school_attendance', 'school_attendance', n, n + 1, 'child', 'Ann', 'Example' FROM generate_series(1, 2) n
                RETURNING id
                """, [batch]
            ).map { try $0.decode(Int64.self, at: 0) }.sorted()

            #expect(try asOfficer.execute("SELECT count(*) FROM source_records").scalar(Int.self) == 2)
            // A review decision's foreign-key checks on source_records run as the tables' owner: not
            // logged for the officer (nor for the daemon's inserts, else one line per row stored).
            try asOfficer.execute(
                """
                INSERT INTO review_decisions (record_a, record_b, decision, decided_by, reason)
                VALUES ($1, $2, 'different_children', current_user, 'checked with the school')
                """, [records[0], records[1]])
            _ = try asOfficer.query("SELECT given_name, dob FROM source_records WHERE family_name = $1", ["Qzxwv"])
            _ = try asOfficer.query("SELECT child_id, dob FROM child_summary")
            _ = try asOfficer.query("SELECT flag_id FROM flags")  // no personal data: not audited
            // The officer cannot switch the auditing off for the session.
            #expect(sqlState { try asOfficer.execute("SET pgaudit.role = ''") } == "42501")
            #expect(sqlState { try asOfficer.execute("SELECT set_config('pgaudit.role', 'nobody', false)") } == "42501")

            let reads = try Self.reads(in: folder, database: database.name, login: officer, atLeast: 3)
            #expect(reads.count == 3, "\(reads)")
            for read in reads {
                #expect(read.relation.hasSuffix(".source_records"), "\(read)")
                #expect(read.login == officer && read.database == database.name && read.command == "SELECT")
                #expect(try #require(read.at) >= started)
                #expect(read.application == "familyconnect-privacy-tests")
            }
            // Parameters are not logged (pgaudit.log_parameter = off): a value looked up stays out of the log.
            let logText = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") }
                .map { try String(contentsOfFile: folder + "/" + $0, encoding: .utf8) }.joined()
            #expect(logText.contains(officer) && !logText.contains("Qzxwv"))

            // `familyconnect audit --server-log` shows them beside its own entries, for the auditor.
            let audit = try FamilyConnectBinary.run(
                [
                    "audit", "--server-log", folder, "--role", officer, "--database",
                    database.connectionString + " user=\(auditor)",
                ])
            #expect(audit.status == 0, "\(audit.stderr)")
            #expect(audit.stdout.hasPrefix("0 entries and 3 direct SQL reads"), "\(audit.stdout)")
            let lines = audit.stdout.split(separator: "\n").filter { $0.contains("  sql_read  ") }
            #expect(
                lines.count == 3 && lines.allSatisfy { $0.contains(officer) && $0.contains(".source_records]") },
                "\(audit.stdout)")
            // Without the log it lists the database's entries only, as before.
            let plain = try FamilyConnectBinary.run([
                "audit", "--role", officer, "--database", database.connectionString + " user=\(auditor)",
            ])
            #expect(plain.stdout.hasPrefix("0 entries") && !plain.stdout.contains("sql_read"))
            // A log that is not there is a clear error naming the path.
            let missing = try FamilyConnectBinary.run(
                [
                    "audit", "--server-log", folder + "/nope", "--database",
                    database.connectionString + " user=\(auditor)",
                ])
            #expect(missing.status != 0 && missing.stderr.contains(folder + "/nope"), "\(missing.stderr)")
        }
    }

    @Test("pgaudit's JSON log lines: reads are parsed (quoted names, offsets), anything else is skipped")
    func logLines() throws {
        func parse(_ line: String) -> DirectRead? { DirectReads.parse(line: Data(line.utf8)[...]) }
        let read = try #require(
            parse(
                #"{"timestamp":"2026-12-02 05:49:11.850 UTC","user":"alice","dbname":"fc","message":"AUDIT: OBJECT,3,1,READ,SELECT,TABLE,public.source_records,\"SELECT a, b FROM source_records\",<not logged>","application_name":"psql"}"#
            ))
        #expect(read.login == "alice" && read.database == "fc" && read.command == "SELECT")
        #expect(read.relation == "public.source_records" && read.application == "psql")
        let expected = try #require(ISO8601DateFormatter().date(from: "2026-12-02T05:49:11Z"))
        #expect(abs(try #require(read.at).timeIntervalSince(expected) - 0.85) < 0.001)
        let quoted = try #require(
            parse(
                #"{"timestamp":"2026-12-02 06:49:11 +01","user":"bob","dbname":"fc","message":"AUDIT: OBJECT,1,1,READ,COPY,TABLE,\"odd,\"\"schema\"\"\".source_records,COPY x TO STDOUT,<not logged>"}"#
            ))
        #expect(quoted.relation == #"odd,"schema".source_records"# && quoted.command == "COPY")
        #expect(quoted.at == expected)
        for other in [
            #"{"timestamp":"2026-12-02 05:49:11.850 UTC","user":"alice","message":"connection authorized"}"#,
            #"{"message":"AUDIT: OBJECT,1,1,WRITE,INSERT,TABLE,public.source_records,x,<not logged>"}"#,
            #"not json "message":"AUDIT: OBJECT,"#, "",
        ] {
            #expect(parse(other) == nil, "\(other)")
        }
    }

    @Test(
        "an officer cannot INSERT into access_audit (42501); access_audit_record stamps the real login whatever it is passed"
    )
    func forgedEntriesAreRefused() throws {
        try TestDatabase.with(.migrated) { database in
            let users = try RoleUsers(database)
            defer { users.dropAll() }
            let officer = try users.user("officer", in: "familyconnect_officer")
            let service = try users.user("service", in: "familyconnect_service")
            let auditor = try users.user("auditor", in: "familyconnect_auditor")
            let outreach = try users.user("outreach", in: "familyconnect_outreach")
            let asOfficer = try database.connect(as: officer)
            let asService = try database.connect(as: service)
            defer {
                asOfficer.close()
                asService.close()
            }
            let forged =
                "INSERT INTO access_audit (os_user, action, subject_ids, reason) VALUES ('root', 'explain', '{C1}', 'nothing to see')"
            #expect(sqlState { try asOfficer.execute(forged) } == "42501")
            #expect(
                sqlState { try asService.execute(forged) } == "42501", "not even the service writes the table directly")
            for user in [officer, service, auditor, outreach] {
                #expect(
                    try !users.admin.execute("SELECT has_table_privilege($1, 'access_audit', 'INSERT')", [user]).scalar(
                        Bool.self))
                #expect(
                    try !users.admin.execute("SELECT has_any_column_privilege($1, 'access_audit', 'INSERT')", [user])
                        .scalar(Bool.self))
            }

            // Through the function: the login is the database's, not the caller's claim.
            let id = try asOfficer.execute(
                "SELECT access_audit_record($1, $2, $3::text[], $4)",
                ["root", "explain", ["C1"], "claiming to be root"]
            ).scalar(Int64.self)
            try asOfficer.execute("SET ROLE familyconnect_officer")
            let second = try asOfficer.execute(
                "SELECT access_audit_record('root', 'explain', '{C2}', 'after SET ROLE')"
            ).scalar(Int64.self)
            try asOfficer.execute("RESET ROLE")
            let rows = try users.admin.query(
                "SELECT id, database_role, os_user, at > now() - interval '1 minute' FROM access_audit WHERE id IN ($1, $2) ORDER BY id",
                [id, second])
            #expect(rows.count == 2)
            for row in rows {
                #expect(try row.decode(String.self, at: 1) == officer)
                #expect(
                    try row.decode(String?.self, at: 2) == "root", "the OS user is the client's word, recorded as such")
                #expect(try row.decode(Bool.self, at: 3))
            }
            // The application's writers go through it too, with the same stamp.
            try AccessLog.record(asService, action: "sar", subjects: ["C3"], reason: "subject access request")
            try AccessLog.record(asOfficer, action: "explain", subjects: ["C4"], reason: "case review")
            #expect(
                try users.admin.execute(
                    "SELECT string_agg(database_role, ',' ORDER BY id) FROM access_audit WHERE subject_ids && '{C3,C4}'"
                ).scalar(String.self) == "\(service),\(officer)")
            // Only the service and the officer may call it; a reason is still required.
            for user in [auditor, outreach] {
                let connection = try database.connect(as: user)
                #expect(
                    sqlState { try connection.execute("SELECT access_audit_record('x', 'x', '{}', 'xxxx')") }
                        == "42501", "\(user)")
                connection.close()
            }
            #expect(
                sqlState { try asOfficer.execute("SELECT access_audit_record('x', 'explain', '{C1}', ' ')") } == "23514"
            )
            // SECURITY DEFINER with a fixed search_path (catalog first, temporary schema last).
            let definition = try users.admin.query(
                "SELECT prosecdef, array_to_string(proconfig, ';') FROM pg_proc WHERE proname = 'access_audit_record'")
            #expect(definition.count == 1)
            #expect(try definition.first?.decode(Bool.self, at: 0) == true)
            let config = try #require(try definition.first?.decode(String?.self, at: 1))
            #expect(config.hasPrefix("search_path=pg_catalog, ") && config.hasSuffix(", pg_temp"), "\(config)")
        }
    }
}
