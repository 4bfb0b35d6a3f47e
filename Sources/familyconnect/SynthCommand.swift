import Foundation

enum SynthCommand: Command {
    static let name = "synth"
    static let summary = "Write synthetic partner feeds (invented people only) and their ground truth."
    static let synopsis = "--out DIR [--children N] [--seed S]"
    static let options: [OptionSpec] = [
        .value("out", "DIR", "Folder to write the feed files into (created if missing)."),
        .value("children", "N", "How many children to invent (default 2000)."),
        .value("seed", "S", "Random seed; the same seed gives byte-identical files (default 1)."),
    ]

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        _ = try arguments.required("out")
        Console.error("synth: not available yet")
        return 1
    }
}
