import CLibPQ
import Foundation

/// A notice or warning the server sent while a statement ran (e.g. `RAISE NOTICE`).
public struct PostgresNotice: Sendable {
    public var severity: String
    public var sqlState: String?
    public var message: String
}

/// One connection to PostgreSQL over libpq.
///
/// Threading: libpq allows one thread on a connection at a time, so this type is deliberately
/// **not** `Sendable`: the compiler keeps a connection inside the task or thread that made it.
/// Each concurrent worker opens its own. All calls block the calling thread: keep them off the
/// cooperative pool (run them on a dedicated thread or queue).
public final class PostgresConnection {
    private var handle: OpaquePointer?
    private let noticeSink: NoticeSink
    /// Where to send the server's notices; by default they are dropped (libpq would print them to stderr).
    public var noticeHandler: ((PostgresNotice) -> Void)? {
        get { noticeSink.handler }
        set { noticeSink.handler = newValue }
    }

    private init(handle: OpaquePointer) {
        self.handle = handle
        self.noticeSink = NoticeSink()
        PQsetNoticeReceiver(handle, postgresNoticeReceiver, Unmanaged.passUnretained(noticeSink).toOpaque())
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// Opens a connection from a libpq connection string (`host=… dbname=…`) or URL (`postgresql://…`).
    ///
    /// Passwords belong in a password file (`passfile=` or `PGPASSFILE`, or a systemd credential),
    /// never in a command line. The session is pinned to UTC, ISO dates and UTF-8 so that values
    /// decode the same way whatever the server's defaults are.
    public static func connect(
        _ connectionString: String, applicationName: String = "familyconnect"
    )
        throws(PostgresError) -> PostgresConnection
    {
        guard let handle = PQconnectdb(connectionString) else {
            throw PostgresError(.connection, message: "libpq could not allocate a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = Self.libpqMessage(handle)
            PQfinish(handle)
            throw PostgresError(.connection, message: message)
        }
        let connection = PostgresConnection(handle: handle)
        try connection.execute(
            "SELECT set_config('TimeZone', 'UTC', false), set_config('DateStyle', 'ISO, YMD', false),"
                + " set_config('client_encoding', 'UTF8', false), set_config('application_name', $1, false)",
            [applicationName])
        return connection
    }

    /// The parameters this connection was opened with, as a libpq connection string (libpq's
    /// `PQconninfo`): to open a second connection to the same database as the same role, with the
    /// same password file, for work that runs beside this connection's on another thread. Never
    /// log it: it holds a password when the caller's connection string did.
    public func connectionParameters() throws(PostgresError) -> String {
        let handle = try liveHandle()
        guard let options = PQconninfo(handle) else {
            throw PostgresError(.connection, message: "libpq could not list the connection's parameters")
        }
        defer { PQconninfoFree(options) }
        var parts: [String] = []
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val, value.pointee != 0 {
                parts.append(String(cString: keyword) + "=" + Self.quotedParameter(String(cString: value)))
            }
            option += 1
        }
        return parts.joined(separator: " ")
    }

    /// A value as libpq's connection strings quote it: in single quotes, `\` and `'` escaped by a backslash.
    static func quotedParameter(_ value: String) -> String {
        var quoted = "'"
        for character in value {
            if character == "\\" || character == "'" { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "'"
    }

    /// Closes the connection now rather than at deinit.
    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    /// Whether libpq still considers the connection usable.
    public var isOpen: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// The server's process id for this session, useful in logs and for `pg_terminate_backend` in tests.
    public var backendPID: Int32 {
        guard let handle else { return 0 }
        return PQbackendPID(handle)
    }

    // MARK: Statements

    /// Runs one parameterised statement and returns all its rows. Values are always sent as
    /// parameters (`$1`, `$2`, …), never spliced into the SQL text.
    @discardableResult
    public func execute(
        _ sql: String, _ parameters: [any PostgresEncodable] = []
    ) throws(PostgresError)
        -> PostgresResult
    {
        let handle = try liveHandle()
        let result = try withParameters(parameters) { count, values in
            PQexecParams(handle, sql, count, nil, values, nil, nil, 0)
        }
        defer { PQclear(result) }
        try check(result, sql: sql, accepting: [PGRES_COMMAND_OK, PGRES_TUPLES_OK])
        return Self.materialise(result!)
    }

    /// Runs a query and passes libpq's result to `body` before clearing it (`withRawResult`).
    func withRawResultPointer<T>(
        _ sql: String, _ parameters: [any PostgresEncodable], _ body: (OpaquePointer) throws -> T
    ) throws -> T {
        let handle = try liveHandle()
        let result = try withParameters(parameters) { count, values in
            PQexecParams(handle, sql, count, nil, values, nil, nil, 0)
        }
        defer { PQclear(result) }
        try check(result, sql: sql, accepting: [PGRES_TUPLES_OK])
        return try body(result!)
    }

    /// Shorthand for `execute(…).rows`.
    public func query(
        _ sql: String, _ parameters: [any PostgresEncodable] = []
    ) throws(PostgresError)
        -> [PostgresRow]
    {
        try execute(sql, parameters).rows
    }

    /// Runs a script of several statements with no parameters (migrations). Statements run in one
    /// implicit transaction unless the script has its own BEGIN/COMMIT.
    public func executeScript(_ sql: String) throws(PostgresError) {
        let handle = try liveHandle()
        guard let result = PQexec(handle, sql) else {
            throw PostgresError(.connection, message: Self.libpqMessage(handle))
        }
        defer { PQclear(result) }
        try check(result, sql: nil, accepting: [PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY])
    }

    /// Streams a large result row by row (libpq single-row mode): memory stays constant however
    /// many rows there are. The body must not use this connection.
    public func forEachRow(
        _ sql: String, _ parameters: [any PostgresEncodable] = [], _ body: (PostgresRow) throws -> Void
    ) throws {
        let handle = try liveHandle()
        let sent = try withParameters(parameters) { count, values in
            PQsendQueryParams(handle, sql, count, nil, values, nil, nil, 0)
        }
        guard sent == 1 else { throw PostgresError(.connection, message: Self.libpqMessage(handle), context: sql) }
        PQsetSingleRowMode(handle)
        var firstError: Error?
        var columns: PostgresColumns?
        // Every result must be drained, even after an error, or the connection stays busy.
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            if firstError != nil { continue }
            switch PQresultStatus(result) {
            case PGRES_SINGLE_TUPLE:
                let names = columns ?? Self.columns(of: result)
                columns = names
                let row = PostgresRow(columns: names, values: Self.values(of: result, row: 0))
                do { try body(row) } catch { firstError = error }
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
                break
            default:
                do { try check(result, sql: sql, accepting: []) } catch { firstError = error }
            }
        }
        if let firstError { throw firstError }
    }

    // MARK: Transactions

    /// Whether a transaction block is open on this connection (BEGIN without COMMIT or ROLLBACK yet).
    public var inTransaction: Bool {
        guard let handle else { return false }
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    /// Runs `body` inside BEGIN … COMMIT. Any error thrown by the body (or by COMMIT) rolls the
    /// transaction back and is rethrown, so nothing of a failed transaction is left behind.
    public func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try execute("BEGIN")
        let value: T
        do {
            value = try body(self)
        } catch {
            rollbackQuietly()
            throw error
        }
        do {
            try execute("COMMIT")
        } catch {
            rollbackQuietly()
            throw error
        }
        return value
    }

    private func rollbackQuietly() {
        guard let handle, PQstatus(handle) == CONNECTION_OK else { return }
        if let result = PQexec(handle, "ROLLBACK") { PQclear(result) }
    }

    // MARK: Advisory locks

    /// Takes a session-level advisory lock if it is free. Session locks vanish silently when the
    /// connection drops: after a reconnect, take it again.
    public func tryAdvisoryLock(_ key: Int64) throws(PostgresError) -> Bool {
        try execute("SELECT pg_try_advisory_lock($1::bigint)", [key]).scalar(Bool.self)
    }

    /// Waits for a session-level advisory lock.
    public func advisoryLock(_ key: Int64) throws(PostgresError) {
        try execute("SELECT pg_advisory_lock($1::bigint)", [key])
    }

    @discardableResult
    public func advisoryUnlock(_ key: Int64) throws(PostgresError) -> Bool {
        try execute("SELECT pg_advisory_unlock($1::bigint)", [key]).scalar(Bool.self)
    }

    /// Takes a transaction-level advisory lock (released at COMMIT or ROLLBACK); call inside `transaction`.
    public func advisoryTransactionLock(_ key: Int64) throws(PostgresError) {
        try execute("SELECT pg_advisory_xact_lock($1::bigint)", [key])
    }

    // MARK: COPY

    /// Bulk-loads rows with `COPY … FROM STDIN` (text format). The body writes rows through the
    /// writer; when it returns, the COPY ends and the server's verdict is checked. If the body
    /// throws, the COPY is aborted and nothing it wrote is kept. Returns the rows the server loaded.
    @discardableResult
    public func copyIn(_ sql: String, _ body: (inout CopyInWriter) throws -> Void) throws -> Int {
        let handle = try liveHandle()
        guard let start = PQexec(handle, sql) else {
            throw PostgresError(.connection, message: Self.libpqMessage(handle), context: sql)
        }
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            defer { PQclear(start) }
            try check(start, sql: sql, accepting: [])
            throw PostgresError(.copy, message: "statement did not start COPY FROM STDIN", context: sql)
        }
        PQclear(start)
        var writer = CopyInWriter(handle: handle)
        var bodyError: Error?
        do {
            try body(&writer)
            try writer.flush()
        } catch {
            bodyError = error
        }
        let ended = bodyError == nil ? PQputCopyEnd(handle, nil) : PQputCopyEnd(handle, "aborted by client")
        var serverError: PostgresError?
        var loaded = 0
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            if PQresultStatus(result) == PGRES_COMMAND_OK {
                loaded = Int(String(cString: PQcmdTuples(result))) ?? 0
            } else if bodyError == nil && serverError == nil {
                do { try check(result, sql: sql, accepting: []) } catch { serverError = error }
            }
        }
        if let bodyError { throw bodyError }
        if ended != 1 { throw PostgresError(.copy, message: Self.libpqMessage(handle), context: sql) }
        if let serverError { throw serverError }
        return loaded
    }

