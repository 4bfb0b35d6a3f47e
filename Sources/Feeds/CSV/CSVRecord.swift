/// What `CSVReader.next()` returns for each record.
public enum CSVReadResult {
    /// A well-formed record (valid until the next call to `next()`).
    case record(CSVRecord)
    /// A record that could not be read; the reader has resynchronised and reading can go on.
    case malformed(CSVMalformedRecord)

    /// The record's number, counted from 1 over all records of the file, good and malformed.
    public var recordNumber: Int {
        switch self {
        case .record(let record): record.recordNumber
        case .malformed(let bad): bad.recordNumber
        }
    }

    /// The 1-based physical line where the record starts.
    public var startLine: Int {
        switch self {
        case .record(let record): record.startLine
        case .malformed(let bad): bad.startLine
        }
    }
}

/// One record, read lazily from the reader's buffer.
///
/// Valid only until the next call to `CSVReader.next()`: using it afterwards stops the program with a
/// precondition failure. Copy the fields you need (`field(_:)`, `fields`, `fieldBytes(_:)`) before reading on.
///
/// Field indexes are 0-based (`field(0)` is the first column); the `field` of a `CSVError` is 1-based.
public struct CSVRecord {
    private let reader: CSVReader  // keeps the buffers alive
    private let generation: UInt64
    private let base: UnsafePointer<UInt8>
    private let spans: UnsafePointer<CSVReader.FieldSpan>
    /// Number of this record in the file, from 1, counting every record: the header (if the file has one) is 1,
    /// and malformed records count too. Empty lines are not records.
    public let recordNumber: Int
    /// 1-based physical line where the record starts (after any empty lines before it).
    public let startLine: Int
    /// Number of physical lines the record spans (more than 1 when a quoted field contains line breaks).
    public let lineCount: Int
    /// Number of fields (at least 1).
    public let fieldCount: Int
    /// Length of the record as it is in the file, without its line ending.
    public let rawByteCount: Int
    private let isASCII: Bool
    /// False only when no field's content holds a byte that COPY text escapes (a backslash, or a
    /// control byte up to CR: tab, LF, CR…): then any part of any field can be written to COPY
    /// text as it is.
    let mayNeedCopyEscaping: Bool

    init(
        reader: CSVReader, generation: UInt64, base: UnsafePointer<UInt8>, spans: UnsafePointer<CSVReader.FieldSpan>,
        fieldCount: Int, recordNumber: Int, startLine: Int, lineCount: Int, rawByteCount: Int, isASCII: Bool,
        mayNeedCopyEscaping: Bool = true
    ) {
        self.reader = reader
        self.generation = generation
        self.base = base
        self.spans = spans
        self.fieldCount = fieldCount
        self.recordNumber = recordNumber
        self.startLine = startLine
        self.lineCount = lineCount
        self.rawByteCount = rawByteCount
        self.isASCII = isASCII
        self.mayNeedCopyEscaping = mayNeedCopyEscaping
    }

    @inline(__always)
    private func span(_ index: Int) -> CSVReader.FieldSpan {
        reader.checkValid(generation)
        precondition(index >= 0 && index < fieldCount, "CSV field index \(index) out of range 0..<\(fieldCount)")
        return spans[index]
    }

    /// Physical line where the record ends.
    public var endLine: Int { startLine + lineCount - 1 }

    /// Whether every byte of the record is ASCII.
    public var isASCIIOnly: Bool { isASCII }

    /// Field `index` (0-based) as text, decoded under the dialect's `TextEncodingPolicy`.
    public func field(_ index: Int) -> String {
        let isASCII = self.isASCII
        let policy = reader.dialect.encoding
        return withFieldBytes(index) { CSVText.decode($0, policy: policy, isASCII: isASCII) }
    }

    /// All fields as text.
    public var fields: [String] {
        (0..<fieldCount).map { field($0) }
    }

    /// Field `index` (0-based) as bytes, after removing the enclosing quotes and undoubling inner quotes; the
    /// bytes are as in the file, not decoded.
    public func fieldBytes(_ index: Int) -> [UInt8] {
        withFieldBytes(index) { Array($0) }
    }

    /// Calls `body` with the bytes of field `index` (0-based), without copying unless the field contains doubled
    /// quotes. The pointer is valid only inside `body`.
    public func withFieldBytes<Result, Failure: Error>(
        _ index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let span = span(index)
        let start = base + Int(span.start)
        let count = Int(span.end) - Int(span.start)
        if !span.escaped {
            return try body(UnsafeBufferPointer(start: start, count: count))
        }
        let quote = reader.dialect.quote
        var unescaped: [UInt8] = []
        unescaped.reserveCapacity(count)
        var i = 0
        while i < count {
            let byte = start[i]
            unescaped.append(byte)
            i += byte == quote ? 2 : 1  // inside a quoted field a quote is always doubled
        }
        return try unescaped.withUnsafeBufferPointer { (buffer) throws(Failure) -> Result in try body(buffer) }
    }

