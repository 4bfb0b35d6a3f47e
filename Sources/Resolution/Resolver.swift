import Foundation
import Postgres

/// What one resolution run did.
public struct ResolutionReport: Sendable {
    public var runID: Int64 = 0
    public var mode = "full"
    public var records = 0
    public var pairsCompared = 0
    public var linksDeterministic = 0
    public var linksProbabilistic = 0
    public var linksReview = 0
    public var reviewPairs = 0
    public var children = 0
    public var minted = 0
    public var merged = 0
    public var split = 0
    public var recordsMoved = 0
    public var twinsKeptApart = 0
    public var oversizedBlocks = 0
    public var seconds = 0.0
    /// Where the time went (full runs), for the benchmark and the operator.
    public var phases: [(name: String, seconds: Double)] = []
}

/// Resolves child records to stable child ids in PostgreSQL.
///
/// - `resolveFull()` recomputes everything from the records (and re-estimates the model);
/// - `resolveIncremental()` links records no child holds yet against the children they could
///   belong to, using the stored model, and re-clusters only those children;
/// - `reresolve(recordIDs:)` re-clusters the children holding the given records (after a review decision).
///
/// All three run in one transaction under an advisory lock, so two resolvers never interleave
/// and a failed run leaves the previous assignment intact.
public final class Resolver {
    let connection: PostgresConnection
    public var settings: ResolutionSettings
    let linkage: Linkage
    static let lockKey: Int64 = 0x6663_7265_736F_6C76  // "fcresolv"

    public init(connection: PostgresConnection, settings: ResolutionSettings = ResolutionSettings()) {
        self.connection = connection
        self.settings = settings
        self.linkage = Linkage(settings: settings, nicknames: .standard)
    }

    /// Recomputes every child from the records. The stored model is reused unless `reestimate`
    /// is set (or none exists yet): a new model changes weights everywhere, so it is a deliberate,
    /// recorded act rather than a side effect of a routine run.
    public func resolveFull(reestimate: Bool = false) throws -> ResolutionReport {
        try connection.transaction { _ in
            let startedAt = try lockResolution()
            return try resolveFullLocked(started: Date(), startedAt: startedAt, reestimate: reestimate)
        }
    }

