import Config
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where the health and metrics listener binds: an IP literal and a port (0: any free port).
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var isIPv6: Bool { host.contains(":") }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// `127.0.0.1:9464`, `[::1]:9464`. Host names are refused: the address is bound, not looked up.
    public static func parse(_ text: String) -> ListenAddress? {
        var host: Substring
        var portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port), !host.isEmpty else { return nil }
        let literal = String(host)
        var scratch = in6_addr()
        if literal.contains(":") {
            guard inet_pton(AF_INET6, literal, &scratch) == 1 else { return nil }
        } else {
            guard inet_pton(AF_INET, literal, &scratch) == 1 else { return nil }
        }
        return ListenAddress(host: literal, port: port)
    }
}

/// What a second instance does when another one already works on the database.
public enum LockBehaviour: String, Sendable {
    /// Stay up as a standby and take over when the lock comes free.
    case wait
    /// Say so and exit (status 75).
    case exit
}

/// The service configuration file (`/etc/familyconnect/familyconnect.conf`), in the shared
/// `[section]` / `key = value` format. See `deploy/familyconnect.conf.example` for every key.
///
/// Relative paths are taken relative to the folder holding the configuration file.
public struct ServiceConfiguration: Sendable, Equatable {
    public var path: String
    /// libpq connection string or URL, without a password.
    public var conninfo: String = ""
    /// A libpq password file, or `credential:NAME` for `$CREDENTIALS_DIRECTORY/NAME`; resolved.
    public var passfile: String?
    public var lockBehaviour: LockBehaviour = .wait
    public var lockRetrySeconds: Double = 15
    public var connectRetryMaximumSeconds: Double = 60
    public var schemasDirectory: String = "/usr/share/familyconnect/schemas"
    public var dropRoot: String = "/var/lib/familyconnect/drop"
    public var stagingDirectory: String = "/var/lib/familyconnect/staging"
    public var settleSeconds: Double = 2
    /// nil: no listener.
    public var listen: ListenAddress? = ListenAddress(host: "127.0.0.1", port: 9464)
    public var shutdownGraceSeconds: Double = 30
    public var maximumCycleSeconds: Double = 3600
    public var logLevel: LogPriority = .info

    public static let defaultPath = "/etc/familyconnect/familyconnect.conf"

    static let keys: [String: Set<String>] = [
        "database": ["conninfo", "passfile", "lock", "lock_retry_seconds", "connect_retry_max_seconds"],
        "paths": ["schemas", "drop_root", "staging"],
        "feeds": ["settle_seconds"],
        "http": ["listen"],
        "service": ["shutdown_grace_seconds", "max_cycle_seconds", "log_level"],
    ]

    public init(path: String) { self.path = path }

