import Foundation
import Postgres
import Synchronization
import Testing

@testable import Daemon

#if canImport(Glibc)
    import Glibc
#endif

@Suite("sd_notify")
struct SystemdNotifierTests {
    @Test(
        "READY, STATUS, WATCHDOG and STOPPING arrive on a real datagram socket, file system path and abstract namespace",
        arguments: [false, true])
    func realSocket(abstract: Bool) throws {
        let socket = try NotifySocket(abstract: abstract)
        let notifier = SystemdNotifier(socketPath: socket.address)
        #expect(notifier.ready(status: "Up"))
        #expect(notifier.status("Loading feed\nwith a newline"))
        #expect(notifier.watchdog())
        #expect(notifier.reloading())
        #expect(notifier.stopping())
        let messages = socket.messages()
        #expect(messages.count == 5)
        #expect(messages.first == "READY=1\nSTATUS=Up")
        #expect(messages.dropFirst().first == "STATUS=Loading feed with a newline", "a value stays on one line")
        #expect(messages.dropFirst(2).first == "WATCHDOG=1")
        #expect(messages.dropFirst(3).first?.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") == true)
        #expect(messages.last == "STOPPING=1")
    }

    @Test("an abstract address counts no trailing NUL; a path does")
    func addressLength() throws {
        let offset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        let (_, abstractLength) = try #require(SystemdNotifier.address(for: "@abc"))
        #expect(Int(abstractLength) == offset + 4)
        let (_, pathLength) = try #require(SystemdNotifier.address(for: "/run/x"))
        #expect(Int(pathLength) == offset + 7)
        #expect(SystemdNotifier.address(for: "relative/path") == nil)
        #expect(SystemdNotifier.address(for: "@") == nil)
        #expect(SystemdNotifier.address(for: "/" + String(repeating: "a", count: 200)) == nil)
    }

    @Test("without NOTIFY_SOCKET every call is a no-op")
    func disabled() {
        let notifier = SystemdNotifier.fromEnvironment([:])
        #expect(!notifier.isEnabled)
        #expect(!notifier.ready())
        #expect(!SystemdNotifier(socketPath: "/nonexistent/socket").ready(), "a missing socket is not a crash")
    }

    @Test("the watchdog interval is half of WATCHDOG_USEC, for this process only")
    func watchdogInterval() {
        #expect(SystemdNotifier.watchdogPingInterval(["WATCHDOG_USEC": "30000000"], pid: 42) == 15)
        #expect(
            SystemdNotifier.watchdogPingInterval(["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "42"], pid: 42) == 15)
        #expect(
            SystemdNotifier.watchdogPingInterval(["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "43"], pid: 42) == nil)
        #expect(SystemdNotifier.watchdogPingInterval(["WATCHDOG_USEC": "0"], pid: 42) == nil)
        #expect(SystemdNotifier.watchdogPingInterval([:], pid: 42) == nil)
    }
}

@Suite("log lines")
struct LogTests {
    final class Captured: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
    }

    @Test("journald priority prefix, event first, key=value fields, one line per event")
    func format() {
        let captured = Captured()
        let logger = Logger(minimum: .info) { line in captured.lines.withLock { $0.append(line) } }
        logger.info("batch_loaded", ["feed": "school_attendance", "batch": 12, "rows_loaded": 300, "seconds": 1.5])
        logger.error("file_refused", ["feed": "fsm", "reason": "bad header: \"x\"\nsecond line", "sqlstate": "22007"])
        logger.debug("hidden", ["x": 1])
        logger.warning("odd key", ["Some Key": "", "nil": Optional<String>.none])
        let lines = captured.all
        #expect(lines.count == 3, "debug is below the level")
        #expect(lines[0] == "<6>event=batch_loaded feed=school_attendance batch=12 rows_loaded=300 seconds=1.500\n")
        #expect(
            lines[1] == "<3>event=file_refused feed=fsm reason=\"bad header: \\\"x\\\"\\nsecond line\" sqlstate=22007\n"
        )
        #expect(lines[2] == "<4>event=odd_key some_key=\"\" nil=-\n")
        for line in lines {
            #expect(line.filter { $0 == "\n" }.count == 1)
            #expect(isWellFormedLogLine(String(line.dropLast())), "\(line)")
        }
        logger.setLevel(.debug)
        logger.debug("shown")
        #expect(captured.all.last == "<7>event=shown\n")
    }

    @Test("very long lines are cut below PIPE_BUF, on a character boundary")
    func truncation() {
        let event = LogEvent(.info, "long", [("reason", String(repeating: "é", count: 5000))])
        let line = event.line
        #expect(line.utf8.count <= LogEvent.maximumLineBytes + 20)
        #expect(line.hasSuffix(" truncated=true"))
    }

    @Test("errors are described by our own safe descriptions; unknown errors by their type only")
    func errorText() {
        struct Secret: Error { let name = "Amelia Smith" }
        #expect(ErrorText.describe(Secret()) == "error of type Secret")
        let dataError = PostgresError(
            .server, message: "invalid input syntax for type date: \"2015-02-30 Amelia\"", sqlState: "22007",
            detail: "Amelia Smith")
        let text = ErrorText.describe(dataError)
        #expect(!text.contains("Amelia"))
        #expect(text.contains("22007"))
        #expect(ErrorText.sqlState(dataError) == "22007")
        #expect(ErrorText.isTransient(PostgresError(.connection, message: "gone")))
        #expect(ErrorText.isTransient(PostgresError(.server, message: "cancel", sqlState: "57014")))
        #expect(ErrorText.isTransient(PostgresError(.server, message: "deadlock", sqlState: "40P01")))
        #expect(!ErrorText.isTransient(dataError))
        #expect(!ErrorText.isTransient(Secret()))
    }
}
