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
        let digest: String
        let bytes: Int64
        do {
            digest = try SHA256.hexDigest(ofFileAt: path)
            bytes = Int64((try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0)
        } catch {
            throw FeedBatchError(.unreadable, "cannot read the file", file: name)
        }
        return try connection.transaction { connection in
            // Two loaders of one feed (a daemon and a hand-run ingest) queue here instead of racing the ledger.
            try connection.execute("SELECT pg_advisory_xact_lock(hashtext('feed:' || $1))", [definition.name])
            if let existing = try connection.query(
                "SELECT id FROM feed_batches WHERE feed = $1 AND sha256 = $2", [definition.name, digest]
            ).first {
                return .duplicate(batchID: try existing.decode(Int64.self, at: 0))
            }
            let batchID = try connection.execute(
                """
                INSERT INTO feed_batches (feed, kind, source_name, sha256, bytes, rows_read, rows_loaded,
                                          rows_quarantined, started_at, definition_sha256)
                VALUES ($1, $2, $3, $4, $5, 0, 0, 0, $6, $7) RETURNING id
                """,
                [definition.name, definition.kind.rawValue, name, digest, bytes, started, definition.checksum]
            ).scalar(Int64.self)

            var quarantine: [(record: Int, line: Int, field: String?, reason: String, raw: String)] = []
            var rowsRead = 0
            var normaliser: RecordNormaliser?
            let reader: CSVReader
            do {
                reader = try CSVReader(path: path, dialect: definition.dialect)
            } catch {
                throw FeedBatchError(.unreadable, "cannot open the file: \(error)", file: name)
            }
            let kind = definition.kind.rawValue
            let feed = definition.name
            let batchText = String(batchID)
            // An erased child must not come back without a decision: a row that matches an active
            // tombstone is quarantined, its content withheld (see ErasureTombstones).
            let tombstones = try ErasureTombstones.load(connection)
            let loaded = try connection.copyIn("COPY source_records (\(Self.copyColumns)) FROM STDIN") { writer in
                while let result = try reader.next() {
                    switch result {
                    case .malformed(let bad):
                        if normaliser == nil {
                            throw FeedBatchError(.header, "the header row is malformed: \(bad.error.code)", file: name, line: bad.error.line)
                        }
                        rowsRead += 1
                        quarantine.append(
                            (bad.recordNumber - 1, bad.error.line, bad.error.field.map { "column \($0)" },
                             "malformed CSV: \(bad.error.code)", bad.rawText))
                    case .record(let record):
                        let fields = (0..<record.fieldCount).map { record.field($0) }
                        guard var current = normaliser else {
                            normaliser = try RecordNormaliser(definition: definition, header: fields, today: today)
                            continue
                        }
                        rowsRead += 1
                        let dataNumber = record.recordNumber - 1
                        // A stray delimiter shifts every later value into the wrong column: refuse the row.
                        if fields.count != current.headerCount {
                            quarantine.append(
                                (dataNumber, record.startLine, nil,
                                 "row has \(fields.count) fields; the header has \(current.headerCount)", record.rawText))
                            continue
                        }
                        switch current.normalise(fields, recordNumber: dataNumber, lineNumber: record.startLine) {
                        case .failure(let rejection):
                            quarantine.append((dataNumber, record.startLine, rejection.field, rejection.reason, record.rawText))
                        case .success(let canonical):
                            if let tombstone = tombstones?.match(canonical) {
                                quarantine.append(
                                    (dataNumber, record.startLine, "child", ErasureTombstones.heldReason(tombstone: tombstone),
                                     ErasureTombstones.withheldText))
                            } else {
                                try Self.write(canonical, batch: batchText, feed: feed, kind: kind, into: &writer)
                            }
                        }
                        normaliser = current
                    }
                }
            }
            guard let normaliser else {
                throw FeedBatchError(.empty, "the file is empty: no header row", file: name)
            }
            if !quarantine.isEmpty {
                try connection.copyIn(
                    "COPY quarantined_rows (batch_id, record_number, line_number, field, reason, raw_line) FROM STDIN"
                ) { writer in
                    for row in quarantine {
                        try writer.writeRow([batchText, String(row.record), String(row.line), row.field, row.reason, row.raw])
                    }
                }
            }
            try connection.copyIn("COPY feed_batch_quality (batch_id, field, rows, present, valid) FROM STDIN") { writer in
                for (field, counts) in normaliser.quality.sorted(by: { $0.key < $1.key }) {
                    try writer.writeRow([batchText, field, String(counts.rows), String(counts.present), String(counts.valid)])
                }
            }
            try connection.execute(
                "UPDATE feed_batches SET rows_read = $2, rows_loaded = $3, rows_quarantined = $4 WHERE id = $1",
                [batchID, rowsRead, loaded, quarantine.count])
            return .loaded(
                BatchReport(
                    batchID: batchID, feed: feed, rowsRead: rowsRead, rowsLoaded: loaded,
                    rowsQuarantined: quarantine.count, bytes: bytes, seconds: Date().timeIntervalSince(started)))
        }
    }

    /// Reads and normalises a file without touching the database (for benchmarks); returns rows read.
    public func normaliseOnly(path: String) throws -> Int {
        let reader = try CSVReader(path: path, dialect: definition.dialect)
        var normaliser: RecordNormaliser?
        var rows = 0
        while let result = try reader.next() {
            guard case .record(let record) = result else { rows += 1; continue }
            let fields = (0..<record.fieldCount).map { record.field($0) }
            guard var current = normaliser else {
                normaliser = try RecordNormaliser(definition: definition, header: fields, today: today)
                continue
            }
            rows += 1
            if case .success(let canonical) = current.normalise(fields, recordNumber: rows, lineNumber: record.startLine) {
                _ = canonical.factsJSON
            }
            normaliser = current
        }
        return rows
    }

    static func write(_ r: CanonicalRecord, batch: String, feed: String, kind: String, into writer: inout CopyInWriter)
        throws
    {
        try writer.appendField(batch)
        try writer.appendField(feed)
        try writer.appendField(kind)
        try writer.appendField(String(r.recordNumber))
        try writer.appendField(String(r.lineNumber))
        try writer.appendField(r.partnerRef)
        try writer.appendField(r.subject.rawValue)
        try writer.appendField(r.nhsNumber)
        try writer.appendField(r.nhsNumberRaw)
        try writer.appendField(r.upn)
        try writer.appendField(r.upnRaw)
        try writer.appendField(r.upnTemporary ? "t" : "f")
        try writer.appendField(r.givenName)
        try writer.appendField(r.familyName)
        try writer.appendField(r.preferredGivenName)
        try writer.appendField(r.preferredFamilyName)
        try writer.appendField(r.dob?.iso8601)
        try writer.appendField(r.approximateAge.map(String.init))
        try writer.appendField(r.sex)
        try writer.appendField(r.addressLine1)
        try writer.appendField(r.addressLine2)
        try writer.appendField(r.town)
        try writer.appendField(r.postcode)
        try writer.appendField(r.postcodeRaw)
        try writer.appendField(r.uprn)
        try writer.appendField(r.carerNHSNumber)
        try writer.appendField(r.carerNHSNumberRaw)
        try writer.appendField(r.carerGivenName)
        try writer.appendField(r.carerFamilyName)
        try writer.appendField(r.carerDOB?.iso8601)
        try writer.appendField(r.carerNINumber)
        try writer.appendField(r.carerNINumberRaw)
        try writer.appendField(r.factsJSON)
        try writer.endRow()
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
