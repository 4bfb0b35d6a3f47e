/// Writes CSV (RFC 4180): a field is quoted when it contains the delimiter, the quote, CR or LF, with inner
/// quotes doubled; rows end with CRLF or LF.
///
/// ```swift
/// let writer = CSVWriter(lineEnding: .lf)
/// var out: [UInt8] = []
/// writer.appendRow(["id", "name"], to: &out)
/// writer.appendRow(["1", "O\"Brien, Ann"], to: &out)   // 1,"O""Brien, Ann"
/// ```
public struct CSVWriter: Sendable {
    public enum LineEnding: Sendable {
        case crlf, lf
    }

    public var delimiter: UInt8
    public var quote: UInt8
    public var lineEnding: LineEnding

    public init(
        delimiter: UInt8 = UInt8(ascii: ","), quote: UInt8 = UInt8(ascii: "\""), lineEnding: LineEnding = .crlf
    ) {
        precondition(delimiter != quote, "CSV delimiter and quote must differ")
        self.delimiter = delimiter
        self.quote = quote
        self.lineEnding = lineEnding
    }

    /// Whether `field` has to be quoted.
    public func needsQuoting(_ field: some Sequence<UInt8>) -> Bool {
        field.contains { $0 == delimiter || $0 == quote || $0 == 0x0A || $0 == 0x0D }
    }

    /// Appends one field (quoted if needed), without delimiter or line ending.
    public func appendField(_ field: some Collection<UInt8>, to output: inout [UInt8]) {
        guard needsQuoting(field) else {
            output.append(contentsOf: field)
            return
        }
        output.append(quote)
        for byte in field {
            output.append(byte)
            if byte == quote { output.append(quote) }
        }
        output.append(quote)
    }

    /// Appends a row of byte fields and its line ending.
    public func appendRow<Field: Collection<UInt8>>(_ fields: some Collection<Field>, to output: inout [UInt8]) {
        if fields.count == 1, let only = fields.first, only.isEmpty {
            // A lone empty field would be an empty line, which readers skip.
            output.append(quote)
            output.append(quote)
        } else {
            var first = true
            for field in fields {
                if !first { output.append(delimiter) }
                first = false
                appendField(field, to: &output)
            }
        }
        switch lineEnding {
        case .crlf: output.append(contentsOf: [0x0D, 0x0A])
        case .lf: output.append(0x0A)
        }
    }

    /// Appends a row of text fields (as UTF-8) and its line ending.
    public func appendRow(_ fields: [String], to output: inout [UInt8]) {
        appendRow(fields.map { $0.utf8 }, to: &output)
    }

    /// One row of text fields as UTF-8 bytes, with its line ending.
    public func encodeRow(_ fields: [String]) -> [UInt8] {
        var output: [UInt8] = []
        appendRow(fields, to: &output)
        return output
    }
}