    public func resolveIncremental() throws -> ResolutionReport {
        try connection.transaction { connection in
            let startedAt = try lockResolution()
            let started = Date()
            let trace = ProcessInfo.processInfo.environment["FC_TRACE"] != nil
            var mark = Date()
            func step(_ name: String, _ count: Int) {
                if trace {
                    FileHandle.standardError.write(
                        Data(
                            "  incremental: \(name) \(count) in \(String(format: "%.2f", Date().timeIntervalSince(mark))) s\n"
                                .utf8))
                }
                mark = Date()
            }
            // The batches first, then their records: a batch that commits in between waits for the next run.
            let batches = try Self.pendingBatches(connection)
            let fresh = try MatchRecordLoader.loadUnassigned(connection, batches: batches)
            step("new records", fresh.count)
            if fresh.isEmpty {
                try markExamined(batches, run: nil)
                var report = ResolutionReport()
                report.mode = "incremental"
                return report
            }
            guard let (modelID, model, frequencies) = try latestModel() else {
                // No model yet: the first run is a full one.
                return try resolveFullLocked(started: started, startedAt: startedAt, batches: batches)
            }
            // Two steps, so a batch loads whole children only where it could join them: candidates
            // sharing a blocking key or identifier are scored first; the children of plausible ones are loaded.
            let (holders, freshKeys, byIdentifier) = try candidateRecordIDs(for: fresh)
            let blocked = Set(holders.values.joined()).subtracting(byIdentifier).sorted()
            step("candidates by key", blocked.count)
            let probe = try MatchRecordLoader.load(connection, ids: blocked)
            step("candidates loaded", probe.count)
            // Pairs straight from the shared keys: no need to re-block the candidates among themselves.
            var probeIndex: [Int64: Int] = [:]
            for (index, record) in probe.enumerated() { probeIndex[record.id] = index }
            var pairSet: Set<UInt64> = []
            for (offset, keys) in freshKeys.enumerated() {
                for key in keys {
                    guard let ids = holders[key], ids.count <= settings.maxBlockSize else { continue }
                    for id in ids {
                        if let old = probeIndex[id] { pairSet.insert(UInt64(old) << 32 | UInt64(probe.count + offset)) }
                    }
                }
            }
            let plausible = linkage.plausibleMatches(
                records: probe + fresh, pairs: pairSet.sorted(), model: model, frequencies: frequencies)
            let hits = Set(plausible.map { probe[$0].id }).union(byIdentifier)
            step("plausible", hits.count)
            let affected = try recordsOfChildren(holding: hits.sorted())
            let existing = try MatchRecordLoader.load(connection, ids: affected)
            step("children loaded", existing.count)
            let records = existing + fresh
            let decisions = try loadDecisions(records)
            // Existing children are the starting point: group their records by current child id.
            var childOf: [Int64: String] = [:]
            try connection.forEachRow(
                "SELECT record_id, child_id FROM child_records WHERE record_id = ANY($1::bigint[])",
                [affected.map { Int($0) }]
            ) { row in childOf[try row.decode(Int64.self, at: 0)] = try row.decode(String.self, at: 1) }
            var groups: [String: [Int]] = [:]
            for (index, record) in existing.enumerated() {
                if let child = childOf[record.id] { groups[child, default: []].append(index) }
            }
            let result = linkage.run(
                records: records, model: (model, frequencies), decisions: decisions, firstNew: existing.count,
                seeds: groups.keys.sorted().map { groups[$0]! })
            var report = try persist(
                result, records: records, mode: "incremental", modelID: modelID,
                scope: .newRecords(from: existing.count),
                startedAt: startedAt)
            report.seconds = Date().timeIntervalSince(started)
            try finishRun(report)
            try markExamined(batches, run: report.runID)
            return report
        }
    }

    /// Re-clusters the children holding these records, e.g. after a review decision.
    public func reresolve(recordIDs: [Int64]) throws -> ResolutionReport {
        try connection.transaction { _ in
            let startedAt = try lockResolution()
            let started = Date()
            guard let (modelID, model, frequencies) = try latestModel() else {
                return try resolveFullLocked(started: started, startedAt: startedAt)
            }
            let affected = try recordsOfChildren(holding: recordIDs)
            let records = try MatchRecordLoader.load(connection, ids: Array(Set(affected + recordIDs)).sorted())
            let decisions = try loadDecisions(records)
            let result = linkage.run(records: records, model: (model, frequencies), decisions: decisions)
            var report = try persist(
                result, records: records, mode: "incremental", modelID: modelID, scope: .theseRecords,
                startedAt: startedAt)
            report.seconds = Date().timeIntervalSince(started)
            try finishRun(report)
            return report
        }
    }

    /// Applies review decisions that no run has applied yet (a data officer's role records a
    /// decision but may not write the match results: the service applies it here). Returns nil when
    /// none is pending.
    public func applyPendingDecisions() throws -> ResolutionReport? {
        let pending = try connection.query(
            "SELECT record_a, record_b FROM review_decisions WHERE applied_at IS NULL ORDER BY decided_at")
        guard !pending.isEmpty else { return nil }
        var records: Set<Int64> = []
        for row in pending {
            records.insert(try row.decode(Int64.self, at: 0))
            records.insert(try row.decode(Int64.self, at: 1))
        }
        let report = try reresolve(recordIDs: records.sorted())
        try Self.markApplied(connection, recordIDs: records.sorted())
        return report
    }

    /// Marks decisions about these records applied (after a run that re-clustered them).
    static func markApplied(_ connection: PostgresConnection, recordIDs: [Int64]) throws {
        try connection.execute(
            """
            UPDATE review_decisions SET applied_at = now()
            WHERE applied_at IS NULL AND record_a = ANY($1::bigint[]) AND record_b = ANY($1::bigint[])
            """, [recordIDs.map { Int($0) }])
    }

