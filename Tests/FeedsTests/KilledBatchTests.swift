import Foundation
import Postgres
import PostgresTestSupport
import Testing

@testable import Feeds

/// A process killed in the middle of a batch leaves nothing of it; the next run loads it whole.
@Suite("Killed batch")
struct KilledBatchTests {
    @Test("SIGKILL during COPY leaves no partial batch, and a rerun loads every row")
    func sigkillMidBatch() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("fc-kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("feeds"), withIntermediateDirectories: true)
        try FeedLoaderTests.definitionText.write(
            to: root.appendingPathComponent("feeds/test_school.feed"), atomically: true, encoding: .utf8)
        // Large enough that the COPY is still running when the test kills it.
        let rows = 150_000
        var text = FeedLoaderTests.header
        text.reserveCapacity(rows * 90)
        for n in 0..<rows {
            text += "r\(n),,,Ann,Lee\(n % 977),01/01/2016,NR1 1AA,01/09/2025,31/12/2025,120,\(n % 120)\n"
        }
        let file = root.appendingPathComponent("test_school.csv").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))

        try TestDatabase.with(.migrated) { database in
            let watcher = try database.connect()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: FamilyConnectBinary.path)
            process.arguments = [
                "ingest", "--database", database.connectionString, "--schemas", root.path, "--feed", "test_school",
                file,
            ]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()

            var sawCopy = false
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline && process.isRunning && !sawCopy {
                sawCopy = try watcher.execute(
                    "SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY source_records%' AND state = 'active'"
                ).scalar(Bool.self)
                if !sawCopy { usleep(5_000) }
            }
            #expect(sawCopy, "the ingest should have been caught mid-COPY")
            usleep(100_000)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal)

            // The server rolls the dead session's transaction back once it notices the closed socket.
            var busy = true
            for _ in 0..<500 where busy {
                busy = try watcher.execute(
                    "SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'familyconnect'"
                ).scalar(Bool.self)
                if busy { usleep(10_000) }
            }
            #expect(try watcher.execute("SELECT count(*) FROM feed_batches").scalar(Int.self) == 0)
            #expect(try watcher.execute("SELECT count(*) FROM source_records").scalar(Int.self) == 0)

            let rerun = try FamilyConnectBinary.run(
                [
                    "ingest", "--database", database.connectionString, "--schemas", root.path, "--feed", "test_school",
                    file,
                ])
            #expect(rerun.status == 0, "\(rerun.stderr)")
            #expect(try watcher.execute("SELECT count(*) FROM source_records").scalar(Int.self) == rows)
            #expect(
                try watcher.execute("SELECT rows_read, rows_loaded FROM feed_batches").rows.first?.values == [
                    String(rows), String(rows),
                ])
        }
    }
}
