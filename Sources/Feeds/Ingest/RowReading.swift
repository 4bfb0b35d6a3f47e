import Config
import Foundation
import Identifiers
import Postgres

/// A row that could not be loaded, kept with where it was and why (never the value in the reason).
struct QuarantinedRow: Sendable {
    var record: Int
    var line: Int
    var field: String?
    var reason: String
    /// The row as received, or its first `CSVDialect.maxRecordBytes` when `rawTruncated`.
    var raw: String
    /// The row's length in the file, in bytes (without its line ending).
    var rawBytes: Int
    var rawTruncated = false
}

/// What reading a file found besides the rows it sent.
struct ReadSummary: Sendable {
    var rowsRead = 0
    /// Rows that took the byte-level lane (the rest were decided by the reference normaliser).
    var laneRows = 0
    var quarantine: [QuarantinedRow] = []
    var quality: [String: FieldQuality] = [:]
}

/// Reads one feed file, normalises each row and encodes the usable ones as COPY text for
/// `source_records` (columns `FeedLoader.copyColumns`); the rest are quarantined. Runs on a thread
/// of its own (see `RowHandoff`); it holds no database connection.
struct RowReading: Sendable {
    var definition: FeedDefinition
    var today: CalendarDate
    var path: String
    /// The file's name as the officer sees it, for errors.
    var name: String
    var batchID: Int64
    var tombstones: ErasureTombstones?
    /// Whether common rows take the byte-level lane (`encodeCommonRow`); tests turn it off to
    /// compare the lane with the reference.
    var usesCommonLane = true

    func run(sendingTo handoff: RowHandoff<ReadSummary>) throws -> ReadSummary {
        try read(into: handoff.emptyBuffer()) { rows in
            try handoff.send(rows)
            rows = handoff.emptyBuffer()
        }
    }

    /// Reads the whole file, encoding rows into `buffer`; `flush` takes each full buffer (and the
    /// last one, if it holds rows) and leaves an empty one in its place. In place, so that a
    /// buffer emptied there (`removeAll`) is still the only reference to its memory and keeps it.
    func read(into buffer: CopyTextBuffer, flush: (inout CopyTextBuffer) throws -> Void) throws -> ReadSummary {
        let reader: CSVReader
        do {
            reader = try CSVReader(path: path, dialect: definition.dialect)
        } catch {
            throw FeedBatchError(.unreadable, "cannot open the file: \(error)", file: name)
        }
        var summary = ReadSummary()
        var normaliser: RecordNormaliser?
        // Read once: `normaliser!.headerCount` on every row copied the whole normaliser.
        var headerCount = 0
        var rows = buffer
        var scratch: [UInt8] = []
        var common = CommonRowScratch()
        let batch = Int(batchID)
        let feed = definition.name
        let kind = definition.kind.rawValue
        while let result = try reader.next() {
            switch result {
            case .malformed(let bad):
                if normaliser == nil {
                    throw FeedBatchError(
                        .header, "the header row is malformed: \(bad.error.code)", file: name, line: bad.error.line)
                }
                summary.rowsRead += 1
                summary.quarantine.append(
                    QuarantinedRow(
                        record: bad.recordNumber - 1, line: bad.error.line,
                        field: bad.error.field.map { "column \($0)" },
                        reason: "malformed CSV: \(bad.error.code)", raw: bad.rawText, rawBytes: bad.rawLength,
                        rawTruncated: bad.rawTruncated))
            case .record(let record):
                guard normaliser != nil else {
                    normaliser = try bindHeader(record.fields, line: record.startLine)
                    headerCount = normaliser!.headerCount
                    continue
                }
                summary.rowsRead += 1
                let dataNumber = record.recordNumber - 1
                // A stray delimiter shifts every later value into the wrong column: refuse the row.
                if record.fieldCount != headerCount {
                    summary.quarantine.append(
                        QuarantinedRow(
                            record: dataNumber, line: record.startLine, field: nil,
                            reason: "row has \(record.fieldCount) fields; the header has \(headerCount)",
                            raw: record.rawText, rawBytes: record.rawByteCount))
                    continue
                }
                // The common row goes from bytes to COPY text; the reference decides the rest. (Rows
                // are matched against erasure tombstones as canonical records, by the reference.)
                // The normaliser is changed in place (`normaliser!`), never copied: a copy would
                // copy its counters on every row.
                if usesCommonLane, tombstones == nil,
                    normaliser!.encodeCommonRow(
                        record, recordNumber: dataNumber, lineNumber: record.startLine, batch: batch, feed: feed,
                        kind: kind, scratch: &common, into: &rows)
                {
                    summary.laneRows += 1
                    if rows.bytes.count >= FeedLoader.bufferBytes { try flush(&rows) }
                    continue
                }
                let fields = record.fields
                switch normaliser!.normalise(fields, recordNumber: dataNumber, lineNumber: record.startLine) {
                case .failure(let rejection):
                    summary.quarantine.append(
                        QuarantinedRow(
                            record: dataNumber, line: record.startLine, field: rejection.field,
                            reason: rejection.reason,
                            raw: record.rawText, rawBytes: record.rawByteCount))
                case .success(let canonical):
                    if let tombstone = tombstones?.match(canonical) {
                        summary.quarantine.append(
                            QuarantinedRow(
                                record: dataNumber, line: record.startLine, field: "child",
                                reason: ErasureTombstones.heldReason(tombstone: tombstone),
                                raw: ErasureTombstones.withheldText, rawBytes: record.rawByteCount))
                    } else {
                        try Self.encode(canonical, batch: batch, feed: feed, kind: kind, into: &rows, scratch: &scratch)
                        if rows.bytes.count >= FeedLoader.bufferBytes { try flush(&rows) }
                    }
                }
            }
        }
        if rows.rows > 0 { try flush(&rows) }
        guard let normaliser else {
            throw FeedBatchError(.empty, "the file is empty: no header row", file: name)
        }
        summary.quality = normaliser.quality
        return summary
    }

