import Postgres

/// A child source record prepared for comparison: every match key computed once, so that the
/// comparison loop touches only integers and pre-built byte arrays.
///
/// A class, immutable: the hot loops read two records per pair, tens of millions of times. As a
/// struct (about 220 bytes holding eight arrays) each read copied the record and retained each of
/// its arrays, atomically, from both cores at once: a quarter of a full run's CPU went to that.
/// A reference is one pointer to copy.
public final class MatchRecord: Sendable {
    public let id: Int64
    /// Partner kind: 0 health visiting, 1 school, 2 FSM, 3 police.
    public let kind: UInt8
    /// Valid NHS number as an integer; 0 when absent or invalid.
    public let nhs: UInt64
    /// Hash of a valid permanent UPN; 0 when absent, invalid or temporary.
    public let upn: UInt64
    public let given: NameKey?
    public let preferredGiven: NameKey?
    public let family: NameKey?
    public let preferredFamily: NameKey?
    /// Date of birth packed as YYYYMMDD; 0 when absent.
    public let dob: UInt32
    /// Police extracts may give only an age: the age, and the year it was given in (read only for
    /// records with an age: 0 otherwise, and never used without one).
    public let approximateAge: Int16
    public let ageYear: Int16
    /// 0 unknown, 1 female, 2 male.
    public let sex: UInt8
    public let postcode: PostcodeKey?
    /// Hash of the first address line's letters and digits; 0 when absent.
    public let addressKey: UInt64
    /// The mother's or carer's valid NHS number (health visiting); 0 when absent.
    public let carerNHS: UInt64
    /// Hash of what one partner reported side by side (`SideBySide`): a school's term, a police
    /// incident; 0 otherwise. Two records with the same key are two children.
    public let sideBySideKey: UInt64
    /// Hash of a period in which a partner reports a child once whoever reports it (`SideBySide.periods`:
    /// a school term, since a pupil is on one school's roll in a term); 0 otherwise. Two records with
    /// the same key are two children unless an identifier joins them.
    public let periodKey: UInt64

    public static let kinds = ["health_visiting", "school_attendance", "fsm", "police"]
    static let (healthVisitingKind, schoolKind): (UInt8, UInt8) = (0, 1)

    /// Whether the partner writes the child's name as it was told (FSM claims, police rows), which
    /// may be another form of the registered name (Jacob for Jake).
    var namesAsTold: Bool { kind == 2 || kind == 3 }

    /// Year of birth, known or estimated from an age (the earlier of the two possible years).
    var birthYear: Int {
        if dob != 0 { return Int(dob / 10_000) }
        if approximateAge >= 0 { return Int(ageYear) - Int(approximateAge) - 1 }
        return 0
    }

    init(
        id: Int64, kind: UInt8, nhs: UInt64, upn: UInt64, given: NameKey?, preferredGiven: NameKey?, family: NameKey?,
        preferredFamily: NameKey?, dob: UInt32, approximateAge: Int16, ageYear: Int16, sex: UInt8,
        postcode: PostcodeKey?, addressKey: UInt64, carerNHS: UInt64, sideBySideKey: UInt64 = 0, periodKey: UInt64 = 0
    ) {
        self.id = id
        self.kind = kind
        self.nhs = nhs
        self.upn = upn
        self.given = given
        // A preferred name equal to the legal one adds nothing; dropping it saves comparisons.
        self.preferredGiven = preferredGiven == given ? nil : preferredGiven
        self.family = family
        self.preferredFamily = preferredFamily == family ? nil : preferredFamily
        self.dob = dob
        self.approximateAge = approximateAge
        self.ageYear = ageYear
        self.sex = sex
        self.postcode = postcode
        self.addressKey = addressKey
        self.carerNHS = carerNHS
        self.sideBySideKey = sideBySideKey
        self.periodKey = periodKey
    }

