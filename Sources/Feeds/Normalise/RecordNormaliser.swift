import Config
import Identifiers

/// Why a row could not be used. `reason` describes the problem, never the value.
public struct RowRejection: Error, Sendable, Equatable {
    public var field: String?
    public var reason: String
}

/// Completeness and validity of one field over a batch.
public struct FieldQuality: Sendable, Equatable {
    public var rows = 0
    public var present = 0
    public var valid = 0
}

/// Turns one data row of a feed into a `CanonicalRecord`, validating as it goes, and keeps the
/// batch's per-field quality counts. One normaliser serves one batch.
public struct RecordNormaliser {
    public let definition: FeedDefinition
    /// The day the batch is loaded: dates of birth after it are impossible.
    public let today: CalendarDate
    /// Header column index of each mapped field (`child.dob`, `fact.review_due`, `extra.x`).
    let index: [String: Int]
    let headerCount: Int
    /// Per-field counts, by slot (see `slotOf`): arrays rather than a dictionary, because this runs
    /// for every field of every row.
    private var counters: [FieldQuality]
    private let slotOf: [String: Int]
    private let slotNames: [String]
    private let positions: [Int]
    /// Fact names in the order they are read and stored, and which ones a row must carry.
    private let factOrder: [String]
    private let extraOrder: [String]
    private let requiredFacts: Set<String>

    public var quality: [String: FieldQuality] {
        var out: [String: FieldQuality] = [:]
        for (slot, name) in slotNames.enumerated() where counters[slot].rows > 0 { out[name] = counters[slot] }
        return out
    }

    static let defaultSexValues: [String: String] = [
        "M": "M", "MALE": "M", "BOY": "M", "F": "F", "FEMALE": "F", "GIRL": "F",
        "U": "U", "UNKNOWN": "U", "X": "U", "I": "U", "INDETERMINATE": "U", "NOT KNOWN": "U", "NOT STATED": "U",
    ]
    static let defaultBooleanValues: [String: String] = [
        "Y": "true", "YES": "true", "TRUE": "true", "1": "true", "N": "false", "NO": "false", "FALSE": "false",
        "0": "false",
    ]
    /// Facts a row of each kind must carry to be usable.
    static let requiredRowFacts: [PartnerKind: [String]] = [
        .healthVisiting: ["review_type", "review_due"],
        .schoolAttendance: ["period_start", "period_end", "sessions_possible", "sessions_attended"],
        .fsm: ["eligible_from"],
        .police: ["incident_ref", "incident_at", "incident_type"],
    ]

    /// Binds the definition's column names to positions in the file's header. Header names match
    /// ignoring case and surrounding spaces.
    public init(definition: FeedDefinition, header: [String], today: CalendarDate) throws(FeedBatchError) {
        self.definition = definition
        self.today = today
        var positions: [String: Int] = [:]
        for (position, name) in header.enumerated() {
            let key = name.trimmingSpaces.uppercased()
            if positions[key] == nil { positions[key] = position }
        }
        var index: [String: Int] = [:]
        var missing: [String] = []
        func bind(_ field: String, _ column: String) {
            if let position = positions[column.trimmingSpaces.uppercased()] {
                index[field] = position
            } else {
                missing.append("\(column) (for \(field))")
            }
        }
        for (field, column) in definition.columns { bind(field.rawValue, column) }
        for (fact, column) in definition.facts { bind("fact." + fact, column) }
        for (extra, column) in definition.extras { bind("extra." + extra, column) }
        guard missing.isEmpty else {
            throw FeedBatchError(
                .header, "the header lacks column(s) the definition maps: " + missing.sorted().joined(separator: ", "),
                line: 1)
        }
        self.index = index
        self.headerCount = header.count
        let names = index.keys.sorted()
        slotNames = names
        self.positions = names.map { index[$0]! }
        slotOf = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        counters = [FieldQuality](repeating: FieldQuality(), count: names.count)
        factOrder = definition.facts.keys.sorted()
        extraOrder = definition.extras.keys.sorted()
        requiredFacts = Set(Self.requiredRowFacts[definition.kind] ?? [])
    }

