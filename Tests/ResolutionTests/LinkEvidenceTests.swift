import Foundation
import Postgres
import PostgresTestSupport
import Testing

@testable import Resolution

/// Links store their comparison levels, not their evidence as JSON (migration 0130): the evidence a
/// data officer reads is rebuilt from the levels, the weight and the run's model, and must be the
/// evidence runs stored before.
@Suite("Link evidence rebuilt on demand")
struct LinkEvidenceTests {
    /// Every link with levels: (record_a-record_b, levels, weight, the evidence rebuilt), in pair order.
    static func rebuilt(
        _ connection: PostgresConnection
    ) throws -> [(pair: String, levels: Int64, weight: Double, json: String?)] {
        try connection.query(
            """
            SELECT record_a || '-' || record_b, levels, weight, record_link_comparison(l)::text
            FROM record_links l WHERE levels IS NOT NULL ORDER BY record_a, record_b
            """
        ).map {
            (
                try $0.decode(String.self, at: 0), try $0.decode(Int64.self, at: 1), try $0.decode(Double.self, at: 2),
                try $0.decode(String?.self, at: 3)
            )
        }
    }

    /// The JSON a run stored for each link before migration 0130, as jsonb text.
    static func storedBefore(
        _ links: [(pair: String, levels: Int64, weight: Double, json: String?)], model: MatchModel,
        _ connection: PostgresConnection
    ) throws -> [String] {
        let writer = EvidenceWriter(model: model)
        let texts = links.map { link in
            var vector = ComparisonVector(levels: [])
            vector.packed = UInt64(bitPattern: link.levels)
            return writer.json(vector, total: link.weight)
        }
        return try connection.query(
            "SELECT t::jsonb::text FROM unnest($1::text[]) WITH ORDINALITY AS s (t, n) ORDER BY n", [texts]
        ).map { try $0.decode(String.self, at: 0) }
    }

    @Test("every link's rebuilt evidence is the JSON a run stored before, name-frequency adjustment included")
    func rebuiltEvidenceEqualsStoredJSON() throws {
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            _ = try ResolverTests.load(children: 800, seed: 4, into: connection)
            _ = try Resolver(connection: connection).resolveFull()
            let (_, model, _) = try #require(try StoredModel.latest(connection))
            let links = try Self.rebuilt(connection)
            #expect(links.count > 200)
            let expected = try Self.storedBefore(links, model: model, connection)
            #expect(links.map(\.json) == expected)
            // The part of the weight the fields do not explain (name frequency) is rebuilt too.
            #expect(expected.contains { $0.contains("name_frequency") })
            // Identifier links have no comparison, and no evidence is stored for any new link.
            #expect(
                try connection.execute(
                    "SELECT count(*) FROM record_links l WHERE levels IS NULL AND record_link_comparison(l) <> '{}'"
                ).scalar(Int.self) == 0)
            #expect(
                try connection.execute("SELECT count(*) FROM record_links WHERE comparison IS NOT NULL").scalar(
                    Int.self) == 0)
        }
    }

    @Test("a model stored before its level weights were gets them from the next run that uses it")
    func modelWithoutLevelWeightsGetsThem() throws {
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            _ = try ResolverTests.load(children: 400, seed: 7, into: connection)
            _ = try Resolver(connection: connection).resolveFull()
            let before = try Self.rebuilt(connection).map(\.json)
            try connection.execute("UPDATE match_models SET level_weights = NULL")
            #expect(try Self.rebuilt(connection).allSatisfy { $0.json == nil })
            let second = try Resolver(connection: connection).resolveFull()
            #expect(second.recordsMoved == 0)
            #expect(try Self.rebuilt(connection).map(\.json) == before)
            #expect(before.allSatisfy { $0 != nil })
        }
    }

    @Test("explain shows a child's links exactly as it showed them from stored JSON, old links included")
    func explainEqualsTheStoredEvidence() throws {
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            _ = try ResolverTests.load(children: 600, seed: 9, into: connection)
            _ = try Resolver(connection: connection).resolveFull()
            // The child with the most probabilistic links.
            let child = try connection.execute(
                """
                SELECT c.child_id FROM record_links l JOIN child_records c ON c.record_id = l.record_a
                WHERE l.method = 'probabilistic' GROUP BY c.child_id ORDER BY count(*) DESC, c.child_id LIMIT 1
                """
            ).scalar(String.self)
            func shown() throws -> [String] {
                try Explainer(connection: connection).explain(child: child, reason: "checking link evidence").links
                    .map { link in
                        "\(link.a)-\(link.b) \(link.method) "
                            + link.steps.map { "\($0.field)=\($0.level):\($0.weight)" }.joined(separator: ",")
                    }
            }
            // Links of equal weight come in either order: compared as sets of lines.
            let rebuilt = try shown().sorted()
            #expect(rebuilt.contains { $0.contains("given_name=") })
            // The same links as a run stored them before migration 0130: JSON, no levels.
            let (_, model, _) = try #require(try StoredModel.latest(connection))
            let links = try Self.rebuilt(connection)
            let json = try Self.storedBefore(links, model: model, connection)
            try connection.execute(
                """
                UPDATE record_links l SET comparison = s.json::jsonb, levels = NULL
                FROM unnest($1::text[], $2::text[]) AS s (pair, json) WHERE l.record_a || '-' || l.record_b = s.pair
                """, [links.map(\.pair), json])
            #expect(
                try connection.execute("SELECT count(*) FROM record_links WHERE levels IS NOT NULL").scalar(Int.self)
                    == 0)
            #expect(try shown().sorted() == rebuilt)
        }
    }
}
