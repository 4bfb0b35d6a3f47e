import Feeds
import Foundation
import Identifiers
import Postgres
import PostgresTestSupport
import Resolution
import Testing

@testable import Flags

/// Retention: a hand-built database where every record's expiry is known, so the test can say
/// exactly which rows a purge must remove and which it must keep.
@Suite("Retention purge")
struct RetentionTests {
    /// Records written straight into the tables, with the derived rows a real run would add.
    final class Ledger {
        let connection: PostgresConnection
        var generator = SystemRandomNumberGenerator()
        var recordNumber = 0

        init(_ connection: PostgresConnection) { self.connection = connection }

        func batch(feed: String, kind: String, loaded: String) throws -> Int64 {
            try connection.execute(
                """
                INSERT INTO feed_batches (feed, kind, source_name, sha256, bytes, rows_read, rows_loaded, rows_quarantined,
                                          started_at, committed_at, definition_sha256)
                VALUES ($1::text, $2, $1::text || '.csv', encode(sha256(convert_to($1::text || $3::text, 'UTF8')), 'hex'), 0, 0, 0, 0,
                        $3::timestamptz, $3::timestamptz, repeat('0', 64))
                RETURNING id
                """, [feed, kind, loaded]
            ).scalar(Int64.self)
        }

        func child() throws -> String {
            let id = ChildID.mint(using: &generator).value
            try connection.execute("INSERT INTO children (child_id) VALUES ($1)", [id])
            return id
        }

        func id(_ prefix: Character) -> String { OpaqueID.mint(prefix: prefix, using: &generator).value }

        @discardableResult
        func record(
            batch: Int64, feed: String, kind: String, child: String?, dob: String?, age: Int? = nil, facts: String
        )
            throws -> Int64
        {
            recordNumber += 1
            let id = try connection.execute(
                """
                INSERT INTO source_records (batch_id, feed, kind, record_number, line_number, subject, given_name, family_name,
                                            dob, approximate_age, postcode, address_line1, facts)
                VALUES ($1, $2, $3, $4, $4 + 1, $5, 'Retention', 'Test', $6::date, $7, 'NR31 3FA', '1 Test Row', $8::jsonb)
                RETURNING id
                """, [batch, feed, kind, recordNumber, child == nil ? "expectant_parent" : "child", dob, age, facts]
            ).scalar(Int64.self)
            if let child {
                try connection.execute("INSERT INTO child_records (record_id, child_id) VALUES ($1, $2)", [id, child])
            }
            try connection.execute(
                "INSERT INTO record_blocking_keys (key, record_id) VALUES ($1, $2)", [Int64(recordNumber), id])
            return id
        }

        func indicator(_ record: Int64, child: String?, on day: String) throws -> Int64 {
            try connection.execute(
                """
                INSERT INTO indicators (record_id, indicator, version, outcome, child_id, starts_on, ends_on, description)
                VALUES ($1::bigint, 'test_indicator_' || $1::bigint, 1, 1, $2, $3::date, $3::date, 'a test indicator') RETURNING id
                """, [record, child, day]
            ).scalar(Int64.self)
        }

        func family(members: [String], home: Int64?) throws -> String {
            let family = id("F")
            try connection.execute(
                "INSERT INTO families (family_id, address_record_id) VALUES ($1, $2)", [family, home])
            for member in members {
                try connection.execute(
                    "INSERT INTO family_members (family_id, child_id) VALUES ($1, $2)", [family, member])
            }
            return family
        }

        func flag(family: String, evidence: [(indicator: Int64, child: String?)], closed: Bool) throws -> String {
            let flag = id("G")
            try connection.execute(
                """
                INSERT INTO flags (flag_id, family_id, rule_name, rule_version, status, first_flagged_on, reason, closed_on, close_outcome)
                VALUES ($1, $2, 'test_rule', 1, $3, '2025-01-01', 'a test rule was met', $4::date, $5)
                """,
                [
                    flag, family, closed ? "closed" : "new", closed ? "2025-06-01" : nil,
                    closed ? "no further action" : nil,
                ])
            try connection.execute(
                "INSERT INTO flag_rules (flag_id, rule_name, rule_version, reason) VALUES ($1, 'test_rule', 1, 'a test rule was met')",
                [flag])
            try connection.execute("INSERT INTO flag_events (flag_id, event) VALUES ($1, 'raised')", [flag])
            for item in evidence {
                try connection.execute(
                    """
                    INSERT INTO flag_evidence (flag_id, indicator_id, rule_name, rule_version, child_id, description, at_raise)
                    VALUES ($1, $2, 'test_rule', 1, $3, 'a test indicator', true)
                    """, [flag, item.indicator, item.child])
            }
            return flag
        }
    }

