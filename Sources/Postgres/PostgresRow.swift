/// Column names of a result, shared by all its rows.
public final class PostgresColumns: Sendable {
    public let names: [String]
    let indexByName: [String: Int]

    init(names: [String]) {
        self.names = names
        var index: [String: Int] = [:]
        for (position, name) in names.enumerated() where index[name] == nil { index[name] = position }
        self.indexByName = index
    }
}

/// One row of a result, in text format. Decode columns by position or by name.
public struct PostgresRow: Sendable {
    public let columns: PostgresColumns
    /// Raw text of each column; nil is SQL NULL.
    public let values: [String?]

    public init(columns: PostgresColumns, values: [String?]) {
        self.columns = columns
        self.values = values
    }

    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, at index: Int) throws(PostgresError) -> T {
        guard values.indices.contains(index) else {
            throw PostgresError(.decoding, message: "no column at position \(index)")
        }
        do {
            return try T.decode(postgresText: values[index])
        } catch {
            throw PostgresError(
                .decoding,
                message: "column \"\(columns.names[index])\" "
                    + (error.wasNull ? "is NULL, expected \(error.expected)" : "is not a valid \(error.expected)"))
        }
    }

    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, _ name: String) throws(PostgresError) -> T {
        guard let index = columns.indexByName[name] else {
            throw PostgresError(.decoding, message: "no column named \"\(name)\"")
        }
        return try decode(type, at: index)
    }
}

/// The outcome of a statement: its rows (if any) and the number of rows it affected.
public struct PostgresResult: Sendable {
    public let columns: PostgresColumns
    public let rows: [PostgresRow]
    /// From the command tag (`INSERT 0 5` → 5); 0 where the command reports none.
    public let affectedRows: Int

    /// The first column of the first row, e.g. `SELECT count(*)`.
    public func scalar<T: PostgresDecodable>(_ type: T.Type = T.self) throws(PostgresError) -> T {
        guard let row = rows.first else { throw PostgresError(.decoding, message: "the query returned no rows") }
        return try row.decode(type, at: 0)
    }
}
