import Postgres
import PostgresTestSupport
import Testing

@testable import Resolution

/// A meals claim whose rows lack the parent's NI number (100k harsh seed 5: twins Oliver and Ollie
/// on one claim, joined as one child by the nickname). The claim is still one claim: the parent's
/// date of birth and name, the eligibility date and the file identify it.
@Suite("A meals claim without the parent's NI number is still one claim")
struct ClaimWithoutNITests {
    static func insertClaimRow(
        _ connection: PostgresConnection, batch: Int64, number: Int, given: String, carerNI: String?, from: String
    ) throws {
        try connection.execute(
            """
            INSERT INTO source_records (batch_id, feed, kind, record_number, line_number, subject, given_name, family_name,
                                        dob, address_line1, postcode, carer_given_name, carer_family_name, carer_dob,
                                        carer_ni_number, facts)
            VALUES ($1, 'fsm_eligibility', 'fsm', $2, $2 + 1, 'child', $3, 'Cross', '2013-05-16', '52 Lapwing Lane',
                    'IP24 0YF', 'Joe', 'Byrne', '1990-12-09', $4, jsonb_build_object('eligible_from', $5::text))
            """, [batch, number, given, carerNI, from])
    }

    @Test("two rows of one claim without NI numbers are side by side; another eligibility date is another claim")
    func claimRowsWithoutNIAreSideBySide() throws {
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            let batch = try connection.execute(
                """
                INSERT INTO feed_batches (feed, kind, source_name, sha256, bytes, rows_read, rows_loaded, rows_quarantined,
                                          started_at, committed_at, definition_sha256)
                VALUES ('fsm_eligibility', 'fsm', 'fsm.csv', $1, 0, 0, 0, 0, now(), now(), $1)
                RETURNING id
                """, [String(repeating: "0", count: 64)]
            ).scalar(Int64.self)
            try Self.insertClaimRow(
                connection, batch: batch, number: 1, given: "Oliver", carerNI: nil, from: "2023-01-02")
            try Self.insertClaimRow(
                connection, batch: batch, number: 2, given: "Ollie", carerNI: nil, from: "2023-01-02")
            try Self.insertClaimRow(
                connection, batch: batch, number: 3, given: "Ollie", carerNI: nil, from: "2024-09-01")
            try Self.insertClaimRow(
                connection, batch: batch, number: 4, given: "Oliver", carerNI: "QQ123456C", from: "2023-01-02")
            let records = try MatchRecordLoader.loadAll(connection).sorted { $0.id < $1.id }
            #expect(records.count == 4)
            #expect(records[0].sideBySideKey != 0)
            #expect(records[0].reportedApart(from: records[1]))
            #expect(!records[1].reportedApart(from: records[2]))
            // A row with the NI number is identified by it, as before.
            #expect(records[3].sideBySideKey != 0 && !records[3].reportedApart(from: records[0]))

            var clusterer = Clusterer(records: records, apart: [], nicknames: .standard)
            clusterer.apply([Link(a: 0, b: 1, method: .probabilistic, weight: 40, vector: nil)])
            #expect(clusterer.refused.map(\.reason) == [.samePeriodInOneFeed])
        }
    }
}
