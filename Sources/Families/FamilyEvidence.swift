import Dispatch
import Foundation
import Postgres
import Resolution

/// What grouping reads, with every key (member, address, carer, incident, surname) numbered as it is
/// first met: grouping then compares and indexes integers, never strings. The key texts hold personal
/// data; they stay in the dictionaries of `Builder`, which is dropped once the evidence is read.
struct FamilyEvidence {
    /// Member keys (a child id, or `E` + record id for an expectant parent), by member number.
    var members: [String] = []
    /// In the order read (by record id).
    var observations: [FamilyGraph.Observation] = []
    /// Feed kinds by number.
    var kinds: [String] = []
    /// By address number: keyed by town (`AddressKey.townKey`), or by UPRN.
    var addressIsTown: [Bool] = []
    var addressIsUPRN: [Bool] = []
    /// How many different keys of each carer kind (`CarerKeyKind.allCases` order).
    var carerKeyCounts = [Int](repeating: 0, count: CarerKeyKind.allCases.count)
    var incidentCount = 0
    /// Carer names by number (one per spelling and role).
    var carerNames: [FamilyGraph.CarerName] = []
    /// Each member's surname forms (numbered), from its child records.
    var surnames: [[Int32]] = []

    var addressCount: Int { addressIsTown.count }

    /// One record's keys as text, before numbering (made on any thread).
    struct ParsedRow: Sendable {
        var record: Int64
        var member: String
        var kind: String
        var start: Int
        var end: Int
        var address: String? = nil
        var townAddress: String? = nil
        var surnames: [String] = []
        var nhsCarer: String? = nil
        var niCarer: String? = nil
        var nameDOBCarer: String? = nil
        var phoneCarer: String? = nil
        var carerName: FamilyGraph.CarerName? = nil
        var incident: String? = nil
        /// The keys' hashes, made where the row is parsed (on any thread, so the numbering pass
        /// hashes no text); nil for a row made elsewhere, whose keys are hashed when numbered.
        var keyHashes: KeyHashes? = nil
    }

    /// A row's keys, each hashed as `FamilyGrouper.keyHash` makes a grouping key (tagged by its
    /// number space, so addresses by postcode and by town share one, as `Builder` numbers them): the
    /// grouping keys are these values, and numbering looks keys up by them (`KeyNumbering`).
    struct KeyHashes: Sendable {
        var member: Int64
        var address: Int64?
        var townAddress: Int64?
        var nhsCarer: Int64?
        var niCarer: Int64?
        var nameDOBCarer: Int64?
        var phoneCarer: Int64?
        var incident: Int64?
        var surnames: [Int64]

        init(_ row: ParsedRow) {
            func hash(_ tag: Unicode.Scalar, _ text: String?) -> Int64? {
                text.map { FamilyGrouper.keyHash(UInt8(ascii: tag), $0) }
            }
            member = FamilyGrouper.keyHash(UInt8(ascii: "M"), row.member)
            address = hash("A", row.address)
            townAddress = hash("A", row.townAddress)
            nhsCarer = hash("N", row.nhsCarer)
            niCarer = hash("I", row.niCarer)
            nameDOBCarer = hash("D", row.nameDOBCarer)
            phoneCarer = hash("P", row.phoneCarer)
            incident = hash("R", row.incident)
            surnames = row.surnames.map { FamilyGrouper.keyHash(UInt8(ascii: "S"), $0) }
        }
    }

    /// Numbers keys in the order records come.
    struct Builder {
        var evidence = FamilyEvidence()
        private var memberNumbers = KeyNumbering()
        private var addressNumbers = KeyNumbering()
        private var carerNumbers = [KeyNumbering](repeating: KeyNumbering(), count: CarerKeyKind.allCases.count)
        private var incidentNumbers = KeyNumbering()
        private var carerNameIndex: [CarerNameKey: Int32] = [:]
        private var surnameNumbers = KeyNumbering()

        struct CarerNameKey: Hashable {
            var given: NameKey
            var family: NameKey
            var role: String?
        }