    /// Takes the resolution lock (waiting while another run holds it) and returns the server's clock
    /// at that moment, the run's `started_at`: not `now()`, which is when the transaction began,
    /// before any wait, nor this machine's clock, which `finished_at` would not share.
    private func lockResolution() throws -> Date {
        try connection.advisoryTransactionLock(Self.lockKey)
        return try connection.execute("SELECT clock_timestamp()").scalar(Date.self)
    }

    /// The full run, inside a transaction that already holds the resolution lock. Incremental and
    /// review runs fall back to it when no model exists yet. `started` times the phases;
    /// `startedAt` (the server's clock) is recorded.
    private func resolveFullLocked(
        started: Date, startedAt: Date, reestimate: Bool = false, batches: [Int64]? = nil
    ) throws
        -> ResolutionReport
    {
        let batches = try batches ?? Self.pendingBatches(connection)
        let records = try MatchRecordLoader.loadAll(connection)
        let loaded = Date()
        let decisions = try loadDecisions(records)
        let stored = reestimate ? nil : try latestModel()
        let result = linkage.run(records: records, model: stored.map { ($0.1, $0.2) }, decisions: decisions)
        let linked = Date()
        let modelID = try stored?.0 ?? storeModel(result)
        var report = try persist(
            result, records: records, mode: "full", modelID: modelID, scope: .everything, startedAt: startedAt)
        report.seconds = Date().timeIntervalSince(started)
        report.phases = [
            ("load records", loaded.timeIntervalSince(started)),
            ("block, compare, model, cluster", linked.timeIntervalSince(loaded)),
            ("store", Date().timeIntervalSince(linked)),
        ]
        try finishRun(report)
        try markExamined(batches, run: report.runID)
        return report
    }

    /// Batches no run has examined yet, in id order. Read before any record, so that a batch
    /// committing during the run is left for the next one rather than marked unseen.
    static func pendingBatches(_ connection: PostgresConnection) throws -> [Int64] {
        try connection.query(
            """
            SELECT b.id FROM feed_batches b
            WHERE NOT EXISTS (SELECT 1 FROM resolution_batches r WHERE r.batch_id = b.id) ORDER BY b.id
            """
        ).map { try $0.decode(Int64.self, at: 0) }
    }

    /// Whether a batch is waiting for resolution (a quick check for the service before it starts a run).
    public static func hasPendingBatches(_ connection: PostgresConnection) throws -> Bool {
        try !pendingBatches(connection).isEmpty
    }

    private func markExamined(_ batches: [Int64], run: Int64?) throws {
        guard !batches.isEmpty else { return }
        try connection.execute(
            """
            INSERT INTO resolution_batches (batch_id, run_id) SELECT unnest($1::bigint[]), $2
            ON CONFLICT (batch_id) DO NOTHING
            """, [batches.map { Int($0) }, run.map { Int($0) }])
    }

    // MARK: Reading

    private func loadDecisions(_ records: [MatchRecord]) throws -> [(a: Int, b: Int, sameChild: Bool)] {
        var index: [Int64: Int] = [:]
        for (position, record) in records.enumerated() { index[record.id] = position }
        var decisions: [(a: Int, b: Int, sameChild: Bool)] = []
        for row in try connection.query("SELECT record_a, record_b, decision FROM review_decisions") {
            guard let a = index[try row.decode(Int64.self, at: 0)], let b = index[try row.decode(Int64.self, at: 1)]
            else {
                continue
            }
            decisions.append((a, b, try row.decode(String.self, at: 2) == "same_child"))
        }
        return decisions
    }

