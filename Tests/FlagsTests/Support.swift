import ScenarioTestSupport
import Families
import Flags
import Foundation
import Identifiers
import Postgres
import PostgresTestSupport

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

    static func count(_ connection: PostgresConnection, _ sql: String, _ parameters: [any PostgresEncodable] = []) throws -> Int {
        try connection.execute(sql, parameters).scalar(Int.self)
    }
}

extension TestWorld.Address {
    static let home = TestWorld.Address(line1: "12 Church Lane", postcode: "NR31 3FA")
    static let other = TestWorld.Address(line1: "4 Mill Road", postcode: "PE30 1AB")
}
