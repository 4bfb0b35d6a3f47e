import Feeds
import Foundation
import Identifiers
import Postgres
import PostgresTestSupport
import Resolution
import Synth
import Testing

@testable import Flags

/// A refresh after the first reads only the records whose indicators can have changed, and writes
/// exactly what a refresh of everything would: measured again from scratch, nothing differs.
@Suite("Indicators: a refresh reads only what changed")
struct IncrementalIndicatorTests {
    @Test(
        "new records, a record moved to another child, the next day: the refresh of everything afterwards finds nothing to change"
    )
    func incrementalEqualsEverything() throws {
        let feeds = try TodaysSyntheticFeeds(children: 1500, seed: 8)
        defer { feeds.remove() }
        let today = feeds.today
        let rules = try Cycle.shippedRules()

        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            func load(_ kinds: [FeedKind]) throws { try feeds.load(kinds, into: connection) }
            func refresh(_ day: CalendarDate) throws -> IndicatorReport {
                try IndicatorBuilder(connection: connection, rules: rules, asOf: day).refresh()
            }
            let inScope = """
                SELECT count(*) FROM source_records sr LEFT JOIN child_records cr ON cr.record_id = sr.id
                WHERE sr.kind IN ('school_attendance', 'fsm', 'health_visiting', 'police')
                  AND (cr.child_id IS NOT NULL OR sr.subject = 'expectant_parent')
                """

            try load([.healthVisiting, .schoolAttendance, .fsmEligibility])
            let first = try refresh(today.adding(days: 1))
            let measured = try Cycle.count(connection, inScope)
            #expect(first.changed && first.recordsRead == measured)
            // Only the measured child of a health visiting record is ever read back (the reviews of
            // the child it belonged to): only those are kept, one row each.
            let keptKinds = try connection.query(
                "SELECT DISTINCT sr.kind FROM indicator_measured m JOIN source_records sr ON sr.id = m.record_id"
            ).map { try $0.decode(String.self, at: 0) }
            #expect(keptKinds == ["health_visiting"])
            #expect(
                try Cycle.count(connection, "SELECT count(*) FROM indicator_measured")
                    == Cycle.count(connection, inScope + " AND sr.kind = 'health_visiting'"))
            #expect(try refresh(today.adding(days: 1)).recordsRead == 0, "nothing changed, nothing read")

            // New records, and a completed review moved to another child (whose overdue review it
            // may answer, and whose first child's may no longer be).
            try load([.policeNotifications])
            try connection.execute(
                """
                UPDATE child_records SET child_id = (SELECT min(child_id) FROM child_records)
                WHERE record_id = (SELECT min(sr.id) FROM source_records sr JOIN child_records cr ON cr.record_id = sr.id
                                   WHERE sr.kind = 'health_visiting' AND sr.facts->>'review_status' = 'completed')
                """)
            let next = try refresh(today.adding(days: 2))
            let total = try Cycle.count(connection, inScope)
            #expect(next.recordsRead > 0 && next.recordsRead < total / 2, "\(next.recordsRead) of \(total) read again")
            #expect(next.added > 0)

            // Everything measured again agrees with what the partial refreshes wrote.
            try connection.execute("DELETE FROM indicator_state")
            let everything = try refresh(today.adding(days: 2))
            #expect(everything.recordsRead == total)
            #expect(!everything.changed, "\(everything)")
            #expect(everything.active == next.active && everything.byIndicator == next.byIndicator)
        }
    }
}
