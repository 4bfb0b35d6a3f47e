import Feeds
import Foundation
import Identifiers
import LoopbackTestSupport
import Postgres
import PostgresTestSupport
import ScenarioTestSupport
import Testing

@testable import Flags

/// Two teams, Norwich (NR2) and West (PE30); `norwichDelivery` and `westDelivery` are the team sections' delivery lines.
private func teams(norwichDelivery: String, westDelivery: String = "delivery = none") throws -> TeamDirectory {
    try TeamDirectory.parse(
        path: "teams.conf",
        text: """
            [export]
            fallback_team = west
            [team.norwich]
            name = Norwich Early Help Hub
            postcode_districts = NR2
            \(norwichDelivery)
            [team.west]
            name = West Norfolk Early Help Hub
            postcode_districts = PE30
            \(westDelivery)

            """)
}

/// One flagged family in each team's area.
private func flaggedWorld(_ connection: PostgresConnection) throws -> TestWorld {
    let world = try TestWorld(connection)
    let norwich = TestWorld.Address(line1: "7 Elm Road", postcode: "NR2 4AB")
    for (address, child) in [(norwich, try world.child()), (.other, try world.child())] {
        try world.school(child, at: address, from: "2025-09-03", to: "2025-12-19", possible: 100, attended: 80)
        try world.fsm(child, from: "2025-01-10", at: address)
    }
    try Cycle.run(world.connection, asOf: "2026-09-01")
    return world
}

