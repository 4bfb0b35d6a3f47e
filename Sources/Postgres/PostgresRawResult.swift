import CLibPQ

/// A whole result, read in place from libpq's buffer: no per-row allocation, and integers parsed
/// straight from their text. For hot paths whose result fits in memory (a `forEachRow` stream pays
/// for one libpq result and one array of strings per row).
///
/// Valid only inside the `withRawResult` body that received it; do not keep it.
public struct PostgresRawResult {
    let result: OpaquePointer

    public var rowCount: Int { Int(PQntuples(result)) }
    public var columnCount: Int { Int(PQnfields(result)) }

    public func isNull(_ row: Int, _ column: Int) -> Bool {
        PQgetisnull(result, Int32(row), Int32(column)) == 1
    }

    /// The column's text, or nil for NULL.
    public func string(_ row: Int, _ column: Int) -> String? {
        isNull(row, column) ? nil : String(cString: PQgetvalue(result, Int32(row), Int32(column)))
    }

    /// The column's bytes (empty for NULL or the empty string), valid while the body runs.
    public func bytes(_ row: Int, _ column: Int) -> UnsafeBufferPointer<UInt8> {
        let length = Int(PQgetlength(result, Int32(row), Int32(column)))
        guard length > 0, let pointer = PQgetvalue(result, Int32(row), Int32(column)) else {
            return UnsafeBufferPointer(start: nil, count: 0)
        }
        return UnsafeRawPointer(pointer).withMemoryRebound(to: UInt8.self, capacity: length) {
            UnsafeBufferPointer(start: $0, count: length)
        }
    }

    /// A bigint/integer column; nil for NULL or text that is not a decimal integer in range.
    public func int64(_ row: Int, _ column: Int) -> Int64? {
        let text = bytes(row, column)
        guard !text.isEmpty else { return nil }
        var index = 0
        let negative = text[0] == UInt8(ascii: "-")
        if negative { index = 1 }
        guard index < text.count else { return nil }
        var value: Int64 = 0
        while index < text.count {
            let digit = text[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) =
                negative
                ? times.subtractingReportingOverflow(Int64(digit)) : times.addingReportingOverflow(Int64(digit))
            guard !overflow1 && !overflow2 else { return nil }
            value = sum
            index += 1
        }
        return value
    }
}

extension PostgresConnection {
    /// Runs a query and hands its whole result to `body`, read in place (see `PostgresRawResult`).
    /// The result lives in libpq's memory until `body` returns: use `forEachRow` for results too
    /// large to hold at once.
    public func withRawResult<T>(
        _ sql: String, _ parameters: [any PostgresEncodable] = [], _ body: (PostgresRawResult) throws -> T
    ) throws -> T {
        try withRawResultPointer(sql, parameters) { try body(PostgresRawResult(result: $0)) }
    }
}

extension PostgresRawResult {
    /// A received result handed to several threads, each reading its own rows: libpq's accessors
    /// only read a result once it is received, and nothing clears it while the body that received
    /// it runs. Nobody writes through it.
    package struct SharedForReading: @unchecked Sendable {
        package let result: PostgresRawResult

        package init(_ result: PostgresRawResult) { self.result = result }
    }
}