    // MARK: Batches from a cursor, the next fetched while one is handled

    /// Runs a query through a cursor and hands each batch of up to `batchSize` rows to `body`, read
    /// in place (see `PostgresRawResult`): memory stays in proportion to two batches, and no row
    /// costs an array of strings. The next batch is asked for before `body` handles the current
    /// one, so the server reads it meanwhile (both cores busy, not one after the other). Must run
    /// inside a transaction (the cursor closes with it at the latest); `cursor` names it, unique
    /// among the cursors open on this connection. Every row is planned to be read
    /// (`cursor_tuple_fraction` 1 for the transaction), not the first few.
    public func forEachBatch(
        _ sql: String, _ parameters: [any PostgresEncodable] = [], cursor: String, batchSize: Int = 50_000,
        _ body: (PostgresRawResult) throws -> Void
    ) throws {
        try execute("SET LOCAL cursor_tuple_fraction = 1")
        try execute("DECLARE \(cursor) NO SCROLL CURSOR FOR " + sql, parameters)
        let fetch = "FETCH \(batchSize) FROM \(cursor)"
        var pending = false
        defer {
            // A batch asked for and not received (the body failed) must be drained before CLOSE.
            if pending, let result = try? receiveWhole(fetch) { PQclear(result) }
            _ = try? execute("CLOSE \(cursor)")
        }
        try send(fetch)
        pending = true
        while true {
            let result = try receiveWhole(fetch)
            pending = false
            defer { PQclear(result) }
            let rows = Int(PQntuples(result))
            if rows == 0 { break }
            if rows == batchSize {
                try send(fetch)
                pending = true
            }
            try body(PostgresRawResult(result: result))
            if !pending { break }
        }
    }

