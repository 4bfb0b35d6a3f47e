import Foundation
import Identifiers
import Postgres

/// Everything the report shows, read from PostgreSQL as ids and counts only. No query here selects
/// a name, a date of birth, an address, a postcode or an identifier of a person: the report can
/// leave the building on a USB stick.
///
/// Sections whose tables do not exist yet (a database migrated only up to an earlier stage) are nil
/// and the report says so, rather than failing.
struct ReportData: Sendable {
    var generatedAt: String
    var since: CalendarDate?
    var feeds: Feeds?
    var matching: Matching?
    var children: Children?
    var flags: Flags?

    struct Feeds: Sendable {
        struct Batch: Sendable {
            var id: Int64
            var feed: String
            var loadedOn: String
            var read: Int
            var loaded: Int
            var quarantined: Int
        }
        struct Reason: Sendable {
            var feed: String
            var field: String
            var reason: String
            var rows: Int
        }
        struct Quality: Sendable {
            var feed: String
            var batchID: Int64
            var field: String
            var rows: Int
            var present: Int
            var valid: Int
        }
        var batches: [Batch]
        /// Top reasons per feed; a last row per feed "all other reasons" when there are more.
        var reasons: [Reason]
        /// Per field, for each feed's latest `qualityBatches` batches.
        var quality: [Quality]
        /// Files refused as a whole (unreadable, wrong header), per feed.
        var refused: [String: Int]
        var feedNames: [String] {
            Array(Set(batches.map(\.feed)).union(refused.keys)).sorted()
        }
    }

    struct Matching: Sendable {
        struct Level: Sendable {
            var field: String
            var level: String
            var m: Double
            var u: Double
            var weight: Double
        }
        struct Model: Sendable {
            var id: Int64
            var createdOn: String
            var upper: Double
            var lower: Double
            var emIterations: Int
            var pairsUsed: Int
            var levels: [Level]
            /// The chance two records at random are one child, and the probability bands (models since 0018).
            var prior: Double? = nil
            var linkProbability: Double? = nil
            var reviewProbability: Double? = nil
        }
        var model: Model?
        /// Count of pairs per whole-bit weight bin: probabilistic links and review pairs.
        var linkWeights: [Int: Int]
        var reviewWeights: [Int: Int]
        /// record_links by method (nhs_number, upn, probabilistic, vouched_by_incident, vouched_by_claim, review).
        var linksByMethod: [String: Int]
        /// review_pairs by status.
        var reviewByStatus: [String: Int]
        /// Open review pairs by age band (index into `ageBands`).
        var openByAge: [Int]
        var openByReason: [(reason: String, pairs: Int)]
        var oldestOpenDays: Int?
        var latestRun: (mode: String, finishedOn: String, records: Int, pairsCompared: Int)?

        static let ageBands = ["under 7 days", "7 to 29 days", "30 to 89 days", "90 days or more"]
    }

    struct Children: Sendable {
        var children: Int
        var records: Int
        /// partners (1…4) → children with records from that many partners.
        var byPartners: [Int: Int]
        var families: Int?
        /// children per family → families (expectant parents are not children).
        var familySizes: [Int: Int]
        var familiesExpecting: Int
        var familiesOnlyExpecting: Int
    }

    struct Flags: Sendable {
        struct Month: Sendable {
            var month: String
            var raised: Int
            var exported: Int
            var acknowledged: Int
            var closed: Int
        }
        struct Team: Sendable {
            var team: String
            var name: String
            var byStatus: [String: Int]
            var total: Int { byStatus.values.reduce(0, +) }
        }
        struct Suppression: Sendable {
            var basis: String
            var rule: String
            var families: Int
        }
        var months: [Month]
        var byStatus: [String: Int]
        /// outcome number → (name, flags with evidence in that area).
        var byOutcome: [(outcome: Int, name: String, flags: Int)]
        var byTeam: [Team]
        var byRule: [(rule: String, flags: Int)]
        var suppressions: [Suppression]
        /// Families suppressed for any rule, each counted once.
        var suppressedFamilies: Int
        var flagsTotal: Int
        static let statuses = ["new", "exported", "acknowledged", "closed"]
    }
}

/// Reads `ReportData` from a database.
struct ReportReader {
    let connection: PostgresConnection
    let since: CalendarDate?
    /// The heat maps show each feed's latest this-many batches.
    static let qualityBatches = 12
    static let reasonsPerFeed = 6

    /// Dates and months are the council's (Europe/London), whatever the session's time zone.
    static let localDay = "(%@ AT TIME ZONE 'Europe/London')::date"

