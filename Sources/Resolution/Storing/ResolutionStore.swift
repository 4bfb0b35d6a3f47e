import Dispatch
import Foundation
import Identifiers
import Postgres

/// Why storing a run's result failed, without personal data.
public struct ResolutionStoreError: Error, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// An assignment names a record or a child id the database does not hold.
        public static let danglingAssignment = Code(name: "danglingAssignment")
        /// A merge or split event names a child id the database does not hold.
        public static let danglingEvent = Code(name: "danglingEvent")
    }

    public var code: Code
    public var count: Int
    public var file: String
    public var line: Int

    init(_ code: Code, count: Int, file: String = #fileID, line: Int = #line) {
        (self.code, self.count, self.file, self.line) = (code, count, file, line)
    }

    public var description: String { "resolution store: \(code) (\(count) rows) at \(file):\(line)" }
}

/// Which stored links, review pairs and blocking keys a run replaces.
enum PersistScope {
    /// A full run: everything (only what differs from the stored state is written).
    case everything
    /// A re-clustering of some children: everything about these records.
    case theseRecords
    /// An incremental run: existing records keep their links; only the new ones (from this index) are written.
    case newRecords(from: Int)
}

/// Writing a run's result: every table through COPY into a staging table (or straight in when
/// the table is empty) and set-based statements, so no row costs a statement of its own, and a
/// run that changes little writes little.
extension Resolver {
    /// `blockingKeysStored`: the run already wrote the records' blocking keys (a full run writes
    /// them beside the linkage, `BackgroundWork`).
    /// `knownAssignments`: the child of each record before this run, when the caller has already
    /// read them under the lock (an incremental run: its existing records' children; its new
    /// records have none), so they are not read again.
    func persist(
        _ result: LinkageResult, records: [MatchRecord], mode: String, modelID: Int64, scope: PersistScope,
        startedAt: Date, clock: PhaseClock, blockingKeysStored: Bool = false, knownAssignments: [Int64: String]? = nil
    ) throws -> ResolutionReport {
        var touched = records.map(\.id)
        var touchedRecords = records
        if case .newRecords(let first) = scope {
            touchedRecords = Array(records[first...])
            touched = touchedRecords.map(\.id)
        }
        let everything: Bool
        if case .everything = scope { everything = true } else { everything = false }
        var report = ResolutionReport()
        report.mode = mode
        report.records = records.count
        report.pairsCompared = result.pairsCompared
        report.twinsKeptApart = result.refusedTwins
        report.notQueuedBetweenMadeChildren = result.notQueuedBetweenMadeChildren
        report.oversizedBlocks = result.oversizedBlocks
        let (applied, ids) = (result.applied, records.map(\.id))
        let preparedLinks = BackgroundWork { PreparedLinks(applied, ids: ids, modelID: modelID) }
        let runID = try connection.execute(
            "INSERT INTO resolution_runs (mode, started_at, model_id) VALUES ($1, $2, $3) RETURNING id",
            [mode, startedAt, modelID]
        ).scalar(Int64.self)
        report.runID = runID

        let clusters = Self.clusters(result.roots, records)
        let previous = try knownAssignments ?? previousAssignments(everything ? nil : records)
        let outcome = try reconcileIDs(clusters: clusters, previous: previous)
        clock.mark("store: reconcile ids")
        report.children = clusters.count
        report.minted = outcome.minted.count
        report.merged = outcome.merges.count
        report.split = outcome.splits.count

        try storeLevelWeights(of: result.model, id: modelID)
        try storeIDs(outcome, run: runID)
        clock.mark("store: ids and events")
        report.recordsMoved = try storeAssignments(
            clusters, outcome, previous: previous, run: runID, tableEmpty: everything && previous.isEmpty)
        clock.mark("store: assignments")
        let counts = try storeLinks(
            result, records: records, prepared: try preparedLinks.wait(), touched: everything ? nil : touched,
            run: runID)
        (
            report.linksDeterministic, report.linksProbabilistic, report.linksVouchedByIncident,
            report.linksVouchedByClaim, report.linksReview
        ) = counts
        clock.mark("store: links")
        report.reviewPairs = try storeReview(result, records: records, touched: everything ? nil : touched, run: runID)
        clock.mark("store: review queue")
        if !blockingKeysStored {
            try storeBlockingKeys(
                of: touchedRecords, everything: everything, unassigned: !touched.isEmpty && scopeIsNew(scope))
            clock.mark("store: blocking keys")
        }
        return report
    }

