import Feeds
import Foundation
import PostgresTestSupport
import Testing

/// `familyconnect bench cycle` on a small county against the real test server: every stage runs on
/// both days and prints its figures, and the next day's batch holds the rows it says it does.
@Suite("bench cycle")
struct BenchCycleTests {
    static let stages = ["ingest", "resolve", "families", "flags", "export"]

    @Test("every stage on day 1 and the next day, with figures; the next-day batch is 1% of the rows")
    func cycleAndNextDay() throws {
        let admin = try #require(
            ProcessInfo.processInfo.environment["FAMILYCONNECT_TEST_DATABASE"],
            "FAMILYCONNECT_TEST_DATABASE is not set: run deploy/dev/test, which starts PostgreSQL and sets it")
        let keep = FileManager.default.temporaryDirectory.appendingPathComponent("fc-bench-cycle-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: keep) }
        let result = try FamilyConnectBinary.run(
            [
                "bench", "cycle", "--children", "1500", "--keep", keep, "--database", admin, "--schemas",
                TestDatabase.schemasDirectory,
            ])
        try #require(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)

        func stageLine(_ day: String, _ stage: String) throws -> String {
            try #require(
                lines.first { $0.hasPrefix(day.padding(toLength: 8, withPad: " ", startingAt: 0) + " " + stage + " ") },
                "no line for \(day) \(stage) in:\n\(result.stdout)")
        }
        func count(_ key: String, in line: String) -> Int? {
            line.split(separator: " ").first { $0.hasPrefix(key + "=") }.flatMap { Int($0.dropFirst(key.count + 1)) }
        }
        for day in ["day 1", "next day"] {
            for stage in Self.stages + ["cycle"] {
                let line = try stageLine(day, stage)
                for figure in ["wall", "cpu", "cores busy", "of 2", "peak", "MiB"] {
                    #expect(line.contains(figure), "\(day) \(stage) lacks '\(figure)': \(line)")
                }
            }
        }

        // The batch line's own sums, and 1% of all rows.
        let batchLine = try #require(lines.first { $0.hasPrefix("next-day batch: ") })
        let numbers = batchLine.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        // "N rows = A rows of C new children (… feed counts …) + B changed school rows (X corrected…, Y new address); day one has D rows"
        let (total, newRows, dayOne) = (numbers[0], numbers[1], numbers[numbers.count - 1])
        let (changed, corrected, moved) = (
            numbers[numbers.count - 4], numbers[numbers.count - 3], numbers[numbers.count - 2]
        )
        #expect(total == newRows + changed && changed == corrected + moved)
        #expect(newRows > 0 && corrected > 0 && moved > 0)
        #expect(abs(total - Int((Double(dayOne + newRows) * 0.01).rounded())) <= 1, "\(batchLine)")

        // What the ingest stages read: the files as split, to the row.
        let dayOneIngest = try stageLine("day 1", "ingest")
        let nextDayIngest = try stageLine("next day", "ingest")
        #expect(count("rows_read", in: dayOneIngest) == dayOne)
        #expect(count("rows_read", in: nextDayIngest) == total)
        #expect(count("files", in: dayOneIngest) == 4)
        var nextDayFileRows = 0
        for feed in try FileManager.default.contentsOfDirectory(atPath: keep + "/drop") {
            let processed = keep + "/drop/" + feed + "/processed"
            for name in try FileManager.default.contentsOfDirectory(atPath: processed)
            where name.hasSuffix("-next-day.csv") {
                let reader = try CSVReader(path: processed + "/" + name)
                while try reader.next() != nil { nextDayFileRows += 1 }
                nextDayFileRows -= 1  // the header
            }
        }
        #expect(nextDayFileRows == total)

        // The next day found the new children and the changes: resolution linked new records, and
        // the flags stage measured them.
        #expect((count("records", in: try stageLine("next day", "resolve")) ?? 0) > 0)
        #expect((count("records", in: try stageLine("day 1", "flags")) ?? 0) > 0)
        #expect((count("raised", in: try stageLine("day 1", "flags")) ?? 0) > 0)

        // The next day refreshes the indicators beside the families, on a second connection; the
        // flags stage's own refresh then finds nothing left to read. Day 1 runs them one after the
        // other (a first grouping and a first refresh each read every record).
        let nextDayFamilies = try stageLine("next day", "families")
        #expect(count("indicators_beside_ms", in: nextDayFamilies) != nil, "\(nextDayFamilies)")
        #expect(count("indicators_beside_failed", in: nextDayFamilies) == nil, "\(nextDayFamilies)")
        #expect(count("indicators_beside_ms", in: try stageLine("day 1", "families")) == nil)
        #expect(count("records", in: try stageLine("next day", "flags")) == 0)
        // The team assignment runs beside the flag rules, on day 1 (every family assigned) and on a
        // next day.
        let nextDayFlags = try stageLine("next day", "flags")
        #expect(count("teams_beside_assigned", in: nextDayFlags) != nil, "\(nextDayFlags)")
        #expect(count("teams_beside_failed", in: nextDayFlags) == nil, "\(nextDayFlags)")
        let dayOneFlags = try stageLine("day 1", "flags")
        #expect(count("teams_beside_assigned", in: dayOneFlags) == count("families", in: dayOneFlags), "\(dayOneFlags)")
        #expect(count("teams_beside_failed", in: dayOneFlags) == nil, "\(dayOneFlags)")
    }
}
