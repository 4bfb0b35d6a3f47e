import Foundation
import Identifiers
import Postgres
import PostgresTestSupport
import Synth
import Testing

@testable import Feeds

/// The shipped definitions load the synthetic partners' files, with counts checked against the
/// generator's ground truth rather than against numbers written into the test.
@Suite("Synthetic feeds through the shipped definitions")
struct SyntheticFeedsTests {
    @Test("each synthetic feed loads with the expected counts; invalid identifiers are kept but not used")
    func loadsAll() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fc-synth-\(UUID().uuidString)")
        let summary = try SyntheticFeedWriter.write(config: SynthConfig(children: 600, seed: 7), to: folder)
        let definitions = try FeedDefinition.loadAll(directory: TestDatabase.schemasDirectory + "/feeds")
        let truth = try String(contentsOf: folder.appendingPathComponent("truth.csv"), encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }

        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            for kind in FeedKind.allCases {
                let definition = try #require(definitions.first { $0.name == kind.stem })
                let outcome = try FeedLoader(definition: definition, today: SynthConfig.defaultAsOf).load(
                    path: folder.appendingPathComponent(kind.fileName).path, connection: connection)
                guard case .loaded(let report) = outcome else {
                    Issue.record("\(kind) was not loaded")
                    continue
                }
                #expect(report.rowsRead == summary.rows[kind], "\(kind)")
                #expect(report.rowsRead == truth.filter { $0[0] == Substring(kind.stem) }.count)
                #expect(report.rowsLoaded + report.rowsQuarantined == report.rowsRead)
                // Default noise is meant to be matchable, not broken: almost everything loads.
                #expect(Double(report.rowsQuarantined) <= Double(report.rowsRead) * 0.01, "\(kind)")
            }
            let invalidInTruth = truth.filter {
                $0[0] == "health_visiting" && $0[5].split(separator: ";").contains("nhs_invalid")
            }.count
            let invalidStored = try connection.execute(
                "SELECT count(*) FROM source_records WHERE kind = 'health_visiting' AND nhs_number_raw IS NOT NULL AND nhs_number IS NULL"
            ).scalar(Int.self)
            #expect(invalidStored == invalidInTruth)
            let twinsTruth = truth.filter { $0[4] == "1" }.count
            #expect(twinsTruth > 0)
            let antenatal = try connection.execute(
                "SELECT count(*) FROM source_records WHERE subject = 'expectant_parent'"
            ).scalar(Int.self)
            #expect(antenatal == truth.filter { $0[0] == "health_visiting" && $0[2].isEmpty }.count)
            // The attendance share names no contacts: the school definition's contact columns are optional.
            let contacts = try connection.execute(
                "SELECT count(*) FROM source_records WHERE kind = 'school_attendance' AND carer_family_name IS NOT NULL"
            ).scalar(Int.self)
            #expect(contacts == 0)
        }
    }

    @Test("harsh synthetic feeds load; the school rows name the pupil's primary contact, mostly the mother")
    func harshFeedsWithSchoolContacts() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fc-synth-\(UUID().uuidString)")
        let summary = try SyntheticFeedWriter.write(
            config: SynthConfig(children: 1500, seed: 11, profile: .harsh), to: folder)
        let definitions = try FeedDefinition.loadAll(directory: TestDatabase.schemasDirectory + "/feeds")
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            for kind in FeedKind.allCases {
                let definition = try #require(definitions.first { $0.name == kind.stem })
                let outcome = try FeedLoader(definition: definition, today: SynthConfig.defaultAsOf).load(
                    path: folder.appendingPathComponent(kind.fileName).path, connection: connection)
                guard case .loaded(let report) = outcome else {
                    Issue.record("\(kind) was not loaded")
                    continue
                }
                #expect(report.rowsRead == summary.rows[kind], "\(kind)")
                #expect(Double(report.rowsQuarantined) <= Double(report.rowsRead) * 0.01, "\(kind)")
            }
            let school = try connection.execute(
                """
                SELECT count(*),
                       count(*) FILTER (WHERE carer_family_name IS NOT NULL),
                       count(*) FILTER (WHERE facts->>'extra.contact_relationship' = 'Mother')
                FROM source_records WHERE kind = 'school_attendance'
                """)
            let rows = try school.rows[0].decode(Int.self, at: 0)
            let named = try school.rows[0].decode(Int.self, at: 1)
            let mothers = try school.rows[0].decode(Int.self, at: 2)
            #expect(Double(named) > Double(rows) * 0.78 && Double(named) < Double(rows) * 0.92, "\(named) of \(rows)")
            #expect(Double(mothers) > Double(named) * 0.7, "\(mothers) mothers of \(named) contacts")
            // Each contact's full name splits into forename and surname, with a relationship beside it.
            let unsplit = try connection.execute(
                """
                SELECT count(*) FROM source_records WHERE kind = 'school_attendance'
                AND carer_family_name IS NOT NULL
                AND (carer_given_name IS NULL OR facts->>'extra.contact_relationship' NOT IN
                     ('Mother', 'Father', 'Stepfather', 'Stepmother', 'Grandmother'))
                """
            ).scalar(Int.self)
            #expect(unsplit == 0)
            // The contact is a carer, not the pupil (a mother and daughter may share a name, rarely).
            let selfNamed = try connection.execute(
                """
                SELECT count(*) FROM source_records WHERE kind = 'school_attendance'
                AND carer_given_name = given_name AND carer_family_name = family_name
                """
            ).scalar(Int.self)
            #expect(Double(selfNamed) < Double(named) * 0.01, "\(selfNamed) contacts named like the pupil")
        }
    }

    /// Reasons only the fact ranges give (`FactRanges`), and the names they apply to.
    static let rangeReasons: Set<String> = Set(
        FactRanges.dateWindows.values.flatMap { [$0.tooEarly, $0.tooLate] }
            + ["more sessions possible than two a day over the period", "eligibility ends before it starts"])

    @Test(
        "nothing the generator writes breaks a fact range or mixes scripts in a name, on any seed or day",
        arguments: [
            (UInt64(7), SynthConfig.defaultAsOf), (UInt64(11), CalendarDate(year: 2028, month: 2, day: 29)!),
            (UInt64(23), CalendarDate(year: 2025, month: 1, day: 1)!),
        ])
    func withinRanges(seed: UInt64, asOf: CalendarDate) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fc-synth-ranges-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try SyntheticFeedWriter.write(config: SynthConfig(children: 3000, seed: seed, asOf: asOf), to: folder)
        let definitions = try FeedDefinition.loadAll(directory: TestDatabase.schemasDirectory + "/feeds")
        for kind in FeedKind.allCases {
            let definition = try #require(definitions.first { $0.name == kind.stem })
            var normaliser = try RecordNormaliser(definition: definition, header: kind.columns, today: asOf)
            let reader = try CSVReader(path: folder.appendingPathComponent(kind.fileName).path)
            var rows = 0
            var outOfRange: [String: Int] = [:]
            var mixedScripts = 0
            while let result = try reader.next() {
                guard case .record(let record) = result, record.recordNumber > 1 else { continue }
                rows += 1
                let fields = (0..<record.fieldCount).map { record.field($0) }
                if fields.contains(where: NameCleaning.mixesScripts) { mixedScripts += 1 }
                if case .failure(let rejection) = normaliser.normalise(fields, recordNumber: rows, lineNumber: rows + 1),
                    Self.rangeReasons.contains(rejection.reason)
                {
                    outOfRange["\(rejection.field ?? "-"): \(rejection.reason)", default: 0] += 1
                }
            }
            #expect(rows > 0, "\(kind)")
            #expect(outOfRange.isEmpty, "\(kind): \(outOfRange)")
            #expect(mixedScripts == 0, "\(kind)")
        }
    }
}