    private func latestModel() throws -> (Int64, MatchModel, NameFrequencies)? {
        guard
            let row = try connection.query(
                "SELECT id, parameters::text, records FROM match_models ORDER BY id DESC LIMIT 1"
            ).first
        else { return nil }
        let id = try row.decode(Int64.self, at: 0)
        var model = try MatchModel.fromJSON(try row.decode(String.self, at: 1))
        var frequencies = NameFrequencies()
        frequencies.total = try row.decode(Int.self, at: 2)
        // A model stored before priors were: its prior follows from what it stored.
        model.prior = model.prior ?? MatchModel.prior(
            matchProportion: model.matchProportion, pairs: model.pairsUsed, records: frequencies.total)
        try connection.forEachRow(
            "SELECT name_kind, fingerprint, records FROM name_frequencies WHERE model_id = $1", [id]
        ) { row in
            let fingerprint = UInt64(bitPattern: try row.decode(Int64.self, at: 1))
            let count = try row.decode(Int.self, at: 2)
            if try row.decode(String.self, at: 0) == "given" {
                frequencies.given[fingerprint] = count
            } else {
                frequencies.family[fingerprint] = count
            }
        }
        return (id, model, frequencies)
    }

    /// Records a new batch could link to: those sharing a blocking key, and those sharing an identifier.
    /// `holders`: for each blocking key of the new records, the existing records holding it;
    /// `freshKeys`: each new record's keys; `byIdentifier`: existing records sharing an NHS number or UPN.
    private func candidateRecordIDs(
        for fresh: [MatchRecord]
    ) throws -> (
        holders: [Int64: [Int64]], freshKeys: [[Int64]], byIdentifier: Set<Int64>
    ) {
        var keys: Set<Int64> = []
        var freshKeys: [[Int64]] = []
        for record in fresh {
            let recordKeys = CandidatePairs.keys(
                of: record, rules: settings.blockingRules, nicknames: linkage.nicknames
            )
            .map { Int64(bitPattern: $0) }
            freshKeys.append(recordKeys)
            keys.formUnion(recordKeys)
        }
        let nhs = fresh.compactMap { $0.nhs == 0 ? nil : String(format: "%010llu", $0.nhs) }
        var holders: [Int64: [Int64]] = [:]
        // Hundreds of thousands of small rows: read in place rather than streamed row by row.
        try connection.withRawResult(
            "SELECT key, record_id FROM record_blocking_keys WHERE key = ANY($1::bigint[])", [keys.map { Int($0) }]
        ) { result in
            for row in 0..<result.rowCount {
                guard let key = result.int64(row, 0), let record = result.int64(row, 1) else { continue }
                holders[key, default: []].append(record)
            }
        }
        var byIdentifier: Set<Int64> = []
        let upns = try connection.query(
            "SELECT DISTINCT upn FROM source_records WHERE id = ANY($1::bigint[]) AND upn IS NOT NULL AND NOT upn_temporary",
            [fresh.map { Int($0.id) }]
        ).map { try $0.decode(String.self, at: 0) }
        try connection.forEachRow(
            """
            SELECT sr.id FROM source_records sr JOIN child_records cr ON cr.record_id = sr.id
            WHERE sr.nhs_number = ANY($1::text[]) OR (sr.upn = ANY($2::text[]) AND NOT sr.upn_temporary)
            """, [nhs, upns]
        ) { row in byIdentifier.insert(try row.decode(Int64.self, at: 0)) }
        return (holders, freshKeys, byIdentifier)
    }

    /// Every record of every child that holds one of `recordIDs`.
    private func recordsOfChildren(holding recordIDs: [Int64]) throws -> [Int64] {
        guard !recordIDs.isEmpty else { return [] }
        return try connection.query(
            """
            SELECT cr.record_id FROM child_records cr
            WHERE cr.child_id IN (SELECT child_id FROM child_records WHERE record_id = ANY($1::bigint[]))
            ORDER BY cr.record_id
            """, [recordIDs.map { Int($0) }]
        ).map { try $0.decode(Int64.self, at: 0) }
    }

    // MARK: Writing