    /// The bytes of field `index` (0-based) where they lie in the reader's buffer, without copying;
    /// nil when the field holds doubled quotes (its content then differs from its bytes). Valid
    /// until the next call to `CSVReader.next()`.
    func bytesInPlace(_ index: Int) -> UnsafeBufferPointer<UInt8>? {
        let span = span(index)
        if span.escaped { return nil }
        return UnsafeBufferPointer(start: base + Int(span.start), count: Int(span.end) - Int(span.start))
    }

    /// The record's fields where they lie in the reader's buffer, checked valid once: for code that
    /// reads many fields of one record (the loader's lane). Valid until the next `CSVReader.next()`.
    func inPlaceFields() -> InPlaceFields {
        reader.checkValid(generation)
        return InPlaceFields(base: base, spans: spans, count: fieldCount)
    }

    /// Number of bytes of field `index` (0-based), after undoubling quotes.
    public func fieldByteCount(_ index: Int) -> Int {
        withFieldBytes(index) { $0.count }
    }

    /// Whether field `index` (0-based) was enclosed in quotes in the file: tells `""` (an empty string) from an
    /// empty unquoted field (often meant as NULL).
    public func isFieldQuoted(_ index: Int) -> Bool {
        span(index).quoted
    }

    /// The record as it is in the file, without its line ending (and without the byte order mark of the file).
    public var rawBytes: [UInt8] {
        reader.checkValid(generation)
        return Array(UnsafeBufferPointer(start: base, count: rawByteCount))
    }

    /// `rawBytes` as text: UTF-8 when valid (and the policy is not `.windows1252`), otherwise Windows-1252.
    public var rawText: String {
        reader.checkValid(generation)
        return CSVText.quarantineText(
            UnsafeBufferPointer(start: base, count: rawByteCount), policy: reader.dialect.encoding)
    }
}

/// The fields of one record, read in place (see `CSVRecord.inPlaceFields`).
struct InPlaceFields {
    let base: UnsafePointer<UInt8>
    let spans: UnsafePointer<CSVReader.FieldSpan>
    let count: Int

    /// Field `index`'s bytes, as `CSVRecord.bytesInPlace` gives them: nil when the field holds
    /// doubled quotes.
    @inline(__always)
    func bytes(_ index: Int) -> UnsafeBufferPointer<UInt8>? {
        precondition(index >= 0 && index < count, "CSV field index \(index) out of range 0..<\(count)")
        let span = spans[index]
        if span.escaped { return nil }
        return UnsafeBufferPointer(start: base + Int(span.start), count: Int(span.end) - Int(span.start))
    }
}

/// A record that could not be read, with what is needed to quarantine it. Owns its bytes.
public struct CSVMalformedRecord: Sendable {
    /// What was wrong and where. Its description never contains the record's contents.
    public let error: CSVError
    /// Number of the record in the file (see `CSVRecord.recordNumber`).
    public let recordNumber: Int
    /// 1-based physical line where the record starts.
    public let startLine: Int
    /// The record's bytes as in the file, without the line ending, cut at `maxRecordBytes` (then
    /// `rawTruncated` is true). For `.unterminatedQuote`, the first physical line of the record.
    public let rawBytes: [UInt8]
    /// Whether `rawBytes` was cut at `maxRecordBytes`.
    public let rawTruncated: Bool
    /// Length in bytes, in the file, of what `rawBytes` holds or was cut from (the record, or for
    /// `.unterminatedQuote` its first line; without the line ending): `rawBytes.count` unless truncated.
    public let rawLength: Int
    private let encoding: TextEncodingPolicy

    init(
        error: CSVError, recordNumber: Int, startLine: Int, rawBytes: [UInt8], rawTruncated: Bool,
        rawLength: Int? = nil, encoding: TextEncodingPolicy
    ) {
        self.error = error
        self.recordNumber = recordNumber
        self.startLine = startLine
        self.rawBytes = rawBytes
        self.rawTruncated = rawTruncated
        self.rawLength = rawLength ?? rawBytes.count
        self.encoding = encoding
    }

    /// `rawBytes` as text for a quarantine table: UTF-8 when valid (and the policy is not `.windows1252`),
    /// otherwise Windows-1252 (every byte maps to a character); NUL bytes become U+FFFD, so the text can be
    /// stored in a PostgreSQL `text` column.
    public var rawText: String {
        rawBytes.withUnsafeBufferPointer { CSVText.quarantineText($0, policy: encoding) }
    }
}
