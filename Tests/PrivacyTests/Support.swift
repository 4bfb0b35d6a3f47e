import Families
import Feeds
import Foundation
import Identifiers
import Postgres
import PostgresTestSupport
import Resolution
import Synth
import Testing

@testable import Flags

// Data-protection tests (roles, audit, retention, erasure, hostile input) live here.

/// A small synthetic council run through the whole pipeline: feeds loaded, children resolved,
/// families grouped, indicators and flags raised and exported. One per test (each test has its
/// own database).
struct PrivacyWorld {
    let database: TestDatabase
    let connection: PostgresConnection
    let folder: URL
    let definitions: [FeedDefinition]
    let asOf: CalendarDate
    let outbox: String
    var summary: SynthSummary

    static var schemas: String { TestDatabase.schemasDirectory }

    /// `user`: the login to run the pipeline as (nil: the test server's superuser).
    static func build(
        _ database: TestDatabase, children: Int = 250, seed: UInt64 = 11, user: String? = nil
    ) throws -> PrivacyWorld {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fc-privacy-\(UUID().uuidString)")
        let summary = try SyntheticFeedWriter.write(config: SynthConfig(children: children, seed: seed), to: folder)
        let definitions = try FeedDefinition.loadAll(directory: schemas + "/feeds")
        let asOf = SynthConfig.defaultAsOf
        let connection = try user.map { try database.connect(as: $0) } ?? database.connect()
        let world = PrivacyWorld(
            database: database, connection: connection, folder: folder, definitions: definitions, asOf: asOf,
            outbox: folder.appendingPathComponent("outbox").path, summary: summary)
        try world.load()
        try world.cycle()
        return world
    }

    func definition(_ kind: FeedKind) throws -> FeedDefinition {
        try #require(definitions.first { $0.name == kind.stem })
    }

    func load() throws {
        for kind in FeedKind.allCases {
            _ = try FeedLoader(definition: try definition(kind), today: asOf).load(
                path: folder.appendingPathComponent(kind.fileName).path, connection: connection)
        }
    }

    /// resolve → families → indicators → flags → export, as the daemon runs them.
    func cycle() throws {
        let rules = try RuleSet.load(directory: Self.schemas + "/rules")
        let teams = try TeamDirectory.load(path: Self.schemas + "/rules/teams.conf")
        // A wider review band than the default, so that a world this small still queues pairs for the officer.
        var settings = ResolutionSettings()
        settings.reviewProbability = 1e-6
        _ = try Resolver(connection: connection, settings: settings).resolveIncremental()
        _ = try FamilyGrouper(connection: connection).regroup()
        _ = try IndicatorBuilder(connection: connection, rules: rules, asOf: asOf).refresh()
        _ = try FlagEngine(connection: connection, rules: rules, asOf: asOf, teams: teams).run()
        _ = try Exporter(connection: connection, teams: teams, outbox: outbox, asOf: asOf).export()
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }

    func count(_ sql: String, _ parameters: [any PostgresEncodable] = []) throws -> Int {
        try connection.execute(sql, parameters).scalar(Int.self)
    }
}

/// Login users for the group roles, made for one test and dropped after it. Roles are
/// cluster-wide, so each name is unique to the test.
final class RoleUsers {
    let admin: PostgresConnection
    private(set) var names: [String] = []
    let prefix = "fc_t_\(UUID().uuidString.prefix(8).lowercased())"

    init(_ database: TestDatabase) throws {
        admin = try database.connect()
    }

    /// A LOGIN user that is a member of `group` (one of the familyconnect_* roles).
    func user(_ suffix: String, in group: String) throws -> String {
        let name = "\(prefix)_\(suffix)"
        precondition(name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 })
        // Identifiers cannot be parameters: both names are fixed or generated from hex above.
        try admin.execute("CREATE ROLE \(name) LOGIN IN ROLE \(group)")
        names.append(name)
        return name
    }

    func dropAll() {
        for name in names { _ = try? admin.execute("DROP ROLE IF EXISTS \(name)") }
        names.removeAll()
    }

    deinit { dropAll() }
}

extension TestDatabase {
    /// A connection as another role (libpq takes the last `user=`).
    func connect(as user: String) throws -> PostgresConnection {
        try PostgresConnection.connect(
            connectionString + " user=\(user)", applicationName: "familyconnect-privacy-tests")
    }
}

/// The SQLSTATE of what `body` threw, or nil if it did not throw.
func sqlState(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let error as PostgresError {
        return error.sqlState ?? "no-sqlstate"
    } catch {
        return "not-a-database-error"
    }
}

/// Peak and current resident memory of this process, from /proc (kB).
enum ProcessMemory {
    static func kilobytes(_ field: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.split(separator: " ").dropFirst().first { Int($0) != nil } ?? "0") ?? 0
        }
        return 0
    }
    static var residentKB: Int { kilobytes("VmRSS") }
}