    private func storeModel(_ result: LinkageResult) throws -> Int64 {
        let prior = result.model.prior ?? MatchModel.fallbackPrior
        let bands = settings.bands(prior: prior)
        let id = try connection.execute(
            """
            INSERT INTO match_models (upper_threshold, lower_threshold, parameters, em_iterations, pairs_used, records,
                prior, link_probability, review_probability)
            VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9) RETURNING id
            """,
            [
                bands.link, bands.review, result.model.json, result.model.emIterations,
                result.model.pairsUsed, result.frequencies.total, prior, settings.linkProbability,
                settings.reviewProbability,
            ]
        ).scalar(Int64.self)
        try connection.copyIn("COPY name_frequencies (model_id, name_kind, fingerprint, records) FROM STDIN") {
            writer in
            let model = String(id)
            for (kind, table) in [("given", result.frequencies.given), ("family", result.frequencies.family)] {
                for (fingerprint, count) in table {
                    try writer.writeRow([model, kind, String(Int64(bitPattern: fingerprint)), String(count)])
                }
            }
        }
        return id
    }

    /// Which stored links, review pairs and blocking keys a run replaces.
    enum PersistScope {
        /// A full run: everything.
        case everything
        /// A re-clustering of some children: everything about these records.
        case theseRecords
        /// An incremental run: existing records keep their links; only the new ones (from this index) are written.
        case newRecords(from: Int)
    }

