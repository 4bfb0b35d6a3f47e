import Feeds
import Foundation
import Postgres
import PostgresTestSupport
import Synchronization
import Synth
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A datagram socket standing in for systemd's `$NOTIFY_SOCKET`: a file system path, or an
/// abstract-namespace name (`@…`). Like systemd, it reads continuously (a thread), so the sender's
/// queue never fills.
final class NotifySocket: Sendable {
    /// The value to put in `$NOTIFY_SOCKET`.
    let address: String
    private let storage: Storage

    final class Storage: Sendable {
        let fd: Int32
        let path: String?
        let received = Mutex<[String]>([])
        let closed = Atomic<Bool>(false)
        let finished = DispatchSemaphore(value: 0)

        init(fd: Int32, path: String?) {
            self.fd = fd
            self.path = path
        }

        func readLoop() {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while !closed.load(ordering: .relaxed) {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 50) > 0 else { continue }
                while true {
                    let count = buffer.withUnsafeMutableBytes {
                        recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT))
                    }
                    guard count > 0 else { break }
                    let message = String(decoding: buffer[0..<count], as: UTF8.self)
                    received.withLock { $0.append(message) }
                }
            }
            close(fd)
            if let path { unlink(path) }
            finished.signal()
        }
    }

    init(abstract: Bool) throws {
        let name = "fc-notify-\(UUID().uuidString.prefix(8).lowercased())-\(getpid())"
        let path: String?
        if abstract {
            address = "@" + name
            path = nil
        } else {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent(name + ".sock").path
            address = file
            path = file
        }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed: \(errno)") }
        // Built by hand here (not with the code under test) so a wrong address length would show.
        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(address.utf8)
        if abstract { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let length = socklen_t(2 + bytes.count + (abstract ? 0 : 1))
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else {
            close(fd)
            throw TestFailure("bind(\(address)) failed: \(errno)")
        }
        let storage = Storage(fd: fd, path: path)
        self.storage = storage
        Thread { storage.readLoop() }.start()
    }

    deinit {
        storage.closed.store(true, ordering: .relaxed)
        _ = storage.finished.wait(timeout: .now() + 2)
    }

    /// Every datagram received so far (each one `KEY=VALUE` lines).
    func messages() -> [String] {
        usleep(60_000)  // let the reader pick up what was just sent
        return storage.received.withLock { $0 }
    }

    /// Every `KEY=VALUE` assignment received so far, in order.
    func assignments() -> [String] {
        messages().flatMap { $0.split(separator: "\n").map(String.init) }
    }

    func waitFor(_ assignment: (String) -> Bool, timeout: TimeInterval) -> Bool {
        poll(timeout: timeout) { self.assignments().contains(where: assignment) }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
@discardableResult
func poll(timeout: TimeInterval, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}

/// Lines a child process wrote to stderr, with the time each arrived.
final class LineBuffer: Sendable {
    private let started = Date()
    private let state = Mutex<(lines: [String], times: [Double], partial: [UInt8])>(([], [], []))

    func append(_ bytes: [UInt8]) {
        let now = Date().timeIntervalSince(started)
        state.withLock { state in
            state.partial.append(contentsOf: bytes)
            while let newline = state.partial.firstIndex(of: 0x0A) {
                state.lines.append(String(decoding: state.partial[..<newline], as: UTF8.self))
                state.times.append(now)
                state.partial.removeSubrange(...newline)
            }
        }
    }

    var lines: [String] { state.withLock { $0.lines } }
    var text: String { lines.joined(separator: "\n") }
    /// For failure messages: each line with the seconds since the process started.
    var timedText: String {
        state.withLock { state in
            zip(state.times, state.lines).map { String(format: "%7.3f ", $0.0) + $0.1 }.joined(separator: "\n")
        }
    }
}

/// A temporary service installation: schemas (feeds/ + a link to the repository's migrations),
/// a drop root, a staging folder and a configuration file.
struct ServeSetup {
    let root: URL
    var schemas: URL { root.appendingPathComponent("schemas") }
    var dropRoot: URL { root.appendingPathComponent("drop") }
    var staging: URL { root.appendingPathComponent("staging") }
    var configPath: String { root.appendingPathComponent("familyconnect.conf").path }

    /// `feeds`: name of a feed file in the repository's schemas/feeds → its schedule for the test.
    init(feeds: [String: String], extraFeeds: [String: String] = [:]) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("fc-serve-\(UUID().uuidString.prefix(8))")
        let manager = FileManager.default
        try manager.createDirectory(at: schemas.appendingPathComponent("feeds"), withIntermediateDirectories: true)
        try manager.createDirectory(at: dropRoot, withIntermediateDirectories: true)
        try manager.createSymbolicLink(
            atPath: schemas.appendingPathComponent("migrations").path,
            withDestinationPath: TestDatabase.schemasDirectory + "/migrations")
        // The families, flags and export stages read the repository's rules.
        try manager.createSymbolicLink(
            atPath: schemas.appendingPathComponent("rules").path,
            withDestinationPath: TestDatabase.schemasDirectory + "/rules")
        for (name, schedule) in feeds {
            let original = try String(
                contentsOfFile: TestDatabase.schemasDirectory + "/feeds/\(name).feed", encoding: .utf8)
            let text = original.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                line.hasPrefix("schedule =") ? "schedule = \(schedule)" : String(line)
            }.joined(separator: "\n")
            try text.write(to: schemas.appendingPathComponent("feeds/\(name).feed"), atomically: true, encoding: .utf8)
        }
        for (name, text) in extraFeeds {
            try text.write(to: schemas.appendingPathComponent("feeds/\(name).feed"), atomically: true, encoding: .utf8)
        }
    }

    func configText(conninfo: String, lock: String = "wait", grace: Double = 5, extra: String = "") -> String {
        """
        # written by DaemonTests
        [database]
        conninfo = "\(conninfo)"
        lock = \(lock)
        lock_retry_seconds = 0.5
        connect_retry_max_seconds = 2

        [paths]
        schemas = \(schemas.path)
        drop_root = \(dropRoot.path)
        staging = \(staging.path)

        [feeds]
        settle_seconds = 0

        [http]
        listen = 127.0.0.1:0

        [service]
        shutdown_grace_seconds = \(grace)
        log_level = info
        \(extra)
        """
    }

    func writeConfig(conninfo: String, lock: String = "wait", grace: Double = 5, extra: String = "") throws {
        try configText(conninfo: conninfo, lock: lock, grace: grace, extra: extra).write(
            toFile: configPath, atomically: true, encoding: .utf8)
    }

    func folder(_ feed: String) -> URL { dropRoot.appendingPathComponent(feed) }

    /// Writes a synthetic feed file under a temporary name and renames it into the feed's folder
    /// (the drop-folder contract). Returns the final path.
    @discardableResult
    func drop(kind: FeedKind, feed: String, rows: Int, seed: UInt64, name: String) throws -> String {
        let folder = self.folder(feed)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let temporary = folder.appendingPathComponent(".\(name).part")
        try SyntheticFeedWriter.writeSingleFeed(kind: kind, rows: rows, seed: seed, to: temporary)
        let final = folder.appendingPathComponent(name).path
        guard rename(temporary.path, final) == 0 else { throw TestFailure("rename failed: \(errno)") }
        return final
    }

    func remove() { try? FileManager.default.removeItem(at: root) }
}