    private func scopeIsNew(_ scope: PersistScope) -> Bool {
        if case .newRecords = scope { return true }
        return false
    }

    /// Record ids per cluster, clusters in order of their first record.
    static func clusters(_ roots: [Int], _ records: [MatchRecord]) -> [[Int64]] {
        var clusterOfRoot: [Int: Int] = [:]
        var clusters: [[Int64]] = []
        for (index, root) in roots.enumerated() {
            if let cluster = clusterOfRoot[root] {
                clusters[cluster].append(records[index].id)
            } else {
                clusterOfRoot[root] = clusters.count
                clusters.append([records[index].id])
            }
        }
        return clusters
    }

    /// Child id of each record before this run: every record's (nil), or these records'.
    private func previousAssignments(_ records: [MatchRecord]?) throws -> [Int64: String] {
        var previous: [Int64: String] = [:]
        let sql: String
        var parameters: [any PostgresEncodable] = []
        if let records {
            sql = "SELECT record_id, child_id FROM child_records WHERE record_id = ANY($1::bigint[])"
            parameters = [records.map { Int($0.id) }]
        } else {
            sql = "SELECT record_id, child_id FROM child_records"
        }
        // Some records' assignments by index; every record's in one scan.
        let read = {
            try self.connection.withRawResult(sql, parameters) { result in
                previous.reserveCapacity(result.rowCount)
                for row in 0..<result.rowCount {
                    guard let record = result.int64(row, 0), let child = result.string(row, 1) else { continue }
                    previous[record] = child
                }
            }
        }
        if records == nil { try read() } else { try connection.withoutSequentialScans(read) }
        return previous
    }

    /// Stable ids for the clusters. A minted id must not collide with any ever issued: rather than
    /// read every id first, the few minted ones are checked against `children`, and the rare
    /// collision is minted again.
    private func reconcileIDs(clusters: [[Int64]], previous: [Int64: String]) throws -> IdentityReconciler.Outcome {
        var taken: Set<String> = []
        var generator = BufferedSystemRandom()
        while true {
            let outcome = IdentityReconciler.reconcile(
                clusters: clusters, previous: previous, generator: &generator, isTaken: { taken.contains($0) })
            guard !outcome.minted.isEmpty else { return outcome }
            let clashes = try connection.query(
                "SELECT child_id FROM children WHERE child_id = ANY($1::text[])", [outcome.minted]
            ).map { try $0.decode(String.self, at: 0) }
            if clashes.isEmpty { return outcome }
            taken.formUnion(clashes)
        }
    }

    private func storeIDs(_ outcome: IdentityReconciler.Outcome, run runID: Int64) throws {
        let run = String(runID)
        // In id order, so the indexes on child_id grow at their end rather than at random pages.
        let minted = outcome.minted.sorted()
        if !minted.isEmpty {
            try connection.copyIn("COPY children (child_id, minted_by_run) FROM STDIN") { writer in
                for id in minted { try writer.writeRow([id, run]) }
            }
        }
        if !minted.isEmpty || !outcome.merges.isEmpty || !outcome.splits.isEmpty {
            try connection.copyIn("COPY child_id_events (child_id, event, other_child_id, run_id) FROM STDIN") {
                writer in
                for id in minted { try writer.writeRow([id, "minted", nil, run]) }
                for merge in outcome.merges {
                    try writer.writeRow([merge.from, "merged_into", merge.into, run])
                    try writer.writeRow([merge.into, "absorbed", merge.from, run])
                }
                for split in outcome.splits {
                    try writer.writeRow([split.new, "split_from", split.from, run])
                    try writer.writeRow([split.from, "split_off", split.new, run])
                }
            }
        }
        try checkEventsNameStoredIDs(outcome)
        guard !outcome.merges.isEmpty else { return }
        // An id that was merged earlier into the one now merged follows it, so aliases stay one hop
        // deep. Within one run no merged id is another's survivor (survivors keep a cluster), so
        // one statement does what a statement per merge did.
        try connection.execute(
            """
            UPDATE children c SET merged_into = m.into_id
            FROM unnest($1::text[], $2::text[]) AS m (from_id, into_id)
            WHERE c.child_id = m.from_id OR c.merged_into = m.from_id
            """, [outcome.merges.map(\.from), outcome.merges.map(\.into)])
    }

