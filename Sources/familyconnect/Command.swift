import Daemon
import Foundation

/// One `familyconnect <name>` subcommand.
protocol Command: Sendable {
    static var name: String { get }
    static var summary: String { get }
    /// Usage lines after the command name, e.g. "[--dry-run] FILE…".
    static var synopsis: String { get }
    static var options: [OptionSpec] { get }
    static func run(_ arguments: ParsedArguments) throws -> Int32
}

extension Command {
    static var helpText: String {
        var text = "Usage: familyconnect \(name) \(synopsis)\n\n\(summary)\n"
        let all = options + [OptionSpec.flag("help", "Show this help.")]
        text += "\nOptions:\n"
        for option in all {
            let head = "  --\(option.name)" + (option.kind == .value ? " \(option.placeholder)" : "")
            text += head.padding(toLength: max(head.count + 2, 30), withPad: " ", startingAt: 0) + option.help + "\n"
        }
        return text
    }
}

/// Options every database-using command takes.
///
/// Secrets never travel in argv or the environment: a connection string with a password in it is
/// refused (without repeating it), and so is `$PGPASSWORD`. The password goes in a libpq password
/// file: `--passfile FILE`, `$FAMILYCONNECT_PASSFILE`, `passfile=` in the string or `$PGPASSFILE`;
/// `credential:NAME` reads the systemd credential `$CREDENTIALS_DIRECTORY/NAME`. For TLS, add
/// `sslmode=verify-full sslrootcert=/etc/familyconnect/db-ca.pem` (and `host=` the name on the
/// server's certificate) to the connection string.
enum DatabaseOptions {
    static let specs: [OptionSpec] = [
        .value(
            "database", "CONNINFO",
            "libpq connection string or URL (default: $FAMILYCONNECT_DATABASE, then libpq's PG* variables), e.g. "
                + "'host=db.example dbname=familyconnect sslmode=verify-full sslrootcert=ca.pem'. Never a password."),
        .value(
            "passfile", "FILE",
            "libpq password file (default: $FAMILYCONNECT_PASSFILE, then passfile= or $PGPASSFILE); "
                + "credential:NAME reads $CREDENTIALS_DIRECTORY/NAME (systemd LoadCredential=)."),
    ]

    static func connectionString(_ arguments: ParsedArguments) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let conninfo = arguments.value("database") ?? environment["FAMILYCONNECT_DATABASE"] ?? ""
        if let problem = Conninfo.passwordProblem(conninfo) {
            let source = arguments.value("database") != nil ? "--database" : "$FAMILYCONNECT_DATABASE"
            throw UsageError(description: "\(source) refused: \(problem)")
        }
        if environment["PGPASSWORD"] != nil {
            throw UsageError(
                description:
                    "$PGPASSWORD is set: passwords do not belong in the environment (it shows in process listings "
                    + "and environment dumps); unset it and use a password file (--passfile, PGPASSFILE or a systemd credential)"
            )
        }
        guard let passfile = arguments.value("passfile") ?? environment["FAMILYCONNECT_PASSFILE"], !passfile.isEmpty
        else {
            return conninfo
        }
        var path = passfile
        if passfile.hasPrefix("credential:") {
            let name = String(passfile.dropFirst("credential:".count))
            guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
                throw UsageError(description: "--passfile credential:NAME needs a plain credential name")
            }
            guard let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty else {
                throw UsageError(
                    description: "--passfile names systemd credential '\(name)' but $CREDENTIALS_DIRECTORY is not set")
            }
            path = (directory as NSString).appendingPathComponent(name)
        }
        return Conninfo.adding(keyword: "passfile", value: path, to: conninfo)
    }
}

/// Where the checked-in `schemas/` folder is: `--schemas`, `$FAMILYCONNECT_SCHEMAS`, next to the
/// working directory, or installed under /usr/share.
enum SchemaLocation {
    static let spec = OptionSpec.value(
        "schemas", "DIR", "Folder holding migrations/, feeds/ and rules/ (default: ./schemas).")

    static func directory(_ arguments: ParsedArguments) -> String {
        if let explicit = arguments.value("schemas") ?? ProcessInfo.processInfo.environment["FAMILYCONNECT_SCHEMAS"] {
            return explicit
        }
        for candidate in ["schemas", "/usr/share/familyconnect/schemas"]
        where FileManager.default.fileExists(atPath: candidate + "/migrations") {
            return candidate
        }
        return "schemas"
    }
}

/// Plain output for a person at a terminal (stdout); diagnostics go to stderr.
enum Console {
    static func print(_ text: String) {
        let line = text + "\n"
        _ = line.withCString { write(STDOUT_FILENO, $0, strlen($0)) }
    }

    static func error(_ text: String) {
        let line = "familyconnect: " + text + "\n"
        _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
    }
}