    private func persist(
        _ result: LinkageResult, records: [MatchRecord], mode: String, modelID: Int64, scope: PersistScope,
        startedAt: Date
    ) throws -> ResolutionReport {
        let replaceAllLinks: Bool
        var touched = records.map(\.id)
        switch scope {
        case .everything: replaceAllLinks = true
        case .theseRecords: replaceAllLinks = false
        case .newRecords(let first):
            replaceAllLinks = false
            touched = records[first...].map(\.id)
        }
        var report = ResolutionReport()
        var mark = Date()
        let trace = ProcessInfo.processInfo.environment["FC_TRACE"] != nil
        func step(_ name: String) {
            if trace {
                FileHandle.standardError.write(
                    Data("  store: \(name) \(String(format: "%.2f", Date().timeIntervalSince(mark))) s\n".utf8))
            }
            mark = Date()
        }
        report.mode = mode
        report.records = records.count
        report.pairsCompared = result.pairsCompared
        report.twinsKeptApart = result.refusedTwins
        report.oversizedBlocks = result.oversizedBlocks
        let runID = try connection.execute(
            "INSERT INTO resolution_runs (mode, started_at, model_id) VALUES ($1, $2, $3) RETURNING id",
            [mode, startedAt, modelID]
        ).scalar(Int64.self)
        report.runID = runID

        // Clusters and their stable ids.
        var clusterOfRoot: [Int: Int] = [:]
        var clusters: [[Int64]] = []
        for (index, root) in result.roots.enumerated() {
            if let cluster = clusterOfRoot[root] {
                clusters[cluster].append(records[index].id)
            } else {
                clusterOfRoot[root] = clusters.count
                clusters.append([records[index].id])
            }
        }
        var previous: [Int64: String] = [:]
        if replaceAllLinks {
            try connection.forEachRow("SELECT record_id, child_id FROM child_records") { row in
                previous[try row.decode(Int64.self, at: 0)] = try row.decode(String.self, at: 1)
            }
        } else {
            try connection.forEachRow(
                "SELECT record_id, child_id FROM child_records WHERE record_id = ANY($1::bigint[])",
                [records.map { Int($0.id) }]
            ) { row in previous[try row.decode(Int64.self, at: 0)] = try row.decode(String.self, at: 1) }
        }
        var generator = SystemRandomNumberGenerator()
        // Ids are never reused, merged or not: a fresh id must not collide with any ever issued.
        var issued: Set<String> = []
        try connection.forEachRow("SELECT child_id FROM children") { row in
            issued.insert(try row.decode(String.self, at: 0))
        }
        let outcome = IdentityReconciler.reconcile(
            clusters: clusters, previous: previous, generator: &generator, isTaken: { issued.contains($0) })
        step("reconcile")
        report.children = clusters.count
        report.minted = outcome.minted.count
        report.merged = outcome.merges.count
        report.split = outcome.splits.count

        let run = String(runID)
        if !outcome.minted.isEmpty {
            try connection.copyIn("COPY children (child_id, minted_by_run) FROM STDIN") { writer in
                for id in outcome.minted { try writer.writeRow([id, run]) }
            }
        }
        try connection.copyIn("COPY child_id_events (child_id, event, other_child_id, run_id) FROM STDIN") { writer in
            for id in outcome.minted { try writer.writeRow([id, "minted", nil, run]) }
            for merge in outcome.merges {
                try writer.writeRow([merge.from, "merged_into", merge.into, run])
                try writer.writeRow([merge.into, "absorbed", merge.from, run])
            }
            for split in outcome.splits {
                try writer.writeRow([split.new, "split_from", split.from, run])
                try writer.writeRow([split.from, "split_off", split.new, run])
            }
        }
        for merge in outcome.merges {
            try connection.execute(
                "UPDATE children SET merged_into = $2 WHERE child_id = $1", [merge.from, merge.into])
            // An id that was merged earlier into the one now merged follows it, so aliases stay one hop deep.
            try connection.execute(
                "UPDATE children SET merged_into = $2 WHERE merged_into = $1", [merge.from, merge.into])
        }
        step("ids and events")
        // Only changed assignments are written: an unchanged re-run touches nothing.
        try connection.execute("CREATE TEMP TABLE assign (record_id bigint, child_id text) ON COMMIT DROP")
        var moved = 0
        try connection.copyIn("COPY assign (record_id, child_id) FROM STDIN") { writer in
            for (cluster, ids) in clusters.enumerated() {
                let child = outcome.clusterIDs[cluster]
                for record in ids where previous[record] != child {
                    try writer.writeRow([String(record), child])
                    moved += 1
                }
            }
        }
        report.recordsMoved = moved
        try connection.execute(
            """
            INSERT INTO child_records (record_id, child_id, assigned_by_run)
            SELECT record_id, child_id, $1 FROM assign
            ON CONFLICT (record_id) DO UPDATE SET child_id = EXCLUDED.child_id, assigned_by_run = EXCLUDED.assigned_by_run
            """, [runID])
        try connection.execute("DROP TABLE assign")

        step("assignments")
        // Links that hold each child together, with the evidence.
        let ids = records.map(\.id)
        if replaceAllLinks {
            try connection.execute("TRUNCATE record_links")
        } else {
            try connection.execute(
                "DELETE FROM record_links WHERE record_a = ANY($1::bigint[]) OR record_b = ANY($1::bigint[])",
                [touched.map { Int($0) }])
        }
        try connection.copyIn(
            "COPY record_links (record_a, record_b, method, weight, comparison, run_id) FROM STDIN"
        ) { writer in
            for link in result.applied {
                let (a, b) = (min(ids[link.a], ids[link.b]), max(ids[link.a], ids[link.b]))
                try writer.writeRow([
                    String(a), String(b), link.method.rawValue, String(link.weight),
                    link.vector.map { Self.comparisonJSON($0, model: result.model, total: link.weight) } ?? "{}", run,
                ])
                switch link.method {
                case .nhsNumber, .upn: report.linksDeterministic += 1
                case .probabilistic: report.linksProbabilistic += 1
                case .review: report.linksReview += 1
                }
            }
        }

        step("links")
        // The review queue: open pairs that this run no longer proposes are superseded.
        let scope = replaceAllLinks ? "" : " AND (record_a = ANY($1::bigint[]) OR record_b = ANY($1::bigint[]))"
        try connection.execute(
            "UPDATE review_pairs SET status = 'superseded' WHERE status = 'open'" + scope,
            replaceAllLinks ? [] : [touched.map { Int($0) }])
        try connection.execute(
            """
            CREATE TEMP TABLE proposed (record_a bigint, record_b bigint, weight float8, match_probability float8,
                reason text, comparison jsonb) ON COMMIT DROP
            """
        )
        let prior = result.model.prior ?? MatchModel.fallbackPrior
        try connection.copyIn("COPY proposed FROM STDIN") { writer in
            for candidate in result.review {
                let (a, b) = (min(ids[candidate.a], ids[candidate.b]), max(ids[candidate.a], ids[candidate.b]))
                try writer.writeRow([
                    String(a), String(b), String(candidate.weight),
                    String(MatchProbability.posterior(weight: candidate.weight, prior: prior)), candidate.reason,
                    Self.comparisonJSON(candidate.vector, model: result.model, total: candidate.weight),
                ])
            }
        }
        try connection.execute(
            """
            INSERT INTO review_pairs (record_a, record_b, weight, match_probability, reason, comparison, run_id)
            SELECT record_a, record_b, weight, match_probability, reason, comparison, $1 FROM proposed
            ON CONFLICT (record_a, record_b) DO UPDATE
                SET status = 'open', weight = EXCLUDED.weight, match_probability = EXCLUDED.match_probability,
                    reason = EXCLUDED.reason, comparison = EXCLUDED.comparison
                WHERE review_pairs.status IN ('open', 'superseded')
            """, [runID])
        try connection.execute("DROP TABLE proposed")
        report.reviewPairs = try connection.execute("SELECT count(*) FROM review_pairs WHERE status = 'open'").scalar(
            Int.self)

        step("review")
        // Blocking keys, so the next batch finds these records without loading everything.
        if replaceAllLinks {
            // Faster than DELETE for millions of rows, and as transactional; the advisory lock already serialises us.
            try connection.execute("TRUNCATE record_blocking_keys")
        } else {
            try connection.execute(
                "DELETE FROM record_blocking_keys WHERE record_id = ANY($1::bigint[])", [touched.map { Int($0) }])
        }
        let touchedSet = Set(touched)
        try connection.copyIn("COPY record_blocking_keys (key, record_id) FROM STDIN") { writer in
            for record in records where touchedSet.contains(record.id) {
                let id = String(record.id)
                for key in CandidatePairs.keys(of: record, rules: settings.blockingRules, nicknames: linkage.nicknames)
                {
                    try writer.writeRow([String(Int64(bitPattern: key)), id])
                }
            }
        }
        step("blocking keys")
        return report
    }

