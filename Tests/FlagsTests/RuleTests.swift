import Families
import Foundation
import Identifiers
import Postgres
import PostgresTestSupport
import ScenarioTestSupport
import Testing

@testable import Flags

@Suite("Flag rules fire on families built to meet them, and not on ones just short")
struct RuleTests {
    func flags(_ connection: PostgresConnection) throws -> [(family: String, rule: String)] {
        try connection.query("SELECT family_id, rule_name FROM flags ORDER BY family_id").map {
            (try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1))
        }
    }

    @Test("two outcome areas: 89.9% attendance plus free school meals fires; 90.0% does not")
    func attendanceAndFSM() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let (a, b) = (try world.child(), try world.child())
            try world.school(a, at: .home, from: "2025-09-03", to: "2025-12-19", possible: 1000, attended: 899)
            try world.fsm(a, from: "2025-01-10", at: .home)
            try world.school(b, at: .other, from: "2025-09-03", to: "2025-12-19", possible: 1000, attended: 900)
            try world.fsm(b, from: "2025-01-10", at: .other)
            let reports = try Cycle.run(world.connection, asOf: "2026-09-01")
            #expect(reports.flags.raised == 1)
            let raised = try flags(world.connection)
            #expect(raised.count == 1)
            #expect(raised.first?.family == (try world.family(of: a)))
            #expect(raised.first?.rule == "needs_in_two_outcome_areas")
            // The flag says why, with the rule, its version and the exact indicators.
            let flag = try world.connection.query("SELECT flag_id, reason, rule_version FROM flags")[0]
            let reason = try flag.decode(String.self, at: 1)
            #expect(reason.hasPrefix("Needs in two or more outcome areas (rule needs_in_two_outcome_areas, version 1)"))
            #expect(reason.contains("1 Getting a good education and 10 Financial stability"))
            let evidence = try world.connection.query(
                "SELECT indicator, record_id, feed FROM flag_evidence_detail WHERE flag_id = $1 ORDER BY indicator",
                [try flag.decode(String.self, at: 0)])
            #expect(
                try evidence.map { try $0.decode(String.self, at: 0) } == ["free_school_meals", "persistent_absence"])
        }
    }

    @Test("within 12 months: indicators exactly 12 months apart fire, 12 months and a day apart do not")
    func twelveMonths() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let (a, b) = (try world.child(), try world.child())
            // Two outcome areas: a missing-person notification (6) and a missed health review (2).
            try world.police(a, on: "2025-01-15", type: "missing_person", at: .home)
            try world.review(a, due: "2026-01-15", status: "not_attended", at: .home)
            try world.police(b, on: "2025-01-15", type: "missing_person", at: .other)
            try world.review(b, due: "2026-01-16", status: "not_attended", at: .other)
            try Cycle.run(world.connection, asOf: "2026-02-01")
            #expect(try world.family(of: a) != world.family(of: b))
            let raised = try flags(world.connection)
            #expect(raised.map(\.family) == [try world.family(of: a)].compactMap { $0 })
            #expect(raised.map(\.rule) == ["needs_in_two_outcome_areas"])
            let reason = try world.connection.query("SELECT reason FROM flags")[0].decode(String.self, at: 0)
            #expect(
                reason.hasSuffix(
                    "2 indicators about 1 child, all in the 12 months from 15 January 2025 to 15 January 2026."))
        }
    }

    @Test("domestic abuse plus any other indicator within 12 months; a domestic abuse notification alone does not fire")
    func domesticAbusePlus() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let (a, b, c) = (try world.child(), try world.child(), try world.child())
            let third = TestWorld.Address(line1: "9 Quay Street", postcode: "IP24 1AA")
            // a: DA and, 12 months later, an overdue-free missed review (same rule window).
            try world.police(a, on: "2025-03-01", at: .home)
            try world.review(a, due: "2026-03-01", status: "declined", at: .home)
            // b: the same, a day too late.
            try world.police(b, on: "2025-03-01", at: .other)
            try world.review(b, due: "2026-03-02", status: "declined", at: .other)
            // c: domestic abuse only (twice).
            try world.police(c, on: "2026-01-01", ref: "NC-1", at: third)
            try world.police(c, on: "2026-02-01", ref: "NC-2", at: third)
            let rules = try Cycle.shippedRules()
            var onlyDA = rules
            onlyDA.rules = rules.rules.filter { $0.name == "domestic_abuse_and_another_need" }
            try Cycle.run(world.connection, asOf: "2026-04-01", rules: onlyDA)
            #expect(Set([try world.family(of: a), try world.family(of: b), try world.family(of: c)]).count == 3)
            let raised = try flags(world.connection)
            #expect(raised.map(\.family) == [try world.family(of: a)].compactMap { $0 })
            #expect(raised.map(\.rule) == ["domestic_abuse_and_another_need"])
            let reason = try world.connection.query("SELECT reason FROM flags")[0].decode(String.self, at: 0)
            #expect(
                reason.contains("Domestic abuse notification and 1 other indicator (Health visiting review missed)"))
        }
    }

    @Test("windows: a long eligibility shares a window with a later incident; lookback ignores old indicators")
    func windows() {
        let rule = FlagRule(
            name: "r", version: 1, title: "R", indicators: nil, requireAny: [], minOtherIndicators: 0,
            minOutcomeAreas: 2,
            minIndicators: 1, windowMonths: 12, windowDays: nil, lookbackMonths: 18)
        func day(_ text: String) -> Int { CalendarDate(iso8601: text)!.dayNumber }
        let fsm = FamilyIndicator(
            id: 1, name: "f", outcome: .financialStability, start: day("2022-01-01"), end: day("2026-08-01"),
            child: "C1", description: "")
        let incident = FamilyIndicator(
            id: 2, name: "d", outcome: .domesticAbuse, start: day("2026-07-01"), end: day("2026-07-01"), child: "C1",
            description: "")
        let old = FamilyIndicator(
            id: 3, name: "d", outcome: .domesticAbuse, start: day("2024-01-01"), end: day("2024-01-01"), child: "C1",
            description: "")
        let fired = FlagEngine.evaluate(rule, [fsm, incident], asOf: day("2026-09-01"))
        #expect(fired?.indicators.map(\.id) == [1, 2])
        // 2024-01-01 is more than 18 months before the as-of date: it does not count.
        #expect(
            FlagEngine.evaluate(
                rule,
                [
                    old,
                    FamilyIndicator(
                        id: 4, name: "f", outcome: .financialStability, start: day("2023-06-01"),
                        end: day("2023-06-01"), child: "C1", description: ""),
                ], asOf: day("2026-09-01")) == nil)
        // Future-dated evidence is not used.
        #expect(FlagEngine.evaluate(rule, [fsm, incident], asOf: day("2026-06-30")) == nil)
    }
}
