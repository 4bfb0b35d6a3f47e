import Foundation
import Identifiers
import Synth

enum SynthCommand: Command {
    static let name = "synth"
    static let summary = "Write synthetic partner feeds (invented people only) and their ground truth."
    static let synopsis = "--out DIR [--children N] [--seed S] [--noise default|harsh|X] [--as-of YYYY-MM-DD]"
    static let options: [OptionSpec] = [
        .value("out", "DIR", "Folder to write the feed files into (created if missing)."),
        .value("children", "N", "How many children to invent (default 2000)."),
        .value("seed", "S", "Random seed; the same seed gives byte-identical files (default 1)."),
        .value(
            "noise", "PROFILE|X",
            "'default' or 'harsh' (the rates of real extracts: more typos and nicknames, police ages, moves, "
                + "look-alike twins, UPNs keyed twice, shared flats); or a number scaling the default's typos, "
                + "nicknames, swaps and missing identifiers: 0 clean, 1 default, 2 double."),
        .value("as-of", "DATE", "The extracts' date (default 2026-09-01); never today, so output is reproducible."),
    ]

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let out = try arguments.required("out")
        var config = SynthConfig(
            children: try arguments.integer("children", default: 2000, range: 1...5_000_000),
            seed: UInt64(try arguments.integer("seed", default: 1, range: 0...Int.max)))
        if let noise = arguments.value("noise") {
            if let profile = NoiseProfile.named(noise) {
                config.profile = profile
            } else {
                guard let value = Double(noise), (0...5).contains(value) else {
                    let names = NoiseProfile.named.map { "'\($0.name)'" }.joined(separator: ", ")
                    throw UsageError(description: "option '--noise' expects \(names) or a number from 0 to 5")
                }
                config.noise = value
            }
        }
        if let asOf = arguments.value("as-of") {
            guard let date = CalendarDate(iso8601: asOf) else {
                throw UsageError(description: "option '--as-of' expects a date as YYYY-MM-DD")
            }
            config.asOf = date
        }
        let started = Date()
        let summary = try SyntheticFeedWriter.write(config: config, to: URL(fileURLWithPath: out))
        for kind in FeedKind.allCases {
            Console.print("  \(kind.fileName): \(summary.rows[kind] ?? 0) rows")
        }
        Console.print(
            "synth (\(config.profile.name) noise): \(summary.children) children (\(summary.twinChildren) twins) in \(summary.families) families, "
                + "\(summary.totalFeedRows) feed rows, ground truth in \(out)/\(SyntheticFeedWriter.truthFileName) "
                + "(\(String(format: "%.1f", Date().timeIntervalSince(started))) s)")
        return 0
    }
}