        mutating func add(_ row: ParsedRow) {
            let hashes = row.keyHashes ?? KeyHashes(row)
            let member = member(row.member, hash: hashes.member)
            var observation = FamilyGraph.Observation(
                member: member, kind: kind(row.kind), record: row.record, start: row.start, end: row.end)
            observation.address = address(row.address, hash: hashes.address)
            observation.townAddress = address(row.townAddress, hash: hashes.townAddress)
            addSurnames(row.surnames, hashes: hashes.surnames, to: member)
            if let key = row.nhsCarer, let hash = hashes.nhsCarer {
                observation.nhsCarer = carer(.nhsNumber, key, hash: hash)
            }
            if let key = row.niCarer, let hash = hashes.niCarer {
                observation.niCarer = carer(.niNumber, key, hash: hash)
            }
            if let key = row.nameDOBCarer, let hash = hashes.nameDOBCarer {
                observation.nameDOBCarer = carer(.nameAndDOB, key, hash: hash)
            }
            if let key = row.phoneCarer, let hash = hashes.phoneCarer {
                observation.phoneCarer = carer(.contactPhone, key, hash: hash)
            }
            if let name = row.carerName { observation.carerName = carerName(name) }
            if let incident = row.incident, let hash = hashes.incident {
                observation.incident = incidentNumbers.number(incident, hash: hash).number
                evidence.incidentCount = incidentNumbers.count
            }
            evidence.observations.append(observation)
        }

        mutating func member(_ key: String, hash: Int64) -> Int32 {
            let (number, isNew) = memberNumbers.number(key, hash: hash)
            if isNew {
                evidence.members.append(key)
                evidence.surnames.append([])
            }
            return number
        }

        /// A handful of kinds: comparing with each beats hashing.
        mutating func kind(_ name: String) -> UInt8 {
            if let known = evidence.kinds.firstIndex(of: name) { return UInt8(known) }
            evidence.kinds.append(name)
            return UInt8(evidence.kinds.count - 1)
        }

        mutating func address(_ key: String?, hash: Int64?) -> Int32 {
            guard let key, let hash else { return -1 }
            let (number, isNew) = addressNumbers.number(key, hash: hash)
            if isNew {
                evidence.addressIsTown.append(AddressKey.isTownKey(key))
                evidence.addressIsUPRN.append(AddressKey.isUPRN(key))
            }
            return number
        }

        mutating func carer(_ kind: CarerKeyKind, _ key: String, hash: Int64) -> Int32 {
            let k = kind.ordinal
            let number = carerNumbers[k].number(key, hash: hash).number
            evidence.carerKeyCounts[k] = carerNumbers[k].count
            return number
        }

        mutating func carerName(_ name: FamilyGraph.CarerName) -> Int32 {
            let key = CarerNameKey(given: name.given, family: name.family, role: name.role)
            if let known = carerNameIndex[key] { return known }
            let number = Int32(evidence.carerNames.count)
            carerNameIndex[key] = number
            evidence.carerNames.append(name)
            return number
        }

        mutating func addSurnames(_ forms: [String], hashes: [Int64], to member: Int32) {
            for (form, hash) in zip(forms, hashes) {
                let number = surnameNumbers.number(form, hash: hash).number
                if !evidence.surnames[Int(member)].contains(number) { evidence.surnames[Int(member)].append(number) }
            }
        }
    }
}

extension CarerKeyKind {
    /// Position in `allCases`.
    var ordinal: Int {
        switch self {
        case .nhsNumber: return 0
        case .niNumber: return 1
        case .nameAndDOB: return 2
        case .contactPhone: return 3
        }
    }
}

extension FamilyGrouper {
    /// Columns of the evidence query, by position.
    private enum Column: Int {
        case record = 0, child, isChild, kind, line1, line2, postcode, uprn, carerNHS, carerGiven, carerFamily,
            carerDOB, carerNI
        case startDay, endDay, incidentRef, incidentType, town, familyName, relationship, phone
    }

