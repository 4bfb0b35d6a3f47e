import Families
import Foundation
import Identifiers
import Postgres
import PostgresTestSupport
import ScenarioTestSupport
import Testing

@testable import Flags

@Suite("Indicators from partner records")
struct IndicatorTests {
    func indicators(_ connection: PostgresConnection, child: String) throws -> [String] {
        try connection.query(
            "SELECT indicator FROM indicators WHERE child_id = $1 AND withdrawn_at IS NULL ORDER BY indicator", [child]
        ).map { try $0.decode(String.self, at: 0) }
    }

    @Test("attendance: 89.9% is persistent absence and 90.0% is not; 49.9% is severe and 50.0% is not")
    func attendanceThresholds() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let (a, b, c, d, e) = (
                try world.child(), try world.child(), try world.child(), try world.child(), try world.child()
            )
            try world.school(a, at: .home, from: "2025-09-03", to: "2025-12-19", possible: 1000, attended: 899)
            try world.school(b, at: .home, from: "2025-09-03", to: "2025-12-19", possible: 1000, attended: 900)
            try world.school(c, at: .home, from: "2025-09-03", to: "2025-12-19", possible: 1000, attended: 499)
            try world.school(d, at: .home, from: "2025-09-03", to: "2025-12-19", possible: 1000, attended: 500)
            // Too few sessions possible to say anything (the shipped minimum is 20).
            try world.school(e, at: .home, from: "2025-09-03", to: "2025-09-09", possible: 19, attended: 0)
            let rules = try Cycle.shippedRules()
            let report = try IndicatorBuilder(
                connection: world.connection, rules: rules, asOf: CalendarDate(iso8601: "2026-09-01")!
            ).refresh()
            #expect(try indicators(world.connection, child: a) == ["persistent_absence"])
            #expect(try indicators(world.connection, child: b) == [])
            #expect(try indicators(world.connection, child: c) == ["persistent_absence", "severe_absence"])
            #expect(try indicators(world.connection, child: d) == ["persistent_absence"])
            #expect(try indicators(world.connection, child: e) == [])
            #expect(report.added == 4)
            let text = try world.connection.query(
                "SELECT description, outcome FROM indicators WHERE child_id = $1", [a])
            #expect(
                try text[0].decode(String.self, at: 0)
                    == "Attended 89.9% of sessions at Riverside Primary from 3 September 2025 to 19 December 2025 (899 of 1000 possible), below 90%: persistent absence"
            )
            #expect(try text[0].decode(Int.self, at: 1) == 1)

            // Unchanged records and rules: nothing changes.
            let again = try IndicatorBuilder(
                connection: world.connection, rules: rules, asOf: CalendarDate(iso8601: "2026-09-01")!
            ).refresh()
            #expect(again.added == 0 && again.withdrawn == 0 && again.updated == 0 && again.active == 4)
        }
    }

    @Test(
        "health visiting: missed when not attended or declined; overdue only past the grace with no completed record; no record is never missed"
    )
    func reviews() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let (a, b, c, d, e) = (
                try world.child(), try world.child(), try world.child(), try world.child(), try world.child()
            )
            try world.review(a, due: "2026-01-01", status: "not_attended")
            try world.review(b, due: "2026-01-01", status: "declined")
            try world.review(c, due: "2026-01-01", status: nil)  // no status: overdue once the grace has passed
            try world.review(d, due: "2026-01-01", status: "scheduled")
            try world.review(d, due: "2026-01-01", status: "completed")  // another extract says it was done
            // e has a completed 12-month review and no record at all of its 2-year review: nothing.
            try world.review(e, due: "2025-06-01", status: "completed")
            let rules = try Cycle.shippedRules()
            let grace = 28
            func run(_ asOf: String) throws {
                _ = try IndicatorBuilder(connection: world.connection, rules: rules, asOf: CalendarDate(iso8601: asOf)!)
                    .refresh()
            }
            // 28 days after the due date: still within the grace.
            try run(CalendarDate(iso8601: "2026-01-01")!.adding(days: grace).iso8601)
            #expect(try indicators(world.connection, child: a) == ["health_review_missed"])
            #expect(try indicators(world.connection, child: b) == ["health_review_missed"])
            #expect(try indicators(world.connection, child: c) == [])
            // 29 days: overdue.
            try run(CalendarDate(iso8601: "2026-01-01")!.adding(days: grace + 1).iso8601)
            #expect(try indicators(world.connection, child: c) == ["health_review_overdue"])
            #expect(try indicators(world.connection, child: d) == [])
            #expect(try indicators(world.connection, child: e) == [])
            let overdue = try world.connection.query(
                "SELECT description, starts_on::text, outcome FROM indicators WHERE child_id = $1", [c])
            #expect(
                try overdue[0].decode(String.self, at: 0)
                    == "Mandated health visiting 12-month review due 1 January 2026 has no completed status 29 days later"
            )
            #expect(try overdue[0].decode(String.self, at: 1) == "2026-01-30")
            #expect(try overdue[0].decode(Int.self, at: 2) == 2)
        }
    }

    @Test("police: domestic abuse with the child present counts; not present does not; other types as configured")
    func police() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let (a, b, c) = (try world.child(), try world.child(), try world.child())
            try world.police(a, on: "2026-03-14", present: true)
            try world.police(b, on: "2026-03-14", present: false)
            try world.police(c, on: "2026-03-14", type: "missing_person", present: false)
            _ = try IndicatorBuilder(
                connection: world.connection, rules: try Cycle.shippedRules(),
                asOf: CalendarDate(iso8601: "2026-09-01")!
            ).refresh()
            #expect(try indicators(world.connection, child: a) == ["domestic_abuse_child_present"])
            #expect(try indicators(world.connection, child: b) == [])
            #expect(try indicators(world.connection, child: c) == ["missing_episode"])
            let row = try world.connection.query(
                "SELECT outcome, description FROM indicators WHERE child_id = $1", [a])[0]
            #expect(try row.decode(Int.self, at: 0) == 8)
            #expect(try row.decode(String.self, at: 1).contains("14 March 2026, child present"))
        }
    }

    @Test("an indicator follows its record to another child, and is withdrawn (not deleted) when it no longer holds")
    func followsAndWithdraws() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let (a, b) = (try world.child(), try world.child())
            let record = try world.fsm(a, from: "2025-01-10")
            let rules = try Cycle.shippedRules()
            let asOf = CalendarDate(iso8601: "2026-09-01")!
            _ = try IndicatorBuilder(connection: world.connection, rules: rules, asOf: asOf).refresh()
            try world.connection.execute("UPDATE child_records SET child_id = $2 WHERE record_id = $1", [record, b])
            let moved = try IndicatorBuilder(connection: world.connection, rules: rules, asOf: asOf).refresh()
            #expect(moved.updated == 1 && moved.added == 0)
            #expect(try indicators(world.connection, child: b) == ["free_school_meals"])
            // A new version of the definition: the old indicator is withdrawn and a new one made.
            var bumped = rules
            let index = bumped.indicators.firstIndex { $0.name == "free_school_meals" }!
            bumped.indicators[index].version += 1
            let next = try IndicatorBuilder(connection: world.connection, rules: bumped, asOf: asOf).refresh()
            #expect(next.withdrawn == 1 && next.added == 1)
            #expect(try Cycle.count(world.connection, "SELECT count(*) FROM indicators") == 2)
        }
    }

    @Test(
        "a poisoned count put straight into the database does not trap the stage: the record is skipped and counted, the others measured"
    )
    func poisonedSessions() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let (a, b, c, d, e, f) = (
                try world.child(), try world.child(), try world.child(), try world.child(), try world.child(),
                try world.child()
            )
            // The row of issue 11, which loaded on main and then trapped on `attended * 1000`.
            let huge = try world.school(
                a, at: .home, from: "2025-09-03", to: "2025-12-19", possible: Int.max,
                attended: 9_223_372_036_854_775_000)
            let overflowing = try world.school(
                b, at: .home, from: "2025-09-03", to: "2025-12-19", possible: 4_294_967_296, attended: 2_147_483_648)
            let backwards = try world.school(
                c, at: .home, from: "2025-09-03", to: "2025-12-19", possible: 100, attended: 120)
            let negative = try world.school(
                d, at: .home, from: "2025-09-03", to: "2025-12-19", possible: 100, attended: -5)
            // Too large for any integer at all, and not a number.
            let beyond = try world.record(
                e, kind: "school_attendance", address: .home,
                facts:
                    #"{"period_start":"2025-09-03","period_end":"2025-12-19","sessions_possible":99999999999999999999999,"sessions_attended":"lots"}"#
            )
            try world.school(f, at: .home, from: "2025-09-03", to: "2025-12-19", possible: 200, attended: 100)
            let report = try IndicatorBuilder(
                connection: world.connection, rules: try Cycle.shippedRules(),
                asOf: CalendarDate(iso8601: "2026-09-01")!
            ).refresh()
            #expect(report.recordsRead == 6)
            #expect(report.implausible == 5)
            #expect(Set(report.implausibleRecords) == [huge, overflowing, backwards, negative, beyond])
            #expect(report.counts["implausible"] == 5)
            #expect(report.description.contains("5 not measured"))
            for child in [a, b, c, d, e] { #expect(try indicators(world.connection, child: child) == []) }
            #expect(try indicators(world.connection, child: f) == ["persistent_absence"])
        }
    }

    @Test("attendance rates are truncated tenths computed in double width, whatever the counts")
    func rateArithmetic() {
        #expect(IndicatorBuilder.rateTenths(attended: 1799, possible: 2000) == 899)  // 89.95% reads 89.9%
        #expect(IndicatorBuilder.rateTenths(attended: 900, possible: 1000) == 900)
        #expect(IndicatorBuilder.rateTenths(attended: 0, possible: 1) == 0)
        #expect(IndicatorBuilder.rateTenths(attended: 7, possible: 7) == 1000)
        #expect(IndicatorBuilder.rateTenths(attended: 9_223_372_036_854_775_000, possible: Int.max) == 999)
        #expect(IndicatorBuilder.rateTenths(attended: Int.max, possible: Int.max) == 1000)
        #expect(IndicatorBuilder.rateTenths(attended: 1, possible: 0) == nil)
        #expect(IndicatorBuilder.rateTenths(attended: 2, possible: 1) == nil)
        #expect(IndicatorBuilder.rateTenths(attended: -1, possible: 1) == nil)
    }
}