    private func finishRun(_ report: ResolutionReport) throws {
        guard report.runID != 0 else { return }
        try connection.execute(
            """
            UPDATE resolution_runs SET finished_at = clock_timestamp(), records = $2, pairs_compared = $3, links_deterministic = $4,
                links_probabilistic = $5, links_review = $6, review_pairs = $7, children = $8, ids_minted = $9,
                ids_merged = $10, ids_split = $11
            WHERE id = $1
            """,
            [
                report.runID, report.records, report.pairsCompared, report.linksDeterministic,
                report.linksProbabilistic,
                report.linksReview, report.reviewPairs, report.children, report.minted, report.merged, report.split,
            ])
    }

    /// `{"given_name": {"level": "nickname", "weight": 5.2}, …}`: the evidence, per field.
    static func comparisonJSON(_ vector: ComparisonVector, model: MatchModel, total: Double) -> String {
        var parts: [String] = []
        // What the fields do not explain is the name-frequency adjustment: stored so the waterfall adds up.
        let adjustment = total - model.weight(vector)
        if abs(adjustment) > 0.0005 {
            parts.append(
                "\"name_frequency\":{\"level\":\"adjustment\",\"weight\":\(String(format: "%.3f", adjustment))}")
        }
        for field in MatchField.allCases {
            let level = vector[field]
            let weight = model.weight(field, level)
            parts.append(
                "\"\(field.name)\":{\"level\":\"\(field.levels[Int(level)])\",\"weight\":\(String(format: "%.3f", weight))}"
            )
        }
        return "{" + parts.joined(separator: ",") + "}"
    }
}