    /// Validates and normalises one row. Quality is counted for every row, used or not.
    public mutating func normalise(_ fields: [String], recordNumber: Int, lineNumber: Int) -> Result<
        CanonicalRecord, RowRejection
    > {
        var record = CanonicalRecord()
        record.recordNumber = recordNumber
        record.lineNumber = lineNumber
        var rejection: RowRejection?
        func reject(_ field: String?, _ reason: String) {
            if rejection == nil { rejection = RowRejection(field: field, reason: reason) }
        }
        let positions = self.positions
        let slotOf = self.slotOf
        var counters = self.counters
        defer { self.counters = counters }
        func value(_ field: String) -> String? {
            guard let slot = slotOf[field], positions[slot] < fields.count else { return nil }
            let raw = fields[positions[slot]]
            // Trim only when there is something to trim: most fields arrive clean.
            let first = raw.utf8.first
            let last = raw.utf8.last
            let text = first == 0x20 || first == 0x09 || last == 0x20 || last == 0x09 ? raw.trimmingSpaces : raw
            return text.isEmpty ? nil : text
        }
        func count(_ field: String, present: Bool, valid: Bool) {
            guard let slot = slotOf[field] else { return }
            counters[slot].rows += 1
            if present { counters[slot].present += 1 }
            if present && valid { counters[slot].valid += 1 }
        }
        func text(_ field: CanonicalField) -> String? {
            let raw = value(field.rawValue)
            count(field.rawValue, present: raw != nil, valid: raw != nil)
            return raw
        }
        func name(_ field: CanonicalField) -> String? {
            let raw = value(field.rawValue)
            let cleaned = raw.flatMap(NameCleaning.clean)
            count(field.rawValue, present: raw != nil, valid: cleaned != nil)
            return cleaned
        }
        func date(_ field: CanonicalField) -> (raw: String?, date: CalendarDate?) {
            let raw = value(field.rawValue)
            let parsed = raw.flatMap { definition.dateFormat(for: field.rawValue).parse(Array($0.utf8)) }
            count(field.rawValue, present: raw != nil, valid: parsed != nil && parsed! <= today)
            return (raw, parsed)
        }

        record.partnerRef = text(.partnerRef)

        // Identifiers: kept raw always, used only when valid.
        if let raw = value(CanonicalField.childNHSNumber.rawValue) {
            record.nhsNumberRaw = raw
            if case .success(let number) = NHSNumber.parse(raw) { record.nhsNumber = number.digits }
            count(CanonicalField.childNHSNumber.rawValue, present: true, valid: record.nhsNumber != nil)
        } else {
            count(CanonicalField.childNHSNumber.rawValue, present: false, valid: false)
        }
        if let raw = value(CanonicalField.childUPN.rawValue) {
            record.upnRaw = raw
            if case .success(let upn) = UniquePupilNumber.parse(raw) {
                record.upn = upn.value
                record.upnTemporary = upn.isTemporary
            }
            count(CanonicalField.childUPN.rawValue, present: true, valid: record.upn != nil)
        } else {
            count(CanonicalField.childUPN.rawValue, present: false, valid: false)
        }
        if let raw = value(CanonicalField.carerNHSNumber.rawValue) {
            record.carerNHSNumberRaw = raw
            if case .success(let number) = NHSNumber.parse(raw) { record.carerNHSNumber = number.digits }
            count(CanonicalField.carerNHSNumber.rawValue, present: true, valid: record.carerNHSNumber != nil)
        } else {
            count(CanonicalField.carerNHSNumber.rawValue, present: false, valid: false)
        }
        if let raw = value(CanonicalField.carerNINumber.rawValue) {
            record.carerNINumberRaw = raw
            if case .success(let number) = NationalInsuranceNumber.parse(raw) { record.carerNINumber = number.value }
            count(CanonicalField.carerNINumber.rawValue, present: true, valid: record.carerNINumber != nil)
        } else {
            count(CanonicalField.carerNINumber.rawValue, present: false, valid: false)
        }

        // Names.
        if let full = value(CanonicalField.childFullName.rawValue) {
            let parts = NameCleaning.split(fullName: full)
            record.givenName = parts.forename
            record.familyName = parts.surname
            count(CanonicalField.childFullName.rawValue, present: true, valid: parts.surname != nil && parts.forename != nil)
        } else {
            count(CanonicalField.childFullName.rawValue, present: false, valid: false)
        }
        record.givenName = name(.childForename) ?? record.givenName
        record.familyName = name(.childSurname) ?? record.familyName
        record.preferredGivenName = name(.childPreferredForename)
        record.preferredFamilyName = name(.childPreferredSurname)
        if let full = value(CanonicalField.carerFullName.rawValue) {
            let parts = NameCleaning.split(fullName: full)
            record.carerGivenName = parts.forename
            record.carerFamilyName = parts.surname
            count(CanonicalField.carerFullName.rawValue, present: true, valid: parts.surname != nil)
        } else {
            count(CanonicalField.carerFullName.rawValue, present: false, valid: false)
        }
        record.carerGivenName = name(.carerForename) ?? record.carerGivenName
        record.carerFamilyName = name(.carerSurname) ?? record.carerFamilyName

        // Sex.
        if let raw = value(CanonicalField.childSex.rawValue) {
            let mapped = definition.valueMaps["child.sex"]?[raw.uppercased()] ?? Self.defaultSexValues[raw.uppercased()]
            record.sex = mapped ?? "U"
            count(CanonicalField.childSex.rawValue, present: true, valid: mapped != nil)
        } else {
            count(CanonicalField.childSex.rawValue, present: false, valid: false)
        }

        // Address.
        if let full = value(CanonicalField.addressFull.rawValue) {
            let parts = NameCleaning.split(fullAddress: full)
            (record.addressLine1, record.addressLine2, record.town) = (parts.line1, parts.line2, parts.town)
            count(CanonicalField.addressFull.rawValue, present: true, valid: parts.line1 != nil)
        } else {
            count(CanonicalField.addressFull.rawValue, present: false, valid: false)
        }
        record.addressLine1 = text(.addressLine1).flatMap(NameCleaning.collapse) ?? record.addressLine1
        record.addressLine2 = text(.addressLine2).flatMap(NameCleaning.collapse) ?? record.addressLine2
        record.town = text(.town).flatMap(NameCleaning.collapse) ?? record.town
        record.uprn = text(.uprn)
        if let raw = value(CanonicalField.postcode.rawValue) {
            if case .success(let postcode) = UKPostcode.parse(raw) {
                record.postcode = postcode.value
            } else {
                record.postcodeRaw = raw
            }
            count(CanonicalField.postcode.rawValue, present: true, valid: record.postcode != nil)
        } else {
            count(CanonicalField.postcode.rawValue, present: false, valid: false)
        }

        // Dates of birth.
        let carerDOB = date(.carerDOB)
        if carerDOB.raw != nil {
            if let dob = carerDOB.date, dob <= today, dob.age(on: today) >= 10, dob.age(on: today) <= 90 {
                record.carerDOB = dob
            } else {
                reject(CanonicalField.carerDOB.rawValue, carerDOB.date == nil
                    ? "not a date in the format \(definition.dateFormat(for: "carer.dob").pattern)"
                    : "not a plausible date of birth for a parent or carer")
            }
        }
        let childDOB = date(.childDOB)
        let ageText = value(CanonicalField.childAge.rawValue)
        let age = ageText.flatMap { Int($0) }
        count(CanonicalField.childAge.rawValue, present: ageText != nil, valid: age.map { definition.childAges.contains($0) } ?? false)
        let hasChild = record.givenName != nil || record.familyName != nil || childDOB.raw != nil
            || record.nhsNumberRaw != nil || record.upnRaw != nil
        if !hasChild && definition.kind == .healthVisiting {
            record.subject = .expectantParent
            if record.carerFamilyName == nil && record.carerNHSNumber == nil {
                reject("carer.surname", "an antenatal row names neither the mother nor her NHS number")
            }
        } else {
            if let raw = childDOB.raw {
                let pattern = definition.dateFormat(for: "child.dob").pattern
                if let dob = childDOB.date {
                    if dob > today {
                        reject("child.dob", "date of birth is in the future")
                    } else if !definition.childAges.contains(dob.age(on: today)) {
                        reject(
                            "child.dob",
                            "age \(dob.age(on: today)) is outside \(definition.childAges.lowerBound)–"
                                + "\(definition.childAges.upperBound), plausible for this feed")
                    } else {
                        record.dob = dob
                    }
                } else {
                    _ = raw
                    reject("child.dob", "not a valid date in the format \(pattern)")
                }
            } else if let ageText {
                if let age, definition.childAges.contains(age) {
                    record.approximateAge = age
                } else {
                    reject("child.age", "not a whole number of years within the feed's plausible ages")
                }
            } else {
                reject(definition.columns[.childDOB] != nil ? "child.dob" : "child.age", "no date of birth or age")
            }
            if record.familyName == nil {
                reject(definition.columns[.childFullName] != nil ? "child.full_name" : "child.surname", "no surname")
            }
        }

        // Facts.
        let required = requiredFacts
        for fact in factOrder {
            let field = "fact." + fact
            guard let raw = value(field) else {
                count(field, present: false, valid: false)
                if required.contains(fact) && record.subject == .child { reject(field, "required value is blank") }
                continue
            }
            let type = KnownFacts.types[fact]!
            var parsed: FactValue?
            var problem = "not a valid \(type.rawValue)"
            switch type {
            case .text:
                if let map = definition.valueMaps[field] {
                    if let canonical = map[raw.uppercased()] {
                        parsed = .text(canonical)
                    } else if fact == "incident_type" {
                        parsed = .text(raw.uppercased())
                    } else {
                        problem = "value is not in the definition's [values.\(field)] list"
                    }
                } else {
                    parsed = NameCleaning.collapse(raw).map(FactValue.text)
                }
            case .integer:
                if let number = Int(raw), number >= 0 { parsed = .integer(number) }
            case .boolean:
                let map = definition.valueMaps[field] ?? Self.defaultBooleanValues
                if let word = map[raw.uppercased()] { parsed = .boolean(word == "true") }
            case .date:
                let format = definition.dateFormat(for: field)
                if let date = format.parse(Array(raw.utf8)) {
                    parsed = .date(date)
                } else {
                    problem = "not a valid date in the format \(format.pattern)"
                }
            case .datetime:
                let format = definition.dateFormat(for: field)
                if let stamp = format.parseDateTime(Array(raw.utf8)) {
                    if stamp.date > today {
                        problem = "date is in the future"
                    } else {
                        parsed = .dateTime(stamp.date, minutes: stamp.minuteOfDay)
                    }
                } else {
                    problem = "not a valid date and time in the format \(format.pattern)"
                }
            }
            count(field, present: true, valid: parsed != nil)
            if let parsed {
                record.facts.append((fact, parsed))
            } else {
                reject(field, problem)
            }
        }
        if case .integer(let possible)? = record.fact("sessions_possible"),
            case .integer(let attended)? = record.fact("sessions_attended"), attended > possible
        {
            reject("fact.sessions_attended", "more sessions attended than possible")
        }
        if case .date(let start)? = record.fact("period_start"), case .date(let end)? = record.fact("period_end"),
            end < start
        {
            reject("fact.period_end", "period ends before it starts")
        }
        for extra in extraOrder {
            if let raw = value("extra." + extra) { record.facts.append(("extra." + extra, .text(raw))) }
        }

        if let rejection { return .failure(rejection) }
        return .success(record)
    }
}