/// `familyconnect serve` as a child process, its stderr collected line by line.
final class ServeProcess {
    let process = Process()
    let logs = LineBuffer()
    private let reader: Thread

    init(config: String, notify: NotifySocket? = nil, environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: FamilyConnectBinary.path)
        process.arguments = ["serve", "--config", config]
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "NOTIFY_SOCKET")
        env.removeValue(forKey: "WATCHDOG_USEC")
        env.removeValue(forKey: "WATCHDOG_PID")
        if let notify { env["NOTIFY_SOCKET"] = notify.address }
        env.merge(environment) { $1 }
        process.environment = env
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        let handle = pipe.fileHandleForReading
        let logs = self.logs
        reader = Thread {
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                logs.append(Array(data))
            }
        }
        try process.run()
        reader.start()
    }

    var pid: Int32 { process.processIdentifier }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// The first log line containing all of `parts`, waiting up to `timeout`.
    @discardableResult
    func waitForLog(_ parts: String..., timeout: TimeInterval = 30) -> String? {
        var found: String?
        poll(timeout: timeout) {
            found = logs.lines.first { line in parts.allSatisfy { line.contains($0) } }
            return found != nil
        }
        return found
    }

    /// Waits for a line containing all of `second` that comes after a line containing all of `first`.
    @discardableResult
    func waitForLog(after first: [String], then second: [String], timeout: TimeInterval = 60) -> String? {
        var found: String?
        poll(timeout: timeout) {
            let lines = logs.lines
            guard let start = lines.firstIndex(where: { line in first.allSatisfy { line.contains($0) } }) else {
                return false
            }
            found = lines[(start + 1)...].first { line in second.allSatisfy { line.contains($0) } }
            return found != nil
        }
        return found
    }

    func count(_ parts: String...) -> Int {
        logs.lines.filter { line in parts.allSatisfy { line.contains($0) } }.count
    }

    /// The HTTP port from the `http_listening` line.
    func httpPort(timeout: TimeInterval = 30) throws -> Int {
        guard let line = waitForLog("event=http_listening", timeout: timeout),
            let range = line.range(of: "address=127.0.0.1:"),
            let port = Int(line[range.upperBound...].prefix { $0.isNumber })
        else { throw TestFailure("no http_listening line; log:\n\(logs.text)") }
        return port
    }

    /// Waits for the process to end; its exit status, or nil if it is still running.
    func waitForExit(timeout: TimeInterval) -> Int32? {
        guard poll(timeout: timeout, { !process.isRunning }) else { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Makes sure the process is gone (SIGKILL) at the end of a test that failed half-way.
    func kill9() {
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Runs the real curl: status code and body.
func curl(_ url: String, method: String = "GET") throws -> (status: Int, body: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    process.arguments = ["-sS", "--max-time", "10", "-X", method, "-o", "-", "-w", "\n%{http_code}", url]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    var text = String(decoding: data, as: UTF8.self)
    guard let newline = text.lastIndex(of: "\n"), let status = Int(text[text.index(after: newline)...]) else {
        throw TestFailure("curl \(url) gave no status: \(text)")
    }
    text = String(text[..<newline])
    return (status, text)
}

/// Whether every log line has the journald form: `<N>event=name key=value …`.
func isWellFormedLogLine(_ line: String) -> Bool {
    guard line.hasPrefix("<"), line.count > 3 else { return false }
    let chars = Array(line)
    guard chars[2] == ">", let priority = chars[1].wholeNumberValue, (0...7).contains(priority) else { return false }
    var rest = Substring(line.dropFirst(3))
    var first = true
    while !rest.isEmpty {
        guard let equals = rest.firstIndex(of: "=") else { return false }
        let key = rest[..<equals]
        guard !key.isEmpty, key.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "_" || $0 == "." }) else {
            return false
        }
        if first && key != "event" { return false }
        first = false
        rest = rest[rest.index(after: equals)...]
        if rest.first == "\"" {
            var index = rest.index(after: rest.startIndex)
            var closed = false
            while index < rest.endIndex {
                if rest[index] == "\\" {
                    index = rest.index(index, offsetBy: 2, limitedBy: rest.endIndex) ?? rest.endIndex
                    continue
                }
                if rest[index] == "\"" {
                    closed = true
                    break
                }
                index = rest.index(after: index)
            }
            guard closed else { return false }
            rest = rest[rest.index(after: index)...]
        } else {
            let end = rest.firstIndex(of: " ") ?? rest.endIndex
            guard end > rest.startIndex else { return false }
            rest = rest[end...]
        }
        if rest.first == " " { rest = rest.dropFirst() } else if !rest.isEmpty { return false }
    }
    return !first
}

/// Names, dates of birth, postcodes and address lines in a synthetic feed file: none may reach a log.
func personalValues(inFeedFile path: String) throws -> (words: Set<String>, phrases: Set<String>) {
    let reader = try CSVReader(path: path)
    var header: [String] = []
    var words: Set<String> = []
    var phrases: Set<String> = []
    let nameColumns = [
        "LegalForename", "LegalSurname", "PreferredForename", "PreferredSurname", "ChildForename",
        "ChildSurname", "MotherForename", "MotherSurname", "CHILD_NAME",
    ]
    let phraseColumns = [
        "DateOfBirth", "ChildDOB", "MotherDOB", "CHILD_DOB", "Postcode", "POSTCODE", "AddressLine1", "ADDRESS",
    ]
    while let result = try reader.next() {
        guard case .record(let record) = result else { continue }
        let fields = (0..<record.fieldCount).map { record.field($0) }
        if header.isEmpty {
            header = fields
            continue
        }
        for (index, value) in fields.enumerated() where index < header.count {
            if nameColumns.contains(header[index]) {
                for word in value.split(whereSeparator: { !$0.isLetter }) where word.count >= 3 {
                    words.insert(String(word))
                }
            } else if phraseColumns.contains(header[index]), value.count >= 5 {
                phrases.insert(value)
            }
        }
    }
    return (words, phrases)
}

/// What the database holds, in a form two runs can be compared by: counts, and the partition of
/// records into children by (feed, record number) — the child ids themselves are random.
struct DatabaseState: Equatable, CustomStringConvertible {
    var batches: [String]
    var sourceRecords: Int
    var quarantinedRows: Int
    var batchFailures: Int
    var childRecords: Int
    var childrenWithRecords: Int
    var childrenMinted: Int
    var resolutionRuns: Int
    var links: [String]
    var openReviewPairs: Int
    var partition: [[String]]

    static func read(_ connection: PostgresConnection) throws -> DatabaseState {
        func count(_ sql: String) throws -> Int { try connection.execute(sql).scalar(Int.self) }
        let batches = try connection.query(
            "SELECT feed || ' ' || sha256 || ' ' || rows_read || ' ' || rows_loaded || ' ' || rows_quarantined FROM feed_batches ORDER BY 1"
        ).map { try $0.decode(String.self, at: 0) }
        let links = try connection.query(
            "SELECT method || ' ' || count(*) FROM record_links GROUP BY method ORDER BY 1"
        )
        .map { try $0.decode(String.self, at: 0) }
        var groups: [String: [String]] = [:]
        for row in try connection.query(
            "SELECT cr.child_id, sr.feed || ':' || sr.record_number FROM child_records cr JOIN source_records sr ON sr.id = cr.record_id"
        ) {
            groups[try row.decode(String.self, at: 0), default: []].append(try row.decode(String.self, at: 1))
        }
        let partition = groups.values.map { $0.sorted() }.sorted { $0.lexicographicallyPrecedes($1) }
        return DatabaseState(
            batches: batches,
            sourceRecords: try count("SELECT count(*) FROM source_records"),
            quarantinedRows: try count("SELECT count(*) FROM quarantined_rows"),
            batchFailures: try count("SELECT count(*) FROM feed_batch_failures"),
            childRecords: try count("SELECT count(*) FROM child_records"),
            childrenWithRecords: try count("SELECT count(DISTINCT child_id) FROM child_records"),
            childrenMinted: try count("SELECT count(*) FROM children"),
            resolutionRuns: try count("SELECT count(*) FROM resolution_runs WHERE finished_at IS NOT NULL"),
            links: links,
            openReviewPairs: try count("SELECT count(*) FROM review_pairs WHERE status = 'open'"),
            partition: partition)
    }

    var description: String {
        "batches \(batches.count), records \(sourceRecords), quarantined \(quarantinedRows), failures \(batchFailures), "
            + "child records \(childRecords), children \(childrenWithRecords) (minted \(childrenMinted)), runs \(resolutionRuns), "
            + "links \(links), open review \(openReviewPairs), partition of \(partition.count) groups"
    }
}

/// Holds resolution in the middle of its transaction, so a test can cut, kill or stop the service
/// there without racing a stage that may finish in a few hundred milliseconds on a fast machine.
///
/// It takes `resolution_runs` in SHARE mode from a connection of its own (no other stage writes that
/// table): the resolver reads, estimates (and, on a first run, stores its model) and scores, then
/// waits for the lock when it records its run, before storing any link or child. Whatever happens
/// to it there must roll back everything it wrote in that transaction.
final class ResolutionBlocker {
    private let connection: PostgresConnection

    init(_ database: TestDatabase) throws {
        connection = try database.connect()
        try connection.execute("BEGIN")
        try connection.execute("LOCK TABLE resolution_runs IN SHARE MODE")
    }

    /// The service's sessions waiting for this lock right now.
    func waiters(_ watcher: PostgresConnection) throws -> [Int] {
        try watcher.execute(
            """
            SELECT pid FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'familyconnect' AND wait_event_type = 'Lock'
            """
        ).rows.map { try $0.decode(Int.self, at: 0) }
    }

    /// Waits until a service session is stuck on the lock; returns its backend pid.
    func waitForWaiter(_ watcher: PostgresConnection, timeout: TimeInterval = 120) throws -> Int? {
        var pid: Int?
        try poll(timeout: timeout) {
            pid = try waiters(watcher).first
            return pid != nil
        }
        return pid
    }

    func release() throws {
        try connection.execute("ROLLBACK")
    }
}

/// What the server does by itself once it notices a killed client's closed socket — at once, for a
/// backend that is waiting on a lock (which would otherwise notice only when the lock is granted).
func endServiceSessions(_ watcher: PostgresConnection) throws {
    _ = try watcher.execute(
        """
        SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND application_name LIKE 'familyconnect%' AND application_name <> 'familyconnect-tests'
        """)
}