    /// The normaliser for the file's header row. Header errors name this file and the header's line.
    func bindHeader(_ header: [String], line: Int) throws(FeedBatchError) -> RecordNormaliser {
        if let repeated = Self.repeatedMappedColumn(header, definition: definition) {
            let positions = repeated.positions.map(String.init).joined(separator: " and ")
            throw FeedBatchError(
                .header,
                "the header has the column '\(repeated.column)' \(repeated.positions.count) times (columns \(positions)) "
                    + "and the definition maps it (for \(repeated.fields.joined(separator: ", "))): which one holds the value "
                    + "is unclear, so the file is refused",
                file: name, line: line)
        }
        do {
            return try RecordNormaliser(definition: definition, header: header, today: today)
        } catch {
            var error = error
            error.file = name
            error.line = line
            throw error
        }
    }

    /// The first column the definition maps that the header holds more than once (names compared as
    /// the normaliser binds them: ignoring case and surrounding spaces), with its 1-based positions
    /// and the fields mapped to it; nil when there is none.
    static func repeatedMappedColumn(
        _ header: [String], definition: FeedDefinition
    ) -> (column: String, positions: [Int], fields: [String])? {
        var positions: [String: [Int]] = [:]
        for (index, name) in header.enumerated() {
            positions[name.trimmingSpaces.uppercased(), default: []].append(index + 1)
        }
        var mapped: [String: [String]] = [:]
        for (field, column) in definition.columns {
            mapped[column.trimmingSpaces.uppercased(), default: []].append(field.rawValue)
        }
        for (fact, column) in definition.facts {
            mapped[column.trimmingSpaces.uppercased(), default: []].append("fact." + fact)
        }
        for (extra, column) in definition.extras {
            mapped[column.trimmingSpaces.uppercased(), default: []].append("extra." + extra)
        }
        for key in mapped.keys.sorted() {
            guard let found = positions[key], found.count > 1 else { continue }
            return (header[found[0] - 1].trimmingSpaces, found, mapped[key]!.sorted())
        }
        return nil
    }

    /// One `source_records` row in the order of `FeedLoader.copyColumns`.
    static func encode(
        _ r: CanonicalRecord, batch: Int, feed: String, kind: String, into rows: inout CopyTextBuffer,
        scratch: inout [UInt8]
    ) throws {
        func date(_ value: CalendarDate?) throws {
            guard let value else { return rows.appendNull() }
            scratch.removeAll(keepingCapacity: true)
            value.appendISO8601(to: &scratch)
            try rows.appendField(utf8: scratch)
        }
        rows.appendField(batch)
        try rows.appendField(feed)
        try rows.appendField(kind)
        rows.appendField(r.recordNumber)
        rows.appendField(r.lineNumber)
        try rows.appendField(r.partnerRef)
        try rows.appendField(r.subject.rawValue)
        try rows.appendField(r.nhsNumber)
        try rows.appendField(r.nhsNumberRaw)
        try rows.appendField(r.upn)
        try rows.appendField(r.upnRaw)
        rows.appendField(r.upnTemporary)
        try rows.appendField(r.givenName)
        try rows.appendField(r.familyName)
        try rows.appendField(r.preferredGivenName)
        try rows.appendField(r.preferredFamilyName)
        try date(r.dob)
        if let age = r.approximateAge { rows.appendField(age) } else { rows.appendNull() }
        try rows.appendField(r.sex)
        try rows.appendField(r.addressLine1)
        try rows.appendField(r.addressLine2)
        try rows.appendField(r.town)
        try rows.appendField(r.postcode)
        try rows.appendField(r.postcodeRaw)
        try rows.appendField(r.uprn)
        try rows.appendField(r.carerNHSNumber)
        try rows.appendField(r.carerNHSNumberRaw)
        try rows.appendField(r.carerGivenName)
        try rows.appendField(r.carerFamilyName)
        try date(r.carerDOB)
        try rows.appendField(r.carerNINumber)
        try rows.appendField(r.carerNINumberRaw)
        scratch.removeAll(keepingCapacity: true)
        r.appendFactsJSON(to: &scratch)
        try rows.appendField(utf8: scratch)
        rows.endRow()
    }
}