    var sinceParameter: String? { since?.iso8601 }

    func read() throws -> ReportData {
        let now = try connection.execute(
            "SELECT to_char(now() AT TIME ZONE 'Europe/London', 'YYYY-MM-DD HH24:MI')"
        ).scalar(String.self)
        var data = ReportData(generatedAt: now, since: since)
        if try exists("feed_batches", "feed_batch_quality", "quarantined_rows") { data.feeds = try feeds() }
        if try exists("record_links", "review_pairs", "match_models") { data.matching = try matching() }
        if try exists("child_records", "source_records") { data.children = try children() }
        if try exists("flags", "flag_evidence", "indicators") { data.flags = try flags() }
        return data
    }

    func exists(_ tables: String...) throws -> Bool {
        for table in tables {
            let found = try connection.execute("SELECT to_regclass($1) IS NOT NULL", [table]).scalar(Bool.self)
            if !found { return false }
        }
        return true
    }

    // MARK: Feeds

    func feeds() throws -> ReportData.Feeds {
        let batches = try connection.query(
            """
            SELECT id, feed, to_char(committed_at AT TIME ZONE 'Europe/London', 'YYYY-MM-DD'), rows_read, rows_loaded, rows_quarantined
            FROM feed_batches
            WHERE $1::date IS NULL OR (committed_at AT TIME ZONE 'Europe/London')::date >= $1::date
            ORDER BY feed, committed_at, id
            """, [sinceParameter]
        ).map { row in
            ReportData.Feeds.Batch(
                id: try row.decode(Int64.self, at: 0), feed: try row.decode(String.self, at: 1),
                loadedOn: try row.decode(String.self, at: 2),
                read: try row.decode(Int.self, at: 3), loaded: try row.decode(Int.self, at: 4),
                quarantined: try row.decode(Int.self, at: 5))
        }
        // Reasons that carry a number (an age) are counted together; the reason never holds the value itself.
        let reasons = try connection.query(
            """
            WITH counted AS (
                SELECT b.feed, coalesce(q.field, '(whole row)') AS field,
                       regexp_replace(q.reason, '^age [0-9]+ is outside', 'age is outside') AS reason, count(*)::int AS rows
                FROM quarantined_rows q JOIN feed_batches b ON b.id = q.batch_id
                WHERE $1::date IS NULL OR (b.committed_at AT TIME ZONE 'Europe/London')::date >= $1::date
                GROUP BY 1, 2, 3
            ), ranked AS (
                SELECT *, row_number() OVER (PARTITION BY feed ORDER BY rows DESC, field, reason) AS rank FROM counted
            )
            SELECT feed, field, reason, rows, 0 AS other FROM ranked WHERE rank <= $2
            UNION ALL
            SELECT feed, '', '', sum(rows)::int, 1 FROM ranked WHERE rank > $2 GROUP BY feed
            ORDER BY 1, 5, 4 DESC, 2, 3
            """, [sinceParameter, Self.reasonsPerFeed]
        ).map { row in
            let other = try row.decode(Int.self, at: 4) == 1
            return ReportData.Feeds.Reason(
                feed: try row.decode(String.self, at: 0),
                field: other ? "(other fields)" : try row.decode(String.self, at: 1),
                reason: other ? "all other reasons" : try row.decode(String.self, at: 2),
                rows: try row.decode(Int.self, at: 3))
        }
        let quality = try connection.query(
            """
            WITH latest AS (
                SELECT id FROM (
                    SELECT id, row_number() OVER (PARTITION BY feed ORDER BY committed_at DESC, id DESC) AS n
                    FROM feed_batches
                    WHERE $1::date IS NULL OR (committed_at AT TIME ZONE 'Europe/London')::date >= $1::date
                ) x WHERE n <= $2
            )
            SELECT b.feed, b.id, q.field, q.rows, q.present, q.valid
            FROM feed_batch_quality q JOIN feed_batches b ON b.id = q.batch_id
            WHERE b.id IN (SELECT id FROM latest)
            ORDER BY b.feed, q.field, b.committed_at, b.id
            """, [sinceParameter, Self.qualityBatches]
        ).map { row in
            ReportData.Feeds.Quality(
                feed: try row.decode(String.self, at: 0), batchID: try row.decode(Int64.self, at: 1),
                field: try row.decode(String.self, at: 2),
                rows: try row.decode(Int.self, at: 3), present: try row.decode(Int.self, at: 4),
                valid: try row.decode(Int.self, at: 5))
        }
        var refused: [String: Int] = [:]
        if try exists("feed_batch_failures") {
            for row in try connection.query(
                """
                SELECT feed, count(*)::int FROM feed_batch_failures
                WHERE $1::date IS NULL OR (failed_at AT TIME ZONE 'Europe/London')::date >= $1::date
                GROUP BY feed
                """, [sinceParameter])
            {
                refused[try row.decode(String.self, at: 0)] = try row.decode(Int.self, at: 1)
            }
        }
        return ReportData.Feeds(batches: batches, reasons: reasons, quality: quality, refused: refused)
    }