    /// Reads and checks the file. Errors name the file, line and key.
    public static func load(
        path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigFile.Error) -> ServiceConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigFile.Error(file: path, line: nil, key: nil, message: "cannot read the configuration file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigFile.Error(file: path, line: nil, key: nil, message: "the configuration file is not UTF-8")
        }
        return try parse(path: path, text: text, environment: environment)
    }

    public static func parse(
        path: String, text: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigFile.Error) -> ServiceConfiguration {
        let file = try ConfigFile(path: path, text: text)
        for entry in file.entries {
            guard let allowed = keys[entry.section] else {
                throw file.error(
                    entry, "unknown section [\(entry.section)]; expected " + keys.keys.sorted().joined(separator: ", "))
            }
            guard allowed.contains(entry.key) else {
                throw file.error(
                    entry, "unknown key; [\(entry.section)] takes: " + allowed.sorted().joined(separator: ", "))
            }
        }
        var configuration = ServiceConfiguration(path: path)
        // The folder holding the file ("" for a bare file name: paths then stay relative).
        let base = path.lastIndex(of: "/").map { String(path[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? ""

        func absolute(_ value: String) -> String {
            value.hasPrefix("/") || base.isEmpty ? value : (base.hasSuffix("/") ? base + value : base + "/" + value)
        }
        func number(_ section: String, _ key: String, _ range: ClosedRange<Double>) throws(ConfigFile.Error) -> Double?
        {
            guard let entry = file.entry(section, key) else { return nil }
            guard let value = Double(entry.value), range.contains(value) else {
                throw file.error(entry, "expected a number of seconds from \(range.lowerBound) to \(range.upperBound)")
            }
            return value
        }
        func pathValue(_ section: String, _ key: String) throws(ConfigFile.Error) -> String? {
            guard let entry = file.entry(section, key) else { return nil }
            guard !entry.value.isEmpty else { throw file.error(entry, "names no folder") }
            return absolute(entry.value)
        }

        if let entry = file.entry("database", "conninfo") {
            if let problem = Conninfo.passwordProblem(entry.value) {
                throw file.error(entry, problem)
            }
            configuration.conninfo = entry.value
        }
        if let entry = file.entry("database", "passfile") {
            let value = entry.value
            if value.hasPrefix("credential:") {
                let name = String(value.dropFirst("credential:".count))
                guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
                    throw file.error(entry, "credential:NAME needs a plain credential name")
                }
                guard let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty else {
                    throw file.error(
                        entry,
                        "names systemd credential '\(name)' but $CREDENTIALS_DIRECTORY is not set "
                            + "(LoadCredential=\(name):… in the unit)")
                }
                configuration.passfile = (directory as NSString).appendingPathComponent(name)
            } else {
                guard !value.isEmpty else { throw file.error(entry, "names no file") }
                configuration.passfile = absolute(value)
            }
        }
        if let entry = file.entry("database", "lock") {
            guard let behaviour = LockBehaviour(rawValue: entry.value) else {
                throw file.error(entry, "expected 'wait' (stand by until the other instance stops) or 'exit'")
            }
            configuration.lockBehaviour = behaviour
        }
        if let value = try number("database", "lock_retry_seconds", 0.1...3600) {
            configuration.lockRetrySeconds = value
        }
        if let value = try number("database", "connect_retry_max_seconds", 1...3600) {
            configuration.connectRetryMaximumSeconds = value
        }
        if let value = try pathValue("paths", "schemas") { configuration.schemasDirectory = value }
        if let value = try pathValue("paths", "drop_root") { configuration.dropRoot = value }
        if let value = try pathValue("paths", "staging") { configuration.stagingDirectory = value }
        if let value = try number("feeds", "settle_seconds", 0...3600) { configuration.settleSeconds = value }
        if let entry = file.entry("http", "listen") {
            if entry.value == "off" {
                configuration.listen = nil
            } else {
                guard let address = ListenAddress.parse(entry.value) else {
                    throw file.error(
                        entry, "expected an IP address and port, e.g. 127.0.0.1:9464 or [::1]:9464, or 'off'")
                }
                configuration.listen = address
            }
        }
        if let value = try number("service", "shutdown_grace_seconds", 1...3600) {
            configuration.shutdownGraceSeconds = value
        }
        if let value = try number("service", "max_cycle_seconds", 10...604_800) {
            configuration.maximumCycleSeconds = value
        }
        if let entry = file.entry("service", "log_level") {
            guard let level = LogPriority(name: entry.value) else {
                throw file.error(entry, "expected error, warning, notice, info or debug")
            }
            configuration.logLevel = level
        }
        return configuration
    }

    /// The connection string handed to libpq: `conninfo` plus `passfile=` when one is configured.
    public var connectionString: String {
        guard let passfile else { return conninfo }
        return Conninfo.adding(keyword: "passfile", value: passfile, to: conninfo)
    }

    public var feedsDirectory: String { (schemasDirectory as NSString).appendingPathComponent("feeds") }
    public var migrationsDirectory: String { (schemasDirectory as NSString).appendingPathComponent("migrations") }
}

/// Just enough of libpq's connection-string syntax to keep passwords out of it.
public enum Conninfo {
    /// Why this connection string may not be used, or nil. A password belongs in a password file
    /// (`passfile`, `$PGPASSFILE` or a systemd credential), never in a file many people can read.
    public static func passwordProblem(_ conninfo: String) -> String? {
        let trimmed = conninfo.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("postgresql://") || trimmed.hasPrefix("postgres://") {
            if let components = URLComponents(string: trimmed) {
                if components.password != nil {
                    return
                        "the URL contains a password; put it in a password file (passfile, PGPASSFILE or a systemd credential)"
                }
                if components.queryItems?.contains(where: { $0.name.lowercased() == "password" }) == true {
                    return
                        "the URL sets password=; put it in a password file (passfile, PGPASSFILE or a systemd credential)"
                }
                return nil
            }
            return "not a valid postgresql:// URL"
        }
        guard let pairs = keywordPairs(trimmed) else {
            return "not a valid libpq connection string (keyword = value …)"
        }
        if pairs.contains(where: { $0.key.lowercased() == "password" }) {
            return "sets password=; put the password in a password file (passfile, PGPASSFILE or a systemd credential)"
        }
        return nil
    }

    /// Parses `keyword = value` pairs (values optionally single-quoted with `\'` and `\\` escapes).
    static func keywordPairs(_ text: String) -> [(key: String, value: String)]? {
        var pairs: [(key: String, value: String)] = []
        var scalars = Array(text.unicodeScalars)[...]
        func skipSpaces() {
            while let first = scalars.first, first == " " || first == "\t" || first == "\n" {
                scalars = scalars.dropFirst()
            }
        }
        while true {
            skipSpaces()
            guard !scalars.isEmpty else { return pairs }
            var key = ""
            while let first = scalars.first, first != "=", first != " ", first != "\t" {
                key.unicodeScalars.append(first)
                scalars = scalars.dropFirst()
            }
            skipSpaces()
            guard scalars.first == "=", !key.isEmpty else { return nil }
            scalars = scalars.dropFirst()
            skipSpaces()
            var value = ""
            if scalars.first == "'" {
                scalars = scalars.dropFirst()
                var closed = false
                while let first = scalars.first {
                    scalars = scalars.dropFirst()
                    if first == "\\", let next = scalars.first {
                        value.unicodeScalars.append(next)
                        scalars = scalars.dropFirst()
                    } else if first == "'" {
                        closed = true
                        break
                    } else {
                        value.unicodeScalars.append(first)
                    }
                }
                guard closed else { return nil }
            } else {
                while let first = scalars.first, first != " ", first != "\t", first != "\n" {
                    if first == "\\", scalars.count > 1 {
                        scalars = scalars.dropFirst()
                    }
                    value.unicodeScalars.append(scalars.first!)
                    scalars = scalars.dropFirst()
                }
            }
            pairs.append((key, value))
        }
    }

    /// Adds `keyword=value` to a keyword/value string, or as a query parameter to a URL.
    public static func adding(keyword: String, value: String, to conninfo: String) -> String {
        let trimmed = conninfo.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("postgresql://") || trimmed.hasPrefix("postgres://"),
            var components = URLComponents(string: trimmed)
        {
            var items = components.queryItems ?? []
            items.removeAll { $0.name == keyword }
            items.append(URLQueryItem(name: keyword, value: value))
            components.queryItems = items
            return components.string ?? conninfo
        }
        let quoted =
            "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
        return trimmed.isEmpty ? "\(keyword)=\(quoted)" : trimmed + " \(keyword)=\(quoted)"
    }
}

/// Why a configuration file was refused (file, line, key and reason).
public typealias ConfigurationError = ConfigFile.Error
