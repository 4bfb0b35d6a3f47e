import Families
import Feeds
import Foundation
import Identifiers
import Postgres
import PostgresTestSupport
import Synth
import Testing

@testable import Flags

/// The scoped reads of an incremental run (indicators through the dirty families' members, latest
/// schools only where no district decides) must give what the whole-table reads of a run over
/// everything give. Two databases load the same feeds day by day: one runs as the service does, the
/// other measures every record and evaluates and assigns every family each day. Flag, child and
/// family ids are minted at random, so rows are compared by the lowest source record id behind them.
@Suite("Flags: incremental runs and runs over everything give the same flags")
struct FullAndIncrementalTests {
    /// Synthetic feeds of today, and a folder for a team directory; both removed afterwards.
    static func withFeeds(children: Int, seed: UInt64, _ body: (TodaysSyntheticFeeds, URL) throws -> Void) throws {
        let feeds = try TodaysSyntheticFeeds(children: children, seed: seed)
        defer { feeds.remove() }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fc-teams-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try body(feeds, folder)
    }

    /// A directory where districts decide for some families and schools for the others.
    static func schoolAndDistrictTeams(schools: [String], folder: URL) throws -> TeamDirectory {
        let half = schools.count / 2
        let text = """
            [export]
            outbox = outbox
            fallback_team = hub
            [team.city]
            name = City Hub
            postcode_districts = NR1, NR2, NR3, NR4, NR5, NR6, NR7
            delivery = none
            [team.schools_a]
            name = Schools A Hub
            schools = \(schools.prefix(half).joined(separator: ", "))
            delivery = none
            [team.schools_b]
            name = Schools B Hub
            schools = \(schools.dropFirst(half).joined(separator: ", "))
            delivery = none
            [team.hub]
            name = County Hub
            delivery = none

            """
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("teams.conf").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return try TeamDirectory.load(path: path)
    }

    static func schoolNames(_ connection: PostgresConnection) throws -> [String] {
        try connection.query(
            """
            SELECT DISTINCT facts->>'school_name' FROM source_records
            WHERE facts ? 'school_name' AND facts->>'school_name' !~ '[,#;=]' ORDER BY 1
            """
        ).map { try $0.decode(String.self, at: 0) }
    }

    /// Flags, their rules, evidence and suppressions, and the families' teams, keyed by source records.
    static func snapshot(_ connection: PostgresConnection) throws -> [String] {
        let keys = """
            WITH child_key AS (SELECT child_id, min(record_id) AS k FROM child_records GROUP BY child_id),
            family_key AS (
                SELECT m.family_id, min(coalesce(ck.k, m.expectant_record_id)) AS k
                FROM family_members m LEFT JOIN child_key ck ON ck.child_id = m.child_id GROUP BY m.family_id)
            """
        let family = "coalesce(fk.k::text, 'no members')"
        let queries = [
            """
            \(keys) SELECT 'flag|' || \(family) || '|' || f.rule_name || '|' || f.rule_version || '|' || f.status || '|'
                || f.first_flagged_on || '|' || f.reason
            FROM flags f LEFT JOIN family_key fk ON fk.family_id = f.family_id
            """,
            """
            \(keys) SELECT 'rule|' || \(family) || '|' || r.rule_name || '|' || r.rule_version || '|' || r.reason
            FROM flag_rules r JOIN flags f ON f.flag_id = r.flag_id LEFT JOIN family_key fk ON fk.family_id = f.family_id
            """,
            """
            \(keys) SELECT 'evidence|' || \(family) || '|' || e.rule_name || '|' || e.rule_version || '|' || i.record_id || '|'
                || i.indicator || '|' || i.version || '|' || coalesce(ck.k::text, '-') || '|' || e.at_raise || '|' || e.description
            FROM flag_evidence e JOIN flags f ON f.flag_id = e.flag_id JOIN indicators i ON i.id = e.indicator_id
            LEFT JOIN family_key fk ON fk.family_id = f.family_id LEFT JOIN child_key ck ON ck.child_id = e.child_id
            """,
            """
            \(keys) SELECT 'suppression|' || \(family) || '|' || s.rule_name || '|' || s.rule_version || '|' || s.basis || '|'
                || coalesce(s.basis_record_id::text, '-') || '|' || coalesce(s.basis_detail, '-') || '|'
                || cardinality(s.indicator_ids)
            FROM flag_suppressions s LEFT JOIN family_key fk ON fk.family_id = s.family_id
            """,
            """
            \(keys) SELECT 'team|' || \(family) || '|' || t.team || '|' || t.basis || '|' || coalesce(t.detail, '-')
            FROM family_teams t LEFT JOIN family_key fk ON fk.family_id = t.family_id
            """,
        ]
        return try queries.flatMap { query in
            try connection.query(query + " ORDER BY 1").map { try $0.decode(String.self, at: 0) }
        }.sorted()
    }

