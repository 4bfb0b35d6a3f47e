import Foundation
import Identifiers
import Postgres
import Resolution

/// Hand-built evidence for scenario tests of families and flags: source records written straight
/// into the tables the feed loader and the resolver fill (one batch, children with valid ids), so
/// that each test states exactly the records its scenario needs.
public final class TestWorld {
    public let connection: PostgresConnection
    public let batchID: Int64
    private var recordNumber = 0
    private var generator = SystemRandomNumberGenerator()

    public init(_ connection: PostgresConnection, committedAt: String = "2027-09-01 06:00:00+00") throws {
        self.connection = connection
        batchID = try connection.execute(
            """
            INSERT INTO feed_batches (feed, kind, source_name, sha256, bytes, rows_read, rows_loaded, rows_quarantined,
                                      started_at, committed_at, definition_sha256)
            VALUES ('scenario', 'school_attendance', 'scenario.csv', $1, 0, 0, 0, 0, $2::timestamptz, $2::timestamptz, $1)
            RETURNING id
            """, [String(repeating: "0", count: 63) + String(Int.random(in: 0...9)), committedAt]
        ).scalar(Int64.self)
    }

    /// A new child id, registered as a live child.
    public func child() throws -> String {
        let id = ChildID.mint(using: &generator).value
        try connection.execute("INSERT INTO children (child_id) VALUES ($1)", [id])
        return id
    }

    public struct Address: Sendable {
        public var line1: String
        public var postcode: String?
        public var line2: String?
        public var town: String?

        public init(line1: String, postcode: String?, line2: String? = nil, town: String? = nil) {
            self.line1 = line1
            self.postcode = postcode
            self.line2 = line2
            self.town = town
        }
    }

    /// One source record held by `child` (nil: an expectant parent's antenatal record).
    @discardableResult
    public func record(
        _ child: String?, kind: String, address: Address? = nil, carerNHS: String? = nil,
        carer: (given: String, family: String, dob: String, ni: String?)? = nil,
        given: String = "Test", family: String = "Child", dob: String? = "2015-05-05", facts: String
    ) throws -> Int64 {
        recordNumber += 1
        let id = try connection.execute(
            """
            INSERT INTO source_records (batch_id, feed, kind, record_number, line_number, subject, given_name, family_name, dob,
                                        address_line1, address_line2, postcode, carer_nhs_number, carer_given_name,
                                        carer_family_name, carer_dob, carer_ni_number, facts, town)
            VALUES ($1, $2, $2, $3, $3 + 1, $4, $5, $6, $7::date, $8, $9, $10, $11, $12, $13, $14::date, $15, $16::jsonb, $17)
            RETURNING id
            """,
            [
                batchID, kind, recordNumber, child == nil ? "expectant_parent" : "child", child == nil ? nil : given,
                child == nil ? nil : family, child == nil ? nil : dob, address?.line1, address?.line2,
                address?.postcode, carerNHS,
                carer?.given, carer?.family, carer?.dob, carer?.ni, facts, address?.town,
            ]
        ).scalar(Int64.self)
        if let child {
            try connection.execute("INSERT INTO child_records (record_id, child_id) VALUES ($1, $2)", [id, child])
        }
        return id
    }

    /// A school attendance record for one period.
    @discardableResult
    public func school(
        _ child: String, at address: Address?, from start: String, to end: String, possible: Int = 100,
        attended: Int = 98,
        school: String = "Riverside Primary", family: String = "Child"
    ) throws -> Int64 {
        try record(
            child, kind: "school_attendance", address: address, family: family,
            facts:
                #"{"period_start":"\#(start)","period_end":"\#(end)","sessions_possible":\#(possible),"sessions_attended":\#(attended),"school_name":"\#(school)"}"#
        )
    }

    /// The family id a child is in now.
    public func family(of child: String) throws -> String? {
        try connection.query("SELECT family_id FROM family_members WHERE child_id = $1", [child]).first?.decode(
            String.self, at: 0)
    }
}

extension TestWorld {
    @discardableResult
    public func police(
        _ child: String, on date: String, type: String = "domestic_abuse", present: Bool = true, ref: String? = nil,
        at address: Address? = nil
    ) throws -> Int64 {
        try record(
            child, kind: "police", address: address,
            facts:
                #"{"incident_ref":"\#(ref ?? "NC-" + child + "-" + date)","incident_at":"\#(date)T21:00:00","incident_type":"\#(type)","child_present":\#(present)}"#
        )
    }

    @discardableResult
    public func review(
        _ child: String?, type: String = "12_month", due: String, status: String?, at address: Address? = nil,
        carerNHS: String? = nil
    ) throws -> Int64 {
        let statusJSON = status.map { #","review_status":"\#($0)""# } ?? ""
        return try record(
            child, kind: "health_visiting", address: address, carerNHS: carerNHS,
            facts: #"{"review_type":"\#(type)","review_due":"\#(due)"\#(statusJSON)}"#)
    }

    @discardableResult
    public func fsm(
        _ child: String, from: String, to: String? = nil, at address: Address? = nil, known: Bool? = nil
    ) throws -> Int64 {
        let toJSON = to.map { #","eligible_to":"\#($0)""# } ?? ""
        let knownJSON = known.map { #","known_to_statutory_services":\#($0)"# } ?? ""
        return try record(
            child, kind: "fsm", address: address, facts: #"{"eligible_from":"\#(from)"\#(toJSON)\#(knownJSON)}"#)
    }
}

/// School terms as (start, end) ISO dates.
public enum Terms {
    public static func year(_ startYear: Int) -> [(String, String)] {
        [
            ("\(startYear)-09-03", "\(startYear)-12-19"), ("\(startYear + 1)-01-05", "\(startYear + 1)-03-27"),
            ("\(startYear + 1)-04-13", "\(startYear + 1)-07-21"),
        ]
    }
}
