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
enum DatabaseOptions {
    static let specs: [OptionSpec] = [
        .value(
            "database", "CONNINFO",
            "libpq connection string or URL (default: $FAMILYCONNECT_DATABASE, then libpq's PG* variables). "
                + "Put the password in a password file (passfile=… or PGPASSFILE), never here.")
    ]

    static func connectionString(_ arguments: ParsedArguments) -> String {
        arguments.value("database") ?? ProcessInfo.processInfo.environment["FAMILYCONNECT_DATABASE"] ?? ""
    }
}

/// Where the checked-in `schemas/` folder is: `--schemas`, `$FAMILYCONNECT_SCHEMAS`, next to the
/// working directory, or installed under /usr/share.
enum SchemaLocation {
    static let spec = OptionSpec.value("schemas", "DIR", "Folder holding migrations/, feeds/ and rules/ (default: ./schemas).")

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