    /// The check the events' foreign keys made row by row (migration 0050), as one query: every id a
    /// merge or split names is in `children`. Minted ids were copied there just before their events.
    private func checkEventsNameStoredIDs(_ outcome: IdentityReconciler.Outcome) throws {
        let named = outcome.merges.flatMap { [$0.from, $0.into] } + outcome.splits.flatMap { [$0.from, $0.new] }
        guard !named.isEmpty else { return }
        let missing = try connection.execute(
            """
            SELECT count(*) FROM unnest($1::text[]) AS n (child_id)
            WHERE NOT EXISTS (SELECT 1 FROM children c WHERE c.child_id = n.child_id)
            """, [named]
        ).scalar(Int.self)
        if missing > 0 { throw ResolutionStoreError(.danglingEvent, count: missing) }
    }

    /// Writes the assignments that changed (an unchanged re-run touches nothing); returns how many.
    /// `tableEmpty`: no record is assigned yet (a first full run): the rows go straight into
    /// `child_records`, without a staging table and a second pass over a million rows.
    private func storeAssignments(
        _ clusters: [[Int64]], _ outcome: IdentityReconciler.Outcome, previous: [Int64: String], run runID: Int64,
        tableEmpty: Bool
    ) throws -> Int {
        // In child id order: the index on child_id (text, compared by collation) then grows at its
        // end instead of at random pages (a third less server time on a first run).
        var changed: [(record: Int64, cluster: Int32, assigned: Bool)] = []
        for (cluster, ids) in clusters.enumerated() {
            let child = outcome.clusterIDs[cluster]
            for record in ids {
                let before = previous[record]
                if before != child { changed.append((record, Int32(cluster), before != nil)) }
            }
        }
        guard !changed.isEmpty else { return 0 }
        // A first fill builds the child_id index afterwards (migration 0140): then the rows go in
        // record order, so the primary key grows at its end instead.
        let firstFill = try tableEmpty && beginFirstFill(of: "child_records")
        if firstFill {
            changed.sort { $0.record < $1.record }
        } else {
            let childOrder = outcome.clusterIDs.indices.sorted { outcome.clusterIDs[$0] < outcome.clusterIDs[$1] }
            var rank = [Int32](repeating: 0, count: childOrder.count)
            for (position, cluster) in childOrder.enumerated() { rank[cluster] = Int32(position) }
            changed.sort { (rank[Int($0.cluster)], $0.record) < (rank[Int($1.cluster)], $1.record) }
        }
        let table = tableEmpty ? "child_records" : "assign"
        if !tableEmpty {
            try connection.execute(
                "CREATE TEMP TABLE assign (record_id bigint, child_id text, assigned bool) ON COMMIT DROP")
        }
        defer { if !tableEmpty { _ = try? connection.execute("DROP TABLE IF EXISTS assign") } }
        let third = tableEmpty ? "assigned_by_run" : "assigned"
        try copyInBinary("COPY \(table) (record_id, child_id, \(third)) FROM STDIN (FORMAT binary)", changed.count) {
            buffer, index in
            let row = changed[index]
            buffer.startRow(fields: 3)
            buffer.appendField(row.record)
            buffer.appendField(utf8: outcome.clusterIDs[Int(row.cluster)].utf8)
            if tableEmpty { buffer.appendField(runID) } else { buffer.appendField(row.assigned) }
        }
        // The checks the foreign keys made row by row (migration 0022), as one query: two anti-joins
        // (an OR of the two made hashed subplans that read every record and child, however few
        // the assignments). The table checked holds only this run's rows.
        let dangling = try connection.execute(
            """
            SELECT (SELECT count(*) FROM \(table) a WHERE NOT EXISTS (SELECT 1 FROM source_records s WHERE s.id = a.record_id))
                 + (SELECT count(*) FROM \(table) a WHERE NOT EXISTS (SELECT 1 FROM children c WHERE c.child_id = a.child_id))
            """
        ).scalar(Int.self)
        if dangling > 0 { throw ResolutionStoreError(.danglingAssignment, count: dangling) }
        if firstFill { try endFirstFill(of: "child_records") }
        if tableEmpty { return changed.count }
        // `previous` holds every written record's assignment (the run holds the lock): new ones are
        // inserted, moved ones updated, with no speculative insertion per row.
        try connection.execute(
            "INSERT INTO child_records (record_id, child_id, assigned_by_run) SELECT record_id, child_id, $1 FROM assign WHERE NOT assigned",
            [runID])
        try connection.execute(
            """
            UPDATE child_records c SET child_id = a.child_id, assigned_by_run = $1
            FROM assign a WHERE a.assigned AND c.record_id = a.record_id
            """, [runID])
        return changed.count
    }

