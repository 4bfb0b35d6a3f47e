import Families
import Feeds
import Flags
import Foundation
import Identifiers
import Postgres
import PostgresTestSupport
import Resolution
import ScenarioTestSupport
import Synth

/// The shipped rules, and the grouping → indicators → flags cycle the daemon runs after each ingest.
enum Cycle {
    static var rulesDirectory: String { TestDatabase.schemasDirectory + "/rules" }

    static func shippedRules() throws -> RuleSet { try RuleSet.load(directory: rulesDirectory) }

    static func shippedTeams() throws -> TeamDirectory { try TeamDirectory.load(path: rulesDirectory + "/teams.conf") }

    struct Reports {
        var families: FamilyReport
        var indicators: IndicatorReport
        var flags: FlagReport
    }

    @discardableResult
    static func run(_ connection: PostgresConnection, asOf: String, rules: RuleSet? = nil) throws -> Reports {
        let day = CalendarDate(iso8601: asOf)!
        let rules = try rules ?? shippedRules()
        let families = try FamilyGrouper(connection: connection).regroup()
        let indicators = try IndicatorBuilder(connection: connection, rules: rules, asOf: day).refresh()
        let flags = try FlagEngine(connection: connection, rules: rules, asOf: day).run()
        return Reports(families: families, indicators: indicators, flags: flags)
    }

    static func count(
        _ connection: PostgresConnection, _ sql: String, _ parameters: [any PostgresEncodable] = []
    ) throws -> Int {
        try connection.execute(sql, parameters).scalar(Int.self)
    }
}

extension TestWorld.Address {
    static let home = TestWorld.Address(line1: "12 Church Lane", postcode: "NR31 3FA")
    static let other = TestWorld.Address(line1: "4 Mill Road", postcode: "PE30 1AB")
}

/// Synthetic feeds dated today (as the service's are: a batch committed today is not "later" than
/// the as-of date), written to a temporary folder and loaded feed by feed, each followed by an
/// incremental resolution.
struct TodaysSyntheticFeeds {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fc-feeds-\(UUID().uuidString)")
    let today = CalendarDate.today()
    let definitions: [FeedDefinition]

    init(children: Int, seed: UInt64) throws {
        _ = try SyntheticFeedWriter.write(config: SynthConfig(children: children, seed: seed, asOf: today), to: folder)
        definitions = try FeedDefinition.loadAll(directory: TestDatabase.schemasDirectory + "/feeds")
    }

    func load(_ kinds: [FeedKind], into connection: PostgresConnection) throws {
        for kind in kinds {
            guard let definition = definitions.first(where: { $0.name == kind.stem }) else {
                throw MissingDefinition(feed: kind.stem)
            }
            _ = try FeedLoader(definition: definition, today: today).load(
                path: folder.appendingPathComponent(kind.fileName).path, connection: connection)
        }
        _ = try Resolver(connection: connection).resolveIncremental()
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }

    struct MissingDefinition: Error {
        let feed: String
    }
}
