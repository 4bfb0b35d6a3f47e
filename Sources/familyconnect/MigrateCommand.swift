import Postgres

enum MigrateCommand: Command {
    static let name = "migrate"
    static let summary = "Apply the numbered SQL files in schemas/migrations/ that the database has not applied yet."
    static let synopsis = "[--database CONNINFO] [--schemas DIR] [--status]"
    static let options =
        DatabaseOptions.specs + [
            SchemaLocation.spec, .flag("status", "Only list pending migrations; change nothing."),
        ]

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let migrator = try Migrator(directory: SchemaLocation.directory(arguments) + "/migrations")
        let connection = try PostgresConnection.connect(DatabaseOptions.connectionString(arguments))
        if arguments.has("status") {
            let pending = try migrator.pending(connection)
            Console.print("\(migrator.migrations.count - pending.count) applied, \(pending.count) pending")
            for migration in pending { Console.print("  pending: \(migration.name)") }
            return pending.isEmpty ? 0 : 1
        }
        let report = try migrator.migrate(connection)
        for migration in report.applied { Console.print("applied \(migration.name)") }
        Console.print("migrations: \(report.applied.count) applied now, \(report.alreadyApplied) already applied")
        if !report.unknownInDatabase.isEmpty {
            Console.error(
                "warning: the database has migrations this binary does not know: "
                    + report.unknownInDatabase.map(String.init).joined(separator: ", "))
        }
        return 0
    }
}
