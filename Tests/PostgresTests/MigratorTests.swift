import Foundation
import Postgres
import PostgresTestSupport
import Testing

@Suite("Migrations")
struct MigratorTests {
    func folder(_ files: [String: String]) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fc-migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (name, sql) in files {
            try sql.write(to: url.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return url.path
    }

    @Test("applied in order, each once; running again is a no-op")
    func idempotent() throws {
        let dir = try folder([
            "0002_second.sql": "ALTER TABLE a ADD COLUMN note text; INSERT INTO a VALUES (2, 'two');",
            "0001_first.sql": "CREATE TABLE a (k int PRIMARY KEY); INSERT INTO a VALUES (1);",
        ])
        try TestDatabase.with { database in
            let connection = try database.connect()
            let migrator = try Migrator(directory: dir)
            let first = try migrator.migrate(connection)
            #expect(first.applied.map(\.version) == [1, 2])
            let second = try migrator.migrate(connection)
            #expect(second.applied.isEmpty)
            #expect(second.alreadyApplied == 2)
            #expect(try connection.execute("SELECT count(*) FROM a").scalar(Int.self) == 2)
            #expect(try migrator.pending(connection).isEmpty)
        }
    }

    @Test("a changed applied migration is refused and nothing after it runs")
    func changedChecksum() throws {
        let dir = try folder(["0001_first.sql": "CREATE TABLE a (k int);"])
        try TestDatabase.with { database in
            let connection = try database.connect()
            try Migrator(directory: dir).migrate(connection)
            try "CREATE TABLE a (k bigint);".write(toFile: dir + "/0001_first.sql", atomically: true, encoding: .utf8)
            try "CREATE TABLE b (k int);".write(toFile: dir + "/0002_next.sql", atomically: true, encoding: .utf8)
            let error = #expect(throws: PostgresError.self) { try Migrator(directory: dir).migrate(connection) }
            #expect(error?.code == .migration)
            #expect(error?.context == "0001_first.sql")
            #expect(try connection.execute("SELECT to_regclass('b') IS NULL").scalar(Bool.self))
        }
    }

    @Test("a failing migration rolls back entirely and is not recorded")
    func failingMigration() throws {
        let dir = try folder([
            "0001_ok.sql": "CREATE TABLE a (k int);",
            "0002_bad.sql": "CREATE TABLE half (k int); SELECT * FROM missing_table;",
        ])
        try TestDatabase.with { database in
            let connection = try database.connect()
            let error = #expect(throws: PostgresError.self) { try Migrator(directory: dir).migrate(connection) }
            #expect(error?.sqlState == "42P01")
            #expect(error?.context == "0002_bad.sql")
            #expect(try connection.execute("SELECT to_regclass('half') IS NULL").scalar(Bool.self))
            #expect(try connection.execute("SELECT count(*) FROM schema_migrations").scalar(Int.self) == 1)
        }
    }

    @Test("misnamed files and duplicate versions are errors, not silently skipped")
    func badNames() throws {
        #expect(throws: PostgresError.self) { try Migrator(directory: try folder(["first.sql": "SELECT 1;"])) }
        #expect(throws: PostgresError.self) {
            try Migrator(directory: try folder(["0001_a.sql": "SELECT 1;", "001_b.sql": "SELECT 1;"]))
        }
    }

    @Test("the repository's own migrations apply cleanly twice")
    func repositoryMigrations() throws {
        try TestDatabase.with { database in
            let connection = try database.connect()
            let migrator = try Migrator(directory: TestDatabase.schemasDirectory + "/migrations")
            #expect(!migrator.migrations.isEmpty)
            try migrator.migrate(connection)
            #expect(try migrator.migrate(connection).applied.isEmpty)
        }
    }
}
