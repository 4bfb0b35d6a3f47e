import Families
import Feeds
import Foundation
import Identifiers
import Postgres
import PostgresTestSupport
import Resolution
import ScenarioTestSupport
import Synth
import Testing

@testable import Flags

/// A flag run after the first evaluates only the families whose inputs changed (new indicators,
/// members, flags closed by a worker, a record saying statutory services know a child, indicators or
/// cool-offs crossing a date boundary as the as-of date moves), and team assignment only the families
/// whose home or schools changed. After each such run, evaluating every family again must find
/// nothing to write and count the same; assigning every family's team again must change nothing.
@Suite("Flags: a run evaluates only what changed, and writes what a run over every family would")
struct IncrementalFlagTests {
    @Test("new feeds, closed flags, a statutory record, a moved record, the as-of date forwards and back")
    func incrementalEqualsEverything() throws {
        let feeds = try TodaysSyntheticFeeds(children: 1500, seed: 5)
        defer { feeds.remove() }
        let today = feeds.today
        let rules = try Cycle.shippedRules()
        let teams = try Cycle.shippedTeams()

        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            func load(_ kinds: [FeedKind]) throws { try feeds.load(kinds, into: connection) }
            func teamRows() throws -> [String] {
                try connection.query(
                    "SELECT family_id || '|' || team || '|' || basis || '|' || coalesce(detail, '') FROM family_teams ORDER BY 1"
                )
                .map { try $0.decode(String.self, at: 0) }
            }
            /// One cycle as of `day`, then the same evaluated over everything: nothing more to write.
            func cycle(_ day: CalendarDate) throws -> FlagReport {
                _ = try FamilyGrouper(connection: connection).regroup()
                _ = try IndicatorBuilder(connection: connection, rules: rules, asOf: day).refresh()
                let incremental = try FlagEngine(connection: connection, rules: rules, asOf: day, teams: teams).run()

                let assigned = try teamRows()
                try connection.execute("DELETE FROM team_state")
                let everything = try FlagEngine(
                    connection: connection, rules: rules, asOf: day, teams: teams, evaluateEverything: true
                ).run()
                #expect(everything.familiesEvaluated == everything.families)
                #expect(!everything.changed, "as of \(day.iso8601): \(incremental) / over everything: \(everything)")
                #expect(
                    everything.raised == 0 && everything.evidenceAttached == 0 && everything.closedBySuppression == 0)
                #expect(everything.suppressedNew == 0 && everything.flagsFollowedMerge == 0)
                #expect(everything.families == incremental.families)
                #expect(everything.firings == incremental.firings, "as of \(day.iso8601)")
                #expect(everything.suppressedContinuing == incremental.suppressedNew + incremental.suppressedContinuing)
                #expect(everything.heldByCoolOff == incremental.heldByCoolOff, "as of \(day.iso8601)")
                #expect(try teamRows() == assigned, "assigning every family's team again changes nothing")
                return incremental
            }
            func openFlags() throws -> [(flag: String, family: String)] {
                try connection.query("SELECT flag_id, family_id FROM flags WHERE status <> 'closed' ORDER BY flag_id")
                    .map {
                        (try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1))
                    }
            }

            try load([.healthVisiting, .schoolAttendance, .fsmEligibility])
            let first = try cycle(today)
            #expect(first.familiesEvaluated == first.families && first.raised > 0, "\(first)")
            let unchanged = try cycle(today)
            #expect(unchanged.familiesEvaluated == 0 && !unchanged.changed, "\(unchanged)")

            // A new feed: new indicators for some families, new flags and evidence for some of them.
            try load([.policeNotifications])
            let police = try cycle(today.adding(days: 1))
            #expect(police.familiesEvaluated > 0 && police.familiesEvaluated < police.families / 2, "\(police)")
            #expect(police.raised + police.evidenceAttached > 0, "\(police)")

            // Workers close three flags; within the cool-off they hold their families back.
            let closing = today.adding(days: 1)
            for open in try openFlags().prefix(3) {
                try FlagLifecycle.close(
                    flagID: open.flag, outcome: "engaged with early help", on: closing, by: "A. Worker",
                    connection: connection)
            }
            let held = try cycle(today.adding(days: 2))
            #expect(held.heldByCoolOff >= 3 && held.familiesEvaluated < held.families / 2, "\(held)")

            // A record saying statutory services know a flagged child, and a completed review moved to
            // another child (whose overdue review it may answer).
            let flagged = try #require(try openFlags().first)
            let child = try connection.query(
                "SELECT child_id FROM family_members WHERE family_id = $1 AND child_id IS NOT NULL ORDER BY child_id LIMIT 1",
                [flagged.family]
            )[0].decode(String.self, at: 0)
            let world = try TestWorld(connection, committedAt: today.iso8601 + " 06:00:00+00")
            try world.fsm(child, from: today.adding(days: -200).iso8601, known: true)
            try connection.execute(
                """
                UPDATE child_records SET child_id = (SELECT min(child_id) FROM child_records)
                WHERE record_id = (SELECT min(sr.id) FROM source_records sr JOIN child_records cr ON cr.record_id = sr.id
                                   WHERE sr.kind = 'health_visiting' AND sr.facts->>'review_status' = 'completed')
                """)
            let known = try cycle(today.adding(days: 3))
            #expect(known.closedBySuppression == 1 && known.suppressedNew >= 1, "\(known)")
            #expect(known.familiesEvaluated < known.families / 2, "\(known)")

            // The as-of date moves on past the cool-off, far enough for indicators to leave the
            // lookback, then back: only families with something crossing a boundary are evaluated.
            for offset in [120, 400, 700, 650] {
                let moved = try cycle(today.adding(days: offset))
                #expect(moved.familiesEvaluated < moved.families, "as of +\(offset) days: \(moved)")
            }
        }
    }
}
