#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A problem with one CSV record (or, for `.io`, with reading the file).
///
/// `description` says what went wrong and where (line, field), and never shows any of the file's contents:
/// CSV files carry personal data, and errors end up in logs.
public struct CSVError: Error, Sendable, CustomStringConvertible {
    /// What went wrong. A struct rather than an enum so that codes can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A quoted field was still open at the end of the file (or, when records do not span lines, of its line).
        public static let unterminatedQuote = Code("unterminatedQuote")
        /// A quote character inside an unquoted field, as in `ab"c`.
        public static let unexpectedQuote = Code("unexpectedQuote")
        /// Something other than a delimiter or line end after a closing quote, as in `"ab"c`.
        public static let textAfterClosingQuote = Code("textAfterClosingQuote")
        /// A field longer than `CSVDialect.maxFieldBytes`.
        public static let fieldTooLarge = Code("fieldTooLarge")
        /// A record longer than `CSVDialect.maxRecordBytes`.
        public static let recordTooLarge = Code("recordTooLarge")
        /// A NUL (0x00) byte.
        public static let nulByte = Code("nulByte")
        /// Bytes that are not valid UTF-8 under `TextEncodingPolicy.utf8`.
        public static let invalidEncoding = Code("invalidEncoding")
        /// The file could not be opened or read.
        public static let io = Code("io")
    }

    public var code: Code
    /// 1-based physical line where the problem was found (for `.unterminatedQuote`: where the record starts;
    /// 0 when no line applies, as for a file that cannot be opened).
    public var line: Int
    /// 1-based column of the field concerned, when one is.
    public var field: Int?
    /// `errno` of a failed system call, for `.io`.
    public var systemError: Int32?

    public init(code: Code, line: Int, field: Int? = nil, systemError: Int32? = nil) {
        self.code = code
        self.line = line
        self.field = field
        self.systemError = systemError
    }

    public var description: String {
        var location = line > 0 ? " at line \(line)" : ""
        if let field { location += ", field \(field)" }
        switch code {
        case .unterminatedQuote:
            return
                "CSV unterminatedQuote: quoted field still open at the end of the file or line (record starts\(location))"
        case .unexpectedQuote: return "CSV unexpectedQuote: quote character inside an unquoted field\(location)"
        case .textAfterClosingQuote: return "CSV textAfterClosingQuote: text after a closing quote\(location)"
        case .fieldTooLarge: return "CSV fieldTooLarge: field larger than the maximum field size\(location)"
        case .recordTooLarge: return "CSV recordTooLarge: record larger than the maximum record size\(location)"
        case .nulByte: return "CSV nulByte: NUL byte\(location)"
        case .invalidEncoding: return "CSV invalidEncoding: invalid UTF-8\(location)"
        case .io:
            let reason = systemError.map { String(cString: strerror($0)) } ?? "unknown error"
            return "CSV io: cannot read the file\(location): \(reason)"
        default: return "CSV \(code)\(location)"
        }
    }
}