    // MARK: Matching

    func matching() throws -> ReportData.Matching {
        var model: ReportData.Matching.Model?
        if let row = try connection.query(
            """
            SELECT id, to_char(created_at AT TIME ZONE 'Europe/London', 'YYYY-MM-DD'), upper_threshold, lower_threshold,
                   coalesce(parameters->'fields', '{}'::jsonb)::text, em_iterations, pairs_used,
                   prior, link_probability, review_probability
            FROM match_models ORDER BY id DESC LIMIT 1
            """
        ).first {
            let fields =
                (try? JSONDecoder().decode(
                    [String: [String: [String: Double]]].self, from: Data(try row.decode(String.self, at: 4).utf8)))
                ?? [:]
            var levels: [ReportData.Matching.Level] = []
            for field in Self.fieldOrder(fields.keys) {
                // Strongest agreement first: the order a data officer reads them in.
                let byWeight = (fields[field] ?? [:]).sorted {
                    ($0.value["weight"] ?? 0, $1.key) > ($1.value["weight"] ?? 0, $0.key)
                }
                for (level, numbers) in byWeight {
                    levels.append(
                        ReportData.Matching.Level(
                            field: field, level: level, m: numbers["m"] ?? 0, u: numbers["u"] ?? 0,
                            weight: numbers["weight"] ?? 0))
                }
            }
            model = ReportData.Matching.Model(
                id: try row.decode(Int64.self, at: 0), createdOn: try row.decode(String.self, at: 1),
                upper: try row.decode(Double.self, at: 2),
                lower: try row.decode(Double.self, at: 3), emIterations: try row.decode(Int.self, at: 5),
                pairsUsed: try row.decode(Int.self, at: 6),
                levels: levels, prior: try row.decode(Double?.self, at: 7),
                linkProbability: try row.decode(Double?.self, at: 8),
                reviewProbability: try row.decode(Double?.self, at: 9))
        }
        var linkWeights: [Int: Int] = [:]
        var reviewWeights: [Int: Int] = [:]
        for row in try connection.query(
            """
            SELECT 'link', floor(weight)::int, count(*)::int FROM record_links
            WHERE method = 'probabilistic' AND abs(weight) < 1e6 GROUP BY 2
            UNION ALL
            SELECT 'review', floor(weight)::int, count(*)::int FROM review_pairs
            WHERE status <> 'superseded' AND abs(weight) < 1e6 GROUP BY 2
            """)
        {
            let bin = try row.decode(Int.self, at: 1)
            let count = try row.decode(Int.self, at: 2)
            if try row.decode(String.self, at: 0) == "link" {
                linkWeights[bin] = count
            } else {
                reviewWeights[bin] = count
            }
        }
        var linksByMethod: [String: Int] = [:]
        for row in try connection.query("SELECT method, count(*)::int FROM record_links GROUP BY method") {
            linksByMethod[try row.decode(String.self, at: 0)] = try row.decode(Int.self, at: 1)
        }
        var reviewByStatus: [String: Int] = [:]
        for row in try connection.query("SELECT status, count(*)::int FROM review_pairs GROUP BY status") {
            reviewByStatus[try row.decode(String.self, at: 0)] = try row.decode(Int.self, at: 1)
        }
        var openByAge = [Int](repeating: 0, count: ReportData.Matching.ageBands.count)
        for row in try connection.query(
            """
            SELECT CASE WHEN age < 7 THEN 0 WHEN age < 30 THEN 1 WHEN age < 90 THEN 2 ELSE 3 END, count(*)::int
            FROM (SELECT extract(epoch FROM now() - created_at) / 86400 AS age FROM review_pairs WHERE status = 'open') a
            GROUP BY 1
            """)
        {
            openByAge[try row.decode(Int.self, at: 0)] = try row.decode(Int.self, at: 1)
        }
        let openByReason = try connection.query(
            "SELECT reason, count(*)::int FROM review_pairs WHERE status = 'open' GROUP BY reason ORDER BY 2 DESC, 1"
        ).map { (reason: try $0.decode(String.self, at: 0), pairs: try $0.decode(Int.self, at: 1)) }
        let oldest = try connection.execute(
            "SELECT floor(extract(epoch FROM now() - min(created_at)) / 86400)::int FROM review_pairs WHERE status = 'open'"
        ).scalar(Int?.self)
        var latestRun: (String, String, Int, Int)?
        if try exists("resolution_runs"),
            let row = try connection.query(
                """
                SELECT mode, to_char(finished_at AT TIME ZONE 'Europe/London', 'YYYY-MM-DD'), records, pairs_compared::bigint
                FROM resolution_runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1
                """
            ).first
        {
            latestRun = (
                try row.decode(String.self, at: 0), try row.decode(String.self, at: 1), try row.decode(Int.self, at: 2),
                try row.decode(Int.self, at: 3)
            )
        }
        return ReportData.Matching(
            model: model, linkWeights: linkWeights, reviewWeights: reviewWeights, linksByMethod: linksByMethod,
            reviewByStatus: reviewByStatus, openByAge: openByAge, openByReason: openByReason, oldestOpenDays: oldest,
            latestRun: latestRun.map { (mode: $0.0, finishedOn: $0.1, records: $0.2, pairsCompared: $0.3) })
    }