    /// The links that hold each child together, with the evidence. A full run stages them and
    /// changes only the links that differ (an unchanged link keeps the run that made it); other
    /// runs replace the links of the records they touched. Returns the counts by kind.
    private func storeLinks(
        _ result: LinkageResult, records: [MatchRecord], prepared: PreparedLinks, touched: [Int64]?, run runID: Int64
    ) throws -> (identifier: Int, probabilistic: Int, vouchedByIncident: Int, vouchedByClaim: Int, review: Int) {
        let ids = records.map(\.id)
        var counts = (identifier: 0, probabilistic: 0, vouchedByIncident: 0, vouchedByClaim: 0, review: 0)
        for link in result.applied {
            switch link.method {
            case .nhsNumber, .upn: counts.identifier += 1
            case .probabilistic: counts.probabilistic += 1
            case .vouchedByIncident: counts.vouchedByIncident += 1
            case .vouchedByClaim: counts.vouchedByClaim += 1
            case .review: counts.review += 1
            }
        }
        let (digests, pairOrder) = (prepared.digests, prepared.order)
        /// Writes the links at these positions of `result.applied` (all when nil): the comparison
        /// levels stand for the evidence, which `record_link_comparison` rebuilds (migration 0130).
        /// In the binary format: a weight goes as its exact bits, as its shortest digits did.
        func write(into table: String, only positions: [Int]? = nil) throws {
            let order = positions ?? pairOrder
            try copyInBinary(
                "COPY \(table) (record_a, record_b, method, weight, levels, run_id, vouched_by, evidence_digest) FROM STDIN (FORMAT binary)",
                order.count
            ) { buffer, index in
                let position = order[index]
                let link = result.applied[position]
                buffer.startRow(fields: 8)
                buffer.appendField(min(ids[link.a], ids[link.b]))
                buffer.appendField(max(ids[link.a], ids[link.b]))
                buffer.appendField(utf8: link.method.rawValue.utf8)
                buffer.appendField(link.weight)
                if let vector = link.vector {
                    buffer.appendField(Int64(bitPattern: vector.packed))
                } else {
                    buffer.appendNull()
                }
                buffer.appendField(runID)
                if let voucher = link.vouchedBy { buffer.appendField(ids[voucher]) } else { buffer.appendNull() }
                buffer.appendField(digests[position])
            }
        }
        if let touched {
            // Through each side's index (an OR of the two scanned every link).
            try connection.withoutSequentialScans {
                try connection.execute(
                    "DELETE FROM record_links WHERE record_a = ANY($1::bigint[])", [touched.map { Int($0) }])
                try connection.execute(
                    "DELETE FROM record_links WHERE record_b = ANY($1::bigint[])", [touched.map { Int($0) }])
            }
            try write(into: "record_links")
            return counts
        }
        // Only an empty table is locked and loses its index (a first fill, migration 0140).
        if try connection.execute("SELECT NOT EXISTS (SELECT 1 FROM record_links)").scalar(Bool.self),
            try beginFirstFill(of: "record_links")
        {
            try write(into: "record_links")
            try endFirstFill(of: "record_links")
            return counts
        }
        try replaceDifferingLinks(result, ids: ids, digests: digests) { try write(into: "record_links", only: $0) }
        return counts
    }