    /// Three days of feeds through one database; every day's snapshot.
    static func days(
        overEverything: Bool, feeds: TodaysSyntheticFeeds, folder: URL
    ) throws -> (snapshots: [[String]], reports: [FlagReport]) {
        let rules = try Cycle.shippedRules()
        var snapshots: [[String]] = []
        var reports: [FlagReport] = []
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            try feeds.load([.healthVisiting, .schoolAttendance, .fsmEligibility], into: connection)
            let teams = try schoolAndDistrictTeams(schools: try schoolNames(connection), folder: folder)
            func cycle(_ day: CalendarDate) throws {
                _ = try FamilyGrouper(connection: connection).regroup()
                if overEverything {
                    try connection.execute("DELETE FROM indicator_state")
                    try connection.execute("DELETE FROM team_state")
                }
                _ = try IndicatorBuilder(connection: connection, rules: rules, asOf: day).refresh()
                reports.append(
                    try FlagEngine(
                        connection: connection, rules: rules, asOf: day, teams: teams,
                        evaluateEverything: overEverything
                    ).run())
                snapshots.append(try snapshot(connection))
            }
            try cycle(feeds.today)
            try feeds.load([.policeNotifications], into: connection)
            try cycle(feeds.today.adding(days: 1))
            try cycle(feeds.today.adding(days: 400))
        }
        return (snapshots, reports)
    }

    @Test("three days of feeds: the same flags, rules, evidence, suppressions and teams either way")
    func sameFlagsEitherWay() throws {
        try Self.withFeeds(children: 1500, seed: 11) { feeds, folder in
            let incremental = try Self.days(overEverything: false, feeds: feeds, folder: folder)
            let everything = try Self.days(overEverything: true, feeds: feeds, folder: folder)

            // The service's runs after the first were scoped: they are what is being compared.
            #expect(incremental.reports[0].familiesEvaluated == incremental.reports[0].families)
            for report in incremental.reports.dropFirst() {
                #expect(report.familiesEvaluated < report.families, "\(report)")
            }
            for report in everything.reports { #expect(report.familiesEvaluated == report.families, "\(report)") }
            for (day, (scoped, whole)) in zip(incremental.snapshots, everything.snapshots).enumerated() {
                #expect(scoped.contains { $0.hasPrefix("flag|") } && scoped.contains { $0.hasPrefix("evidence|") })
                // Both ways of choosing a team were used.
                #expect(scoped.contains { $0.hasPrefix("team|") && $0.contains("|school|") }, "day \(day)")
                #expect(scoped.contains { $0.hasPrefix("team|") && $0.contains("|postcode_district|") }, "day \(day)")
                let onlyScoped = Set(scoped).subtracting(whole).sorted().prefix(5)
                let onlyWhole = Set(whole).subtracting(scoped).sorted().prefix(5)
                #expect(
                    scoped == whole, "day \(day): only incremental \(onlyScoped); only over everything \(onlyWhole)")
            }
        }
    }

    @Test("latest schools read in one pass or child by child: the same teams")
    func schoolLookUpsAgree() throws {
        try Self.withFeeds(children: 800, seed: 12) { feeds, folder in
            try TestDatabase.with(.migrated) { database in
                let connection = try database.connect()
                try feeds.load([.healthVisiting, .schoolAttendance], into: connection)
                _ = try FamilyGrouper(connection: connection).regroup()
                let teams = try Self.schoolAndDistrictTeams(schools: try Self.schoolNames(connection), folder: folder)
                func assigned(onePassAbove threshold: Int) throws -> [String] {
                    try connection.execute("DELETE FROM family_teams")
                    try connection.execute("DELETE FROM team_state")
                    _ = try connection.transaction { connection in
                        try TeamAssigner(connection: connection, directory: teams, onePassAbove: threshold).assign()
                    }
                    return try connection.query(
                        "SELECT family_id || '|' || team || '|' || basis || '|' || coalesce(detail, '') FROM family_teams ORDER BY 1"
                    ).map { try $0.decode(String.self, at: 0) }
                }
                let childByChild = try assigned(onePassAbove: Int.max)
                let onePass = try assigned(onePassAbove: 0)
                #expect(childByChild.filter { $0.contains("|school|") }.count > 10)
                #expect(childByChild.contains { $0.contains("|postcode_district|") })
                #expect(onePass == childByChild)
            }
        }
    }
}
