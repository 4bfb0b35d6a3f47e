/// An error from the database layer.
///
/// `description` is safe to log: it carries the SQLSTATE, the condition and the server's
/// primary message with quoted values redacted for data exceptions (class 22), because a value
/// that failed to parse may be a child's name or date of birth. `debugDescription` keeps
/// everything, including the server's DETAIL, for a developer at a terminal.
public struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }

        /// The server could not be reached or refused the connection.
        public static let connection = Code(name: "connection")
        /// The server rejected a statement; `sqlState` says why.
        public static let server = Code(name: "server")
        /// A parameter could not be sent (e.g. it holds a NUL byte, which PostgreSQL text cannot).
        public static let invalidParameter = Code(name: "invalidParameter")
        /// A column could not be decoded into the requested Swift type.
        public static let decoding = Code(name: "decoding")
        /// The COPY protocol went wrong.
        public static let copy = Code(name: "copy")
        /// A migration file is missing, malformed, or was changed after it was applied.
        public static let migration = Code(name: "migration")
        /// The connection is not in a state to run the request (closed, or busy with COPY).
        public static let misuse = Code(name: "misuse")
    }

    public var code: Code
    /// Five-character SQLSTATE from the server, when the server sent one.
    public var sqlState: String?
    /// The server's (or libpq's) primary message.
    public var message: String
    /// The server's DETAIL line; may contain data values, so it is never in `description`.
    public var detail: String?
    /// The statement or file the error concerns (SQL text, never parameter values).
    public var context: String?
    public var file: String
    public var line: Int

    public init(
        _ code: Code, message: String, sqlState: String? = nil, detail: String? = nil, context: String? = nil,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.context = context
        self.file = file
        self.line = line
    }

    /// True for SQLSTATE class 08 (connection exception) and for libpq-level connection losses:
    /// the caller may reconnect and retry the whole transaction.
    public var isConnectionLoss: Bool {
        code == .connection || (sqlState?.hasPrefix("08") ?? false) || sqlState == "57P01"
    }

    public var description: String {
        var text = "database error (\(code))"
        if let sqlState { text += " SQLSTATE \(sqlState)" }
        text += ": " + (sqlState?.hasPrefix("22") == true ? Self.redactQuoted(message) : message)
        if let context, code == .migration { text += " [\(context)]" }
        return text
    }

    public var debugDescription: String {
        var text = description
        if sqlState?.hasPrefix("22") == true { text += "\n  message: \(message)" }
        if let detail { text += "\n  detail: \(detail)" }
        if let context { text += "\n  context: \(context)" }
        text += "\n  at \(file):\(line)"
        return text
    }

    /// Replaces the contents of double-quoted runs with an ellipsis: PostgreSQL quotes the offending
    /// input value in data-exception messages (`invalid input syntax for type date: "…"`).
    static func redactQuoted(_ message: String) -> String {
        var out = ""
        var inside = false
        for ch in message {
            if ch == "\"" {
                out.append(ch)
                if !inside { out.append("…") }
                inside.toggle()
            } else if !inside {
                out.append(ch)
            }
        }
        return out
    }
}