    /// A full run over stored links: the links are staged with a digest of their evidence (the
    /// levels and the model); stored links that differ are deleted, and `insert` writes the staged
    /// ones no longer stored.
    private func replaceDifferingLinks(
        _ result: LinkageResult, ids: [Int64], digests: [Int64], insert: ([Int]) throws -> Void
    ) throws {
        try connection.execute(
            """
            CREATE TEMP TABLE staged_links (position integer, record_a bigint, record_b bigint, method text,
                weight float8, vouched_by bigint, evidence_digest bigint) ON COMMIT DROP
            """)
        defer { _ = try? connection.execute("DROP TABLE IF EXISTS staged_links") }
        try connection.copyIn(
            "COPY staged_links (position, record_a, record_b, method, weight, vouched_by, evidence_digest) FROM STDIN"
        ) { writer in
            for (position, link) in result.applied.enumerated() {
                let (a, b) = (min(ids[link.a], ids[link.b]), max(ids[link.a], ids[link.b]))
                try writer.writeRow([
                    String(position), String(a), String(b), link.method.rawValue, String(link.weight),
                    link.vouchedBy.map { String(ids[$0]) }, String(digests[position]),
                ])
            }
        }
        try connection.execute(
            """
            DELETE FROM record_links l WHERE NOT EXISTS (
                SELECT 1 FROM staged_links s
                WHERE s.record_a = l.record_a AND s.record_b = l.record_b AND s.method = l.method
                  AND s.weight IS NOT DISTINCT FROM l.weight AND s.evidence_digest = l.evidence_digest
                  AND s.vouched_by IS NOT DISTINCT FROM l.vouched_by)
            """)
        let missing = try connection.query(
            """
            SELECT s.position FROM staged_links s
            WHERE NOT EXISTS (SELECT 1 FROM record_links l WHERE l.record_a = s.record_a AND l.record_b = s.record_b)
            ORDER BY s.record_a, s.record_b
            """
        ).map { try $0.decode(Int.self, at: 0) }
        if !missing.isEmpty { try insert(missing) }
    }

    /// What a link's evidence depends on, as one number: its levels under the model (the weight
    /// is compared on its own). The same levels under another model are other evidence, so a link
    /// is kept across runs only under the model its explanation is rebuilt with. 0 for a link with
    /// no comparison (an identifier link), whatever the model.
    static func evidenceDigest(_ vector: ComparisonVector?, modelID: Int64) -> Int64 {
        guard let vector else { return 0 }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        for value in [vector.packed, UInt64(bitPattern: modelID)] {
            for shift in stride(from: 0, to: 64, by: 8) {
                bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
            }
        }
        return Int64(bitPattern: NameKey.fnv1a(bytes))
    }

    /// The model's level names and weights (`match_models.level_weights`, from which
    /// `record_link_comparison` rebuilds a link's evidence), unless stored already.
    private func storeLevelWeights(of model: MatchModel, id: Int64) throws {
        try connection.execute(
            "UPDATE match_models SET level_weights = $2::jsonb WHERE id = $1 AND level_weights IS NULL",
            [id, EvidenceWriter(model: model).levelWeightsJSON])
    }

    /// The review queue: open pairs this run no longer proposes are superseded; proposed pairs are
    /// opened or updated only where something differs. Returns the open pairs.
    private func storeReview(
        _ result: LinkageResult, records: [MatchRecord], touched: [Int64]?, run runID: Int64
    ) throws
        -> Int
    {
        let ids = records.map(\.id)
        let evidence = EvidenceWriter(model: result.model)
        try connection.execute(
            """
            CREATE TEMP TABLE proposed (record_a bigint, record_b bigint, weight float8, match_probability float8,
                reason text, comparison jsonb) ON COMMIT DROP
            """
        )
        defer { _ = try? connection.execute("DROP TABLE IF EXISTS proposed") }
        let prior = result.model.prior ?? MatchModel.fallbackPrior
        try connection.copyIn("COPY proposed FROM STDIN") { writer in
            for candidate in result.review {
                let (a, b) = (min(ids[candidate.a], ids[candidate.b]), max(ids[candidate.a], ids[candidate.b]))
                try writer.writeRow([
                    String(a), String(b), String(candidate.weight),
                    String(MatchProbability.posterior(weight: candidate.weight, prior: prior)), candidate.reason,
                    evidence.json(candidate.vector, total: candidate.weight),
                ])
            }
        }
        let scope = touched == nil ? "" : " AND (r.record_a = ANY($1::bigint[]) OR r.record_b = ANY($1::bigint[]))"
        try connection.execute(
            """
            UPDATE review_pairs r SET status = 'superseded' WHERE r.status = 'open'\(scope)
              AND NOT EXISTS (SELECT 1 FROM proposed p WHERE p.record_a = r.record_a AND p.record_b = r.record_b)
            """, touched.map { [$0.map { Int($0) }] } ?? [])
        try connection.execute(
            """
            INSERT INTO review_pairs (record_a, record_b, weight, match_probability, reason, comparison, run_id)
            SELECT record_a, record_b, weight, match_probability, reason, comparison, $1 FROM proposed
            ON CONFLICT (record_a, record_b) DO UPDATE
                SET status = 'open', weight = EXCLUDED.weight, match_probability = EXCLUDED.match_probability,
                    reason = EXCLUDED.reason, comparison = EXCLUDED.comparison
                WHERE review_pairs.status = 'superseded'
                   OR (review_pairs.status = 'open'
                       AND (review_pairs.weight, review_pairs.match_probability, review_pairs.reason, review_pairs.comparison)
                           IS DISTINCT FROM (EXCLUDED.weight, EXCLUDED.match_probability, EXCLUDED.reason, EXCLUDED.comparison))
            """, [runID])
        return try connection.execute("SELECT count(*) FROM review_pairs WHERE status = 'open'").scalar(Int.self)
    }

