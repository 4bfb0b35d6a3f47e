import Feeds
import Foundation
import Postgres

enum IngestCommand: Command {
    static let name = "ingest"
    static let summary =
        "Pull and load feeds once by hand: named files, or every complete file in the feeds' drop folders."
    static let synopsis = "[--feed NAME] [--drop-root DIR] [FILE…]"
    static let options =
        DatabaseOptions.specs + [
            SchemaLocation.spec,
            .value("feed", "NAME", "The feed the files belong to (default: the feed whose name starts the file name)."),
            .value(
                "drop-root", "DIR",
                "Folder holding each drop-folder feed's folder (default: $FAMILYCONNECT_DROP_ROOT or ./drop)."),
        ]

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let definitions = try FeedDefinition.loadAll(directory: SchemaLocation.directory(arguments) + "/feeds")
        let selected: [FeedDefinition]
        if let name = arguments.value("feed") {
            guard let definition = definitions.first(where: { $0.name == name }) else {
                throw UsageError(
                    description: "no feed named '\(name)'; known: " + definitions.map(\.name).joined(separator: ", "))
            }
            selected = [definition]
        } else {
            selected = definitions
        }
        let connection = try PostgresConnection.connect(DatabaseOptions.connectionString(arguments))
        var failures = 0

        if !arguments.positionals.isEmpty {
            for file in arguments.positionals {
                let stem = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
                let candidates = selected.filter { stem.hasPrefix($0.name) }.sorted { $0.name.count > $1.name.count }
                guard let definition = selected.count == 1 ? selected.first : candidates.first else {
                    Console.error("\(file): cannot tell which feed this file belongs to; name it with --feed")
                    failures += 1
                    continue
                }
                if !load(file, definition: definition, connection: connection) { failures += 1 }
            }
            return failures == 0 ? 0 : 1
        }

        let dropRoot =
            arguments.value("drop-root") ?? ProcessInfo.processInfo.environment["FAMILYCONNECT_DROP_ROOT"] ?? "drop"
        for definition in selected {
            switch definition.source {
            case .dropFolder(let folder, let pattern):
                let drop = DropFolder(path: (dropRoot as NSString).appendingPathComponent(folder), pattern: pattern)
                let files: [String]
                do {
                    files = try drop.pendingFiles()
                } catch {
                    Console.error("\(definition.name): cannot read drop folder \(drop.path)")
                    failures += 1
                    continue
                }
                if files.isEmpty { Console.print("\(definition.name): no new files in \(drop.path)") }
                for file in files {
                    let ok = load(file, definition: definition, connection: connection)
                    do {
                        let moved = try drop.archive(file, succeeded: ok)
                        Console.print("  moved to \(moved)")
                    } catch {
                        Console.error("\(definition.name): loaded but could not move \(file): \(error)")
                        failures += 1
                    }
                    if !ok { failures += 1 }
                }
            case .remote:
                Console.print("\(definition.name): remote source; fetched by 'familyconnect serve' (not by hand yet)")
            }
        }
        return failures == 0 ? 0 : 1
    }

    /// Loads one file and says what happened; false when the file failed as a whole.
    static func load(_ file: String, definition: FeedDefinition, connection: PostgresConnection) -> Bool {
        let name = (file as NSString).lastPathComponent
        do {
            switch try FeedLoader(definition: definition).load(path: file, connection: connection) {
            case .loaded(let report):
                Console.print(
                    "\(definition.name): batch \(report.batchID) from \(name): \(report.rowsRead) rows read, "
                        + "\(report.rowsLoaded) loaded, \(report.rowsQuarantined) quarantined "
                        + "(\(String(format: "%.1f", report.seconds)) s)")
            case .duplicate(let batchID):
                Console.print("\(definition.name): \(name) has the same content as batch \(batchID); not loaded again")
            }
            return true
        } catch {
            Console.error("\(definition.name): \(name) was not loaded: \(error)")
            FeedLoader.recordFailure(
                feed: definition.name, sourceName: name, sha256: nil, reason: String(describing: error),
                connection: connection)
            return false
        }
    }
}
