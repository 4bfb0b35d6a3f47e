import Digest
import Foundation
import Identifiers
import Postgres

/// What happened to one file.
public enum BatchOutcome: Sendable, Equatable {
    /// Loaded now, as batch `batchID`.
    case loaded(BatchReport)
    /// The same bytes were loaded before (perhaps under another name), as batch `batchID`.
    case duplicate(batchID: Int64)
}

public struct BatchReport: Sendable, Equatable {
    public var batchID: Int64
    public var feed: String
    public var rowsRead: Int
    public var rowsLoaded: Int
    public var rowsQuarantined: Int
    public var bytes: Int64
    public var seconds: Double
}

/// Loads one feed file into PostgreSQL as one atomic batch: every usable row into
/// `source_records`, every unusable one into `quarantined_rows` with its reason and raw text,
/// per-field quality into `feed_batch_quality`, and a ledger row in `feed_batches`, all in one
/// transaction. A file whose SHA-256 was loaded before is not loaded again.
public struct FeedLoader {
    public let definition: FeedDefinition
    /// The day the batch is loaded (dates of birth after it are impossible).
    public var today: CalendarDate

    public init(definition: FeedDefinition, today: CalendarDate = .today()) {
        self.definition = definition
        self.today = today
    }

    static let copyColumns = """
        batch_id, feed, kind, record_number, line_number, partner_ref, subject, nhs_number, nhs_number_raw, upn, upn_raw,
        upn_temporary, given_name, family_name, preferred_given_name, preferred_family_name, dob, approximate_age, sex,
        address_line1, address_line2, town, postcode, postcode_raw, uprn, carer_nhs_number, carer_nhs_number_raw,
        carer_given_name, carer_family_name, carer_dob, carer_ni_number, carer_ni_number_raw, facts
        """

    /// Loads `path`. `sourceName` is what the officer will see (the name the file arrived with).
    public func load(path: String, sourceName: String? = nil, connection: PostgresConnection) throws -> BatchOutcome {
        let started = Date()
        let name = sourceName ?? (path as NSString).lastPathComponent
        let bytes = try Self.regularFileSize(path: path, name: name)
        // The file's SHA-256 is computed on a thread of its own while the rows load; a file loaded
        // before is found before COMMIT and its transaction rolled back, so it is never loaded twice.
        let digest = BackgroundValue { isCancelled in try SHA256.hexDigest(ofFileAt: path, isCancelled: isCancelled) }
        // Whatever happens, the hashing thread has returned before this does (a failed batch stops it early).
        defer { digest.wait() }
        do {
            return try connection.transaction { connection in
                try load(path: path, name: name, bytes: bytes, digest: digest, started: started, connection: connection)
            }
        } catch let duplicate as DuplicateBatch {
            return .duplicate(batchID: duplicate.batchID)
        } catch {
            digest.cancel()
            throw error
        }
    }

