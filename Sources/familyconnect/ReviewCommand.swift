import Foundation
import Postgres
import Resolution

/// Options shared by commands that show personal data: the reason is required and audited.
enum ReasonOption {
    static let spec = OptionSpec.value("reason", "TEXT", "Why you are looking (required; recorded in the audit trail).")

    static func required(_ arguments: ParsedArguments) throws -> String {
        guard let reason = arguments.value("reason"), reason.trimmingCharacters(in: .whitespaces).count >= 3 else {
            throw UsageError(
                description: "this command shows personal data: say why with --reason \"…\" (it is audited)")
        }
        return reason
    }
}

enum ReviewCommand: Command {
    static let name = "review"
    static let summary = "The clerical review queue: list pairs, show one side by side, accept or reject."
    static let synopsis =
        "list [--limit N] | show PAIR --reason TEXT | accept PAIR --reason TEXT | reject PAIR --reason TEXT"
    static let options =
        DatabaseOptions.specs + [
            ReasonOption.spec, .value("limit", "N", "How many pairs 'list' shows (default 50)."),
        ]

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let connection = try PostgresConnection.connect(DatabaseOptions.connectionString(arguments))
        let queue = ReviewQueue(connection: connection)
        let positionals = arguments.positionals
        func pairID() throws -> Int64 {
            guard positionals.count == 2, let id = Int64(positionals[1]) else {
                throw UsageError(description: "'review \(positionals.first ?? "")' takes one pair id")
            }
            return id
        }
        switch positionals.first {
        case "list":
            let pairs = try queue.list(limit: try arguments.integer("limit", default: 50, range: 1...10_000))
            Console.print(
                "\(try queue.openCount()) open pairs; most likely one child first (ids and weights only: 'review show' for details)"
            )
            Console.print("  pair      one child  weight  records          waiting since     reason")
            for pair in pairs {
                Console.print(
                    "  " + "\(pair.id)".padding(toLength: 9, withPad: " ", startingAt: 0)
                        + (pair.matchProbability.map { String(format: "%8.1f%%  ", $0 * 100) } ?? "       —   ")
                        + String(format: "%6.2f  ", pair.weight)
                        + "\(pair.recordA)–\(pair.recordB)".padding(toLength: 17, withPad: " ", startingAt: 0)
                        + ISO8601DateFormatter.string(
                            from: pair.createdAt, timeZone: .gmt, formatOptions: [.withFullDate])
                        + "        " + pair.reason)
            }
        case "show":
            let (pair, a, b) = try queue.show(try pairID(), reason: try ReasonOption.required(arguments))
            Console.print(
                "pair \(pair.id) (\(pair.status)): weight \(String(format: "%.2f", pair.weight))"
                    + (pair.matchProbability.map { String(format: ", %.1f%% likely one child", $0 * 100) } ?? "")
                    + " — \(pair.reason)")
            Console.print("")
            Console.print(
                "  " + "".padding(toLength: 24, withPad: " ", startingAt: 0) + column("record \(a.id) (\(a.feed))")
                    + column("record \(b.id) (\(b.feed))"))
            Console.print(
                "  " + "child id".padding(toLength: 24, withPad: " ", startingAt: 0) + column(a.childID ?? "—")
                    + column(b.childID ?? "—"))
            for (left, right) in zip(a.fields, b.fields) {
                Console.print(
                    "  " + left.label.padding(toLength: 24, withPad: " ", startingAt: 0) + column(left.value)
                        + column(right.value))
            }
            Console.print("\n  comparison (field, level, weight, running total):")
            for line in Waterfall.render(pair.comparison) { Console.print(line) }
            Console.print(
                "\n  decide with: familyconnect review accept \(pair.id) --reason \"…\"  or  review reject \(pair.id) --reason \"…\""
            )
        case "accept", "reject":
            let sameChild = positionals.first == "accept"
            let id = try pairID()
            let decided = try queue.decide(id, sameChild: sameChild, reason: try ReasonOption.required(arguments))
            guard let report = decided else {
                // A data officer's role records the decision; the service re-clusters (ResolveStage).
                Console.print(
                    "recorded: \(sameChild ? "same child" : "different children"); the service applies it at its next resolution run"
                )
                return 0
            }
            let pair = try queue.pair(id)
            let children =
                try connection.query(
                    "SELECT count(DISTINCT child_id) FROM child_records WHERE record_id = ANY($1::bigint[])",
                    [[Int(pair.recordA), Int(pair.recordB)]]
                ).first.map { try $0.decode(Int.self, at: 0) } ?? 0
            if sameChild && children > 1 {
                Console.error(
                    "the decision is recorded, but the records stay apart: their children hold two different valid "
                        + "NHS numbers or UPNs, which are never merged (use explain-pair to see them)")
            }
            Console.print(
                "recorded: \(sameChild ? "same child" : "different children"); re-resolved \(report.records) records into "
                    + "\(report.children) children (\(report.merged) ids merged, \(report.split) split, \(report.minted) minted)"
            )
        default:
            throw UsageError(
                description: "expected 'review list', 'review show PAIR', 'review accept PAIR' or 'review reject PAIR'")
        }
        return 0
    }

    static func column(_ text: String) -> String {
        let clipped = text.count > 34 ? String(text.prefix(33)) + "…" : text
        return clipped.padding(toLength: 36, withPad: " ", startingAt: 0)
    }
}

