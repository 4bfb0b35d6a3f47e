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
    /// Links the incident rule made (`LinkMethod.vouchedByIncident`), not counted in `linksProbabilistic`.
    public var linksVouchedByIncident = 0
    /// Links the claim rule made (`LinkMethod.vouchedByClaim`), not counted in `linksProbabilistic`.
    public var linksVouchedByClaim = 0
    public var linksReview = 0
    public var reviewPairs = 0
    public var children = 0
    public var minted = 0
    public var merged = 0
    public var split = 0
    public var recordsMoved = 0
    public var twinsKeptApart = 0
    /// Pairs the model would have queued, left out because both records already belong to children
    /// of several records (`Linkage.worthQueuing`).
    public var notQueuedBetweenMadeChildren = 0
    public var oversizedBlocks = 0
    public var seconds = 0.0
    /// Where the time went (full runs), for the benchmark and the operator.
    public var phases: [RunPhase] = []
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
    /// Reads the database backend's CPU seconds so far, for the phase timings (the bench sets it
    /// when the server runs on this machine).
    public var serverCPU: (() -> Double?)?
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
            let clock = PhaseClock(serverCPU: serverCPU)
            // The batches first, then their records: a batch that commits in between waits for the next run.
            let batches = try Self.pendingBatches(connection)
            let stored = try latestModel()
            // No model yet: the first run is a full one, which reads every record itself (reading
            // the new ones first, as records or ids, would read a first day's million records twice).
            if stored == nil, try MatchRecordLoader.hasUnassigned(connection, batches: batches) {
                return try resolveFullLocked(started: started, startedAt: startedAt, batches: batches)
            }
            let freshIDs = try MatchRecordLoader.unassignedIDs(connection, batches: batches)
            let fresh = try MatchRecordLoader.load(connection, ids: freshIDs)
            clock.mark("load new records")
            guard let (modelID, model, frequencies) = stored, !fresh.isEmpty else {
                try markExamined(batches, run: nil)
                var report = ResolutionReport()
                report.mode = "incremental"
                return report
            }
            let (existing, childOf) = try existingRecordsToReexamine(
                for: fresh, model: model, frequencies: frequencies, clock: clock)
            let records = existing + fresh
            let decisions = try loadDecisions(records)
            // Existing children are the starting point: group their records by current child id.
            var groups: [String: [Int]] = [:]
            for (index, record) in existing.enumerated() {
                if let child = childOf[record.id] { groups[child, default: []].append(index) }
            }
            clock.mark("group by child")
            let result = linkage.run(
                records: records, model: (model, frequencies), decisions: decisions, firstNew: existing.count,
                seeds: groups.keys.sorted().map { groups[$0]! }, clock: clock)
            var report = try persist(
                result, records: records, mode: "incremental", modelID: modelID,
                scope: .newRecords(from: existing.count), startedAt: startedAt, clock: clock,
                knownAssignments: Self.assignments(of: existing, childOf))
            report.seconds = Date().timeIntervalSince(started)
            try finishRun(report)
            try markExamined(batches, run: report.runID)
            clock.mark("finish")
            report.phases = clock.phases
            return report
        }
    }

    /// The existing records an incremental run re-examines, in id order: whole children, of those
    /// a new record could join (a shared identifier, or a pair weight at or above the review band),
    /// and of possible twins whose records the twin rule could consult; and the child of each.
    ///
    /// Two steps, so a batch loads whole children only where it could join them: candidates
    /// sharing a blocking key or identifier are scored first; the children of plausible ones are loaded.
    private func existingRecordsToReexamine(
        for fresh: [MatchRecord], model: MatchModel, frequencies: NameFrequencies, clock: PhaseClock
    ) throws -> (records: [MatchRecord], childOf: [Int64: String]) {
        let (holders, freshKeys, byIdentifier) = try candidateRecordIDs(for: fresh)
        let partners = Self.newPartners(
            holders: holders, freshKeys: freshKeys, maxBlockSize: settings.maxBlockSize, besides: byIdentifier)
        clock.mark("find candidates by key")
        // Pairs straight from the shared keys (no need to re-block the candidates among themselves),
        // each batch of candidates scored while the server reads the next. Pairs are scored one by
        // one, so the order the candidates come in does not change what is found.
        var hits = byIdentifier
        var possibleTwinIDs: Set<Int64> = []
        // 200k ids at 1M records: planned with the list's values, each id's selectivity was
        // estimated, 70-150 ms of planning (EXPLAIN) for a plan that does not depend on them.
        // Not for look-ups that filter rows by a list: a list that is a parameter is searched
        // element by element, not hashed (the identifier look-up took 3.4 s so).
        try connection.with([.genericPlans]) {
            try MatchRecordLoader.forEachBatchForComparison(connection, ids: partners.keys.sorted()) { batch in
                let pairs = Self.pairs(batch, partners, firstNew: batch.count)
                let plausible = linkage.plausibleMatches(
                    records: batch + fresh, pairs: pairs, model: model, frequencies: frequencies)
                hits.formUnion(plausible.matches.lazy.map { batch[$0].id })
                possibleTwinIDs.formUnion(plausible.possibleTwins.lazy.map { batch[$0].id })
            }
        }
        clock.mark("load and score candidates")
        var childOf = try childrenOfRecords(holding: hits.sorted())
        var existing = try MatchRecordLoader.load(connection, ids: childOf.keys.sorted())
        let possibleTwins = possibleTwinIDs.subtracting(childOf.keys)
        if !possibleTwins.isEmpty {
            let consulted = try childrenTheTwinRuleConsults(
                holding: possibleTwins.sorted(), besides: childOf, among: existing + fresh)
            existing += consulted.records
            childOf.merge(consulted.childOf) { old, _ in old }
            existing.sort { $0.id < $1.id }
        }
        clock.mark("load children")
        return (existing, childOf)
    }

    /// The child of each of these records, as read under the lock (`childOf`): what the store
    /// would read again from `child_records` (the new records have no child yet).
    static func assignments(of records: [MatchRecord], _ childOf: [Int64: String]) -> [Int64: String] {
        var assignments: [Int64: String] = [:]
        assignments.reserveCapacity(records.count)
        for record in records { assignments[record.id] = childOf[record.id] }
        return assignments
    }

    /// For each existing record sharing a blocking key with new records, the offsets of those new
    /// records (distinct, ascending). A key held by more records than a block may have pairs
    /// nothing, so its holders are left out; so are records `besides` (found by an identifier:
    /// re-examined whatever their score).
    static func newPartners(
        holders: [Int64: [Int64]], freshKeys: [[Int64]], maxBlockSize: Int, besides: Set<Int64>
    ) -> [Int64: [Int32]] {
        var partners: [Int64: [Int32]] = [:]
        partners.reserveCapacity(holders.count * 4)
        for (offset, keys) in freshKeys.enumerated() {
            for key in keys {
                guard let ids = holders[key], ids.count <= maxBlockSize else { continue }
                for id in ids where !besides.contains(id) {
                    // Offsets arrive in ascending order: a repeat (a second shared key) is the last one.
                    // One look-up a holder, the list changed in place.
                    Self.appendUnlessLast(Int32(offset), to: &partners[id, default: []])
                }
            }
        }
        return partners
    }

    private static func appendUnlessLast(_ offset: Int32, to offsets: inout [Int32]) {
        if offsets.last != offset { offsets.append(offset) }
    }

    /// The pairs (index in `candidates` << 32 | `firstNew` + the new record's offset), sorted, of
    /// each candidate with each of its new partners.
    static func pairs(_ candidates: [MatchRecord], _ partners: [Int64: [Int32]], firstNew: Int) -> [UInt64] {
        var pairs: [UInt64] = []
        for (index, candidate) in candidates.enumerated() {
            for offset in partners[candidate.id] ?? [] {
                pairs.append(UInt64(index) << 32 | UInt64(firstNew + Int(offset)))
            }
        }
        return pairs
    }

    /// Whole children of these possible twins (records `besides` excluded) that share a household
    /// key with `records`: the twin rule weighs the two sides of a join through the household keys
    /// of their records only, so a possible twin's child with none of those keys cannot change
    /// what it decides, and is not loaded.
    private func childrenTheTwinRuleConsults(
        holding twins: [Int64], besides: [Int64: String], among records: [MatchRecord]
    )
        throws -> (records: [MatchRecord], childOf: [Int64: String])
    {
        let childOf = try childrenOfRecords(holding: twins).filter { besides[$0.key] == nil }
        let candidates = try MatchRecordLoader.load(connection, ids: childOf.keys.sorted())
        let households = Set(records.flatMap { Clusterer.householdKeys($0) })
        let consulted = Set(
            candidates.filter { Clusterer.householdKeys($0).contains(where: households.contains) }.compactMap {
                childOf[$0.id]
            })
        let chosen = candidates.filter { childOf[$0.id].map(consulted.contains) ?? false }
        return (chosen, childOf.filter { consulted.contains($0.value) })
    }

    /// Re-clusters the children holding these records, e.g. after a review decision.
    public func reresolve(recordIDs: [Int64]) throws -> ResolutionReport {
        try connection.transaction { _ in
            let startedAt = try lockResolution()
            let started = Date()
            let clock = PhaseClock(serverCPU: serverCPU)
            guard let (modelID, model, frequencies) = try latestModel() else {
                return try resolveFullLocked(started: started, startedAt: startedAt)
            }
            let affected = try childrenOfRecords(holding: recordIDs).keys
            let records = try MatchRecordLoader.load(connection, ids: Set(affected).union(recordIDs).sorted())
            let decisions = try loadDecisions(records)
            clock.mark("load records")
            let result = linkage.run(records: records, model: (model, frequencies), decisions: decisions, clock: clock)
            var report = try persist(
                result, records: records, mode: "incremental", modelID: modelID, scope: .theseRecords,
                startedAt: startedAt, clock: clock)
            report.seconds = Date().timeIntervalSince(started)
            try finishRun(report)
            clock.mark("finish")
            report.phases = clock.phases
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
        // A run's statements join staged rows the planner has no statistics for, or scan millions
        // of rows once: their estimates cross the JIT threshold, and compiling cost about 0.3 s a
        // statement for no gain.
        try connection.execute("SET LOCAL jit = off")
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
        let clock = PhaseClock(serverCPU: serverCPU)
        let batches = try batches ?? Self.pendingBatches(connection)
        let (records, keys) = try MatchRecordLoader.loadAllWithKeys(
            connection, rules: settings.blockingRules, nicknames: linkage.nicknames)
        let decisions = try loadDecisions(records)
        let stored = reestimate ? nil : try latestModel()
        clock.mark("load records and their blocking keys")
        // The keys are written beside the linkage's one-core part (identifiers, clustering): during
        // comparison and estimation both cores are the linkage's, and the server's COPY only slowed it.
        let storeKeys = { try self.storeBlockingKeys(of: records, everything: true, keys: keys) }
        var storing: BackgroundWork<Void>?
        let result = linkage.run(
            records: records, keys: keys, model: stored.map { ($0.1, $0.2) }, decisions: decisions, clock: clock,
            whenScored: { storing = BackgroundWork(storeKeys) })
        if let storing { try storing.wait() } else { try storeKeys() }
        clock.mark("store: blocking keys (rest; written beside the linkage)")
        let modelID = try stored?.0 ?? storeModel(result)
        clock.mark("store: model")
        var report = try persist(
            result, records: records, mode: "full", modelID: modelID, scope: .everything, startedAt: startedAt,
            clock: clock, blockingKeysStored: true)
        report.seconds = Date().timeIntervalSince(started)
        try finishRun(report)
        try markExamined(batches, run: report.runID)
        clock.mark("finish")
        report.phases = clock.phases
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
        try StoredModel.latest(connection)
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
        var byIdentifier: Set<Int64> = []
        // Tens of thousands of keys and identifiers against millions of rows: by index, always.
        try connection.withoutSequentialScans {
            // Hundreds of thousands of small rows: read in place rather than streamed row by row.
            // From the index alone (migration 0135): a bitmap scan would visit the heap pages
            // whatever the visibility map says, and the planner, without statistics of a table
            // filled in this run or the day before, may choose one.
            // Planned without the 48k keys' values (`genericPlans`), as the candidates' read below.
            try connection.with([.noBitmapScans, .genericPlans]) {
                try connection.withRawResult(
                    "SELECT key, record_id FROM record_blocking_keys WHERE key = ANY($1::bigint[])",
                    [keys.map { Int($0) }]
                ) { result in
                    for row in 0..<result.rowCount {
                        guard let key = result.int64(row, 0), let record = result.int64(row, 1) else { continue }
                        holders[key, default: []].append(record)
                    }
                }
            }
            let upns = try connection.query(
                "SELECT DISTINCT upn FROM source_records WHERE id = ANY($1::bigint[]) AND upn IS NOT NULL AND NOT upn_temporary",
                [fresh.map { Int($0.id) }]
            ).map { try $0.decode(String.self, at: 0) }
            // Each identifier through its own index (an OR of the two scanned the whole table).
            try connection.forEachRow(
                """
                SELECT sr.id FROM source_records sr JOIN child_records cr ON cr.record_id = sr.id
                WHERE sr.nhs_number = ANY($1::text[])
                UNION
                SELECT sr.id FROM source_records sr JOIN child_records cr ON cr.record_id = sr.id
                WHERE sr.upn = ANY($2::text[]) AND NOT sr.upn_temporary
                """, [nhs, upns]
            ) { row in byIdentifier.insert(try row.decode(Int64.self, at: 0)) }
        }
        return (holders, freshKeys, byIdentifier)
    }

    /// Every record of every child that holds one of `recordIDs`, with its child.
    private func childrenOfRecords(holding recordIDs: [Int64]) throws -> [Int64: String] {
        guard !recordIDs.isEmpty else { return [:] }
        var childOf: [Int64: String] = [:]
        try connection.withoutSequentialScans {
            try connection.forEachRow(
                """
                SELECT cr.record_id, cr.child_id FROM child_records cr
                WHERE cr.child_id = ANY(\(Self.childrenOfRecords))
                """, [recordIDs.map { Int($0) }]
            ) { row in childOf[try row.decode(Int64.self, at: 0)] = try row.decode(String.self, at: 1) }
        }
        return childOf
    }

    /// The child ids of the records in $1, as an array computed once (an init plan): the
    /// children's records are then found through the index on child_id, a probe per child. The
    /// same condition as `IN (SELECT …)` was planned as a hash semi-join over every assignment
    /// (all of child_records read twice, 0.2 s at 266k records and growing with the county).
    static let childrenOfRecords =
        "ARRAY(SELECT child_id FROM child_records WHERE record_id = ANY($1::bigint[]))"

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
            for (kind, table) in [
                ("given", result.frequencies.given), ("family", result.frequencies.family),
                ("preferred_given", result.frequencies.preferredGiven),
            ] {
                for (fingerprint, count) in table {
                    try writer.writeRow([model, kind, String(Int64(bitPattern: fingerprint)), String(count)])
                }
            }
        }
        return id
    }

    private func finishRun(_ report: ResolutionReport) throws {
        guard report.runID != 0 else { return }
        try connection.execute(
            """
            UPDATE resolution_runs SET finished_at = clock_timestamp(), records = $2, pairs_compared = $3, links_deterministic = $4,
                links_probabilistic = $5, links_review = $6, review_pairs = $7, children = $8, ids_minted = $9,
                ids_merged = $10, ids_split = $11, links_vouched_by_incident = $12, links_vouched_by_claim = $13
            WHERE id = $1
            """,
            [
                report.runID, report.records, report.pairsCompared, report.linksDeterministic,
                report.linksProbabilistic,
                report.linksReview, report.reviewPairs, report.children, report.minted, report.merged, report.split,
                report.linksVouchedByIncident, report.linksVouchedByClaim,
            ])
    }
}