    /// Whether one partner reported both side by side (one report), or each in the same period in
    /// which a child is reported once (two schools' rolls of one term): then they are two children.
    func reportedApart(from other: MatchRecord) -> Bool {
        (sideBySideKey != 0 && sideBySideKey == other.sideBySideKey) || (periodKey != 0 && periodKey == other.periodKey)
    }

    static func addressKey(_ line: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var any = false
        for byte in line {
            var b = byte
            if b >= 0x61 && b <= 0x7A { b -= 0x20 }
            guard (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) else { continue }
            hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01B3
            any = true
        }
        return any ? hash | 1 : 0
    }

    static func packedDate(_ text: UnsafeBufferPointer<UInt8>) -> UInt32 {
        guard text.count == 10 else { return 0 }
        var value: UInt32 = 0
        for byte in text where byte != UInt8(ascii: "-") {
            guard byte >= 48 && byte <= 57 else { return 0 }
            value = value * 10 + UInt32(byte - 48)
        }
        return value
    }

    static func upnHash(_ text: UnsafeBufferPointer<UInt8>, temporary: Bool) -> UInt64 {
        guard !text.isEmpty, !temporary else { return 0 }
        return NameKey.fnv1a(text) | 1
    }
}

/// Records that both cores read at once, handed out without reference counting: a strong
/// reference per read counts the record up and down atomically from both cores on one cache line.
/// The array given to `init` must outlive every use (the caller holds it, e.g. with
/// `withExtendedLifetime`).
struct UnretainedRecords: Sendable {
    private let references: [Unmanaged<MatchRecord>]

    init(_ records: [MatchRecord]) { references = records.map { Unmanaged.passUnretained($0) } }

    /// Runs `body` with records `i` and `j`.
    @inline(__always)
    func withPair<T>(_ i: Int, _ j: Int, _ body: (MatchRecord, MatchRecord) -> T) -> T {
        references[i]._withUnsafeGuaranteedRef { a in references[j]._withUnsafeGuaranteedRef { b in body(a, b) } }
    }
}

extension PostgresConnection {
    /// Runs `body` with sequential scans off for the rest of the transaction's statements in it:
    /// for look-ups of a few thousand keys in tables of millions of rows that a run has just
    /// written, whose statistics (until autovacuum analyzes them, which the service role may not
    /// do itself) make a full scan look cheaper than the index.
    func withoutSequentialScans<T>(_ body: () throws -> T) throws -> T {
        try with([.noSequentialScans], body)
    }

    /// Runs `body` with these planner settings for the transaction's statements in it, each set
    /// back afterwards.
    func with<T>(_ settings: [PlannerSetting], _ body: () throws -> T) throws -> T {
        for setting in settings { try execute("SET LOCAL \(setting.name) = \(setting.during)") }
        let result = Result { try body() }
        for setting in settings { try execute("SET LOCAL \(setting.name) = \(setting.after)") }
        return try result.get()
    }
}

/// A planner setting a look-up runs with, and the value it is set back to (constants of this
/// module, never input).
struct PlannerSetting {
    let name: String
    let during: String
    let after: String

    static let noSequentialScans = PlannerSetting(name: "enable_seqscan", during: "off", after: "on")
    static let noBitmapScans = PlannerSetting(name: "enable_bitmapscan", during: "off", after: "on")
    /// Statements planned without their parameters' values: for a look-up by a list of ids or
    /// keys whose plan does not depend on them, where estimating each of the list's hundred
    /// thousand elements costs more than the look-up itself. Not for statements that filter rows
    /// by such a list: a list that is a parameter is searched element by element, not hashed.
    static let genericPlans = PlannerSetting(name: "plan_cache_mode", during: "force_generic_plan", after: "auto")
}

/// Reads child records from `source_records` into `MatchRecord`s.
public enum MatchRecordLoader {
    static let columns = columns(sideBySide: SideBySide.keySQL, period: SideBySide.periodKeySQL)