    /// The model's fields in the order the resolver compares them; unknown ones after, by name.
    static func fieldOrder(_ names: Dictionary<String, [String: [String: Double]]>.Keys) -> [String] {
        let known = ["given_name", "family_name", "date_of_birth", "sex", "location", "carer"]
        return known.filter { names.contains($0) } + names.filter { !known.contains($0) }.sorted()
    }

    // MARK: Children and families

    func children() throws -> ReportData.Children {
        let totals = try connection.query("SELECT count(DISTINCT child_id)::int, count(*)::int FROM child_records")
            .first
        var byPartners: [Int: Int] = [:]
        for row in try connection.query(
            """
            SELECT partners, count(*)::int FROM (
                SELECT cr.child_id, count(DISTINCT sr.kind)::int AS partners
                FROM child_records cr JOIN source_records sr ON sr.id = cr.record_id GROUP BY cr.child_id
            ) c GROUP BY partners
            """)
        {
            byPartners[try row.decode(Int.self, at: 0)] = try row.decode(Int.self, at: 1)
        }
        var result = ReportData.Children(
            children: try totals?.decode(Int.self, at: 0) ?? 0, records: try totals?.decode(Int.self, at: 1) ?? 0,
            byPartners: byPartners,
            families: nil, familySizes: [:], familiesExpecting: 0, familiesOnlyExpecting: 0)
        guard try exists("families", "family_members") else { return result }
        let live = "f.merged_into IS NULL AND f.retired_at IS NULL"
        var sizes: [Int: Int] = [:]
        var families = 0
        var expecting = 0
        var onlyExpecting = 0
        for row in try connection.query(
            """
            SELECT count(m.child_id)::int AS children, count(m.expectant_record_id)::int AS expectant
            FROM families f JOIN family_members m ON m.family_id = f.family_id
            WHERE \(live) GROUP BY f.family_id
            """)
        {
            let children = try row.decode(Int.self, at: 0)
            let expectant = try row.decode(Int.self, at: 1)
            families += 1
            if expectant > 0 { expecting += 1 }
            if children == 0 { onlyExpecting += 1 } else { sizes[children, default: 0] += 1 }
        }
        result.families = families
        result.familySizes = sizes
        result.familiesExpecting = expecting
        result.familiesOnlyExpecting = onlyExpecting
        return result
    }

    // MARK: Flags

