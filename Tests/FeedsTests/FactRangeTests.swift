import Foundation
import Identifiers
import Postgres
import PostgresTestSupport
import Synth
import Testing

@testable import Feeds

/// Plausible ranges of facts (`FactRanges`): the rows of issue 11 that loaded and later crashed
/// the indicator stage are quarantined, naming the field; values on a range's edge load, one
/// step outside do not. Through the shipped definitions and a real PostgreSQL.
@Suite("Fact ranges")
struct FactRangeTests {
    /// The load date: 25 years before is 2001-09-01, one year after 2027-09-01, three 2029-09-01, ten 2036-09-01.
    static let today = CalendarDate(year: 2026, month: 9, day: 1)!

    /// A usable row of each shipped feed, by column; each case changes a few columns of it.
    static let baseRows: [FeedKind: [String: String]] = [
        .schoolAttendance: [
            "UPN": "", "LegalForename": "Ann", "LegalSurname": "Lee", "DateOfBirth": "2016-05-05",
            "Postcode": "NR1 1AA",
            "SchoolName": "Riverside Primary", "PeriodStart": "2025-09-01", "PeriodEnd": "2025-12-19",
            "SessionsPossible": "140", "SessionsAttended": "130",
        ],
        .healthVisiting: [
            "RecordID": "h1", "ChildForename": "Ann", "ChildSurname": "Lee", "ChildDOB": "05/05/2025",
            "Postcode": "NR1 1AA",
            "MotherForename": "Mary", "MotherSurname": "Lee", "MotherDOB": "01/01/1995", "ReviewType": "12 Month",
            "ReviewDueDate": "05/05/2026", "ReviewStatus": "Completed",
        ],
        .fsmEligibility: [
            "Parent/Carer Surname": "Lee", "Parent/Carer Forename": "Mary", "Parent/Carer DOB": "1/1/1990",
            "Child Forename": "Ann", "Child Surname": "Lee", "Child DOB": "5/5/2016", "Address": "1 Road",
            "Postcode": "NR1 1AA", "Eligible From": "1/9/2025", "Eligible To": "",
        ],
        .policeNotifications: [
            "INCIDENT_REF": "NC-26-000001", "INCIDENT_DATETIME": "20260314 23:05", "INCIDENT_TYPE": "DOMESTIC ABUSE",
            "CHILD_PRESENT": "Y", "CHILD_NAME": "ANN LEE", "CHILD_DOB": "05/05/2016", "ADDRESS": "1 Road",
            "POSTCODE": "NR1 1AA", "ADULTS_INVOLVED": "1 (MOTHER)",
        ],
    ]

    /// One row: the columns changed, and the field its quarantine must name (nil: it loads).
    struct Case: Sendable, CustomStringConvertible {
        var kind: FeedKind
        var changes: [String: String]
        var field: String?
        var description: String { "\(kind.rawValue) \(changes.sorted { $0.key < $1.key }) → \(field ?? "loads")" }
    }