    /// The size of the file at `path`, which must be a regular file: a device (`/dev/zero`), a FIFO,
    /// a socket or a directory would be read forever, block, or not at all, so it is refused at once.
    static func regularFileSize(path: String, name: String) throws(FeedBatchError) -> Int64 {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            throw FeedBatchError(.unreadable, "cannot read \(path): \(reason)", file: name)
        }
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG else {
            let what: String
            switch type {
            case S_IFDIR: what = "a directory"
            case S_IFIFO: what = "a FIFO (named pipe)"
            case S_IFCHR: what = "a character device"
            case S_IFBLK: what = "a block device"
            case S_IFSOCK: what = "a socket"
            default: what = "not a regular file"
            }
            throw FeedBatchError(.notRegularFile, "\(path) is \(what); only regular files are read", file: name)
        }
        return Int64(info.st_size)
    }

    /// Thrown inside the batch's transaction to roll it back: the file was loaded before.
    private struct DuplicateBatch: Error {
        var batchID: Int64
    }

    /// Stands in the ledger row for the file's SHA-256 until it is known, inside the batch's
    /// transaction only (loaders of one feed take turns, so no two hold it at once).
    static let pendingDigest = String(repeating: "0", count: 64)

    private func load(
        path: String, name: String, bytes: Int64, digest: BackgroundValue<String>, started: Date,
        connection: PostgresConnection
    ) throws -> BatchOutcome {
        // Two loaders of one feed (a daemon and a hand-run ingest) queue here instead of racing the ledger.
        try connection.execute("SELECT pg_advisory_xact_lock(hashtext('feed:' || $1))", [definition.name])
        let batchID = try connection.execute(
            """
            INSERT INTO feed_batches (feed, kind, source_name, sha256, bytes, rows_read, rows_loaded,
                                      rows_quarantined, started_at, definition_sha256)
            VALUES ($1, $2, $3, $4, $5, 0, 0, 0, $6, $7) RETURNING id
            """,
            [definition.name, definition.kind.rawValue, name, Self.pendingDigest, bytes, started, definition.checksum]
        ).scalar(Int64.self)

        // An erased child must not come back without a decision: a row that matches an active
        // tombstone is quarantined, its content withheld (see ErasureTombstones).
        let tombstones = try ErasureTombstones.load(connection)
        // The file is read and normalised on a thread of its own while this one (the
        // connection's) sends the rows: the server's work and ours overlap.
        let handoff = RowHandoff<ReadSummary>(capacity: 16, bufferCapacity: Self.bufferBytes)
        let reading = RowReading(
            definition: definition, today: today, path: path, name: name, batchID: batchID,
            tombstones: tombstones)
        handoff.start { handoff in try reading.run(sendingTo: handoff) }
        var summary: ReadSummary?
        let loaded: Int
        do {
            defer { handoff.cancelAndWait() }
            loaded = try connection.copyIn("COPY source_records (\(Self.copyColumns)) FROM STDIN") { writer in
                while summary == nil {
                    switch handoff.receive() {
                    case .rows(let rows):
                        try writer.write(rows)
                        handoff.recycle(rows)
                    case .end(let result):
                        summary = try result.get()
                    }
                }
            }
        }
        guard let summary else { throw FeedBatchError(.database, "the rows were not all sent", file: name) }
        let batchText = String(batchID)
        let quarantine = summary.quarantine
        if !quarantine.isEmpty {
            try connection.copyIn(
                """
                COPY quarantined_rows (batch_id, record_number, line_number, field, reason, raw_line, raw_bytes, raw_truncated)
                FROM STDIN
                """
            ) { writer in
                for row in quarantine {
                    try writer.writeRow([
                        batchText, String(row.record), String(row.line), row.field, row.reason, row.raw,
                        String(row.rawBytes),
                        row.rawTruncated ? "t" : "f",
                    ])
                }
            }
        }
        try connection.copyIn("COPY feed_batch_quality (batch_id, field, rows, present, valid) FROM STDIN") { writer in
            for (field, counts) in summary.quality.sorted(by: { $0.key < $1.key }) {
                try writer.writeRow([
                    batchText, field, String(counts.rows), String(counts.present), String(counts.valid),
                ])
            }
        }
        let sha256: String
        do {
            sha256 = try digest.value()
        } catch {
            throw FeedBatchError(.unreadable, "cannot read the file", file: name)
        }
        if let existing = try connection.query(
            "SELECT id FROM feed_batches WHERE feed = $1 AND sha256 = $2", [definition.name, sha256]
        ).first {
            throw DuplicateBatch(batchID: try existing.decode(Int64.self, at: 0))
        }
        try connection.execute(
            "UPDATE feed_batches SET sha256 = $5, rows_read = $2, rows_loaded = $3, rows_quarantined = $4 WHERE id = $1",
            [batchID, summary.rowsRead, loaded, quarantine.count, sha256])
        return .loaded(
            BatchReport(
                batchID: batchID, feed: definition.name, rowsRead: summary.rowsRead, rowsLoaded: loaded,
                rowsQuarantined: quarantine.count, bytes: bytes, seconds: Date().timeIntervalSince(started)))
    }

    /// Size of the buffers of COPY text handed from the reading thread to the connection's.
    static let bufferBytes = 1 << 18

    /// Rows read by `normaliseOnly`, and how many of them the byte-level lane decided (the rest
    /// took the reference normaliser).
    public struct NormalisedCount: Sendable {
        public var rows: Int
        public var laneRows: Int
    }

    /// Reads, normalises and encodes a file as the loader does, without touching the database
    /// (for benchmarks).
    public func normaliseOnly(path: String) throws -> NormalisedCount {
        let reading = RowReading(
            definition: definition, today: today, path: path, name: (path as NSString).lastPathComponent, batchID: 0,
            tombstones: nil)
        let summary = try reading.read(into: CopyTextBuffer(capacity: Self.bufferBytes * 5 / 4)) { rows in
            rows.removeAll()
        }
        return NormalisedCount(rows: summary.rowsRead, laneRows: summary.laneRows)
    }

    /// The rows of a file as the loader would COPY them into `source_records` for batch `batchID`
    /// (usable rows only, already normalised and encoded), for benchmarks: the same rows can then be
    /// copied without the loader's work (`copyEncodedRows`).
    public func encodedRows(path: String, batchID: Int64) throws -> [CopyTextBuffer] {
        let reading = RowReading(
            definition: definition, today: today, path: path, name: (path as NSString).lastPathComponent,
            batchID: batchID, tombstones: nil)
        var buffers: [CopyTextBuffer] = []
        _ = try reading.read(into: CopyTextBuffer(capacity: Self.bufferBytes * 5 / 4)) { rows in
            buffers.append(rows)
            rows = CopyTextBuffer(capacity: Self.bufferBytes * 5 / 4)
        }
        return buffers
    }

    /// COPYs rows encoded by `encodedRows` into `source_records`; returns the rows the server loaded.
    public static func copyEncodedRows(_ buffers: [CopyTextBuffer], connection: PostgresConnection) throws -> Int {
        try connection.copyIn("COPY source_records (\(copyColumns)) FROM STDIN") { writer in
            for rows in buffers { try writer.write(rows) }
        }
    }

    /// Records a file that failed as a whole; outside any batch transaction, so it survives the rollback.
    public static func recordFailure(
        feed: String, sourceName: String, sha256: String?, reason: String, connection: PostgresConnection
    ) {
        _ = try? connection.execute(
            "INSERT INTO feed_batch_failures (feed, source_name, sha256, reason) VALUES ($1, $2, $3, $4)",
            [feed, sourceName, sha256, reason])
    }
}