enum ExplainCommand: Command {
    static let name = "explain"
    static let summary =
        "Show a child's source records, the links that joined them with each field's weight, and the id's history."
    static let synopsis = "CHILD_ID --reason TEXT"
    static let options = DatabaseOptions.specs + [ReasonOption.spec]

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        guard arguments.positionals.count == 1 else { throw UsageError(description: "explain takes one child id") }
        let connection = try PostgresConnection.connect(DatabaseOptions.connectionString(arguments))
        let explanation = try Explainer(connection: connection).explain(
            child: arguments.positionals[0], reason: try ReasonOption.required(arguments))
        if explanation.askedFor.uppercased() != explanation.childID {
            Console.print("\(explanation.askedFor.uppercased()) was merged; it now resolves to \(explanation.childID)")
        }
        Console.print("child \(explanation.childID): \(explanation.records.count) source records")
        if let prior = explanation.prior {
            Console.print(
                String(format: "model prior %.3g: the chance two records drawn at random are one child", prior))
        }
        for record in explanation.records {
            let summary = record.fields.filter {
                ["given name", "family name", "date of birth", "postcode", "NHS number", "UPN"].contains($0.label)
            }
            .map { "\($0.label) \($0.value)" }.joined(separator: "; ")
            Console.print(
                "  record \(record.id)  \(record.feed) batch \(record.batch) row \(record.recordNumber): \(summary)")
        }
        Console.print("\nlinks:")
        for (index, link) in explanation.links.enumerated() {
            let probability = link.weight.flatMap { weight in
                explanation.prior.map { MatchProbability.posterior(weight: weight, prior: $0) }
            }
            let byEvidence = link.method == "probabilistic" || link.vouchedBy != nil
            Console.print(
                "  \(link.a) — \(link.b): \(link.method)"
                    + (link.weight.map { String(format: ", weight %.2f", $0) } ?? "")
                    + (byEvidence ? probability.map { String(format: ", match probability %.4f", $0) } ?? "" : ""))
            if let alias = explanation.learnedAliasOfLink[index] { Console.print("    given names: \(alias)") }
            if let voucher = link.vouchedBy {
                Console.print("    " + Explainer.vouchingRule(method: link.method, vouchedBy: voucher))
            }
            if byEvidence || link.method == "review" {
                for line in Waterfall.render(link.steps) { Console.print(line) }
            }
        }
        Console.print("\nhistory:")
        for event in explanation.history {
            Console.print(
                "  "
                    + ISO8601DateFormatter.string(
                        from: event.at, timeZone: .gmt, formatOptions: [.withInternetDateTime])
                    + "  \(event.event)" + (event.other.map { " \($0)" } ?? ""))
        }
        return 0
    }
}

enum ExplainPairCommand: Command {
    static let name = "explain-pair"
    static let summary =
        "Compare any two source records with the current model: each field's level and weight, and the verdict."
    static let synopsis = "RECORD RECORD --reason TEXT"
    static let options = DatabaseOptions.specs + [ReasonOption.spec]

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        guard arguments.positionals.count == 2, let a = Int64(arguments.positionals[0]),
            let b = Int64(arguments.positionals[1])
        else { throw UsageError(description: "explain-pair takes two source record ids") }
        let connection = try PostgresConnection.connect(DatabaseOptions.connectionString(arguments))
        let explanation = try Explainer(connection: connection).explain(
            pair: a, b, reason: try ReasonOption.required(arguments))
        Console.print("records \(a) and \(b): field, level, weight, running total")
        for line in Waterfall.render(explanation.steps, extra: explanation.termFrequency) { Console.print(line) }
        Console.print(
            String(
                format: "  total %.2f bits (link ≥ %.1f, review ≥ %.1f under this model's prior)", explanation.total,
                explanation.upperThreshold, explanation.lowerThreshold))
        Console.print(
            String(
                format:
                    "  prior %.3g (two records at random are one child); match probability %.4f (link ≥ %.2f, review ≥ %.2f)",
                explanation.prior, explanation.probability, explanation.linkProbability, explanation.reviewProbability))
        if let alias = explanation.learnedAlias { Console.print("  given names: \(alias)") }
        Console.print("  verdict: \(explanation.verdict)")
        return 0
    }
}