    static let cases: [Case] = [
        // School: the rows of the issue.
        Case(
            kind: .schoolAttendance,
            changes: ["SessionsPossible": "9223372036854775807", "SessionsAttended": "9223372036854775000"],
            field: "fact.sessions_possible"),
        Case(
            kind: .schoolAttendance, changes: ["SessionsPossible": "2147483648", "SessionsAttended": "2147483648"],
            field: "fact.sessions_possible"),
        Case(
            kind: .schoolAttendance, changes: ["SessionsPossible": "4294967296", "SessionsAttended": "10"],
            field: "fact.sessions_possible"),
        Case(
            kind: .schoolAttendance, changes: ["SessionsPossible": "100000", "SessionsAttended": "100000"],
            field: "fact.sessions_possible"),
        Case(
            kind: .schoolAttendance, changes: ["SessionsPossible": "200", "SessionsAttended": "2147483648"],
            field: "fact.sessions_attended"),
        Case(
            kind: .schoolAttendance, changes: ["PeriodStart": "0001-01-01", "PeriodEnd": "9999-12-31"],
            field: "fact.period_end"),
        Case(kind: .schoolAttendance, changes: ["PeriodStart": "0001-01-01"], field: "fact.period_start"),
        // Two sessions a day over the period, both ends included: a Monday–Friday week is 10.
        Case(
            kind: .schoolAttendance,
            changes: [
                "PeriodStart": "2025-09-01", "PeriodEnd": "2025-09-05", "SessionsPossible": "10",
                "SessionsAttended": "10",
            ], field: nil),
        Case(
            kind: .schoolAttendance,
            changes: [
                "PeriodStart": "2025-09-01", "PeriodEnd": "2025-09-05", "SessionsPossible": "11",
                "SessionsAttended": "10",
            ], field: "fact.sessions_possible"),
        Case(
            kind: .schoolAttendance,
            changes: [
                "PeriodStart": "2025-09-01", "PeriodEnd": "2025-09-01", "SessionsPossible": "2",
                "SessionsAttended": "0",
            ], field: nil),
        Case(
            kind: .schoolAttendance,
            changes: [
                "PeriodStart": "2025-09-01", "PeriodEnd": "2025-09-01", "SessionsPossible": "3",
                "SessionsAttended": "0",
            ], field: "fact.sessions_possible"),
        // Period start: back to 25 years before the load date, not after it.
        Case(
            kind: .schoolAttendance,
            changes: [
                "PeriodStart": "2001-09-01", "PeriodEnd": "2001-10-01", "SessionsPossible": "40",
                "SessionsAttended": "40",
            ], field: nil),
        Case(
            kind: .schoolAttendance,
            changes: [
                "PeriodStart": "2001-08-31", "PeriodEnd": "2001-10-01", "SessionsPossible": "40",
                "SessionsAttended": "40",
            ], field: "fact.period_start"),
        Case(
            kind: .schoolAttendance,
            changes: [
                "PeriodStart": "2026-09-01", "PeriodEnd": "2026-12-18", "SessionsPossible": "0",
                "SessionsAttended": "0",
            ], field: nil),
        Case(
            kind: .schoolAttendance,
            changes: [
                "PeriodStart": "2026-09-02", "PeriodEnd": "2026-12-18", "SessionsPossible": "0",
                "SessionsAttended": "0",
            ], field: "fact.period_start"),
        // Period end: up to a year after the load date.
        Case(kind: .schoolAttendance, changes: ["PeriodStart": "2026-06-01", "PeriodEnd": "2027-09-01"], field: nil),
        Case(
            kind: .schoolAttendance, changes: ["PeriodStart": "2026-06-01", "PeriodEnd": "2027-09-02"],
            field: "fact.period_end"),
        Case(
            kind: .schoolAttendance, changes: ["SessionsPossible": "-1", "SessionsAttended": "0"],
            field: "fact.sessions_possible"),

        // Health visiting: review due from 25 years before to 3 years after the load date.
        Case(kind: .healthVisiting, changes: ["ReviewDueDate": "01/01/0001"], field: "fact.review_due"),
        Case(kind: .healthVisiting, changes: ["ReviewDueDate": "31/12/9999"], field: "fact.review_due"),
        Case(kind: .healthVisiting, changes: ["ReviewDueDate": "01/09/2029", "ReviewStatus": "Scheduled"], field: nil),
        Case(
            kind: .healthVisiting, changes: ["ReviewDueDate": "02/09/2029", "ReviewStatus": "Scheduled"],
            field: "fact.review_due"),
        Case(kind: .healthVisiting, changes: ["ReviewDueDate": "01/09/2001"], field: nil),
        Case(kind: .healthVisiting, changes: ["ReviewDueDate": "31/08/2001"], field: "fact.review_due"),

        // FSM: eligible from up to a year ahead, to up to ten; never ending before it starts.
        Case(
            kind: .fsmEligibility, changes: ["Eligible From": "1/1/0001", "Eligible To": "31/12/9999"],
            field: "fact.eligible_from"),
        Case(kind: .fsmEligibility, changes: ["Eligible To": "31/12/9999"], field: "fact.eligible_to"),
        Case(kind: .fsmEligibility, changes: ["Eligible From": "1/9/2027"], field: nil),
        Case(kind: .fsmEligibility, changes: ["Eligible From": "2/9/2027"], field: "fact.eligible_from"),
        Case(kind: .fsmEligibility, changes: ["Eligible From": "1/9/2001"], field: nil),
        Case(kind: .fsmEligibility, changes: ["Eligible From": "31/8/2001"], field: "fact.eligible_from"),
        Case(kind: .fsmEligibility, changes: ["Eligible To": "1/9/2036"], field: nil),
        Case(kind: .fsmEligibility, changes: ["Eligible To": "2/9/2036"], field: "fact.eligible_to"),
        Case(kind: .fsmEligibility, changes: ["Eligible From": "1/9/2025", "Eligible To": "1/9/2025"], field: nil),
        Case(
            kind: .fsmEligibility, changes: ["Eligible From": "1/9/2025", "Eligible To": "31/8/2025"],
            field: "fact.eligible_to"),

        // Police: an incident from 25 years before the load date to the end of the load date.
        Case(kind: .policeNotifications, changes: ["INCIDENT_DATETIME": "00010101 00:00"], field: "fact.incident_at"),
        Case(
            kind: .policeNotifications,
            changes: ["INCIDENT_DATETIME": "20010901 00:00", "CHILD_DOB": "", "CHILD_AGE": "3"], field: nil),
        Case(
            kind: .policeNotifications,
            changes: ["INCIDENT_DATETIME": "20010831 23:59", "CHILD_DOB": "", "CHILD_AGE": "3"],
            field: "fact.incident_at"),
        Case(kind: .policeNotifications, changes: ["INCIDENT_DATETIME": "20260901 23:59"], field: nil),
        Case(kind: .policeNotifications, changes: ["INCIDENT_DATETIME": "20260902 00:00"], field: "fact.incident_at"),
    ]