/// A migrated database with `flaggedWorld`, an empty outbox folder (removed afterwards) and an exporter.
private func withFlaggedWorld(_ directory: TeamDirectory, _ body: (TestWorld, String, Exporter) throws -> Void) throws {
    try TestDatabase.with(.migrated) { database in
        let world = try flaggedWorld(try database.connect())
        let outbox = FileManager.default.temporaryDirectory.appendingPathComponent("fc-delivery-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: outbox) }
        try body(
            world, outbox,
            Exporter(
                connection: world.connection, teams: directory, outbox: outbox,
                asOf: CalendarDate(iso8601: "2026-09-02")!))
    }
}

@Suite("Export delivery over HTTPS and SFTP (real loopback servers)", .timeLimit(.minutes(2)))
struct DeliveryTests {
    @Test(
        "the teams file: delivery targets and their keys; unsafe or incomplete ones are refused with file, line and key"
    )
    func teamsFile() throws {
        let https = try teams(
            norwichDelivery:
                "delivery = https://upload.example.org/early-help/\ndelivery_credentials = credential:norwich-upload\ndelivery_retries = 5"
        )
        let delivery = try #require(https.team("norwich")?.delivery)
        #expect(
            delivery.remote.url == "https://upload.example.org/early-help/" && delivery.method == .put
                && delivery.remote.retries == 5)
        #expect(
            delivery.remote.source.credentialsFile == "credential:norwich-upload"
                && delivery.remote.source.totalTimeoutSeconds == 300)
        #expect(https.team("west")?.delivery == nil)
        let post = try teams(norwichDelivery: "delivery = https://upload.example.org/inbox\ndelivery_method = post")
        #expect(post.team("norwich")?.delivery?.method == .post)

        for (lines, message) in [
            ("delivery = ftp://files.example.org/", "delivery is none, an https:// URL or an sftp:// folder"),
            ("delivery = https://user:pw@upload.example.org/x/", "not in the URL"),
            ("delivery = https://upload.example.org/file.csv", "a PUT delivery names a folder"),
            (
                "delivery = sftp://fc@files.example.org/inbox/\ndelivery_ssh_private_key = /etc/fc/key",
                "needs delivery_known_hosts"
            ),
            (
                "delivery = sftp://fc@files.example.org/inbox/\ndelivery_known_hosts = /etc/fc/known_hosts",
                "needs delivery_ssh_private_key"
            ),
            (
                "delivery = sftp://fc@files.example.org/inbox\ndelivery_known_hosts = k\ndelivery_credentials = c",
                "an sftp delivery names a folder"
            ),
            ("delivery = none\ndelivery_retries = 2", "only used with delivery"),
            ("delivery = https://upload.example.org/x/\ndelivery_method = patch", "expected put or post"),
        ] {
            let error = #expect(throws: (any Error).self) { try teams(norwichDelivery: lines) }
            #expect(String(describing: error!).contains("teams.conf:"), "\(lines)")
            #expect(String(describing: error!).contains(message), "\(lines): \(String(describing: error!))")
        }
    }

    @Test(
        "HTTPS: a failed delivery keeps the file and is recorded; the next run delivers the same file; nothing is exported twice"
    )
    func httpsFailThenRetry() throws {
        let server = try LoopbackHTTPSServer(basicAuth: "norwich:upload-secret")
        defer { server.stop() }
        let credentials = try FetchTempFolder("creds")
        try credentials.write("norwich-upload", "norwich:upload-secret\n")
        // The server fails the first upload of each file; no retries within a run.
        let directory = try teams(
            norwichDelivery: """
                delivery = \(server.url("/flaky-upload/1/"))
                delivery_ca_file = \(server.caFile)
                delivery_credentials = credential:norwich-upload
                delivery_retries = 0
                """)
        try withFlaggedWorld(directory) { world, outbox, exporter in
            let delivery = ExportDelivery(
                connection: world.connection, teams: directory, outbox: outbox,
                fetcher: RemoteFetcher(sleep: { _ in }, credentialsDirectory: credentials.path))

            let report = try exporter.export()
            #expect(report.files.map(\.team) == ["norwich", "west"])
            let norwichFile = try #require(report.files.first { $0.team == "norwich" })
            let name = (norwichFile.path as NSString).lastPathComponent
            let first = try delivery.deliverPending()
            #expect(first.delivered == 0 && first.failed == 1 && first.noTarget == 0)
            #expect(first.failures.first?.error.contains("HTTP 500") == true)
            #expect(!first.description.contains("upload-secret"))
            // Recorded: one attempt, the error, not delivered; the file is still whole in the outbox.
            let row = try world.connection.query(
                """
                SELECT delivery_target, delivered_at IS NULL, delivery_attempts, delivery_error
                FROM export_files WHERE team = 'norwich'
                """)[0]
            #expect(try row.decode(String.self, at: 0) == server.url("/flaky-upload/1/"))
            #expect(try row.decode(Bool.self, at: 1))
            #expect(try row.decode(Int.self, at: 2) == 1)
            let error = try row.decode(String.self, at: 3)
            #expect(error.hasPrefix("deliver \(server.url("/flaky-upload/1/"))") && !error.contains("upload-secret"))
            #expect(FileManager.default.fileExists(atPath: norwichFile.path))
            // The west team has no target: its file is collected from the outbox and never marked.
            #expect(
                try Cycle.count(
                    world.connection,
                    "SELECT count(*) FROM export_files WHERE team = 'west' AND delivery_target IS NULL") == 1)

            // The next cycle: nothing new to export, and the same file is delivered.
            let again = try exporter.export()
            #expect(again.files.isEmpty)
            let second = try delivery.deliverPending()
            #expect(second.delivered == 1 && second.failed == 0)
            #expect(server.received(name) == [UInt8](try Data(contentsOf: URL(fileURLWithPath: norwichFile.path))))
            #expect(
                try Cycle.count(
                    world.connection,
                    "SELECT count(*) FROM export_files WHERE team = 'norwich' AND delivered_at IS NOT NULL AND delivery_attempts = 2 AND delivery_error IS NULL"
                ) == 1)
            #expect(try Cycle.count(world.connection, "SELECT count(*) FROM export_files") == 2)
            #expect(try Cycle.count(world.connection, "SELECT count(*) FROM export_ledger") == 2)

            // Delivered once: a third run sends nothing.
            let requests = server.requestCount("/flaky-upload/1/\(name)")
            #expect(try delivery.deliverPending().delivered == 0)
            #expect(server.requestCount("/flaky-upload/1/\(name)") == requests)
        }
    }

    @Test("a target that cannot be reached is tried once per run: its other files wait for the next run, untouched")
    func unreachableTargetDefers() throws {
        let port = try LoopbackTools.freePort()  // nothing listens there
        let unreachable = "delivery = https://127.0.0.1:\(port)/upload/\ndelivery_retries = 0"
        let directory = try teams(norwichDelivery: unreachable, westDelivery: unreachable)
        try withFlaggedWorld(directory) { world, outbox, exporter in
            let report = try exporter.export()
            #expect(report.files.count == 2)
            let delivery = ExportDelivery(
                connection: world.connection, teams: directory, outbox: outbox, fetcher: RemoteFetcher(sleep: { _ in }))
            let first = try delivery.deliverPending()
            #expect(first.failed == 1 && first.deferred == 1 && first.delivered == 0)
            #expect(first.failures.first?.error.contains("(connection)") == true)
            #expect(
                try Cycle.count(
                    world.connection,
                    "SELECT count(*) FROM export_files WHERE delivery_attempts = 0 AND delivery_error IS NULL") == 1)
            let second = try delivery.deliverPending()
            #expect(second.failed == 1 && second.deferred == 1)
            #expect(try Cycle.count(world.connection, "SELECT max(delivery_attempts) FROM export_files") == 2)
            #expect(try FileManager.default.contentsOfDirectory(atPath: outbox).count == 2)
        }
    }

    @Test("SFTP: delivered into the team's folder under its outbox name; a file changed in the outbox is not sent")
    func sftpDelivery() throws {
        let server = try LoopbackSFTPServer()
        defer { server.stop() }
        let inbox = server.remoteRoot + "/early-help"
        try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: false)
        let sftp = """
            delivery = \(server.url(inbox + "/"))
            delivery_ssh_private_key = \(server.clientKeyFile)
            delivery_known_hosts = \(server.knownHostsFile)
            delivery_retries = 0
            """
        let directory = try teams(norwichDelivery: sftp, westDelivery: sftp)
        try withFlaggedWorld(directory) { world, outbox, exporter in
            let report = try exporter.export()
            let files = Dictionary(uniqueKeysWithValues: report.files.map { ($0.team, $0.path) })
            // The west file is changed in the outbox after the export recorded it.
            let west = try #require(files["west"])
            try Data("Flag ID\r\nsomething else\r\n".utf8).write(to: URL(fileURLWithPath: west))

            let delivery = ExportDelivery(
                connection: world.connection, teams: directory, outbox: outbox, fetcher: RemoteFetcher(sleep: { _ in }))
            let result = try delivery.deliverPending()
            #expect(result.delivered == 1 && result.failed == 1)
            #expect(result.failures.first?.error.contains("SHA-256 differs") == true)
            let norwich = try #require(files["norwich"])
            let name = (norwich as NSString).lastPathComponent
            #expect(try FileManager.default.contentsOfDirectory(atPath: inbox) == [name])
            #expect(
                FileManager.default.contents(atPath: inbox + "/" + name)
                    == FileManager.default.contents(atPath: norwich))
            #expect(
                try Cycle.count(world.connection, "SELECT count(*) FROM export_files WHERE delivered_at IS NOT NULL")
                    == 1)
            #expect(
                try Cycle.count(
                    world.connection,
                    "SELECT count(*) FROM export_files WHERE team = 'west' AND delivery_error LIKE '%SHA-256 differs%'")
                    == 1)
        }
    }
}
