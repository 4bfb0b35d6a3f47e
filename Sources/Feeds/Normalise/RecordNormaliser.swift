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
    /// Per-field counts, by slot: arrays rather than a dictionary, because this runs for every
    /// field of every row. Slots are the mapped fields' names in sorted order.
    var counters: [FieldQuality]
    private let slotNames: [String]
    /// Header column of each slot.
    let positions: [Int]
    /// Slot of each canonical field (by `CanonicalField.ordinal`), -1 when the definition does not map it.
    let fieldSlots: [Int]
    /// The facts in the order they are read and stored, then the extras, resolved once per batch.
    let factPlans: [FactPlan]
    let extraPlans: [(name: String, slot: Int)]
    /// Partner sex values (upper-cased) → M/F/U: the definition's map over the defaults.
    let sexValues: [String: String]
    let childDOBFormat: DateFormat
    let carerDOBFormat: DateFormat

    /// One fact of the definition, with everything `normalise` needs to know about it.
    struct FactPlan {
        var name: String
        /// `fact.NAME`, as quality and rejections name it.
        var field: String
        var slot: Int
        var type: FactType
        var required: Bool
        var valueMap: [String: String]?
        var format: DateFormat
        var role: Role
        /// Dates outside `earliest…latest` (`FactRanges`) are refused, for the reasons given.
        var earliest: CalendarDate
        var latest: CalendarDate
        var tooEarly: String
        var tooLate: String

        /// Facts checked against each other after all are read.
        enum Role { case none, sessionsPossible, sessionsAttended, periodStart, periodEnd, eligibleFrom, eligibleTo }
    }

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
            } else if !definition.optionalColumns.contains(column.trimmingSpaces.uppercased()) {
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
        let slotOf = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        counters = [FieldQuality](repeating: FieldQuality(), count: names.count)
        var fieldSlots = [Int](repeating: -1, count: CanonicalField.allCases.count)
        for field in CanonicalField.allCases { fieldSlots[field.ordinal] = slotOf[field.rawValue] ?? -1 }
        self.fieldSlots = fieldSlots
        let requiredFacts = Set(Self.requiredRowFacts[definition.kind] ?? [])
        factPlans = definition.facts.keys.sorted().map { fact in
            let field = "fact." + fact
            let role: FactPlan.Role =
                switch fact {
                case "sessions_possible": .sessionsPossible
                case "sessions_attended": .sessionsAttended
                case "period_start": .periodStart
                case "period_end": .periodEnd
                case "eligible_from": .eligibleFrom
                case "eligible_to": .eligibleTo
                default: .none
                }
            let type = KnownFacts.types[fact]!
            // Every date fact has a window (a test checks); without one, any real date, and no future date-time.
            let anyDate = FactRanges.Window(
                yearsBefore: today.year - 1, yearsAfter: type == .datetime ? 0 : 9999 - today.year)
            let window = FactRanges.dateWindows[fact] ?? anyDate
            return FactPlan(
                name: fact, field: field, slot: slotOf[field]!, type: type,
                required: requiredFacts.contains(fact), valueMap: definition.valueMaps[field],
                format: definition.dateFormat(for: field), role: role, earliest: window.earliest(loadedOn: today),
                latest: window.latest(loadedOn: today), tooEarly: window.tooEarly, tooLate: window.tooLate)
        }
        // An optional extra column the file lacks has no slot and is left out.
        extraPlans = definition.extras.keys.sorted().compactMap { name in
            slotOf["extra." + name].map { ("extra." + name, $0) }
        }
        sexValues = Self.defaultSexValues.merging(definition.valueMaps["child.sex"] ?? [:]) { _, mapped in mapped }
        childDOBFormat = definition.dateFormat(for: CanonicalField.childDOB.rawValue)
        carerDOBFormat = definition.dateFormat(for: CanonicalField.carerDOB.rawValue)
    }

    /// Validates and normalises one row. Quality is counted for every row, used or not.
    public mutating func normalise(
        _ fields: [String], recordNumber: Int, lineNumber: Int
    ) -> Result<
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
        let fieldSlots = self.fieldSlots
        let today = self.today
        // Borrowed for the row (swapped, not copied, so that updating them copies nothing).
        var counters: [FieldQuality] = []
        swap(&counters, &self.counters)
        defer { swap(&counters, &self.counters) }
        func slot(_ field: CanonicalField) -> Int { fieldSlots[field.ordinal] }
        func value(_ slot: Int) -> String? {
            guard slot >= 0, positions[slot] < fields.count else { return nil }
            let raw = fields[positions[slot]]
            // Trim only when there is something to trim: most fields arrive clean.
            let first = raw.utf8.first
            let last = raw.utf8.last
            let text = first == 0x20 || first == 0x09 || last == 0x20 || last == 0x09 ? raw.trimmingSpaces : raw
            return text.isEmpty ? nil : text
        }
        func value(_ field: CanonicalField) -> String? { value(slot(field)) }
        func count(_ slot: Int, present: Bool, valid: Bool) {
            guard slot >= 0 else { return }
            counters[slot].rows += 1
            if present { counters[slot].present += 1 }
            if present && valid { counters[slot].valid += 1 }
        }
        func count(_ field: CanonicalField, present: Bool, valid: Bool) {
            count(slot(field), present: present, valid: valid)
        }
        func text(_ field: CanonicalField) -> String? {
            let raw = value(field)
            count(field, present: raw != nil, valid: raw != nil)
            return raw
        }
        // A name mixing Latin with Cyrillic or Greek letters is kept, as sent, but counted as not valid.
        func name(_ field: CanonicalField) -> String? {
            guard let raw = value(field) else {
                count(field, present: false, valid: false)
                return nil
            }
            let cleaned = NameCleaning.cleanChecked(raw)
            count(field, present: true, valid: cleaned.name != nil && !cleaned.mixedScripts)
            return cleaned.name
        }
        func date(_ field: CanonicalField, _ format: DateFormat) -> (raw: String?, date: CalendarDate?) {
            let raw = value(field)
            let parsed = raw.flatMap { format.parse($0.utf8) }
            count(field, present: raw != nil, valid: parsed != nil && parsed! <= today)
            return (raw, parsed)
        }

        record.partnerRef = text(.partnerRef)

        // Identifiers: kept raw always, used only when valid.
        if let raw = value(.childNHSNumber) {
            record.nhsNumberRaw = raw
            if case .success(let number) = NHSNumber.parse(raw) { record.nhsNumber = number.digits }
            count(.childNHSNumber, present: true, valid: record.nhsNumber != nil)
        } else {
            count(.childNHSNumber, present: false, valid: false)
        }
        if let raw = value(.childUPN) {
            record.upnRaw = raw
            if case .success(let upn) = UniquePupilNumber.parse(raw) {
                record.upn = upn.value
                record.upnTemporary = upn.isTemporary
            }
            count(.childUPN, present: true, valid: record.upn != nil)
        } else {
            count(.childUPN, present: false, valid: false)
        }
        if let raw = value(.carerNHSNumber) {
            record.carerNHSNumberRaw = raw
            if case .success(let number) = NHSNumber.parse(raw) { record.carerNHSNumber = number.digits }
            count(.carerNHSNumber, present: true, valid: record.carerNHSNumber != nil)
        } else {
            count(.carerNHSNumber, present: false, valid: false)
        }
        if let raw = value(.carerNINumber) {
            record.carerNINumberRaw = raw
            if case .success(let number) = NationalInsuranceNumber.parse(raw) { record.carerNINumber = number.value }
            count(.carerNINumber, present: true, valid: record.carerNINumber != nil)
        } else {
            count(.carerNINumber, present: false, valid: false)
        }

        // Names.
        if let full = value(.childFullName) {
            let parts = NameCleaning.split(fullName: full)
            record.givenName = parts.forename
            record.familyName = parts.surname
            count(
                .childFullName, present: true,
                valid: parts.surname != nil && parts.forename != nil && !NameCleaning.mixesScripts(full))
        } else {
            count(.childFullName, present: false, valid: false)
        }
        record.givenName = name(.childForename) ?? record.givenName
        record.familyName = name(.childSurname) ?? record.familyName
        record.preferredGivenName = name(.childPreferredForename)
        record.preferredFamilyName = name(.childPreferredSurname)
        if let full = value(.carerFullName) {
            let parts = NameCleaning.split(fullName: full)
            record.carerGivenName = parts.forename
            record.carerFamilyName = parts.surname
            count(.carerFullName, present: true, valid: parts.surname != nil && !NameCleaning.mixesScripts(full))
        } else {
            count(.carerFullName, present: false, valid: false)
        }
        record.carerGivenName = name(.carerForename) ?? record.carerGivenName
        record.carerFamilyName = name(.carerSurname) ?? record.carerFamilyName

        // Sex.
        if let raw = value(.childSex) {
            let mapped = sexValues[raw.uppercased()]
            record.sex = mapped ?? "U"
            count(.childSex, present: true, valid: mapped != nil)
        } else {
            count(.childSex, present: false, valid: false)
        }

        // Address.
        if let full = value(.addressFull) {
            let parts = NameCleaning.split(fullAddress: full)
            (record.addressLine1, record.addressLine2, record.town) = (parts.line1, parts.line2, parts.town)
            count(.addressFull, present: true, valid: parts.line1 != nil)
        } else {
            count(.addressFull, present: false, valid: false)
        }
        record.addressLine1 = text(.addressLine1).flatMap(NameCleaning.collapse) ?? record.addressLine1
        record.addressLine2 = text(.addressLine2).flatMap(NameCleaning.collapse) ?? record.addressLine2
        record.town = text(.town).flatMap(NameCleaning.collapse) ?? record.town
        record.uprn = text(.uprn)
        if let raw = value(.postcode) {
            if case .success(let postcode) = UKPostcode.parse(raw) {
                record.postcode = postcode.value
            } else {
                record.postcodeRaw = raw
            }
            count(.postcode, present: true, valid: record.postcode != nil)
        } else {
            count(.postcode, present: false, valid: false)
        }

        // Dates of birth.
        let carerDOB = date(.carerDOB, carerDOBFormat)
        if carerDOB.raw != nil {
            if let dob = carerDOB.date, dob <= today, dob.age(on: today) >= 10, dob.age(on: today) <= 90 {
                record.carerDOB = dob
            } else {
                reject(
                    CanonicalField.carerDOB.rawValue,
                    carerDOB.date == nil
                        ? "not a date in the format \(carerDOBFormat.pattern)"
                        : "not a plausible date of birth for a parent or carer")
            }
        }
        let childDOB = date(.childDOB, childDOBFormat)
        let ageText = value(.childAge)
        let age = ageText.flatMap { Int($0) }
        count(.childAge, present: ageText != nil, valid: age.map { definition.childAges.contains($0) } ?? false)
        let hasChild =
            record.givenName != nil || record.familyName != nil || childDOB.raw != nil
            || record.nhsNumberRaw != nil || record.upnRaw != nil
        if !hasChild && definition.kind == .healthVisiting {
            record.subject = .expectantParent
            if record.carerFamilyName == nil && record.carerNHSNumber == nil {
                reject("carer.surname", "an antenatal row names neither the mother nor her NHS number")
            }
        } else {
            if childDOB.raw != nil {
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
                    reject("child.dob", "not a valid date in the format \(childDOBFormat.pattern)")
                }
            } else if ageText != nil {
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
        var sessionsPossible: (value: Int, slot: Int)?
        var sessionsAttended: (value: Int, slot: Int)?
        var periodStart: CalendarDate?
        var periodEnd: (date: CalendarDate, slot: Int)?
        var eligibleFrom: CalendarDate?
        var eligibleTo: (date: CalendarDate, slot: Int)?
        for plan in factPlans {
            guard let raw = value(plan.slot) else {
                count(plan.slot, present: false, valid: false)
                if plan.required && record.subject == .child { reject(plan.field, "required value is blank") }
                continue
            }
            var parsed: FactValue?
            var problem = "not a valid \(plan.type.rawValue)"
            switch plan.type {
            case .text:
                if let map = plan.valueMap {
                    if let canonical = map[raw.uppercased()] {
                        parsed = .text(canonical)
                    } else if plan.name == "incident_type" {
                        parsed = .text(raw.uppercased())
                    } else {
                        problem = "value is not in the definition's [values.\(plan.field)] list"
                    }
                } else {
                    parsed = NameCleaning.collapse(raw).map(FactValue.text)
                }
            case .integer:
                if let number = Int(raw), number >= 0 {
                    parsed = .integer(number)
                    if plan.role == .sessionsPossible { sessionsPossible = (number, plan.slot) }
                    if plan.role == .sessionsAttended { sessionsAttended = (number, plan.slot) }
                }
            case .boolean:
                let map = plan.valueMap ?? Self.defaultBooleanValues
                if let word = map[raw.uppercased()] { parsed = .boolean(word == "true") }
            case .date:
                if let date = plan.format.parse(raw.utf8) {
                    if date < plan.earliest {
                        problem = plan.tooEarly
                    } else if date > plan.latest {
                        problem = plan.tooLate
                    } else {
                        parsed = .date(date)
                        switch plan.role {
                        case .periodStart: periodStart = date
                        case .periodEnd: periodEnd = (date, plan.slot)
                        case .eligibleFrom: eligibleFrom = date
                        case .eligibleTo: eligibleTo = (date, plan.slot)
                        default: break
                        }
                    }
                } else {
                    problem = "not a valid date in the format \(plan.format.pattern)"
                }
            case .datetime:
                if let stamp = plan.format.parseDateTime(raw.utf8) {
                    if stamp.date < plan.earliest {
                        problem = plan.tooEarly
                    } else if stamp.date > plan.latest {
                        problem = plan.tooLate
                    } else {
                        parsed = .dateTime(stamp.date, minutes: stamp.minuteOfDay)
                    }
                } else {
                    problem = "not a valid date and time in the format \(plan.format.pattern)"
                }
            }
            count(plan.slot, present: true, valid: parsed != nil)
            if let parsed {
                record.facts.append((plan.name, parsed))
            } else {
                reject(plan.field, problem)
            }
        }
        // Facts checked against each other: the field named is counted as not valid.
        func refuse(_ slot: Int, _ field: String, _ reason: String) {
            counters[slot].valid -= 1
            reject(field, reason)
        }
        let periodInOrder = periodStart == nil || periodEnd == nil || periodStart! <= periodEnd!.date
        if let possible = sessionsPossible, periodInOrder,
            possible.value > FactRanges.maximumSessions(from: periodStart, to: periodEnd?.date)
        {
            refuse(possible.slot, "fact.sessions_possible", "more sessions possible than two a day over the period")
        }
        if let possible = sessionsPossible, let attended = sessionsAttended, attended.value > possible.value {
            refuse(attended.slot, "fact.sessions_attended", "more sessions attended than possible")
        }
        if let end = periodEnd, !periodInOrder {
            refuse(end.slot, "fact.period_end", "period ends before it starts")
        }
        if let from = eligibleFrom, let to = eligibleTo, to.date < from {
            refuse(to.slot, "fact.eligible_to", "eligibility ends before it starts")
        }
        for extra in extraPlans {
            if let raw = value(extra.slot) { record.facts.append((extra.name, .text(raw))) }
        }

        if let rejection { return .failure(rejection) }
        return .success(record)
    }
}

extension CanonicalField {
    /// Position among `allCases`, for per-field tables indexed without hashing.
    var ordinal: Int {
        switch self {
        case .partnerRef: 0
        case .childNHSNumber: 1
        case .childUPN: 2
        case .childForename: 3
        case .childSurname: 4
        case .childPreferredForename: 5
        case .childPreferredSurname: 6
        case .childFullName: 7
        case .childDOB: 8
        case .childAge: 9
        case .childSex: 10
        case .addressLine1: 11
        case .addressLine2: 12
        case .town: 13
        case .addressFull: 14
        case .postcode: 15
        case .uprn: 16
        case .carerNHSNumber: 17
        case .carerForename: 18
        case .carerSurname: 19
        case .carerFullName: 20
        case .carerDOB: 21
        case .carerNINumber: 22
        }
    }
}