    static func school(_ start: String, _ end: String) -> String {
        #"{"period_start":"\#(start)","period_end":"\#(end)","sessions_possible":100,"sessions_attended":80}"#
    }

    static func police(_ day: String) -> String {
        #"{"incident_ref":"NC-\#(day)","incident_at":"\#(day)T21:00:00","incident_type":"domestic_abuse","child_present":true}"#
    }

    @Test("a purge removes exactly what is past its period, keeps what an open flag needs, and logs counts only")
    func purge() throws {
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            let w = Ledger(connection)
            let periods = [
                RetentionPeriod(feed: "school_attendance", years: 10, from: .birth),
                RetentionPeriod(feed: "police_notifications", years: 3, from: .record),
            ]
            let asOf = CalendarDate(year: 2030, month: 6, day: 1)!
            let school = try w.batch(
                feed: "school_attendance", kind: "school_attendance", loaded: "2020-01-10 06:00:00+00")
            let police = try w.batch(feed: "police_notifications", kind: "police", loaded: "2026-03-01 06:00:00+00")
            let policeRecent = try w.batch(
                feed: "police_notifications", kind: "police", loaded: "2029-03-01 06:00:00+00")
            let other = try w.batch(feed: "unconfigured_feed", kind: "fsm", loaded: "2001-01-01 06:00:00+00")

            // Born 2015: ten years from birth ended in 2025. Both records go, and the child id retires.
            let x = try w.child()
            let x1 = try w.record(
                batch: school, feed: "school_attendance", kind: "school_attendance", child: x, dob: "2015-01-01",
                facts: Self.school("2019-09-03", "2019-12-19"))
            let x2 = try w.record(
                batch: school, feed: "school_attendance", kind: "school_attendance", child: x, dob: "2015-01-01",
                facts: Self.school("2020-01-05", "2020-03-27"))
            try connection.execute(
                "INSERT INTO record_links (record_a, record_b, method, weight) VALUES ($1, $2, 'probabilistic', 20)",
                [x1, x2])
            try connection.execute(
                "INSERT INTO review_pairs (record_a, record_b, weight, reason, comparison, status) VALUES ($1, $2, 15, 'test', '{}', 'rejected')",
                [x1, x2])
            try connection.execute(
                "INSERT INTO review_decisions (record_a, record_b, decision, decided_by, reason) VALUES ($1, $2, 'same_child', 'x', 'test')",
                [x1, x2])
            // Born 2022: kept (until 2032) — but its police record from 2026 is three years old: it goes.
            let y = try w.child()
            let y1 = try w.record(
                batch: school, feed: "school_attendance", kind: "school_attendance", child: y, dob: "2022-01-01",
                facts: Self.school("2026-09-03", "2026-12-19"))
            let y2 = try w.record(
                batch: police, feed: "police_notifications", kind: "police", child: y, dob: "2022-01-01",
                facts: Self.police("2026-01-01"))
            let y3 = try w.record(
                batch: policeRecent, feed: "police_notifications", kind: "police", child: y, dob: "2022-01-01",
                facts: Self.police("2028-01-01"))
            // An approximate age only: born about 2026 − 12 = 2014, so past ten years from birth.
            let a = try w.child()
            let a1 = try w.record(
                batch: school, feed: "school_attendance", kind: "school_attendance", child: a, dob: nil, age: 12,
                facts: Self.school("2019-09-03", "2019-12-19"))
            // Past its period, but the evidence of an open flag: kept.
            let z = try w.child()
            let z1 = try w.record(
                batch: school, feed: "school_attendance", kind: "school_attendance", child: z, dob: "2010-01-01",
                facts: Self.school("2019-09-03", "2019-12-19"))
            let zHome = try w.record(
                batch: school, feed: "school_attendance", kind: "school_attendance", child: z, dob: "2010-01-01",
                facts: Self.school("2020-01-05", "2020-03-27"))
            let zFamily = try w.family(members: [z], home: zHome)
            let zIndicator = try w.indicator(z1, child: z, on: "2019-12-19")
            let openFlag = try w.flag(family: zFamily, evidence: [(zIndicator, z)], closed: false)
            // Past its period and only the evidence of a closed flag: the record and the flag go.
            let v = try w.child()
            let v1 = try w.record(
                batch: police, feed: "police_notifications", kind: "police", child: v, dob: "2020-01-01",
                facts: Self.police("2025-05-01"))
            let v2 = try w.record(
                batch: policeRecent, feed: "police_notifications", kind: "police", child: v, dob: "2020-01-01",
                facts: Self.police("2029-02-01"))
            let vFamily = try w.family(members: [v], home: v2)
            let vIndicator = try w.indicator(v1, child: v, on: "2025-05-01")
            let closedFlag = try w.flag(family: vFamily, evidence: [(vIndicator, v)], closed: true)
            // A feed with no retention period: never purged, however old.
            let o = try w.child()
            let o1 = try w.record(
                batch: other, feed: "unconfigured_feed", kind: "fsm", child: o, dob: "1999-01-01",
                facts: #"{"eligible_from":"2000-01-01"}"#)
            // Quarantined rows: the 2020 school batch is past ten years from loading; the 2029 police batch is not.
            for batch in [school, school, policeRecent] {
                try connection.execute(
                    "INSERT INTO quarantined_rows (batch_id, record_number, line_number, reason, raw_line) VALUES ($1, 1, 2, 'bad', 'raw text')",
                    [batch])
            }

            // Families' grouping keys (hashes of personal data): x and y lose records; z shares y's
            // key; o shares none.
            try connection.execute("INSERT INTO family_state VALUES (true, 'test', 2, 4, 0)")
            for (member, key) in [(x, 1), (y, 2), (z, 2), (o, 3)] {
                try connection.execute("INSERT INTO family_keys (member, key) VALUES ($1, $2)", [member, key])
            }

            let expired: Set<Int64> = [x1, x2, y2, a1, v1]
            let kept: Set<Int64> = [y1, y3, z1, zHome, v2, o1]
            let totalBefore = try connection.execute("SELECT count(*) FROM source_records").scalar(Int.self)

            // A dry run counts and changes nothing.
            let dry = try Purger(connection: connection, periods: periods, asOf: asOf).run(dryRun: true)
            #expect(dry.dryRun && dry.runID == nil)
            #expect(dry.expired == expired.count + 2, "z1 and zHome are past their period too")
            #expect(dry.heldForOpenFlags == 2)
            #expect(dry.deleted["source_records"] == expired.count)
            #expect(dry.feedsWithoutPeriod == ["unconfigured_feed"])
            #expect(try connection.execute("SELECT count(*) FROM source_records").scalar(Int.self) == totalBefore)
            #expect(try connection.execute("SELECT count(*) FROM purge_runs").scalar(Int.self) == 0)

            // Through the command's code path, logged.
            let report = try Purger(connection: connection, periods: periods, asOf: asOf).run()
            #expect(report.deleted == dry.deleted)
            let remaining = Set(
                try connection.query("SELECT id FROM source_records").map { try $0.decode(Int64.self, at: 0) })
            #expect(remaining == kept)
            #expect(remaining.isDisjoint(with: expired))
            #expect(report.deleted["child_records"] == expired.count)
            #expect(report.deleted["record_blocking_keys"] == expired.count)
            #expect(
                report.deleted["record_links"] == 1 && report.deleted["review_pairs"] == 1
                    && report.deleted["review_decisions"] == 1)
            #expect(report.deleted["indicators"] == 1 && report.deleted["flag_evidence"] == 1)
            #expect(
                report.deleted["flags"] == 1 && report.deleted["flag_rules"] == 1 && report.deleted["flag_events"] == 1)
            #expect(report.deleted["quarantined_rows"] == 2)
            #expect(report.deleted["children (retired)"] == 2, "x and a have nothing left")
            #expect(report.deleted["family_keys"] == 2, "the keys of x and y go with their records")
            let keysLeft = try connection.query("SELECT member FROM family_keys ORDER BY member").map {
                try $0.decode(String.self, at: 0)
            }
            #expect(keysLeft == [z, o].sorted())
            let noted = Set(
                try connection.query("SELECT member FROM family_changes WHERE member IS NOT NULL").map {
                    try $0.decode(String.self, at: 0)
                })
            #expect(noted.contains(z), "z shared a removed key: the next families run regroups it")
            #expect(!noted.contains(o))
            #expect(
                try connection.execute("SELECT count(*) FROM flags WHERE flag_id = $1", [openFlag]).scalar(Int.self)
                    == 1)
            #expect(
                try connection.execute("SELECT count(*) FROM flags WHERE flag_id = $1", [closedFlag]).scalar(Int.self)
                    == 0)
            #expect(
                try connection.execute("SELECT count(*) FROM flag_evidence WHERE flag_id = $1", [openFlag]).scalar(
                    Int.self) == 1)
            #expect(try connection.execute("SELECT count(*) FROM record_blocking_keys").scalar(Int.self) == kept.count)
            #expect(
                try connection.execute(
                    "SELECT count(*) FROM children WHERE retired_at IS NOT NULL AND child_id = ANY($1::text[])",
                    [[x, a]]
                ).scalar(Int.self) == 2)
            #expect(
                try connection.execute(
                    "SELECT count(*) FROM children WHERE retired_at IS NULL AND child_id = ANY($1::text[])",
                    [[y, z, v, o]]
                ).scalar(Int.self) == 4)
            #expect(
                try connection.execute(
                    "SELECT count(*) FROM child_id_events WHERE event = 'retired' AND child_id = ANY($1::text[])",
                    [[x, a]]
                ).scalar(Int.self) == 2)

            // The log: counts per table and the periods used; nothing else.
            let log = try connection.query(
                "SELECT deleted::text, periods::text, held::text, started_by FROM purge_runs")
            #expect(log.count == 1)
            let deleted =
                try JSONSerialization.jsonObject(with: Data(try log[0].decode(String.self, at: 0).utf8))
                as? [String: Int]
            #expect(deleted == report.deleted)
            let held =
                try JSONSerialization.jsonObject(with: Data(try log[0].decode(String.self, at: 2).utf8))
                as? [String: Int]
            #expect(held?.values.reduce(0, +) == 2)
            #expect(try log[0].decode(String.self, at: 1).contains("\"school_attendance\""))
            #expect(try log[0].decode(String.self, at: 3) == "command")
            #expect(sqlState { try connection.execute("DELETE FROM purge_runs") } == "42501", "the log is append-only")

            // Nothing left to do: a second purge deletes nothing.
            let second = try Purger(connection: connection, periods: periods, asOf: asOf).run(startedBy: "schedule")
            #expect(second.deleted.isEmpty)
            #expect(
                try Purger.hasRun(
                    on: CalendarDate(
                        iso8601: String(try connection.execute("SELECT current_date::text").scalar(String.self)))!,
                    connection))

            // Once the open flag is closed, its old evidence goes at the next purge, and the flag with it.
            try FlagLifecycle.close(
                flagID: openFlag, outcome: "no further action", on: asOf, by: "test", connection: connection)
            let third = try Purger(connection: connection, periods: periods, asOf: asOf).run()
            #expect(third.deleted["source_records"] == 2 && third.deleted["flags"] == 1)
        }
    }

    @Test("retention_from is read from the definition, and a wrong value is refused with its line")
    func definitionBasis() throws {
        let base = try String(
            contentsOfFile: TestDatabase.schemasDirectory + "/feeds/police_notifications.feed", encoding: .utf8)
        let record = base.replacingOccurrences(
            of: "retention_years = 25", with: "retention_years = 3\nretention_from = record")
        let parsed = try FeedDefinition.parse(text: record, path: "police.feed", checksum: "x")
        #expect(parsed.retentionYears == 3 && parsed.retentionFrom == .record)
        #expect(RetentionPeriod.of([parsed]) == [RetentionPeriod(feed: parsed.name, years: 3, from: .record)])
        #expect(try FeedDefinition.parse(text: base, path: "police.feed", checksum: "x").retentionFrom == .birth)
        let wrong = base.replacingOccurrences(
            of: "retention_years = 25", with: "retention_years = 25\nretention_from = forever")
        let error = #expect(throws: FeedDefinitionError.self) {
            try FeedDefinition.parse(text: wrong, path: "police.feed", checksum: "x")
        }
        #expect(error?.key == "feed.retention_from" && error?.line != nil)
    }
}
