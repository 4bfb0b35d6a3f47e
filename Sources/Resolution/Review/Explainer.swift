import Foundation
import Postgres

/// The evidence behind a decision, field by field, in words and bits.
public struct PairExplanation: Sendable {
    public var recordA: Int64
    public var recordB: Int64
    public var steps: [(field: String, level: String, weight: Double)]
    public var termFrequency: [(name: String, weight: Double)]
    public var total: Double
    /// The bands in bits under the model's prior (link at or above `upperThreshold`, review from `lowerThreshold`).
    public var upperThreshold: Double
    public var lowerThreshold: Double
    /// The model's prior: the chance two records drawn at random are one child.
    public var prior: Double
    /// The chance these two are one child: prior odds × 2^total.
    public var probability: Double
    public var linkProbability: Double
    public var reviewProbability: Double
    /// What the rules make of it: "linked by NHS number", "linked (weight ≥ upper)", "review: …", "no link: …";
    /// for a pair the incident rule linked, that rule and the record that vouched.
    public var verdict: String
    /// When the first names agree only through an alias the full run learned from identifier-joined
    /// records (`LearnedAliases`): that, in words, with the number of children that taught it.
    public var learnedAlias: String? = nil
}

public struct ChildExplanation: Sendable {
    public var askedFor: String
    public var childID: String
    public var records: [RecordView]
    /// `vouchedBy`: for a link the incident rule made, the record of the incident that vouched.
    public var links:
        [(
            a: Int64, b: Int64, method: String, weight: Double?,
            steps: [(field: String, level: String, weight: Double)], vouchedBy: Int64?
        )]
    public var history: [(at: Date, event: String, other: String?)]
    /// The current model's prior, for the links' match probabilities.
    public var prior: Double?
    /// For links (by index in `links`) whose first names are one only through an alias the full run
    /// learned (`LearnedAliases`): that, in words.
    public var learnedAliasOfLink: [Int: String] = [:]
}

public struct Explainer {
    let connection: PostgresConnection

    public init(connection: PostgresConnection) { self.connection = connection }

    /// Everything that made a child: its records, the links between them, its id's history. Audited.
    public func explain(child asked: String, reason: String) throws -> ChildExplanation {
        guard
            let resolved = try connection.query(
                "SELECT resolves_to FROM child_id_resolution WHERE child_id = $1", [asked.uppercased()]
            ).first
        else { throw ReviewError(description: "no child id \(asked)") }
        let childID = try resolved.decode(String.self, at: 0)
        try AccessAudit.record(connection, action: "explain", subjects: [childID], reason: reason)
        let ids = try connection.query(
            "SELECT record_id FROM child_records WHERE child_id = $1 ORDER BY record_id", [childID]
        ).map { try $0.decode(Int64.self, at: 0) }
        let records = try ids.map { try RecordViews.load(connection, id: $0) }
        let links = try connection.query(
            """
            SELECT record_a, record_b, method, weight, record_link_comparison(l)::text, vouched_by FROM record_links l
            WHERE record_a = ANY($1::bigint[]) AND record_b = ANY($1::bigint[]) ORDER BY method, weight DESC NULLS LAST
            """, [ids.map { Int($0) }]
        ).map {
            (
                try $0.decode(Int64.self, at: 0), try $0.decode(Int64.self, at: 1), try $0.decode(String.self, at: 2),
                try $0.decode(Double?.self, at: 3), ComparisonEvidence.parse(try $0.decode(String.self, at: 4)),
                try $0.decode(Int64?.self, at: 5)
            )
        }
        let history = try connection.query(
            """
            SELECT at, event, other_child_id FROM child_id_events
            WHERE child_id IN (SELECT child_id FROM child_id_resolution WHERE resolves_to = $1)
            ORDER BY at, id
            """, [childID]
        ).map {
            (try $0.decode(Date.self, at: 0), try $0.decode(String.self, at: 1), try $0.decode(String?.self, at: 2))
        }
        let prior = try connection.query(
            "SELECT prior, parameters::text, records FROM match_models ORDER BY id DESC LIMIT 1"
        ).first.flatMap { row -> Double? in
            if let stored = try row.decode(Double?.self, at: 0) { return stored }
            let model = try MatchModel.fromJSON(try row.decode(String.self, at: 1))
            return MatchModel.prior(
                matchProportion: model.matchProportion, pairs: model.pairsUsed, records: try row.decode(Int.self, at: 2)
            )
        }
        return ChildExplanation(
            askedFor: asked, childID: childID, records: records, links: links, history: history, prior: prior,
            learnedAliasOfLink: try learnedAliasWords(links.map { ($0.0, $0.1, $0.4) }))
    }