    static func csvLine(_ fields: [String]) -> String { fields.joined(separator: ",") + "\n" }

    @Test("every date and date-time fact has a window")
    func everyDateFactHasAWindow() {
        for (fact, type) in KnownFacts.types where type == .date || type == .datetime {
            #expect(FactRanges.dateWindows[fact] != nil, "\(fact) has no window")
        }
        for fact in FactRanges.dateWindows.keys {
            #expect(KnownFacts.types[fact] != nil, "\(fact) is not a known fact")
        }
    }

    @Test("sessions: at most two a day over the period, both ends included")
    func sessionLimits() {
        let monday = CalendarDate(year: 2025, month: 9, day: 1)!
        #expect(FactRanges.maximumSessions(from: monday, to: monday) == 2)
        #expect(FactRanges.maximumSessions(from: monday, to: monday.adding(days: 4)) == 10)
        #expect(FactRanges.maximumSessions(from: nil, to: monday) == 732)
        #expect(
            FactRanges.maximumSessions(
                from: FactRanges.dateWindows["period_start"]!.earliest(loadedOn: Self.today),
                to: FactRanges.dateWindows["period_end"]!.latest(loadedOn: Self.today)) <= FactRanges.sessionsCeiling)
    }

    @Test("out-of-range facts of every kind are quarantined naming the field; values on an edge load")
    func rangesThroughTheLoader() throws {
        let definitions = try FeedDefinition.loadAll(directory: TestDatabase.schemasDirectory + "/feeds")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fc-ranges-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            for kind in FeedKind.allCases {
                let definition = try #require(definitions.first { $0.name == kind.rawValue })
                let cases = Self.cases.filter { $0.kind == kind }
                var text = Self.csvLine(kind.columns)
                for item in cases {
                    let row = Self.baseRows[kind]!.merging(item.changes) { $1 }
                    text += Self.csvLine(kind.columns.map { row[$0] ?? "" })
                }
                let path = folder.appendingPathComponent(kind.fileName).path
                try Data(text.utf8).write(to: URL(fileURLWithPath: path))
                guard
                    case .loaded(let batch) = try FeedLoader(definition: definition, today: Self.today).load(
                        path: path, connection: connection)
                else {
                    Issue.record("\(kind.rawValue): not loaded")
                    continue
                }
                #expect(batch.rowsRead == cases.count)
                #expect(batch.rowsRead == batch.rowsLoaded + batch.rowsQuarantined)
                let quarantined = Dictionary(
                    uniqueKeysWithValues: try connection.query(
                        "SELECT line_number, field, reason FROM quarantined_rows WHERE batch_id = $1", [batch.batchID]
                    ).map {
                        (
                            try $0.decode(Int.self, at: 0),
                            (try $0.decode(String?.self, at: 1), try $0.decode(String.self, at: 2))
                        )
                    })
                for (index, item) in cases.enumerated() {
                    let line = index + 2
                    #expect(quarantined[line]?.0 == item.field, "line \(line): \(item)")
                    if let reason = quarantined[line]?.1 {
                        #expect(!reason.isEmpty)
                        for value in item.changes.values where value.count >= 4 {
                            #expect(!reason.contains(value), "a reason repeats a value: \(reason)")
                        }
                    }
                }
            }
            // The reasons say which rule, in words an officer can act on.
            let reasons = Set(
                try connection.query("SELECT field || ': ' || reason FROM quarantined_rows").map {
                    try $0.decode(String.self, at: 0)
                })
            #expect(reasons.contains("fact.sessions_possible: more sessions possible than two a day over the period"))
            #expect(reasons.contains("fact.review_due: date is more than 3 years after the load date"))
            #expect(reasons.contains("fact.review_due: date is more than 25 years before the load date"))
            #expect(reasons.contains("fact.period_start: date is in the future"))
            #expect(reasons.contains("fact.eligible_to: date is more than 10 years after the load date"))
            #expect(reasons.contains("fact.eligible_to: eligibility ends before it starts"))
            #expect(reasons.contains("fact.incident_at: date is more than 25 years before the load date"))
            // A value refused against another is counted as not valid in the field's quality.
            let quality = try connection.query(
                """
                SELECT q.present, q.valid FROM feed_batch_quality q JOIN feed_batches b ON b.id = q.batch_id
                WHERE b.feed = 'school_attendance' AND q.field = 'fact.sessions_possible'
                """)
            let schoolCases = Self.cases.filter { $0.kind == .schoolAttendance }
            let possibleRefused = schoolCases.filter { $0.field == "fact.sessions_possible" }.count
            #expect(try quality.first?.decode(Int.self, at: 0) == schoolCases.count)
            #expect(try quality.first?.decode(Int.self, at: 1) == schoolCases.count - possibleRefused)
        }
    }

    @Test("the load date is the loader's: the same row loads on one day and is refused on the next")
    func loadDateIsInjected() throws {
        let definitions = try FeedDefinition.loadAll(directory: TestDatabase.schemasDirectory + "/feeds")
        let definition = try #require(definitions.first { $0.name == "police_notifications" })
        let kind = FeedKind.policeNotifications
        let row = Self.baseRows[kind]!.merging([
            "INCIDENT_DATETIME": "20260901 10:00", "CHILD_DOB": "", "CHILD_AGE": "3",
        ]) { $1 }
        let fields = kind.columns.map { row[$0] ?? "" }
        var onTheDay = try RecordNormaliser(definition: definition, header: kind.columns, today: Self.today)
        var dayBefore = try RecordNormaliser(
            definition: definition, header: kind.columns, today: Self.today.adding(days: -1))
        var muchLater = try RecordNormaliser(
            definition: definition, header: kind.columns, today: CalendarDate(year: 2051, month: 9, day: 2)!)
        #expect((try? onTheDay.normalise(fields, recordNumber: 1, lineNumber: 2).get()) != nil)
        #expect(throws: RowRejection(field: "fact.incident_at", reason: "date is in the future")) {
            try dayBefore.normalise(fields, recordNumber: 1, lineNumber: 2).get()
        }
        // 25 years and a day later the same incident is too old to believe.
        #expect(
            throws: RowRejection(field: "fact.incident_at", reason: "date is more than 25 years before the load date")
        ) {
            try muchLater.normalise(fields, recordNumber: 1, lineNumber: 2).get()
        }
    }
}
