import Config
import Feeds
import Foundation
import Postgres
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// syslog priorities, as journald reads them from a `<N>` prefix on each stderr line.
public enum LogPriority: Int, Sendable, Comparable, CaseIterable {
    case emergency = 0, alert, critical, error, warning, notice, info, debug

    public static func < (lhs: LogPriority, rhs: LogPriority) -> Bool { lhs.rawValue < rhs.rawValue }

    /// `error`, `warning`, `notice`, `info` or `debug` (the config file's `log_level`).
    public init?(name: String) {
        switch name.lowercased() {
        case "error", "err": self = .error
        case "warning", "warn": self = .warning
        case "notice": self = .notice
        case "info": self = .info
        case "debug": self = .debug
        default: return nil
        }
    }
}

/// One log event: a name and `key=value` fields, rendered as a single line.
///
/// Privacy rule: fields carry ids, counts, durations, feed and file names, SQLSTATEs and error
/// descriptions of our own error types (which are written never to contain record values). Never
/// a name, a date of birth or an address: there is deliberately no way to log a record.
public struct LogEvent: Sendable {
    public var priority: LogPriority
    public var event: String
    public var fields: [(String, String)]

    public init(_ priority: LogPriority, _ event: String, _ fields: [(String, String)] = []) {
        self.priority = priority
        self.event = event
        self.fields = fields
    }

    /// Longest line written: below PIPE_BUF, so a line from one thread is never interleaved with another's.
    public static let maximumLineBytes = 3900

    /// `<6>event=batch_loaded feed=school_attendance batch=12 rows_loaded=300`, no trailing newline.
    public var line: String {
        var text = "<\(priority.rawValue)>event=" + Self.sanitiseKey(event)
        for (key, value) in fields {
            text += " " + Self.sanitiseKey(key) + "=" + Self.quote(value)
        }
        if text.utf8.count > Self.maximumLineBytes {
            var bytes = Array(text.utf8.prefix(Self.maximumLineBytes))
            // Do not cut a UTF-8 sequence in half.
            while let last = bytes.last, last & 0xC0 == 0x80 { bytes.removeLast() }
            if let last = bytes.last, last >= 0xC0 { bytes.removeLast() }
            text = String(decoding: bytes, as: UTF8.self) + " truncated=true"
        }
        return text
    }

    /// Keys are `[a-z0-9_.]`; anything else becomes `_`.
    static func sanitiseKey(_ key: String) -> String {
        var out = ""
        for scalar in key.unicodeScalars {
            switch scalar {
            case "a"..."z", "0"..."9", "_", ".": out.unicodeScalars.append(scalar)
            case "A"..."Z": out.unicodeScalars.append(Unicode.Scalar(scalar.value + 32)!)
            default: out += "_"
            }
        }
        return out.isEmpty ? "_" : out
    }

