import Foundation
import Postgres

enum Registry {
    static let commands: [any Command.Type] = [
        MigrateCommand.self,
        SynthCommand.self,
        IngestCommand.self,
        FeedsCommand.self,
        ResolveCommand.self,
        EvaluateCommand.self,
        ReviewCommand.self,
        ExplainCommand.self,
        ExplainPairCommand.self,
        FamiliesCommand.self,
        FlagsCommand.self,
        ExportCommand.self,
        AuditCommand.self,
        PurgeCommand.self,
        SubjectAccessCommand.self,
        EraseCommand.self,
        ReportCommand.self,
        BenchCommand.self,
        ServeCommand.self,
    ]
}

func topLevelHelp() -> String {
    var text = """
        familyconnect: links partner records about children to one identifier, groups them into
        families and flags families for early-help outreach, with the evidence for every decision.

        Usage: familyconnect <command> [options]

        Commands:

        """
    for command in Registry.commands {
        text += "  " + command.name.padding(toLength: 12, withPad: " ", startingAt: 0) + command.summary + "\n"
    }
    text += "\nRun 'familyconnect <command> --help' for a command's options.\n"
    return text
}

func runMain() -> Int32 {
    let arguments = CommandLine.arguments
    guard arguments.count > 1 else {
        Console.print(topLevelHelp())
        return 2
    }
    let name = arguments[1]
    if name == "--help" || name == "-h" || name == "help" {
        Console.print(topLevelHelp())
        return 0
    }
    guard let command = Registry.commands.first(where: { $0.name == name }) else {
        Console.error("unknown command '\(name)'. Run 'familyconnect --help' for the list.")
        return 2
    }
    let rest = arguments[2...]
    if rest.contains("--help") || rest.contains("-h") {
        Console.print(command.helpText)
        return 0
    }
    do {
        let parsed = try ParsedArguments.parse(rest, options: command.options, command: name)
        return try command.run(parsed)
    } catch let error as UsageError {
        Console.error("\(error.description)\nRun 'familyconnect \(name) --help' for usage.")
        return 2
    } catch {
        // `description` of our errors never carries personal data, so it is safe on stderr.
        Console.error("\(name) failed: \(error)")
        return 1
    }
}

exit(runMain())
