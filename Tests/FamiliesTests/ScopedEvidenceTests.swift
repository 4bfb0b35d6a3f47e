import Foundation
import Postgres
import PostgresTestSupport
import Synth
import Testing

@testable import Families

/// The scoped evidence read (a scoped run's members, their records listed with their live child
/// first) and the read of the changed members' records taken in among the rest must make the same
/// evidence, in the same order, as one read over every record.
@Suite("Scoped evidence reads")
struct ScopedEvidenceTests {
    /// The evidence as comparable text: every member key and every observation, in order.
    static func text(_ evidence: FamilyEvidence) -> [String] {
        evidence.members.map { "member \($0)" } + evidence.observations.map { "\($0)" }
            + evidence.surnames.map { "surnames \($0)" } + [
                "kinds \(evidence.kinds)", "names \(evidence.carerNames.count)",
            ]
    }

    @Test("a scoped read, in two parts or one, equals the read over every record, merged children left out")
    func scopedEqualsEveryRecord() throws {
        let pipeline = try SyntheticPipeline(children: 300, seed: 5)
        defer { pipeline.remove() }
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            try pipeline.ingestAndResolve(connection)
            // One child merged into another: its records count for no one, in either read.
            let pair = try connection.query("SELECT child_id FROM children ORDER BY child_id LIMIT 2")
                .map { try $0.decode(String.self, at: 0) }
            try connection.execute("UPDATE children SET merged_into = $2 WHERE child_id = $1", [pair[0], pair[1]])
            let mergedRecords = try connection.execute(
                "SELECT count(*) FROM child_records WHERE child_id = $1", [pair[0]]
            ).scalar(Int.self)
            #expect(mergedRecords > 0)

            try connection.transaction { connection in
                let grouper = FamilyGrouper(connection: connection)
                let everyone = try grouper.loadEvidence()
                #expect(!everyone.members.contains(pair[0]))
                #expect(everyone.members.contains { $0.hasPrefix("E") }, "antenatal records are read too")
                let all = Set(everyone.members).union([pair[0]])

                try grouper.fillScope(all)
                let scoped = try grouper.loadEvidence(scoped: true)
                #expect(Self.text(scoped) == Self.text(everyone))

                // Every third member first (as a run reads its changed members), then the rest.
                let sorted = all.sorted()
                let first = Set(sorted.enumerated().filter { $0.offset % 3 == 0 }.map(\.element))
                try grouper.fillScope(first)
                var firstRows: [FamilyEvidence.ParsedRow] = []
                _ = try grouper.loadEvidence(scoped: true) { firstRows.append($0) }
                #expect(!firstRows.isEmpty && firstRows.count < everyone.observations.count)
                try grouper.fillScope(all.subtracting(first))
                let inTwoParts = try grouper.loadEvidence(scoped: true, alreadyRead: firstRows)
                #expect(Self.text(inTwoParts) == Self.text(everyone))
            }
        }
    }
}