    /// Sends a statement without parameters and returns at once; `receiveWhole` waits for its result.
    private func send(_ sql: String) throws(PostgresError) {
        let handle = try liveHandle()
        guard PQsendQueryParams(handle, sql, 0, nil, nil, nil, nil, 0) == 1 else {
            throw PostgresError(.connection, message: Self.libpqMessage(handle), context: sql)
        }
    }

    /// The rows of the statement last sent, once all have arrived (the caller clears the result).
    private func receiveWhole(_ sql: String) throws(PostgresError) -> OpaquePointer {
        let handle = try liveHandle()
        var kept: OpaquePointer?
        var firstError: PostgresError?
        // Every result must be drained, even after an error, or the connection stays busy.
        while let result = PQgetResult(handle) {
            if kept == nil && firstError == nil {
                do throws(PostgresError) {
                    try check(result, sql: sql, accepting: [PGRES_TUPLES_OK])
                    kept = result
                    continue
                } catch {
                    firstError = error
                }
            }
            PQclear(result)
        }
        if let firstError { throw firstError }
        guard let kept else { throw PostgresError(.connection, message: Self.libpqMessage(handle), context: sql) }
        return kept
    }

    // MARK: Internals

    private func liveHandle() throws(PostgresError) -> OpaquePointer {
        guard let handle else { throw PostgresError(.misuse, message: "the connection is closed") }
        if PQstatus(handle) != CONNECTION_OK {
            throw PostgresError(.connection, message: "the connection was lost: " + Self.libpqMessage(handle))
        }
        return handle
    }