    /// `learnedAliasWords` for each link whose first names agree as a nickname, under the newest
    /// model's learned aliases; by the link's index.
    func learnedAliasWords(
        _ links: [(a: Int64, b: Int64, steps: [(field: String, level: String, weight: Double)])]
    )
        throws -> [Int: String]
    {
        let nickname = MatchField.givenName.levels[Int(NameLevel.nickname.rawValue)]
        let named = links.indices.filter { index in
            links[index].steps.contains { $0.field == MatchField.givenName.name && $0.level == nickname }
        }
        guard !named.isEmpty,
            let row = try connection.query("SELECT parameters::text FROM match_models ORDER BY id DESC LIMIT 1").first,
            let aliases = try MatchModel.fromJSON(try row.decode(String.self, at: 0)).learnedAliases, !aliases.isEmpty
        else { return [:] }
        let records = try MatchRecordLoader.load(
            connection, ids: Array(Set(named.flatMap { [links[$0].a, links[$0].b] })))
        let byID = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var words: [Int: String] = [:]
        for index in named {
            guard let a = byID[links[index].a], let b = byID[links[index].b] else { continue }
            words[index] = Self.learnedAliasWords(a, b, aliases: aliases)
        }
        return words
    }

    /// Compares any two records with the current model, as a resolution run would. Audited.
    public func explain(
        pair a: Int64, _ b: Int64, reason: String, settings: ResolutionSettings = ResolutionSettings()
    )
        throws -> PairExplanation
    {
        let records = try MatchRecordLoader.load(connection, ids: [a, b])
        guard records.count == 2 else { throw ReviewError(description: "both records must exist and be about a child") }
        guard
            let modelRow = try connection.query(
                "SELECT id, parameters::text, records, upper_threshold, lower_threshold FROM match_models ORDER BY id DESC LIMIT 1"
            ).first
        else { throw ReviewError(description: "no model yet: run 'familyconnect resolve --full' first") }
        try AccessAudit.record(
            connection, action: "explain_pair", subjects: ["record:\(a)", "record:\(b)"], reason: reason)
        var model = try MatchModel.fromJSON(try modelRow.decode(String.self, at: 1))
        var frequencies = NameFrequencies()
        frequencies.total = try modelRow.decode(Int.self, at: 2)
        model.prior =
            model.prior
            ?? MatchModel.prior(
                matchProportion: model.matchProportion, pairs: model.pairsUsed, records: frequencies.total)
        let prior = model.prior ?? MatchModel.fallbackPrior
        let bands = settings.bands(prior: prior)
        let modelID = try modelRow.decode(Int64.self, at: 0)
        let (ra, rb) = (records[0], records[1])
        for (kind, name) in [
            ("given", ra.given), ("family", ra.family), ("given", rb.given), ("given", ra.preferredGiven),
            ("given", rb.preferredGiven), ("preferred_given", ra.given), ("preferred_given", rb.given),
            ("preferred_given", ra.preferredGiven), ("preferred_given", rb.preferredGiven),
        ] {
            guard let name else { continue }
            if let row = try connection.query(
                "SELECT records FROM name_frequencies WHERE model_id = $1 AND name_kind = $2 AND fingerprint = $3",
                [modelID, kind, Int64(bitPattern: name.fingerprint)]
            ).first {
                let count = try row.decode(Int.self, at: 0)
                switch kind {
                case "given": frequencies.given[name.fingerprint] = count
                case "preferred_given": frequencies.preferredGiven[name.fingerprint] = count
                default: frequencies.family[name.fingerprint] = count
                }
            }
        }
        let aliases = model.learnedAliases ?? .none
        let nicknames = NicknameTable.standard.withLearned(aliases)
        var comparer = RecordComparer(nicknames: nicknames, frequencies: frequencies)
        let vector = comparer.compare(ra, rb)
        let steps = MatchField.allCases.map { field in
            (field.name, field.levels[Int(vector[field])], model.weight(field, vector[field]))
        }
        var tf: [(String, Double)] = []
        if vector[.givenName] == 0, let name = ra.given, name == rb.given {
            tf.append(
                (
                    "given name frequency",
                    frequencies.adjustment(given: true, fingerprint: name.fingerprint, averageU: model.averageExactU[0])
                ))
        }
        if vector[.familyName] == 0, let name = ra.family, name == rb.family {
            tf.append(
                (
                    "family name frequency",
                    frequencies.adjustment(
                        given: false, fingerprint: name.fingerprint, averageU: model.averageExactU[1])
                ))
        }
        let total = Linkage.weight(vector, ra, rb, model: model, frequencies: frequencies)
        var verdict = Self.words(
            PairVerdict.of(
                ra, rb, vector: vector, weight: total, bands: bands, frequencies: frequencies, nicknames: nicknames),
            settings: settings)
        // The incident rule links a pair the model alone would queue: the stored link says it did.
        if let vouched = try connection.query(
            "SELECT method, vouched_by FROM record_links WHERE record_a = $1 AND record_b = $2 AND vouched_by IS NOT NULL",
            [min(a, b), max(a, b)]
        ).first {
            let rule = Self.vouchingRule(
                method: try vouched.decode(String.self, at: 0), vouchedBy: try vouched.decode(Int64.self, at: 1))
            verdict = "\(rule) (the model alone: \(verdict))"
        }
        return PairExplanation(
            recordA: a, recordB: b, steps: steps, termFrequency: tf, total: total,
            upperThreshold: bands.link, lowerThreshold: bands.review, prior: prior,
            probability: MatchProbability.posterior(weight: total, prior: prior),
            linkProbability: settings.linkProbability,
            reviewProbability: settings.reviewProbability, verdict: verdict,
            learnedAlias: vector[.givenName] == NameLevel.nickname.rawValue
                ? Self.learnedAliasWords(ra, rb, aliases: aliases) : nil)
    }