    /// Reads every live child's records and every antenatal record, in batches from a cursor, each
    /// field read in place from libpq's buffer.
    ///
    /// Hook for incremental runs (FamilyGrouper+Incremental.swift): `scoped` reads only the records
    /// listed in the temporary table `family_scope_records`; `visit` sees each row's keys as text;
    /// `alreadyRead` (rows this transaction read before, in record order, none of them listed) are
    /// taken in among the rows read, in record order, so the evidence is as one read of both makes it.
    func loadEvidence(
        scoped: Bool = false, alreadyRead: [FamilyEvidence.ParsedRow] = [],
        visit: ((FamilyEvidence.ParsedRow) -> Void)? = nil
    ) throws -> FamilyEvidence {
        var builder = FamilyEvidence.Builder()
        var earlier = alreadyRead.makeIterator()
        var nextEarlier = earlier.next()
        /// Adds the rows read before that come ahead of record `record` (all of them: `Int64.max`).
        func addEarlier(before record: Int64) {
            while let row = nextEarlier, row.record < record {
                builder.add(row)
                visit?(row)
                nextEarlier = earlier.next()
            }
        }
        let addressKinds = settings.homeAddressKinds.union(settings.fallbackAddressKinds)
        let settings = settings
        // A batch at a time from a cursor planned for the whole result; the server reads the next
        // batch while this one is parsed (`forEachBatch` asks for it before handing this one over).
        try connection.forEachBatch(
            scoped ? Self.scopedEvidenceQuery : Self.everyRecordEvidenceQuery, cursor: "family_evidence"
        ) { result in
            // Keys are made on both cores (a result is read-only once received: libpq lets threads
            // share it); numbering them is one pass in row order, so it does not depend on threads.
            let shared = PostgresRawResult.SharedForReading(result)
            let parsed = ParallelSlices.collect(result.rowCount) { rows in
                rows.map { Self.parse(shared.result, $0, settings: settings, addressKinds: addressKinds) }
            }
            // No `reserveCapacity(count + batch)` here: it reserves exactly that, so every batch copied
            // all observations read so far into a new buffer; appending grows it geometrically.
            for slice in parsed {
                for row in slice {
                    addEarlier(before: row.record)
                    builder.add(row)
                    visit?(row)
                }
            }
        }
        addEarlier(before: Int64.max)
        return builder.evidence
    }

    /// The columns of the evidence query (`Column`) from `sr` (the record), `b` (its batch) and
    /// `child` (the record's child id); `condition` says when a child's record counts (its child live).
    private static func evidenceQuery(child: String, from: String, where condition: String) -> String {
        """
        SELECT sr.id, \(child), sr.subject = 'child', sr.kind, sr.address_line1, sr.address_line2, sr.postcode, sr.uprn,
               sr.carer_nhs_number, sr.carer_given_name, sr.carer_family_name, sr.carer_dob - DATE '1970-01-01', sr.carer_ni_number,
               p.starts_on - DATE '1970-01-01', p.ends_on - DATE '1970-01-01', sr.facts->>'incident_ref', sr.facts->>'incident_type',
               sr.town, sr.family_name, sr.facts->>'extra.contact_relationship', sr.facts->>'extra.contact_phone'
        \(from)
        CROSS JOIN LATERAL record_evidence_period(sr.kind, sr.facts, b.committed_at) p
        WHERE (sr.subject = 'child' AND \(condition)) OR sr.subject = 'expectant_parent'
        ORDER BY sr.id
        """
    }

    /// Every live child's records and every antenatal record. Records and their children's ids are
    /// both read in record order (two primary keys, merged); a child is live unless it is one of the
    /// few merged away or retired, held in one hash. Joining `children` instead read `child_records`
    /// by child and sorted all 980,869 rows back into record order (0.65 s at 1M records).
    private static let everyRecordEvidenceQuery = evidenceQuery(
        child: "cr.child_id",
        from: """
            FROM source_records sr
            JOIN feed_batches b ON b.id = sr.batch_id
            LEFT JOIN child_records cr ON cr.record_id = sr.id
            """,
        where: """
            cr.child_id IS NOT NULL
                AND cr.child_id NOT IN (SELECT child_id FROM children WHERE merged_into IS NOT NULL OR retired_at IS NOT NULL)
            """)

    /// The same rows for the records `fillScope` listed, each with its live child found there: two
    /// index probes a record instead of four.
    private static let scopedEvidenceQuery = evidenceQuery(
        child: "s.child_id",
        from: """
            FROM family_scope_records s
            JOIN source_records sr ON sr.id = s.record_id
            JOIN feed_batches b ON b.id = sr.batch_id
            """,
        where: "s.child_id IS NOT NULL")