    /// Blocking keys, so the next batch finds these records without loading everything. Each
    /// record's keys are stored with a digest of them: only records whose digest differs (new
    /// records, changed rules) have their keys rewritten. With `everything`, records no longer
    /// resolved lose theirs.
    /// `unassigned`: the records were in no child before this run, so they have no keys yet (keys
    /// are written in the run that assigns a record), and there is nothing to compare or delete.
    /// `keys`: the records' keys, when the run has computed them already.
    func storeBlockingKeys(
        of records: [MatchRecord], everything: Bool, unassigned: Bool = false, keys: RecordKeys? = nil
    ) throws {
        let stored: [Int64: Int64] = unassigned ? [:] : try storedDigests(of: everything ? nil : records)
        let (changed, rows) = Self.changedBlockingKeys(
            of: records, stored: stored, rules: settings.blockingRules, nicknames: linkage.nicknames, keys: keys)
        var firstFill = false
        if everything && stored.isEmpty {
            // Nothing to compare with (a first run, or keys stored before digests were): start afresh.
            try connection.execute("TRUNCATE record_blocking_keys")
            firstFill = try beginFirstFill(of: "record_blocking_keys")
        } else if !unassigned {
            // A changed record's old keys go (a record stored before digests were has keys but no
            // digest); with `everything`, so do the keys of records no longer resolved.
            var replaced = changed.map { Int(records[$0.index].id) }
            if everything {
                let current = Set(records.map(\.id))
                replaced += stored.keys.filter { !current.contains($0) }.map { Int($0) }
            }
            if !replaced.isEmpty {
                // No index on record_id (migration 0050): one scan, the ids hashed.
                try connection.execute(
                    "DELETE FROM record_blocking_keys WHERE record_id IN (SELECT unnest($1::bigint[]))", [replaced])
                try connection.execute(
                    "DELETE FROM record_blocking_digests WHERE record_id = ANY($1::bigint[])", [replaced])
            }
        }
        guard !changed.isEmpty else {
            if firstFill { try endBlockingKeysFirstFill() }
            return
        }
        // Whole numbers only, so in the binary format: no digits to write here or parse there. A first
        // fill, into the table this transaction emptied, writes the rows frozen and their pages
        // all-visible: the next day's look-up by key then reads the index alone (migration 0135).
        let freeze = firstFill ? ", FREEZE" : ""
        try copyInBinary("COPY record_blocking_keys (key, record_id) FROM STDIN (FORMAT binary\(freeze))", rows.count) {
            (rows[$0].key, rows[$0].record)
        }
        try copyInBinary("COPY record_blocking_digests (record_id, digest) FROM STDIN (FORMAT binary)", changed.count) {
            (records[changed[$0].index].id, changed[$0].digest)
        }
        if firstFill { try endBlockingKeysFirstFill() }
    }

    /// Copies `count` rows of two `bigint` columns in the binary format.
    private func copyInBinary(_ sql: String, _ count: Int, row: (Int) -> (Int64, Int64)) throws {
        try copyInBinary(sql, count) { buffer, index in
            let (first, second) = row(index)
            buffer.appendRow(first, second)
        }
    }

