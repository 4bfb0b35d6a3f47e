import Digest
import Foundation
import Identifiers

/// The four kinds of partner feed. A definition names one; the kind decides which facts the
/// feed must carry and which indicators can be read from it.
public enum PartnerKind: String, Sendable, CaseIterable {
    case healthVisiting = "health_visiting"
    case schoolAttendance = "school_attendance"
    case fsm
    case police

    /// The canonical fields and facts a definition of this kind must map.
    var requiredFacts: [String] {
        switch self {
        case .healthVisiting: ["review_type", "review_due", "review_status"]
        case .schoolAttendance: ["period_start", "period_end", "sessions_possible", "sessions_attended"]
        case .fsm: ["eligible_from"]
        case .police: ["incident_ref", "incident_at", "incident_type", "child_present"]
        }
    }

    /// Ages (in whole years on the day the batch is loaded) a child in this feed can plausibly have.
    var defaultChildAges: ClosedRange<Int> {
        switch self {
        case .healthVisiting: 0...6
        case .schoolAttendance: 2...20
        case .fsm: 0...20
        case .police: 0...18
        }
    }
}

/// A person or address field of the canonical record that a column can map to.
public enum CanonicalField: String, Sendable, CaseIterable {
    case partnerRef = "record.ref"
    case childNHSNumber = "child.nhs_number"
    case childUPN = "child.upn"
    case childForename = "child.forename"
    case childSurname = "child.surname"
    case childPreferredForename = "child.preferred_forename"
    case childPreferredSurname = "child.preferred_surname"
    /// One column holding the whole name: `SURNAME, Forename` or `Forename Surname`.
    case childFullName = "child.full_name"
    case childDOB = "child.dob"
    case childAge = "child.age"
    case childSex = "child.sex"
    case addressLine1 = "address.line1"
    case addressLine2 = "address.line2"
    case town = "address.town"
    /// One column holding the whole address, comma-separated.
    case addressFull = "address.full"
    case postcode = "address.postcode"
    case uprn = "address.uprn"
    case carerNHSNumber = "carer.nhs_number"
    case carerForename = "carer.forename"
    case carerSurname = "carer.surname"
    case carerFullName = "carer.full_name"
    case carerDOB = "carer.dob"
    case carerNINumber = "carer.ni_number"

    var isDate: Bool { self == .childDOB || self == .carerDOB }
}

/// The type of a feed's own fact, which decides how its column is validated.
public enum FactType: String, Sendable {
    case text, date, datetime, integer, boolean
}

/// Facts a feed can carry beyond the person: attendance, reviews, eligibility, incidents.
/// The names are fixed because indicators and rules refer to them.
public enum KnownFacts {
    public static let types: [String: FactType] = [
        "school_name": .text, "school_urn": .text, "period_start": .date, "period_end": .date,
        "sessions_possible": .integer, "sessions_attended": .integer,
        "review_type": .text, "review_due": .date, "review_status": .text, "review_date": .date,
        "eligible_from": .date, "eligible_to": .date,
        "incident_ref": .text, "incident_at": .datetime, "incident_type": .text, "child_present": .boolean,
        "adults_involved": .text,
        "known_to_statutory_services": .boolean,
    ]

    /// Facts whose values must come from a fixed vocabulary; the definition maps the partner's words onto it.
    static let vocabularies: [String: [String]] = [
        "review_type": ["antenatal", "new_birth", "6_8_week", "12_month", "2_2_5_year"],
        "review_status": ["completed", "not_attended", "declined", "scheduled"],
    ]
}

/// Where a feed's files come from.
public enum FeedSource: Sendable, Equatable {
    /// A folder partners (or a transfer job) drop files into; relative to the service's drop root.
    case dropFolder(folder: String, pattern: String)
    case remote(RemoteSourceSettings)
}

/// Settings of an HTTPS or SFTP source as written in a definition (no secrets: only where they are).
public struct RemoteSourceSettings: Sendable, Equatable {
    public var url: String
    public var credentials: String?
    public var caFile: String?
    public var clientCertificate: String?
    public var clientKey: String?
    public var sshPrivateKey: String?
    public var knownHosts: String?
    public var timeoutSeconds: Int
    public var retries: Int
}

extension RemoteSourceSettings {
    public init(url: String, timeoutSeconds: Int = 600, retries: Int = 3) {
        self.init(
            url: url, credentials: nil, caFile: nil, clientCertificate: nil, clientKey: nil, sshPrivateKey: nil,
            knownHosts: nil,
            timeoutSeconds: timeoutSeconds, retries: retries)
    }

    /// The fetcher's view of these settings: at most 30 s to connect, backoff from 2 s (TLS and
    /// host-key verification are always on).
    public var source: RemoteSource {
        RemoteSource(
            url: url, credentialsFile: credentials, sshPrivateKeyFile: sshPrivateKey, sshKnownHostsFile: knownHosts,
            caFile: caFile,
            clientCertificateFile: clientCertificate, clientKeyFile: clientKey,
            connectTimeoutSeconds: min(30, timeoutSeconds),
            totalTimeoutSeconds: timeoutSeconds, retries: retries, initialBackoffSeconds: 2)
    }
}

/// Where a feed's retention period starts (`[feed] retention_from`); see migration 0011.
public enum RetentionBasis: String, Sendable, CaseIterable {
    /// The child's date of birth (else the load date less an approximate age, else the record's date).
    case birth
    /// The last day the record is evidence for (its term, eligibility, review or incident).
    case record
}

/// When to pull a feed.
public enum FeedSchedule: Sendable, Equatable {
    case every(seconds: Int)
    /// Minutes after local midnight.
    case daily(minutesAfterMidnight: [Int])
    case manual
}

/// One partner feed, loaded from `schemas/feeds/NAME.feed`.
public struct FeedDefinition: Sendable {
    public let name: String
    public let kind: PartnerKind
    public let description: String
    public let path: String
    /// SHA-256 of the definition file: each batch records the definition it was read with.
    public let checksum: String
    public let source: FeedSource
    public let schedule: FeedSchedule
    public let dialect: CSVDialect
    /// Canonical field → header name of the column holding it.
    public let columns: [CanonicalField: String]
    /// Fact name → header name.
    public let facts: [String: String]
    /// Other partner columns kept verbatim in the record's facts, under `extra.NAME`.
    public let extras: [String: String]
    /// Header names (upper-cased) that a file may lack: the carer and extra fields mapped to them are then
    /// empty. Partners' extracts differ: a school's own extract names each pupil's contacts, the daily
    /// attendance share does not.
    public var optionalColumns: Set<String> = []
    public let dateFormats: [String: DateFormat]
    public let defaultDateFormat: DateFormat
    /// Per field (`child.sex`, `fact.review_status`, …): partner value (upper-cased) → canonical value.
    public let valueMaps: [String: [String: String]]
    public let childAges: ClosedRange<Int>
    /// How many years this feed's records are kept (nil: no period set, never purged).
    public let retentionYears: Int?
    /// Where the period starts: the child's date of birth (default) or the record's own date.
    public var retentionFrom: RetentionBasis = .birth

    func dateFormat(for field: String) -> DateFormat { dateFormats[field] ?? defaultDateFormat }
}
