import Foundation
import Identifiers

/// The four synthetic partner feeds.
public enum FeedKind: String, CaseIterable, Sendable, Hashable {
    case healthVisiting = "health_visiting"
    case schoolAttendance = "school_attendance"
    case fsmEligibility = "fsm_eligibility"
    case policeNotifications = "police_notifications"

    /// File stem, also the `feed` value in truth.csv.
    public var stem: String { rawValue }
    /// "health_visiting.csv", …
    public var fileName: String { rawValue + ".csv" }

    /// The header row.
    public var columns: [String] {
        switch self {
        case .healthVisiting:
            return [
                "RecordID", "ChildNHSNumber", "ChildForename", "ChildSurname", "ChildDOB", "ChildSex",
                "AddressLine1", "AddressLine2", "Town", "Postcode", "MotherNHSNumber", "MotherForename",
                "MotherSurname", "MotherDOB", "ReviewType", "ReviewDueDate", "ReviewStatus",
            ]
        case .schoolAttendance:
            return [
                "UPN", "LegalForename", "LegalSurname", "PreferredForename", "PreferredSurname", "DateOfBirth",
                "Gender", "AddressLine1", "AddressLine2", "Town", "Postcode", "SchoolName", "PeriodStart",
                "PeriodEnd", "SessionsPossible", "SessionsAttended",
            ]
        case .fsmEligibility:
            return [
                "Parent/Carer Surname", "Parent/Carer Forename", "Parent/Carer DOB", "Parent/Carer NI Number",
                "Child Forename", "Child Surname", "Child DOB", "Address", "Postcode", "Eligible From",
                "Eligible To",
            ]
        case .policeNotifications:
            return [
                "INCIDENT_REF", "INCIDENT_DATETIME", "INCIDENT_TYPE", "CHILD_PRESENT", "CHILD_NAME", "CHILD_DOB",
                "CHILD_AGE", "ADDRESS", "POSTCODE", "ADULTS_INVOLVED",
            ]
        }
    }

    /// Columns the school feed adds when it names each pupil's primary contact (`NoiseProfile.schoolContact`
    /// above 0), after `columns`: the contact's name ("Forename Surname") and relationship to the pupil;
    /// both blank for a pupil with no contact on record.
    public static let schoolContactColumns = [
        "PrimaryContactName", "PrimaryContactRelationship", "PrimaryContactPhone",
    ]

    /// The `DateFormat` pattern of the feed's date columns (dates of birth, review and period dates,
    /// eligibility dates). The police incident date-time uses `policeIncidentDateTimePattern`.
    public var datePattern: String {
        switch self {
        case .healthVisiting: return "DD/MM/YYYY"
        case .schoolAttendance: return "YYYY-MM-DD"
        case .fsmEligibility: return "D/M/YYYY"
        case .policeNotifications: return "DD/MM/YYYY"
        }
    }

    /// `INCIDENT_DATETIME` in police_notifications.csv, e.g. "20260314 23:05".
    public static let policeIncidentDateTimePattern = "YYYYMMDD hh:mm"

    /// Line ending used by the file, like the systems the extracts imitate: CRLF for the health and FSM
    /// extracts (Windows tools), LF for the others.
    public var lineEnding: String {
        switch self {
        case .healthVisiting, .fsmEligibility: return "\r\n"
        case .schoolAttendance, .policeNotifications: return "\n"
        }
    }

    /// Whether the file starts with a UTF-8 byte order mark (the FSM extract is "saved from Excel").
    public var hasByteOrderMark: Bool { self == .fsmEligibility }
}

/// Settings for a synthetic county.
public struct SynthConfig: Sendable, Hashable {
    /// Exact number of children generated (families are added until it is reached).
    public var children: Int
    public var seed: UInt64
    /// The "today" of the data. Fixed by default so output never depends on the clock.
    public var asOf: CalendarDate
    /// Multiplies every noise rate (typos, missing and invalid identifiers, stale addresses…):
    /// 0 gives clean feeds, 1 the default mess, 2 twice as much.
    public var noise: Double
    /// Which kinds of mess, at what rates (`NoiseProfile.standard` or `.harsh`); `noise` scales its feed rates.
    public var profile: NoiseProfile

    public static let defaultAsOf = CalendarDate(year: 2026, month: 9, day: 1)!

    public init(
        children: Int = 10_000, seed: UInt64 = 1, asOf: CalendarDate = SynthConfig.defaultAsOf,
        noise: Double = 1.0, profile: NoiseProfile = .standard
    ) {
        self.children = children
        self.seed = seed
        self.asOf = asOf
        self.noise = noise
        self.profile = profile
    }
}

/// What was written.
public struct SynthSummary: Sendable, Hashable {
    /// Data rows (header excluded) per feed.
    public let rows: [FeedKind: Int]
    public let truthRows: Int
    public let families: Int
    public let children: Int
    /// Children who have a twin.
    public let twinChildren: Int
    /// Files written, feeds first, then truth.csv.
    public let files: [URL]