    /// A value is written bare when it is a simple token, otherwise in double quotes with `\"`, `\\`,
    /// `\n`, `\r`, `\t` and `\xHH` escapes, so one event is always one line and can be split on spaces.
    static func quote(_ value: String) -> String {
        let needsQuotes =
            value.isEmpty
            || value.unicodeScalars.contains {
                $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F
            }
        guard needsQuotes else { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + String(format: "%02x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// Writes log events to stderr for journald: one `write(2)` per line, `<N>` priority prefix.
public final class Logger: Sendable {
    private let minimum: Atomic<Int>
    private let sink: @Sendable (String) -> Void

    /// - Parameter sink: receives each complete line, newline included; by default `write(STDERR_FILENO, …)`.
    public init(minimum: LogPriority = .info, sink: @escaping @Sendable (String) -> Void = Logger.writeStandardError) {
        self.minimum = Atomic(minimum.rawValue)
        self.sink = sink
    }

    public static let standardError = Logger()

    public var level: LogPriority {
        get { LogPriority(rawValue: minimum.load(ordering: .relaxed)) ?? .info }
        set { minimum.store(newValue.rawValue, ordering: .relaxed) }
    }

    public func setLevel(_ level: LogPriority) { minimum.store(level.rawValue, ordering: .relaxed) }

    public func log(_ event: LogEvent) {
        guard event.priority.rawValue <= minimum.load(ordering: .relaxed) else { return }
        sink(event.line + "\n")
    }

    public func log(_ priority: LogPriority, _ event: String, _ fields: KeyValuePairs<String, any LogValue> = [:]) {
        guard priority.rawValue <= minimum.load(ordering: .relaxed) else { return }
        log(LogEvent(priority, event, fields.map { ($0.key, $0.value.logText) }))
    }

    public func error(_ event: String, _ fields: KeyValuePairs<String, any LogValue> = [:]) {
        log(.error, event, fields)
    }
    public func warning(_ event: String, _ fields: KeyValuePairs<String, any LogValue> = [:]) {
        log(.warning, event, fields)
    }
    public func notice(_ event: String, _ fields: KeyValuePairs<String, any LogValue> = [:]) {
        log(.notice, event, fields)
    }
    public func info(_ event: String, _ fields: KeyValuePairs<String, any LogValue> = [:]) { log(.info, event, fields) }
    public func debug(_ event: String, _ fields: KeyValuePairs<String, any LogValue> = [:]) {
        log(.debug, event, fields)
    }

    @Sendable public static func writeStandardError(_ line: String) {
        var bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { buffer in
                write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
        bytes.removeAll()
    }
}

/// A value a log field can hold. Deliberately only scalars and our own types: no records.
public protocol LogValue: Sendable {
    var logText: String { get }
}

extension String: LogValue { public var logText: String { self } }
extension Int: LogValue { public var logText: String { String(self) } }
extension Int32: LogValue { public var logText: String { String(self) } }
extension Int64: LogValue { public var logText: String { String(self) } }
extension Bool: LogValue { public var logText: String { self ? "true" : "false" } }
extension Double: LogValue {
    /// Seconds and ratios: three decimals.
    public var logText: String { String(format: "%.3f", self) }
}
extension Optional: LogValue where Wrapped: LogValue {
    public var logText: String { self?.logText ?? "-" }
}

/// What may be said about an error in a log line.
public enum ErrorText {
    /// The error's description for our own error types, whose descriptions never carry record
    /// values (PostgreSQL data errors are redacted, CSV errors give positions only, fetch errors
    /// give the URL without credentials or query). Any other error is named by its type only.
    public static func describe(_ error: any Error) -> String {
        switch error {
        case let error as PostgresError: return error.description
        case let error as FeedBatchError: return error.description
        case let error as FetchError: return error.description
        case let error as CSVError: return error.description
        case let error as FeedDefinitionError: return error.description
        case let error as ConfigFile.Error: return error.description
        case let error as DaemonError: return error.description
        default: return "error of type \(type(of: error))"
        }
    }

    /// The SQLSTATE, when the error came from the server.
    public static func sqlState(_ error: any Error) -> String? {
        (error as? PostgresError)?.sqlState
    }

    /// Whether retrying the same work later can succeed without anyone changing the file: the
    /// connection dropped, a serialisation failure or deadlock (class 40), the server was short of
    /// resources or shutting down (53, 57 — including a cancel at shutdown), or a system error (58).
    public static func isTransient(_ error: any Error) -> Bool {
        guard let error = error as? PostgresError else { return false }
        if error.isConnectionLoss || error.code == .misuse { return true }
        guard let state = error.sqlState else { return error.code == .connection }
        return ["08", "40", "53", "57", "58"].contains(String(state.prefix(2)))
    }
}

/// Errors of the service itself (configuration, start-up checks).
public struct DaemonError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        public static let configuration = Code(name: "configuration")
        public static let migrationsPending = Code(name: "migrationsPending")
        public static let lockHeld = Code(name: "lockHeld")
        public static let listen = Code(name: "listen")
        public static let dropFolder = Code(name: "dropFolder")
        public static let staging = Code(name: "staging")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