    /// One record's keys, made from its columns (no numbering yet).
    private static func parse(
        _ result: PostgresRawResult, _ row: Int, settings: GroupingSettings, addressKinds: Set<String>
    ) -> FamilyEvidence.ParsedRow {
        func bytes(_ column: Column) -> AddressKey.Bytes { result.bytes(row, column.rawValue) }
        func text(_ column: Column) -> String? {
            result.isNull(row, column.rawValue) ? nil : AddressKey.string(bytes(column))
        }
        func day(_ column: Column) -> Int { Int(result.int64(row, column.rawValue) ?? 0) }

        let record = result.int64(row, Column.record.rawValue) ?? 0
        let isChild = bytes(.isChild).first == UInt8(ascii: "t")
        let kind = text(.kind) ?? ""
        var parsed = FamilyEvidence.ParsedRow(
            record: record, member: isChild ? text(.child) ?? "" : "E\(record)", kind: kind, start: day(.startDay),
            end: day(.endDay))
        if addressKinds.contains(kind) {
            let premises = AddressKey.premises(line1: bytes(.line1), line2: bytes(.line2))
            parsed.address = AddressKey.key(premises: premises, postcode: bytes(.postcode), uprn: bytes(.uprn))
            parsed.townAddress = AddressKey.townKey(premises: premises, town: bytes(.town))
        }
        // An antenatal record names the mother only: the baby's surname is not known.
        if isChild { parsed.surnames = AddressKey.surnameKeys(bytes(.familyName)) }
        parseCarers(result, row, settings: settings, into: &parsed)
        if kind == "police", let incident = text(.incidentRef), let type = text(.incidentType),
            settings.sameIncidentTypes.contains(type)
        {
            parsed.incident = incident
        }
        parsed.keyHashes = FamilyEvidence.KeyHashes(parsed)
        return parsed
    }

    private static func parseCarers(
        _ result: PostgresRawResult, _ row: Int, settings: GroupingSettings, into parsed: inout FamilyEvidence.ParsedRow
    ) {
        func bytes(_ column: Column) -> AddressKey.Bytes { result.bytes(row, column.rawValue) }
        let given = AddressKey.nameKey(bytes(.carerGiven))
        let family = AddressKey.nameKey(bytes(.carerFamily))
        let dob = result.isNull(row, Column.carerDOB.rawValue) ? nil : AddressKey.string(bytes(.carerDOB))
        if settings.carerKeys.contains(.nhsNumber), !result.isNull(row, Column.carerNHS.rawValue) {
            parsed.nhsCarer = AddressKey.string(bytes(.carerNHS))
        }
        if settings.carerKeys.contains(.niNumber), let dob, let family, let ni = niKey(bytes(.carerNI)) {
            parsed.niCarer = ni + "|" + dob + "|" + family
        }
        if settings.carerKeys.contains(.nameAndDOB), let given, let family, let dob {
            parsed.nameDOBCarer = given + "|" + family + "|" + dob
        }
        if settings.carerKeys.contains(.contactPhone), let family, let phone = phoneKey(bytes: bytes(.phone)) {
            parsed.phoneCarer = phone + "|" + family
        }
        // Read whatever the rules: the guards compare carers too.
        if let given = NameKey(utf8: bytes(.carerGiven)), let family = NameKey(utf8: bytes(.carerFamily)) {
            let relationship =
                result.isNull(row, Column.relationship.rawValue) ? nil : AddressKey.string(bytes(.relationship))
            parsed.carerName = FamilyGraph.CarerName(
                given: given, family: family, role: role(parsed.kind, relationship))
        }
    }

    /// An NI number in comparable form: upper case, no white space; nil when empty.
    static func niKey(_ bytes: AddressKey.Bytes) -> String? {
        guard !bytes.isEmpty else { return nil }
        let ni: String
        if AddressKey.isASCII(bytes) {
            ni = String(
                decoding: bytes.lazy.filter { $0 != 0x20 && !(0x09...0x0D).contains($0) }.map {
                    (0x61...0x7A).contains($0) ? $0 - 32 : $0
                }, as: UTF8.self)
        } else {
            ni = AddressKey.string(bytes).uppercased().filter { !$0.isWhitespace }
        }
        return ni.isEmpty ? nil : ni
    }
}