    public subscript(kind: FeedKind) -> Int { rows[kind] ?? 0 }
    public var totalFeedRows: Int { rows.values.reduce(0, +) }
}

/// Writes synthetic partner feeds for an invented population, with ground truth.
///
/// Deterministic: the same configuration gives byte-identical files. Everyone is invented; names come
/// from lists of common names, addresses are made-up streets in real postcode districts, NHS numbers
/// and UPNs are random with valid check characters (apart from deliberately broken ones, tagged in truth.csv).
public struct SyntheticFeedWriter: Sendable {
    /// Columns of truth.csv. `row` is the 1-based data record index in the feed's file (header not
    /// counted); `child_key` is blank for antenatal rows; `twin` is 1 when the child has a twin; `noise`
    /// lists (`;`-separated) what was deliberately done to the row, see `noiseTags`.
    public static let truthColumns = ["feed", "row", "child_key", "family_key", "twin", "noise"]

    /// Every tag that can appear in truth.csv's `noise` column. Two are facts, not errors, and appear
    /// even with `noise` 0: `previous_address` (the row predates a move and shows the address of the time)
    /// and `other_address` (a police incident away from home).
    public static let noiseTags: [String] = NoiseTags.names

    public static let truthFileName = "truth.csv"

    /// Writes health_visiting.csv, school_attendance.csv, fsm_eligibility.csv, police_notifications.csv
    /// and truth.csv into `directory` (created if missing; existing files are replaced).
    public static func write(config: SynthConfig, to directory: URL) throws -> SynthSummary {
        guard config.children > 0 else { throw SynthError("children must be positive") }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let population = Population(
            children: config.children, seed: config.seed, asOf: config.asOf, profile: config.profile)
        var renderer = FeedRenderer(
            population: population, seed: config.seed, noise: config.noise, profile: config.profile)
        let truthURL = directory.appendingPathComponent(truthFileName)
        let truth = try CSVWriter(url: truthURL)
        truth.header(truthColumns)
        var rows: [FeedKind: Int] = [:]
        var files: [URL] = []
        for kind in FeedKind.allCases {
            var rng = renderer.feedRNG(kind)
            let plans = renderer.plans(for: kind, &rng)
            let url = directory.appendingPathComponent(kind.fileName)
            let out = try CSVWriter(url: url, lineEnding: kind.lineEnding, byteOrderMark: kind.hasByteOrderMark)
            renderer.render(kind, plans, out, truth, &rng)
            try out.close()
            rows[kind] = out.rowsWritten
            files.append(url)
        }
        try truth.close()
        files.append(truthURL)
        return SynthSummary(
            rows: rows, truthRows: truth.rowsWritten, families: population.families.count,
            children: population.children.count, twinChildren: population.children.lazy.filter(\.twin).count,
            files: files)
    }

    /// Writes one large feed of exactly `rows` data rows (for ingestion benchmarks), generating as big
    /// a population as that needs. Optionally writes the matching truth rows.
    /// Returns the number of children generated.
    @discardableResult
    public static func writeSingleFeed(
        kind: FeedKind, rows: Int, seed: UInt64, asOf: CalendarDate = SynthConfig.defaultAsOf,
        noise: Double = 1.0, profile: NoiseProfile = .standard, to file: URL, truthFile: URL? = nil
    ) throws -> Int {
        guard rows > 0 else { throw SynthError("rows must be positive") }
        let perChild: Double
        switch kind {
        case .healthVisiting: perChild = 0.4
        case .schoolAttendance: perChild = 1.8
        case .fsmEligibility: perChild = 0.15
        case .policeNotifications: perChild = 0.08
        }
        var children = Int(Double(rows) / perChild * 1.1) + 200
        for _ in 0..<12 {
            let population = Population(children: children, seed: seed, asOf: asOf, profile: profile)
            var renderer = FeedRenderer(population: population, seed: seed, noise: noise, profile: profile)
            var rng = renderer.feedRNG(kind)
            let plans = renderer.plans(for: kind, &rng)
            if plans.count < rows {
                // Grow the population from what this attempt yielded.
                let yieldPerChild = max(Double(plans.count) / Double(children), 0.01)
                children = Int(Double(rows) / yieldPerChild * 1.1) + 200
                continue
            }
            let out = try CSVWriter(url: file, lineEnding: kind.lineEnding, byteOrderMark: kind.hasByteOrderMark)
            var truth: CSVWriter?
            if let truthFile {
                truth = try CSVWriter(url: truthFile)
                truth?.header(truthColumns)
            }
            renderer.render(kind, Array(plans.prefix(rows)), out, truth, &rng)
            try out.close()
            try truth?.close()
            return children
        }
        throw SynthError("could not reach \(rows) rows for \(kind.stem)")
    }
}
