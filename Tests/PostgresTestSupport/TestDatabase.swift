import Foundation
import Postgres
import Synchronization

/// A throwaway database on a real PostgreSQL server, one per test, so tests can run in parallel.
///
/// The server comes from `FAMILYCONNECT_TEST_DATABASE` (a libpq connection string for a role
/// allowed to create databases); `deploy/dev/test` starts a private cluster and sets it. There is
/// no fallback and no skipping: without a server the test fails and says how to get one.
public final class TestDatabase: Sendable {
    public let name: String
    public let connectionString: String
    private let adminConnectionString: String

    public enum Setup: Sendable {
        /// An empty database.
        case empty
        /// A database with every migration in `schemas/migrations` applied.
        case migrated
    }

    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Makes a fresh database and runs `body` with it; drops it afterwards.
    public static func with<T>(_ setup: Setup = .empty, _ body: (TestDatabase) throws -> T) throws -> T {
        let database = try TestDatabase(setup: setup)
        defer { database.drop() }
        return try body(database)
    }

    init(setup: Setup) throws {
        guard let admin = ProcessInfo.processInfo.environment["FAMILYCONNECT_TEST_DATABASE"], !admin.isEmpty else {
            throw Unavailable(
                description: """
                    FAMILYCONNECT_TEST_DATABASE is not set. These tests need a real PostgreSQL server: run \
                    `deploy/dev/test` (it starts a private cluster and sets the variable), or set it to a libpq \
                    connection string for a role that may CREATE DATABASE.
                    """)
        }
        adminConnectionString = admin
        name = "fc_test_\(UUID().uuidString.prefix(8).lowercased())_\(getpid())"
        let template = setup == .migrated ? try Self.migratedTemplate(admin: admin) : "template0"
        let connection = try Self.connectAdmin(admin)
        // Identifiers cannot be parameters; the name is generated above from hex digits only.
        try connection.execute("CREATE DATABASE \(name) TEMPLATE \(template)")
        connectionString = Self.connectionString(admin, database: name)
    }

    public func connect() throws -> PostgresConnection {
        try PostgresConnection.connect(connectionString, applicationName: "familyconnect-tests")
    }

    func drop() {
        guard let connection = try? Self.connectAdmin(adminConnectionString) else { return }
        _ = try? connection.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// The repository's `schemas/` folder, found from this source file's location.
    public static var schemasDirectory: String {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("schemas/migrations").path) {
                return url.appendingPathComponent("schemas").path
            }
        }
        return "schemas"
    }

    static func connectAdmin(_ admin: String) throws -> PostgresConnection {
        do {
            return try PostgresConnection.connect(admin, applicationName: "familyconnect-tests")
        } catch {
            throw Unavailable(
                description: "cannot reach the test PostgreSQL server given by FAMILYCONNECT_TEST_DATABASE "
                    + "(\(error)). Start it with `deploy/dev/test`, which also runs the tests.")
        }
    }

    /// `dbname` appended last wins over an earlier one in a libpq keyword/value string; URLs are rewritten.
    static func connectionString(_ admin: String, database: String) -> String {
        if admin.hasPrefix("postgres://") || admin.hasPrefix("postgresql://"),
            var components = URLComponents(string: admin)
        {
            components.path = "/" + database
            return components.string ?? admin
        }
        return admin + " dbname=\(database)"
    }

    private static let templateName = Mutex<String?>(nil)

    /// Drops the templates and test databases of test processes that have ended (a template lives
    /// as long as its process; a killed run leaves its databases behind), so a developer's cluster
    /// does not fill up. A name ends in its process id; a live process's databases are left alone.
    static func dropLeftovers(_ connection: PostgresConnection) throws {
        let names = try connection.query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'fc\\_template\\_%' OR datname LIKE 'fc\\_test\\_%'"
        ).map { try $0.decode(String.self, at: 0) }
        for name in names {
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }),
                let pid = name.split(separator: "_").last.flatMap({ pid_t($0) }), pid > 0,
                kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            _ = try? connection.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        }
    }

    /// Builds (once per test process) a template database with all migrations applied; each
    /// migrated test database is then a fast copy of it.
    static func migratedTemplate(admin: String) throws -> String {
        try templateName.withLock { cached in
            if let cached { return cached }
            let name = "fc_template_\(UUID().uuidString.prefix(8).lowercased())_\(getpid())"
            let connection = try connectAdmin(admin)
            try dropLeftovers(connection)
            try connection.execute("CREATE DATABASE \(name) TEMPLATE template0")
            let target = try PostgresConnection.connect(Self.connectionString(admin, database: name))
            try Migrator(directory: schemasDirectory + "/migrations").migrate(target)
            target.close()
            cached = name
            return name
        }
    }
}