    /// The columns `record` reads; `sideBySide` and `period` are the SQL of the report keys (or NULL).
    static func columns(sideBySide: String, period: String) -> String {
        """
        sr.id, sr.kind, sr.nhs_number, sr.upn, sr.upn_temporary, sr.given_name, sr.preferred_given_name,
        sr.family_name, sr.preferred_family_name, sr.dob, sr.approximate_age,
        CASE WHEN sr.approximate_age IS NOT NULL
            THEN left(coalesce(sr.facts->>'incident_at', sr.facts->>'period_end', ''), 4) END, sr.sex, sr.postcode,
        sr.address_line1, sr.carer_nhs_number, \(sideBySide), \(period)
        """
    }

    /// For pair scoring alone (an incremental run's candidates): without the side-by-side keys, which
    /// only clustering reads and which cost several JSON look-ups a row.
    static let comparisonColumns = columns(sideBySide: "NULL", period: "NULL")

    /// Every child record (full resolution), in id order.
    public static func loadAll(_ connection: PostgresConnection) throws -> [MatchRecord] {
        try load(connection, where: "sr.subject = 'child'", [])
    }

    /// Every child record, in id order, and their blocking keys: each batch's keys are computed
    /// while the server reads the next batch, rather than all of them after the last.
    static func loadAllWithKeys(
        _ connection: PostgresConnection, rules: [BlockingRule], nicknames: NicknameTable
    ) throws -> ([MatchRecord], RecordKeys) {
        var parts: [RecordKeys] = []
        let records = try load(connection, where: "sr.subject = 'child'", []) { batch in
            parts.append(RecordKeys(records: batch, rules: rules, nicknames: nicknames))
        }
        return (records, RecordKeys(joining: parts))
    }

    /// The given records. `forComparisonOnly`: without the side-by-side key (`comparisonColumns`),
    /// for records that are only scored, never clustered.
    public static func load(
        _ connection: PostgresConnection, ids: [Int64], forComparisonOnly: Bool = false
    ) throws
        -> [MatchRecord]
    {
        guard !ids.isEmpty else { return [] }
        return try load(
            connection, where: "sr.id = ANY($1::bigint[])", [ids.map { Int($0) }],
            columns: forComparisonOnly ? comparisonColumns : columns)
    }

    /// The given records for pair scoring alone (`comparisonColumns`), a batch at a time in no
    /// particular order, each batch handed to `body` as soon as it is parsed: the server reads the
    /// next batch meanwhile, so work done on a batch overlaps the reading. Without `ORDER BY`, the
    /// server streams them as it finds them rather than sorting them first (196k records at 1M,
    /// a sort that spilled 22 MB to disk before the first was handed over).
    static func forEachBatchForComparison(
        _ connection: PostgresConnection, ids: [Int64], _ body: ([MatchRecord]) throws -> Void
    ) throws {
        guard !ids.isEmpty else { return }
        try connection.forEachBatch(
            "SELECT \(comparisonColumns) FROM source_records sr WHERE sr.id = ANY($1::bigint[])", [ids.map { Int($0) }],
            cursor: "match_records", batchSize: 20_000
        ) { result in try body(parsed(result)) }
    }

    /// Child records of these batches that no child holds yet (incremental resolution). Their ids
    /// first, found through the batch index, then the records by id: one query ordered by id made
    /// the planner walk the whole primary key, filtering on the batch (0.2 s at 250k records).
    public static func loadUnassigned(_ connection: PostgresConnection, batches: [Int64]) throws -> [MatchRecord] {
        try load(connection, ids: unassignedIDs(connection, batches: batches))
    }

    /// The ids of child records of these batches that no child holds yet, in id order.
    static func unassignedIDs(_ connection: PostgresConnection, batches: [Int64]) throws -> [Int64] {
        guard !batches.isEmpty else { return [] }
        let ids = try connection.withoutSequentialScans {
            try connection.query(
                "SELECT sr.id FROM source_records sr WHERE \(unassignedInBatches)", [batches.map { Int($0) }]
            ).map { try $0.decode(Int64.self, at: 0) }
        }
        return ids.sorted()
    }

