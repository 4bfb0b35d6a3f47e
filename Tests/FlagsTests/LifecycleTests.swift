import Families
import Foundation
import Identifiers
import Postgres
import PostgresTestSupport
import ScenarioTestSupport
import Testing

@testable import Flags

@Suite("Flag lifecycle: one open flag per family, cool-off, suppression")
struct LifecycleTests {
    /// A family meeting the two-outcome-areas rule: 85% attendance and free school meals.
    func flaggedFamily(
        _ world: TestWorld, at address: TestWorld.Address = .home
    ) throws -> (child: String, sibling: String) {
        let (child, sibling) = (try world.child(), try world.child())
        try world.school(child, at: address, from: "2025-09-03", to: "2025-12-19", possible: 100, attended: 85)
        try world.school(sibling, at: address, from: "2025-09-03", to: "2025-12-19", possible: 100, attended: 99)
        try world.fsm(child, from: "2025-01-10", at: address)
        return (child, sibling)
    }

    @Test("an open flag gets new evidence attached, not a second flag; unchanged data attaches nothing")
    func evidenceAttaches() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let (child, sibling) = try flaggedFamily(world)
            let first = try Cycle.run(world.connection, asOf: "2026-09-01")
            #expect(first.flags.raised == 1)
            let flag = try world.connection.query("SELECT flag_id FROM flags")[0].decode(String.self, at: 0)
            let before = try Cycle.count(
                world.connection, "SELECT count(*) FROM flag_evidence WHERE flag_id = $1", [flag])

            let same = try Cycle.run(world.connection, asOf: "2026-09-01")
            #expect(same.flags.raised == 0 && same.flags.evidenceAttached == 0 && !same.flags.changed)