    /// Copies `count` rows in the binary format (`row` appends row `index`), a megabyte at a time.
    private func copyInBinary(_ sql: String, _ count: Int, row: (inout CopyBinaryBuffer, Int) -> Void) throws {
        try connection.copyIn(sql) { writer in
            var buffer = CopyBinaryBuffer(capacity: (1 << 20) + 4096, header: true)
            for index in 0..<count {
                row(&buffer, index)
                if buffer.count >= 1 << 20 {
                    try writer.write(buffer)
                    buffer.removeAll()
                }
            }
            buffer.appendTrailer()
            try writer.write(buffer)
        }
    }

    /// Builds the key index `beginFirstFill` dropped, with the record ids in it (migration 0135:
    /// not migration 0140's narrower definition).
    private func endBlockingKeysFirstFill() throws {
        try connection.execute("SELECT resolution_blocking_keys_fill_end()")
    }

    /// Drops the secondary indexes of `table` if it is empty, for a first fill (migration 0140):
    /// one sort afterwards (`endFirstFill`) costs about half of growing them row by row. Returns
    /// whether it did; the same transaction must then call `endFirstFill`.
    func beginFirstFill(of table: String) throws -> Bool {
        try connection.execute("SELECT resolution_first_fill_begin($1)", [table]).scalar(Bool.self)
    }

    /// Builds the indexes `beginFirstFill` dropped.
    func endFirstFill(of table: String) throws {
        try connection.execute("SELECT resolution_first_fill_end($1)", [table])
    }

    /// The records whose keys differ from their `stored` digest (index and new digest, in record
    /// order) and their keys as rows, in key order, so the key index grows page by page instead of
    /// at random places (a quarter less server time at 3M rows). Computed on all cores, and no
    /// record's keys are kept beyond its rows (about 8M at 1M records: memory counts here, as this
    /// runs beside the linkage).
    static func changedBlockingKeys(
        of records: [MatchRecord], stored: [Int64: Int64], rules: [BlockingRule], nicknames: NicknameTable,
        keys computed: RecordKeys? = nil
    ) -> (changed: [(index: Int, digest: Int64)], rows: [(key: Int64, record: Int64)]) {
        var slices = ParallelSlices.collect(records.count) { range in
            var changed: [(index: Int, digest: Int64)] = []
            var rows: [(key: Int64, record: Int64)] = []
            for index in range {
                let keys =
                    computed?.unique(index)
                    ?? CandidatePairs.keys(of: records[index], rules: rules, nicknames: nicknames)
                let digest = Resolver.digest(of: keys)
                guard stored[records[index].id] != digest else { continue }
                changed.append((index, digest))
                for key in keys { rows.append((Int64(bitPattern: key), records[index].id)) }
            }
            return (changed: changed, rows: rows)
        }
        var changed: [(index: Int, digest: Int64)] = []
        var rows: [(key: Int64, record: Int64)] = []
        rows.reserveCapacity(slices.reduce(0) { $0 + $1.rows.count })
        for slice in slices.indices {
            changed += slices[slice].changed
            rows += slices[slice].rows
            slices[slice].rows = []
        }
        // Keys are compared as signed numbers: the sign bit flipped orders them the same way unsigned.
        ParallelSlices.sortByHash(&rows, order: { UInt64(bitPattern: $0.key) ^ (1 << 63) }) {
            $0.key < $1.key || ($0.key == $1.key && $0.record < $1.record)
        }
        return (changed, rows)
    }

    /// A record's keys as one number: order-independent, and never 0 so that "no keys" still has a
    /// digest to compare.
    static func digest(of keys: [UInt64]) -> Int64 {
        var digest: UInt64 = 0x9E37_79B9_7F4A_7C15
        for key in keys.sorted() { digest = (digest ^ key) &* 0x0000_0100_0000_01B3 }
        return Int64(bitPattern: digest)
    }