    func flags() throws -> ReportData.Flags {
        // Each lifecycle step in the month it happened (the flag's own timestamps).
        let months = try connection.query(
            """
            WITH steps AS (
                SELECT 'raised' AS step, raised_at AS at FROM flags
                UNION ALL SELECT 'exported', exported_at FROM flags WHERE exported_at IS NOT NULL
                UNION ALL SELECT 'acknowledged', acknowledged_at FROM flags WHERE acknowledged_at IS NOT NULL
                UNION ALL SELECT 'closed', closed_at FROM flags WHERE closed_at IS NOT NULL
            )
            SELECT to_char(at AT TIME ZONE 'Europe/London', 'YYYY-MM') AS month,
                   count(*) FILTER (WHERE step = 'raised')::int, count(*) FILTER (WHERE step = 'exported')::int,
                   count(*) FILTER (WHERE step = 'acknowledged')::int, count(*) FILTER (WHERE step = 'closed')::int
            FROM steps
            WHERE $1::date IS NULL OR (at AT TIME ZONE 'Europe/London')::date >= $1::date
            GROUP BY 1 ORDER BY 1
            """, [sinceParameter]
        ).map { row in
            ReportData.Flags.Month(
                month: try row.decode(String.self, at: 0), raised: try row.decode(Int.self, at: 1),
                exported: try row.decode(Int.self, at: 2),
                acknowledged: try row.decode(Int.self, at: 3), closed: try row.decode(Int.self, at: 4))
        }
        // The flags counted by status, outcome, team and rule: those raised in the period.
        let inPeriod = "($1::date IS NULL OR (f.raised_at AT TIME ZONE 'Europe/London')::date >= $1::date)"
        var byStatus: [String: Int] = [:]
        for row in try connection.query(
            "SELECT f.status, count(*)::int FROM flags f WHERE \(inPeriod) GROUP BY 1", [sinceParameter])
        {
            byStatus[try row.decode(String.self, at: 0)] = try row.decode(Int.self, at: 1)
        }
        let byOutcome = try connection.query(
            """
            SELECT o.outcome::int, o.name, count(DISTINCT e.flag_id) FILTER (WHERE e.flag_id IS NOT NULL)::int
            FROM supporting_families_outcomes o
            LEFT JOIN (
                SELECT e.flag_id, i.outcome FROM flag_evidence e JOIN indicators i ON i.id = e.indicator_id
                JOIN flags f ON f.flag_id = e.flag_id WHERE \(inPeriod)
            ) e ON e.outcome = o.outcome
            GROUP BY 1, 2 ORDER BY 1
            """, [sinceParameter]
        ).map {
            (
                outcome: try $0.decode(Int.self, at: 0), name: try $0.decode(String.self, at: 1),
                flags: try $0.decode(Int.self, at: 2)
            )
        }

        var teams: [String: ReportData.Flags.Team] = [:]
        let hasTeams = try exists("family_teams", "outreach_teams")
        let teamSQL =
            hasTeams
            ? """
            SELECT coalesce(t.team, ''), coalesce(o.name, t.team, ''), f.status, count(*)::int
            FROM flags f LEFT JOIN family_teams t ON t.family_id = f.family_id LEFT JOIN outreach_teams o ON o.team = t.team
            WHERE \(inPeriod) GROUP BY 1, 2, 3
            """
            : "SELECT '', '', f.status, count(*)::int FROM flags f WHERE \(inPeriod) GROUP BY 1, 2, 3"
        for row in try connection.query(teamSQL, [sinceParameter]) {
            let key = try row.decode(String.self, at: 0)
            let name = try row.decode(String.self, at: 1)
            var team =
                teams[key]
                ?? ReportData.Flags.Team(
                    team: key.isEmpty ? "(no team)" : key, name: name.isEmpty ? "No team" : name, byStatus: [:])
            team.byStatus[try row.decode(String.self, at: 2)] = try row.decode(Int.self, at: 3)
            teams[key] = team
        }
        let byTeam = teams.values.sorted { ($0.total, $1.team) > ($1.total, $0.team) }
        let byRule = try connection.query(
            "SELECT f.rule_name, count(*)::int FROM flags f WHERE \(inPeriod) GROUP BY 1 ORDER BY 2 DESC, 1",
            [sinceParameter]
        ).map { (rule: try $0.decode(String.self, at: 0), flags: try $0.decode(Int.self, at: 1)) }
        var suppressions: [ReportData.Flags.Suppression] = []
        var suppressedFamilies = 0
        if try exists("flag_suppressions") {
            suppressedFamilies = try connection.execute(
                """
                SELECT count(DISTINCT family_id)::int FROM flag_suppressions
                WHERE $1::date IS NULL OR (last_seen_at AT TIME ZONE 'Europe/London')::date >= $1::date
                """, [sinceParameter]
            ).scalar(Int.self)
            suppressions = try connection.query(
                """
                SELECT basis, rule_name, count(DISTINCT family_id)::int FROM flag_suppressions
                WHERE $1::date IS NULL OR (last_seen_at AT TIME ZONE 'Europe/London')::date >= $1::date
                GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2
                """, [sinceParameter]
            ).map {
                ReportData.Flags.Suppression(
                    basis: try $0.decode(String.self, at: 0), rule: try $0.decode(String.self, at: 1),
                    families: try $0.decode(Int.self, at: 2))
            }
        }
        return ReportData.Flags(
            months: months, byStatus: byStatus, byOutcome: byOutcome, byTeam: byTeam, byRule: byRule,
            suppressions: suppressions,
            suppressedFamilies: suppressedFamilies, flagsTotal: byStatus.values.reduce(0, +))
    }
}