    /// Builds the `const char * const *` array libpq wants; Swift bridges one String, not an array.
    private func withParameters<R>(
        _ parameters: [any PostgresEncodable],
        _ body: (Int32, UnsafePointer<UnsafePointer<CChar>?>?) -> R
    ) throws(PostgresError) -> R {
        var copies: [UnsafeMutablePointer<CChar>?] = []
        copies.reserveCapacity(parameters.count)
        defer { for copy in copies { free(copy) } }
        for (index, parameter) in parameters.enumerated() {
            guard let text = parameter.postgresText else {
                copies.append(nil)
                continue
            }
            if text.utf8.contains(0) {
                throw PostgresError(
                    .invalidParameter,
                    message: "parameter $\(index + 1) contains a NUL byte, which PostgreSQL text cannot hold")
            }
            copies.append(strdup(text))
        }
        return copies.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: max(1, buffer.count)) {
                body(Int32(parameters.count), parameters.isEmpty ? nil : $0)
            }
        }
    }

    private func check(_ result: OpaquePointer?, sql: String?, accepting: [ExecStatusType]) throws(PostgresError) {
        guard let result else {
            throw PostgresError(.connection, message: Self.libpqMessage(handle), context: sql)
        }
        let status = PQresultStatus(result)
        if accepting.contains(status) { return }
        func field(_ code: Character) -> String? {
            guard let pointer = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: pointer)
        }
        let sqlState = field("C")
        let message = field("M") ?? String(cString: PQresultErrorMessage(result))
        throw PostgresError(
            sqlState == nil && PQstatus(handle) != CONNECTION_OK ? .connection : .server,
            message: message.trimmingCharacters(in: .whitespacesAndNewlines),
            sqlState: sqlState, detail: field("D"), context: sql)
    }

    static func libpqMessage(_ handle: OpaquePointer?) -> String {
        guard let handle, let pointer = PQerrorMessage(handle) else { return "unknown libpq error" }
        let text = String(cString: pointer).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "unknown libpq error" : text
    }

    private static func columns(of result: OpaquePointer) -> PostgresColumns {
        PostgresColumns(names: (0..<PQnfields(result)).map { String(cString: PQfname(result, $0)) })
    }

    private static func values(of result: OpaquePointer, row: Int32) -> [String?] {
        (0..<PQnfields(result)).map { column in
            PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
        }
    }

    private static func materialise(_ result: OpaquePointer) -> PostgresResult {
        let columns = columns(of: result)
        let rows = (0..<PQntuples(result)).map { PostgresRow(columns: columns, values: values(of: result, row: $0)) }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return PostgresResult(columns: columns, rows: rows, affectedRows: affected)
    }
}

@available(*, unavailable, message: "a PostgresConnection belongs to one thread at a time; open one per worker")
extension PostgresConnection: Sendable {}

/// Holds the notice handler where the C callback can reach it; owned by its connection.
private final class NoticeSink {
    var handler: ((PostgresNotice) -> Void)?
}

private func postgresNoticeReceiver(_ context: UnsafeMutableRawPointer?, _ result: OpaquePointer?) {
    guard let context, let result else { return }
    let sink = Unmanaged<NoticeSink>.fromOpaque(context).takeUnretainedValue()
    guard let handler = sink.handler else { return }
    func field(_ code: Character) -> String? {
        guard let pointer = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
        return String(cString: pointer)
    }
    handler(PostgresNotice(severity: field("V") ?? "NOTICE", sqlState: field("C"), message: field("M") ?? ""))
}