    /// Whether these batches hold a child record that no child holds yet: a first run needs only
    /// to know that, not the ids of a first day's records (0.65 s to read at 266k, load 18).
    static func hasUnassigned(_ connection: PostgresConnection, batches: [Int64]) throws -> Bool {
        guard !batches.isEmpty else { return false }
        return try connection.withoutSequentialScans {
            try connection.execute(
                "SELECT EXISTS (SELECT 1 FROM source_records sr WHERE \(unassignedInBatches))",
                [batches.map { Int($0) }]
            ).scalar(Bool.self)
        }
    }

    /// Over `source_records sr`: a child record of the batches in $1 that no child holds.
    private static let unassignedInBatches = """
        sr.batch_id = ANY($1::bigint[]) AND sr.subject = 'child'
          AND NOT EXISTS (SELECT 1 FROM child_records cr WHERE cr.record_id = sr.id)
        """

    /// Reads through a cursor, a batch of rows at a time, each batch parsed in place from libpq's
    /// buffer: memory stays bounded for a full run, and no row costs a result or an array of its own.
    /// The server reads the next batch while this one is parsed (`forEachBatch`); `eachBatch` sees
    /// each batch's records once parsed.
    /// A cursor needs a transaction: the caller's (every resolver run has one), or one of its own.
    static func load(
        _ connection: PostgresConnection, where condition: String, _ parameters: [any PostgresEncodable],
        columns: String = columns, eachBatch: ([MatchRecord]) -> Void = { _ in }
    )
        throws -> [MatchRecord]
    {
        guard connection.inTransaction else {
            return try connection.transaction {
                try load($0, where: condition, parameters, columns: columns, eachBatch: eachBatch)
            }
        }
        var records: [MatchRecord] = []
        try connection.forEachBatch(
            "SELECT \(columns) FROM source_records sr WHERE \(condition) ORDER BY sr.id", parameters,
            cursor: "match_records", batchSize: 20_000
        ) { result in
            let batch = parsed(result)
            eachBatch(batch)
            records += batch
        }
        return records
    }

    /// The records of a fetched batch, parsed on all cores: libpq's result is only read, and each
    /// slice reads its own rows.
    private static func parsed(_ result: PostgresRawResult) -> [MatchRecord] {
        let shared = PostgresRawResult.SharedForReading(result)
        return ParallelSlices.map(result.rowCount, minimumSlice: 2_048) { range in
            range.map { record(shared.result, $0) }
        }
    }

    private static func record(_ result: PostgresRawResult, _ row: Int) -> MatchRecord {
        // Straight from libpq's bytes: no String per name (four a record, a million records).
        func name(_ column: Int) -> NameKey? {
            result.isNull(row, column) ? nil : NameKey(utf8: result.bytes(row, column))
        }
        func unsigned(_ column: Int) -> UInt64 { result.int64(row, column).map { UInt64(bitPattern: $0) } ?? 0 }
        let kindText = result.bytes(row, 1)
        let kind = UInt8(MatchRecord.kinds.firstIndex { $0.utf8.elementsEqual(kindText) } ?? 0)
        let sex = result.bytes(row, 12)
        return MatchRecord(
            id: result.int64(row, 0) ?? 0, kind: kind, nhs: unsigned(2),
            upn: MatchRecord.upnHash(result.bytes(row, 3), temporary: result.bytes(row, 4).first == UInt8(ascii: "t")),
            given: name(5), preferredGiven: name(6), family: name(7), preferredFamily: name(8),
            dob: MatchRecord.packedDate(result.bytes(row, 9)),
            approximateAge: result.int64(row, 10).map { Int16(clamping: $0) } ?? -1,
            ageYear: result.int64(row, 11).map { Int16(clamping: $0) } ?? 0,
            sex: sex.count == 1 ? (sex[0] == UInt8(ascii: "F") ? 1 : (sex[0] == UInt8(ascii: "M") ? 2 : 0)) : 0,
            postcode: result.string(row, 13).flatMap { PostcodeKey($0) },
            addressKey: MatchRecord.addressKey(result.bytes(row, 14)), carerNHS: unsigned(15),
            sideBySideKey: result.isNull(row, 16) ? 0 : NameKey.fnv1a(result.bytes(row, 16)) | 1,
            periodKey: result.isNull(row, 17) ? 0 : NameKey.fnv1a(result.bytes(row, 17)) | 1)
    }
}