    /// The stored key digest of every record (nil), or of these records.
    private func storedDigests(of records: [MatchRecord]?) throws -> [Int64: Int64] {
        var stored: [Int64: Int64] = [:]
        let sql =
            records == nil
            ? "SELECT record_id, digest FROM record_blocking_digests"
            : "SELECT record_id, digest FROM record_blocking_digests WHERE record_id = ANY($1::bigint[])"
        let read = {
            try self.connection.withRawResult(sql, records.map { [$0.map { Int($0.id) }] } ?? []) { result in
                stored.reserveCapacity(result.rowCount)
                for row in 0..<result.rowCount {
                    guard let record = result.int64(row, 0), let digest = result.int64(row, 1) else { continue }
                    stored[record] = digest
                }
            }
        }
        if records == nil { try read() } else { try connection.withoutSequentialScans(read) }
        return stored
    }
}

/// Work on a thread of its own, its result collected by `wait()`. A full run writes its blocking
/// keys so while the linkage clusters (they depend on the records alone, and most of their cost is
/// the server's: about 8M rows at 1M records), and every run builds its links' evidence so while the
/// server stores ids and assignments. Work that uses the connection must be waited for before
/// anything else uses it. Families groups beside its key writes with it too (`package`).
package final class BackgroundWork<T>: @unchecked Sendable {
    private let finished = DispatchSemaphore(value: 0)
    private var outcome: Result<T, any Error>?
    private let work: () throws -> T

    package init(_ work: @escaping () throws -> T) {
        self.work = work
        Thread.detachNewThread { [self] in
            outcome = Result { try self.work() }
            finished.signal()
        }
    }

    /// The result (the semaphore orders the thread's writes before this read).
    package func wait() throws -> T {
        finished.wait()
        return try outcome!.get()
    }
}

/// A run's links as they are written: each link's evidence digest, and the order to write them
/// in, (record_a, record_b), so the primary key grows at its end.
struct PreparedLinks: Sendable {
    let digests: [Int64]
    let order: [Int]

    init(_ links: [Link], ids: [Int64], modelID: Int64) {
        digests = links.map { Resolver.evidenceDigest($0.vector, modelID: modelID) }
        func pair(_ link: Link) -> (Int64, Int64) { (min(ids[link.a], ids[link.b]), max(ids[link.a], ids[link.b])) }
        order = links.indices.sorted { pair(links[$0]) < pair(links[$1]) }
    }
}

/// The evidence of a pair as JSON, `{"given_name": {"level": "nickname", "weight": 5.200}, …}`.
/// Each field's text depends only on its level under the model, so it is built once per level;
/// a pair then only joins its fields' texts. Review pairs store this text; links store their
/// levels, and `record_link_comparison` (migration 0130) rebuilds the same evidence from
/// `levelWeightsJSON`.
struct EvidenceWriter {
    let model: MatchModel
    private let fieldText: [[String]]

    init(model: MatchModel) {
        self.model = model
        fieldText = MatchField.allCases.map { field in
            field.levels.indices.map { level in
                "\"\(field.name)\":{\"level\":\"\(field.levels[level])\",\"weight\":\(Self.shown(model.weight(field, UInt8(level))))}"
            }
        }
    }

    /// A weight as the evidence shows it.
    static func shown(_ weight: Double) -> String { String(format: "%.3f", weight) }

    /// Every field's levels in field order, each with its name, its weight as shown and unrounded
    /// (`match_models.level_weights`).
    var levelWeightsJSON: String {
        let fields = MatchField.allCases.map { field in
            let levels = field.levels.indices.map { level in
                let weight = model.weight(field, UInt8(level))
                return "{\"level\":\"\(field.levels[level])\",\"weight\":\(Self.shown(weight)),\"raw\":\(weight)}"
            }
            return "{\"field\":\"\(field.name)\",\"levels\":[\(levels.joined(separator: ","))]}"
        }
        return "[" + fields.joined(separator: ",") + "]"
    }

    func json(_ vector: ComparisonVector, total: Double) -> String {
        var text = "{"
        // What the fields do not explain is the name-frequency adjustment: stored so the waterfall adds up.
        let adjustment = total - model.weight(vector)
        if abs(adjustment) > 0.0005 {
            text += "\"name_frequency\":{\"level\":\"adjustment\",\"weight\":\(Self.shown(adjustment))},"
        }
        for (position, field) in MatchField.allCases.enumerated() {
            if position > 0 { text += "," }
            text += fieldText[position][Int(vector[field])]
        }
        return text + "}"
    }
}