            // New evidence about the sibling: a domestic abuse notification. The family now also meets the
            // domestic-abuse rule; both rules' new indicators go on the open flag.
            try world.police(sibling, on: "2026-05-02", at: .home)
            let next = try Cycle.run(world.connection, asOf: "2026-09-01")
            #expect(next.flags.raised == 0)
            #expect(next.flags.evidenceAttached >= 2)
            #expect(next.flags.flagsWithNewEvidence == 1)
            #expect(try Cycle.count(world.connection, "SELECT count(*) FROM flags") == 1)
            #expect(
                try Cycle.count(world.connection, "SELECT count(*) FROM flag_evidence WHERE flag_id = $1", [flag])
                    > before)
            #expect(
                try Cycle.count(world.connection, "SELECT count(*) FROM flag_rules WHERE flag_id = $1", [flag]) == 2)
            #expect(
                try Cycle.count(
                    world.connection,
                    "SELECT count(*) FROM flag_evidence e JOIN indicators i ON i.id = e.indicator_id WHERE e.flag_id = $1 AND i.indicator = 'domestic_abuse_child_present' AND NOT e.at_raise",
                    [flag]) == 2)
            #expect(
                try Cycle.count(
                    world.connection,
                    "SELECT count(*) FROM flag_events WHERE flag_id = $1 AND event = 'evidence_attached'", [flag]) == 1)
            _ = child
        }
    }

    @Test("a closed flag is raised again only by evidence after the closing, once the cool-off has passed")
    func coolOff() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let (child, _) = try flaggedFamily(world)
            try Cycle.run(world.connection, asOf: "2026-09-01")
            let flag = try world.connection.query("SELECT flag_id FROM flags")[0].decode(String.self, at: 0)
            #expect(throws: FlagLifecycleError.self) {
                try FlagLifecycle.acknowledge(flagID: flag, by: "A. Worker", connection: world.connection)
            }
            try world.connection.execute("UPDATE flags SET status = 'exported' WHERE flag_id = $1", [flag])
            try FlagLifecycle.acknowledge(flagID: flag, by: "A. Worker", connection: world.connection)
            try FlagLifecycle.close(
                flagID: flag, outcome: "engaged with early help", on: CalendarDate(iso8601: "2026-09-10")!,
                by: "A. Worker",
                connection: world.connection)
            #expect(throws: FlagLifecycleError.self) {
                try FlagLifecycle.close(flagID: flag, outcome: "again", by: "A. Worker", connection: world.connection)
            }

            // Same evidence, after the cool-off: not raised again.
            let later = try Cycle.run(world.connection, asOf: "2027-01-01")
            #expect(later.flags.raised == 0 && later.flags.heldByCoolOff == 1)
            // New evidence within the cool-off (90 days from 10 September 2026 ends 9 December): held.
            try world.school(child, at: .home, from: "2026-09-11", to: "2026-10-20", possible: 100, attended: 70)
            let within = try Cycle.run(world.connection, asOf: "2026-12-08")
            #expect(within.flags.raised == 0 && within.flags.heldByCoolOff == 1)
            // The cool-off has passed and there is new evidence: a new flag.
            let after = try Cycle.run(world.connection, asOf: "2026-12-09")
            #expect(after.flags.raised == 1)
            #expect(try Cycle.count(world.connection, "SELECT count(*) FROM flags") == 2)
            #expect(try Cycle.count(world.connection, "SELECT count(*) FROM flags WHERE status = 'new'") == 1)
            let events = try world.connection.query(
                "SELECT event, by_name FROM flag_events WHERE flag_id = $1 ORDER BY id", [flag])
            #expect(try events.map { try $0.decode(String.self, at: 0) } == ["raised", "acknowledged", "closed"])
            #expect(try events[2].decode(String?.self, at: 1) == "A. Worker")
        }
    }

    @Test("a family known to statutory services is not flagged and the suppression is recorded once")
    func suppressionByFeedFact() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let (child, _) = try flaggedFamily(world)
            // An open flag first, then a later record saying the child is known to statutory services.
            try Cycle.run(world.connection, asOf: "2026-09-01")
            #expect(try Cycle.count(world.connection, "SELECT count(*) FROM flags WHERE status = 'new'") == 1)
            let record = try world.fsm(child, from: "2025-01-10", to: "2026-08-31", at: .home, known: true)
            let run = try Cycle.run(world.connection, asOf: "2026-09-01")
            #expect(run.flags.raised == 0)
            #expect(run.flags.suppressedNew == 1)
            #expect(run.flags.closedBySuppression == 1)
            let suppression = try world.connection.query(
                "SELECT basis, basis_child_id, basis_record_id, rule_name, cardinality(indicator_ids) FROM flag_suppressions"
            )
            #expect(suppression.count == 1)
            #expect(try suppression[0].decode(String.self, at: 0) == "feed_fact")
            #expect(try suppression[0].decode(String.self, at: 1) == child)
            #expect(try suppression[0].decode(Int64.self, at: 2) == record)
            #expect(try suppression[0].decode(Int.self, at: 4) >= 2)
            #expect(
                try world.connection.query("SELECT close_outcome FROM flags")[0].decode(String.self, at: 0).hasPrefix(
                    "suppressed"))
            let again = try Cycle.run(world.connection, asOf: "2026-09-01")
            #expect(again.flags.suppressedNew == 0 && again.flags.suppressedContinuing == 1 && again.flags.raised == 0)
        }
    }

    @Test("a statutory services list of ids suppresses a family too")
    func suppressionByList() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let (child, _) = try flaggedFamily(world)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fc-list-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            try "# known to children's social care\n\(child)\n".write(
                to: folder.appendingPathComponent("statutory.list"), atomically: true, encoding: .utf8)
            let indicators = try String(contentsOfFile: Cycle.rulesDirectory + "/indicators.conf", encoding: .utf8)
            let flags = try String(contentsOfFile: Cycle.rulesDirectory + "/flags.conf", encoding: .utf8)
                .replacingOccurrences(
                    of: "# list_file = /var/lib/familyconnect/statutory.list", with: "list_file = statutory.list")
            let rules = try RuleSet.parse(
                indicatorsPath: "indicators.conf", indicatorsText: indicators, flagsPath: "flags.conf",
                flagsText: flags, directory: folder.path)
            let run = try Cycle.run(world.connection, asOf: "2026-09-01", rules: rules)
            #expect(run.flags.raised == 0 && run.flags.suppressedNew == 1)
            let row = try world.connection.query("SELECT basis, basis_detail FROM flag_suppressions")[0]
            #expect(try row.decode(String.self, at: 0) == "statutory_list")
            #expect(try row.decode(String.self, at: 1) == "statutory.list line 2")
            // Without the list, the same family is flagged.
            let plain = try Cycle.run(world.connection, asOf: "2026-09-01")
            #expect(plain.flags.raised == 1)
        }
    }

    @Test("when two flagged families merge, one open flag remains and holds both flags' evidence")
    func familiesMerge() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try TestWorld(try database.connect())
            let (a, _) = try flaggedFamily(world, at: .home)
            let (b, _) = try flaggedFamily(world, at: .other)
            let first = try Cycle.run(world.connection, asOf: "2026-09-01")
            #expect(first.flags.raised == 2)
            // The same mother turns up on both families' records.
            try world.review(a, due: "2026-02-01", status: "completed", at: .home, carerNHS: "9434765919")
            try world.review(b, due: "2026-02-01", status: "completed", at: .other, carerNHS: "9434765919")
            let next = try Cycle.run(world.connection, asOf: "2026-09-01")
            #expect(next.families.merged == 1)
            #expect(next.flags.flagsFollowedMerge == 1)
            #expect(try Cycle.count(world.connection, "SELECT count(*) FROM flags WHERE status <> 'closed'") == 1)
            let open = try world.connection.query("SELECT flag_id, family_id FROM flags WHERE status <> 'closed'")[0]
            #expect(try open.decode(String.self, at: 1) == (try world.family(of: a)))
            #expect(
                try Cycle.count(
                    world.connection, "SELECT count(DISTINCT child_id) FROM flag_evidence WHERE flag_id = $1",
                    [try open.decode(String.self, at: 0)]) == 2)
        }
    }
}
