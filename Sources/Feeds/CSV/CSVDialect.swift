/// How bytes in a CSV file are turned into text.
public enum TextEncodingPolicy: String, Sendable, CaseIterable {
    /// Fields must be valid UTF-8; a record with invalid UTF-8 is reported as malformed (`.invalidEncoding`).
    case utf8
    /// Every byte is a Windows-1252 (CP-1252) character, including 0x80–0x9F (0x80 is €, 0x92 is ’, 0x96 is –).
    /// The five bytes CP-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) map to the C1 controls of the same
    /// value, as in the WHATWG Encoding Standard.
    case windows1252
    /// Each field that is valid UTF-8 is read as UTF-8; any other field is read as Windows-1252. Never an error.
    case utf8OrWindows1252
}

/// The shape of a CSV file: RFC 4180 with a choice of delimiter, quote character, text encoding and size limits.
public struct CSVDialect: Sendable, Equatable {
    /// Byte that separates fields (default `,`). Must not be the quote, CR, LF or NUL.
    public var delimiter: UInt8
    /// Byte that encloses a quoted field; doubled inside one it stands for itself (default `"`).
    public var quote: UInt8
    /// How field bytes become `String`s, and whether invalid UTF-8 is an error.
    public var encoding: TextEncodingPolicy
    /// Largest field, in bytes as they appear in the file between the delimiters (for a quoted field: between
    /// the quotes, doubled quotes counting two). A larger field makes its record malformed (`.fieldTooLarge`).
    public var maxFieldBytes: Int
    /// Largest record, in bytes as they appear in the file without the line ending. A larger record is malformed
    /// (`.recordTooLarge`) and the rest of its line is skipped without being buffered. At most 1 GiB.
    public var maxRecordBytes: Int
    /// Whether a quoted field may hold line breaks, so that one record spans several lines (RFC 4180;
    /// the default). When false, a line break always ends the record: a quoted field still open at
    /// the end of its line makes that one line malformed (`.unterminatedQuote`), and the next line
    /// is read as the next record, so one stray quote costs one line, not every line up to the
    /// next quote.
    public var recordsSpanLines: Bool

    public init(
        delimiter: UInt8 = UInt8(ascii: ","),
        quote: UInt8 = UInt8(ascii: "\""),
        encoding: TextEncodingPolicy = .utf8,
        maxFieldBytes: Int = 1 << 20,
        maxRecordBytes: Int = 4 << 20,
        recordsSpanLines: Bool = true
    ) {
        self.delimiter = delimiter
        self.quote = quote
        self.encoding = encoding
        self.maxFieldBytes = maxFieldBytes
        self.maxRecordBytes = maxRecordBytes
        self.recordsSpanLines = recordsSpanLines
    }

    /// RFC 4180: comma, double quote, UTF-8, default limits.
    public static let rfc4180 = CSVDialect()
}
