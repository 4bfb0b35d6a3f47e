import Families
import Foundation
import Postgres
import PostgresTestSupport
import Testing

@Suite("Family grouping on synthetic data with ground truth")
struct SyntheticGroupingTests {
    @Test("recovers the generator's families: same-family pairs precision at least 0.98, recall at least 0.975")
    func recoversFamilies() throws {
        let pipeline = try SyntheticPipeline(children: 3000, seed: 11)
        defer { pipeline.remove() }
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            try pipeline.ingestAndResolve(connection)
            let report = try FamilyGrouper(connection: connection).regroup()
            let evaluation = try FamilyEvaluation.evaluate(truthPath: pipeline.truthPath, connection: connection)
            print("[families] \(report)")
            print("[families] \(evaluation)")
            #expect(report.families > 0)
            #expect(report.minted == report.families)
            #expect(evaluation.truePairs > 1000, "the synthetic county should have many multi-child families")
            #expect(evaluation.precision >= 0.98)
            #expect(
                evaluation.recall >= 0.975,
                "see schemas/rules/README.md: a stale school address on one sibling, with no other record there, leaves no evidence to join"
            )

            // Unchanged evidence: the same families, no id churn, no membership events.
            let events = try connection.execute("SELECT count(*) FROM family_membership_events").scalar(Int.self)
            let again = try FamilyGrouper(connection: connection).regroup()
            #expect(again.families == report.families)
            #expect(report.changed && !again.changed)
            #expect(try connection.execute("SELECT count(*) FROM family_runs").scalar(Int.self) == 1)
            #expect(again.minted == 0 && again.merged == 0 && again.split == 0 && again.retired == 0)
            #expect(again.joined == 0 && again.moved == 0 && again.left == 0)
            #expect(try connection.execute("SELECT count(*) FROM family_membership_events").scalar(Int.self) == events)
        }
    }
}