    /// "learned alias (seen in N children joined by NHS number/UPN …)" when the records' first names
    /// are one name only through a learned alias (not the nickname table); nil otherwise.
    static func learnedAliasWords(_ a: MatchRecord, _ b: MatchRecord, aliases: LearnedAliases) -> String? {
        for x in [a.given, a.preferredGiven] {
            for y in [b.given, b.preferredGiven] {
                guard let x, let y, !NicknameTable.standard.areEquivalentIncludingFamiliarForms(x, y),
                    let alias = aliases.alias(x, y)
                else { continue }
                return "learned alias (seen in \(alias.children) children joined by NHS number/UPN: "
                    + "\(alias.byNHSNumber) by NHS number, \(alias.children - alias.byNHSNumber) by UPN alone)"
            }
        }
        return nil
    }

    /// A pair's verdict in the words `explain-pair` prints.
    static func words(_ verdict: PairVerdict, settings: ResolutionSettings) -> String {
        switch verdict {
        case .sameNHSNumber: "linked by the same valid NHS number"
        case .differentNHSNumbers: "never linked: two different valid NHS numbers"
        case .sameUPN: "linked by the same permanent UPN"
        case .differentUPNs: "never linked automatically: two different permanent UPNs"
        case .sideBySide:
            "never linked automatically: one partner reported both side by side (one term, one incident), or two schools each in one term"
        case .possibleTwins:
            "never linked automatically: possible twins (same date of birth and household, different first names)"
        case .possibleSiblings:
            "never linked automatically: possible siblings (one household, dates of birth eight months or more apart and not a slip of each other within the year, and a first name that is only a form of the other)"
        case .neverLinked(let reason):
            "no link, not queued: \(reason); only an identifier or a data officer can join these"
        case .heldBack(let reason): "review, not linked: \(reason)"
        case .linked: "linked: match probability at or above \(settings.linkProbability)"
        case .review: "review: match probability between \(settings.reviewProbability) and \(settings.linkProbability)"
        case .belowReview: "no link: match probability below \(settings.reviewProbability)"
        }
    }

    /// The rule that made a vouched link (`record_links.method`), in plain words.
    public static func vouchingRule(method: String, vouchedBy voucher: Int64) -> String {
        method == LinkMethod.vouchedByClaim.rawValue ? claimRule(vouchedBy: voucher) : incidentRule(vouchedBy: voucher)
    }

    /// The claim rule (`Linkage.vouchedForByTheReport`, `LinkMethod.vouchedByClaim`) in plain words.
    public static func claimRule(vouchedBy voucher: Int64) -> String {
        "linked by the claim rule, not by the match probability: one record, a free-school-meals claim row, was queued "
            + "between the bands and had no child of its own, and record \(voucher), named in the same claim, is (or "
            + "could be) a child who shares a home (an address or a mother) with this child; no other child was so backed"
    }

    /// The incident rule (`Linkage.vouchedForByTheReport`) in plain words, with the record that vouched.
    public static func incidentRule(vouchedBy voucher: Int64) -> String {
        "linked by the incident rule, not by the match probability: one record, named in a police incident, has only an "
            + "approximate age or was queued between the bands, and "
            + "record \(voucher), named with it in the same police incident, is (or could be) a child who shares a home "
            + "(an address or a mother) with this child; no other child was so backed"
    }
}

/// Text rendering shared by the CLI commands: a waterfall of weights, one field a line.
public enum Waterfall {
    public static func render(
        _ steps: [(field: String, level: String, weight: Double)], extra: [(name: String, weight: Double)] = []
    )
        -> [String]
    {
        var lines: [String] = []
        var running = 0.0
        for (field, level, weight) in steps.map({ ($0.field, $0.level, $0.weight) })
            + extra.map({ ($0.name, "", $0.weight) })
        {
            running += weight
            let bar = String(repeating: weight >= 0 ? "+" : "-", count: min(30, Int(abs(weight).rounded())))
            lines.append(
                "    " + field.padding(toLength: 22, withPad: " ", startingAt: 0)
                    + level.padding(toLength: 20, withPad: " ", startingAt: 0)
                    + String(format: "%+7.2f  %7.2f  ", weight, running) + bar)
        }
        return lines
    }
}
