import Postgres

/// A secondary (not unique) index, as the catalog describes it: tests of a first fill (a run
/// that drops a table's secondary indexes while it is empty and builds them after its writes)
/// compare these before and after.
public struct SecondaryIndex: Equatable, Sendable {
    public var definition: String
    /// The index's relation: a new one when the index was dropped and built again.
    public var relation: Int64

    /// The secondary indexes of these tables in the current schema, by index name.
    public static func of(tables: [String], _ connection: PostgresConnection) throws -> [String: SecondaryIndex] {
        var out: [String: SecondaryIndex] = [:]
        for row in try connection.query(
            """
            SELECT c.relname::text, pg_get_indexdef(c.oid), c.oid::bigint
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
            WHERE t.relname = ANY($1::text[]) AND NOT i.indisunique AND t.relnamespace = to_regnamespace(current_schema())
            """, [tables])
        {
            out[try row.decode(String.self, at: 0)] = SecondaryIndex(
                definition: try row.decode(String.self, at: 1), relation: try row.decode(Int64.self, at: 2))
        }
        return out
    }
}