/// Records one partner reported side by side are different children: a school reports a pupil once
/// a term, a police notification names each child of an incident once, and a free-school-meals
/// result names each child of one parent's claim once in a file, and health visiting holds each
/// mandated review once for a child. Each feed kind that reports so
/// lists what makes one report; records of one feed with the same values are two children, however
/// alike. A new kind with such a rule needs one line here.
public enum SideBySide {
    /// Where a part of a report's identity is read from: a fact, or a column of `source_records`.
    public enum Part: Sendable {
        case fact(String)
        case column(String)

        var sql: String {
            switch self {
            case .fact(let name): "sr.facts->>'\(name)'"
            case .column(let name): "sr.\(name)::text"
            }
        }
    }

    /// Feed kind → the parts that identify one report (the first must be present).
    public static let reports: [(kind: String, parts: [Part])] = [
        // One school's term in one file: a later file may send the pupil's row again, corrected.
        ("school_attendance", [.fact("period_start"), .fact("period_end"), .fact("school_name"), .column("batch_id")]),
        ("police", [.fact("incident_ref")]),
        // One parent's claim in one file: a later file may list the same child again.
        ("fsm", [.column("carer_ni_number"), .fact("eligible_from"), .column("batch_id")]),
        // A claim whose rows lack the parent's NI number is the same claim by the parent's date of
        // birth and name (twins Oliver and Ollie on one claim with no NI number were joined as one).
        (
            "fsm",
            [
                .column("carer_dob"), .column("carer_given_name"), .column("carer_family_name"),
                .fact("eligible_from"), .column("batch_id"),
            ]
        ),
        // Each mandated review is held once for a child: two rows of one review type falling due on
        // one day in one file are two children (twins' reviews fall due together). A later file may
        // list the review again, with its new status.
        ("health_visiting", [.fact("review_type"), .fact("review_due"), .column("batch_id")]),
    ]

    /// Feed kind → the parts of a period in which a child is reported once, whichever partner office
    /// reports it: a pupil is on one school's roll in a term, so two schools' rows of one term are two
    /// pupils (a pupil who moves mid-term keeps the UPN, which links the rows first). In one file: a
    /// later file that sends a term's rows again (corrected attendance, a new address) reports the
    /// same pupils, not new ones.
    public static let periods: [(kind: String, parts: [Part])] = [
        ("school_attendance", [.fact("period_start"), .fact("period_end"), .column("batch_id")])
    ]

    /// SQL over `source_records sr`: the period's identity as text (feed and parts), or NULL.
    static var periodKeySQL: String { caseSQL(periods) }

    /// SQL over `source_records sr`: the report's identity as text (feed and parts), or NULL.
    /// Built from the constant table above, never from input.
    static var keySQL: String { caseSQL(reports) }

    static func caseSQL(_ reports: [(kind: String, parts: [Part])]) -> String {
        let cases = reports.map { report in
            let parts = report.parts.map(\.sql).joined(separator: ", ")
            return
                "WHEN sr.kind = '\(report.kind)' AND \(report.parts[0].sql) IS NOT NULL THEN concat_ws('|', sr.feed, \(parts))"
        }
        return "CASE " + cases.joined(separator: " ") + " END"
    }
}
