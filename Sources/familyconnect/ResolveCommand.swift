import Foundation
import Postgres
import Resolution

enum ResolveCommand: Command {
    static let name = "resolve"
    static let summary = "Link child records to stable child ids: new records only, or everything with --full."
    static let synopsis = "[--full] [--database CONNINFO]"
    static let options =
        DatabaseOptions.specs + [
            .flag("full", "Recompute every child from scratch (ids are kept where the children are the same)."),
            .flag(
                "reestimate",
                "With --full: estimate a new model (m and u) from the data instead of reusing the stored one."),
            .value("link-probability", "P", "Link automatically at or above this match probability (default 0.5)."),
            .value(
                "review-probability", "P",
                "Send pairs at or above this match probability, below --link-probability, to clerical review (default 0.2)."
            ),
            .flag(
                "phases",
                "Also print where the time went: each phase's wall time, this process's CPU and the database's."),
        ]

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let connection = try PostgresConnection.connect(DatabaseOptions.connectionString(arguments))
        var settings = ResolutionSettings()
        for (option, path) in [
            ("link-probability", \ResolutionSettings.linkProbability), ("review-probability", \.reviewProbability),
        ] {
            guard let text = arguments.value(option) else { continue }
            guard let value = Double(text), value > 0, value < 1 else {
                throw UsageError(description: "--\(option) expects a probability between 0 and 1, e.g. 0.5")
            }
            settings[keyPath: path] = value
        }
        guard settings.reviewProbability <= settings.linkProbability else {
            throw UsageError(description: "--review-probability must not be above --link-probability")
        }
        let resolver = Resolver(connection: connection, settings: settings)
        if arguments.has("phases") { resolver.serverCPU = BackendCPU(connection).seconds }
        if arguments.has("reestimate") && !arguments.has("full") {
            throw UsageError(description: "--reestimate goes with --full")
        }
        let report =
            arguments.has("full")
            ? try resolver.resolveFull(reestimate: arguments.has("reestimate")) : try resolver.resolveIncremental()
        print(report)
        if arguments.has("phases") { Console.print(BenchCommand.phaseTable(report.phases)) }
        return 0
    }

    static func print(_ report: ResolutionReport) {
        Console.print(
            """
            resolve (\(report.mode), run \(report.runID)): \(report.records) records, \(report.pairsCompared) pairs compared \
            in \(String(format: "%.1f", report.seconds)) s
              links: \(report.linksDeterministic) by identifier, \(report.linksProbabilistic) probabilistic, \
            \(report.linksVouchedByIncident) vouched by a police incident, \
            \(report.linksVouchedByClaim) vouched by a meals claim, \
            \(report.linksReview) by review decision; \(report.twinsKeptApart) links refused as possible twins
              children: \(report.children) (\(report.minted) ids minted, \(report.merged) merged, \(report.split) split, \
            \(report.recordsMoved) records assigned or moved)
              review queue: \(report.reviewPairs) open pairs (\(report.notQueuedBetweenMadeChildren) pairs between two children \
            of several records each not queued)\(report.oversizedBlocks > 0 ? "; \(report.oversizedBlocks) oversized blocks skipped" : "")
            """)
    }
}

enum EvaluateCommand: Command {
    /// The classes of missed pairs and of merging links, largest first, with record ids to explain.
    static func printDiagnosis(_ diagnosis: LinkageDiagnosis) {
        func table(_ title: String, _ classes: [LinkageDiagnosis.Class], pairs: Bool) {
            Console.print("  \(title): \(classes.count) classes")
            for entry in classes {
                let examples = entry.examples.map { "\($0.0)/\($0.1)" }.joined(separator: " ")
                Console.print(
                    "    \(entry.count)\(pairs ? " parts, \(entry.pairs) pairs" : " links"): \(entry.name)  e.g. \(examples)"
                )
            }
        }
        table("missed (split parts by the best pair across them)", diagnosis.missed, pairs: true)
        table("merged (links joining two true children)", diagnosis.merged, pairs: false)
    }

    static let name = "evaluate"
    static let summary =
        "Compare resolved children with a synthetic ground truth: pairwise precision, recall, F1, false merges, twins."
    static let synopsis = "--truth FILE [--database CONNINFO]"
    static let options =
        DatabaseOptions.specs + [.value("truth", "FILE", "The truth.csv written by 'familyconnect synth'.")]

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let connection = try PostgresConnection.connect(DatabaseOptions.connectionString(arguments))
        let report = try Evaluator.evaluate(truthPath: try arguments.required("truth"), connection: connection)
        Console.print(
            """
            evaluate: \(report.records) child records with ground truth
              pairwise precision \(String(format: "%.5f", report.precision))  recall \(String(format: "%.5f", report.recall))  \
            F1 \(String(format: "%.5f", report.f1))
              pairs: \(report.correctPairs) correct of \(report.predictedPairs) linked, \(report.truePairs) true
              false merges: \(report.falseMerges) resolved children mix true children; \(report.splitChildren) true children split
              twins: \(report.twinsMerged) of \(report.twinPairs) twin pairs merged
              learned aliases: \(report.learnedAliases); \(report.twinPairsNamedByLearnedAlias) twin pairs are named by one
              siblings merged: \(report.siblingsMerged) pairs of children of one family (twins included) in one resolved child
              review queue: \(report.reviewPairs) open pairs = \(String(format: "%.2f", report.reviewShare * 100))% of records
              review yield: \(String(format: "%.5f", report.reviewYield)) (\(report.reviewPairsSameChild) of \(report.reviewPairsWithTruth) \
            queued pairs with ground truth are one child; \(report.reviewPairsSameFamily) are siblings or twins)
            """)
        if let diagnosis = report.diagnosis { printDiagnosis(diagnosis) }
        return 0
    }
}
