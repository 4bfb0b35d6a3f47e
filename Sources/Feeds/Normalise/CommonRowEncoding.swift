import Config
import Identifiers
import Postgres

/// The loader's fast lane: a row that the rules accept is taken from the CSV bytes straight to COPY
/// text, with no `String` per field and no `CanonicalRecord`. Values are trimmed of spaces and tabs
/// as the reference trims them. A name holding non-ASCII bytes is read and cleaned as a `String`,
/// by the reference's own `NameCleaning` calls (only such names: a feed sends a few in a hundred).
/// Anything else (a non-ASCII byte outside a name, doubled quotes, any rule the row breaks) is left
/// to `normalise(_:recordNumber:lineNumber:)`, the reference, which decides and explains it. The lane applies the same rules through the same
/// functions (identifier parsers, `NameCleaning`, date formats, `FactRanges`), and writes the same
/// bytes as `RowReading.encode` of the reference's record: a test compares the two on tricky rows.
extension RecordNormaliser {
    /// Encodes `record` as one `source_records` row and counts its quality, or returns false,
    /// having changed nothing, when the row is not one the lane decides.
    mutating func encodeCommonRow(
        _ record: CSVRecord, recordNumber: Int, lineNumber: Int, batch: Int, feed: String, kind: String,
        scratch: inout CommonRowScratch, into rows: inout CopyTextBuffer
    ) -> Bool {
        scratch.startRow(slots: positions.count, copyEscapes: record.mayNeedCopyEscaping)
        guard fillCommonRow(record, scratch: &scratch),
            scratch.encodeLine(feed: feed, kind: kind, batch: batch, recordNumber: recordNumber, lineNumber: lineNumber)
        else { return false }
        scratch.addDeltas(to: &counters)
        scratch.emitLine(into: &rows)
        return true
    }

    /// Validates and normalises the row into `scratch`; false when the reference must decide.
    private func fillCommonRow(_ record: CSVRecord, scratch: inout CommonRowScratch) -> Bool {
        typealias Column = CommonRowScratch.Column
        let positions = self.positions
        let fieldSlots = self.fieldSlots
        let today = self.today
        // Closures below use these locals, never `self`: capturing `self` copied the whole
        // normaliser (its dictionaries and arrays retained and released) on every row.
        let sexValues = self.sexValues
        var unusual = false
        let fields = record.inPlaceFields()
        let asciiOnly = record.isASCIIOnly
        /// The field's bytes, trimmed of spaces and tabs, nil when blank; flags a value the
        /// reference must see (doubled quotes, a non-ASCII byte).
        func value(_ slot: Int) -> UnsafeBufferPointer<UInt8>? {
            guard slot >= 0, positions[slot] < fields.count else { return nil }
            guard let bytes = fields.bytes(positions[slot]) else {
                unusual = true
                return nil
            }
            // Checked before trimming: the reference trims Characters, and a space followed by a
            // combining mark is one Character, not a space.
            if !asciiOnly && !Self.isASCII(bytes) {
                unusual = true
                return nil
            }
            return Self.trimmedSpaces(bytes)
        }
        /// A name field: its bytes as `value` gives them when ASCII, else the field as the reference
        /// reads it (decoded under the feed's encoding, trimmed as `trimmingSpaces` trims).
        func nameValue(_ slot: Int) -> NameValue? {
            guard slot >= 0, positions[slot] < fields.count else { return nil }
            guard let bytes = fields.bytes(positions[slot]) else {
                unusual = true
                return nil
            }
            if asciiOnly || Self.isASCII(bytes) { return Self.trimmedSpaces(bytes).map(NameValue.ascii) }
            let text = record.field(positions[slot]).trimmingSpaces
            return text.isEmpty ? nil : .text(text)
        }
        func slot(_ field: CanonicalField) -> Int { fieldSlots[field.ordinal] }
        func count(_ slot: Int, present: Bool, valid: Bool) { scratch.count(slot, present: present, valid: valid) }
        func text(_ field: CanonicalField, into column: Column) {
            let raw = value(slot(field))
            count(slot(field), present: raw != nil, valid: raw != nil)
            if let raw { scratch.set(column, raw) }
        }
        func collapsed(_ field: CanonicalField, into column: Column) {
            let raw = value(slot(field))
            count(slot(field), present: raw != nil, valid: raw != nil)
            if let raw, !scratch.setCollapsed(column, raw) { unusual = true }
        }
        func name(_ field: CanonicalField, into column: Column) {
            switch nameValue(slot(field)) {
            case nil:
                count(slot(field), present: false, valid: false)
            case .ascii(let raw):
                let kept = scratch.setCleanedName(column, raw)
                count(slot(field), present: true, valid: kept)
            case .text(let raw):
                // As the reference's `name`: kept as cleaned, valid unless it mixes scripts.
                let cleaned = NameCleaning.cleanChecked(raw)
                if let name = cleaned.name { scratch.set(column, name) }
                count(slot(field), present: true, valid: cleaned.name != nil && !cleaned.mixedScripts)
            }
        }
        func identifier(
            _ field: CanonicalField, raw rawColumn: Column, clean cleanColumn: Column,
            _ parse: (UnsafeBufferPointer<UInt8>, UnsafeMutableBufferPointer<UInt8>) -> Int?
        ) -> Bool {
            guard let raw = value(slot(field)) else {
                count(slot(field), present: false, valid: false)
                return false
            }
            scratch.set(rawColumn, raw)
            let valid = scratch.setWriting(cleanColumn, maxCount: 16) { parse(raw, $0) }
            count(slot(field), present: true, valid: valid)
            return true
        }

        text(.partnerRef, into: .partnerRef)
        var upnTemporary = false
        // The parsers' normalised values are written straight into the row (letters, digits and
        // spaces only: nothing COPY text escapes).
        let hasNHSNumber = identifier(.childNHSNumber, raw: .nhsNumberRaw, clean: .nhsNumber) { raw, out in
            NHSNumber.normalised(utf8: raw, into: out)
        }
        let hasUPN = identifier(.childUPN, raw: .upnRaw, clean: .upn) { raw, out in
            guard let upn = UniquePupilNumber.normalised(utf8: raw, into: out) else { return nil }
            upnTemporary = upn.isTemporary
            return upn.count
        }
        scratch.upnTemporary = upnTemporary
        _ = identifier(.carerNHSNumber, raw: .carerNHSNumberRaw, clean: .carerNHSNumber) { raw, out in
            NHSNumber.normalised(utf8: raw, into: out)
        }
        _ = identifier(.carerNINumber, raw: .carerNINumberRaw, clean: .carerNINumber) { raw, out in
            NationalInsuranceNumber.normalised(utf8: raw, into: out)
        }
        // One-column names are split as `NameCleaning.split(fullName:)` splits them, over bytes.
        func fullName(_ field: CanonicalField, given: Column, family: Column, needsForename: Bool) {
            switch nameValue(slot(field)) {
            case nil:
                count(slot(field), present: false, valid: false)
            case .ascii(let full):
                let parts = scratch.setSplitFullName(full, given: given, family: family)
                count(slot(field), present: true, valid: parts.surname && (parts.forename || !needsForename))
            case .text(let full):
                let parts = NameCleaning.split(fullName: full)
                if let forename = parts.forename { scratch.set(given, forename) }
                if let surname = parts.surname { scratch.set(family, surname) }
                count(
                    slot(field), present: true,
                    valid: parts.surname != nil && (parts.forename != nil || !needsForename)
                        && !NameCleaning.mixesScripts(full))
            }
        }
        fullName(.childFullName, given: .givenName, family: .familyName, needsForename: true)
        name(.childForename, into: .givenName)
        name(.childSurname, into: .familyName)
        name(.childPreferredForename, into: .preferredGivenName)
        name(.childPreferredSurname, into: .preferredFamilyName)
        fullName(.carerFullName, given: .carerGivenName, family: .carerFamilyName, needsForename: false)
        name(.carerForename, into: .carerGivenName)
        name(.carerSurname, into: .carerFamilyName)

        if let raw = value(slot(.childSex)) {
            let known = scratch.setMapped(.sex, map: -1, raw, otherwise: "U") { sexValues[$0] }
            count(slot(.childSex), present: true, valid: known)
        } else {
            count(slot(.childSex), present: false, valid: false)
        }

        if let full = value(slot(.addressFull)) {
            let hasLine1 = scratch.setSplitFullAddress(full)
            count(slot(.addressFull), present: true, valid: hasLine1)
        } else {
            count(slot(.addressFull), present: false, valid: false)
        }
        collapsed(.addressLine1, into: .addressLine1)
        collapsed(.addressLine2, into: .addressLine2)
        collapsed(.town, into: .town)
        text(.uprn, into: .uprn)
        if let raw = value(slot(.postcode)) {
            if scratch.setWriting(.postcode, maxCount: 9, { UKPostcode.normalised(utf8: raw, into: $0) }) {
                count(slot(.postcode), present: true, valid: true)
            } else {
                scratch.set(.postcodeRaw, raw)
                count(slot(.postcode), present: true, valid: false)
            }
        } else {
            count(slot(.postcode), present: false, valid: false)
        }

        // Dates of birth and age: any refusal is the reference's to explain.
        if let raw = value(slot(.carerDOB)) {
            let parsed = carerDOBFormat.parse(raw)
            count(slot(.carerDOB), present: true, valid: parsed != nil && parsed! <= today)
            guard let dob = parsed, dob <= today, dob.age(on: today) >= 10, dob.age(on: today) <= 90 else {
                return false
            }
            scratch.set(.carerDOB, dob, raw: raw, rawIsISO: carerDOBFormat.readsISODatesOnly)
        } else {
            count(slot(.carerDOB), present: false, valid: false)
        }
        let childDOBRaw = value(slot(.childDOB))
        let childDOB = childDOBRaw.flatMap { childDOBFormat.parse($0) }
        count(slot(.childDOB), present: childDOBRaw != nil, valid: childDOB != nil && childDOB! <= today)
        let ageText = value(slot(.childAge))
        let age = ageText.flatMap(Self.integer)
        count(slot(.childAge), present: ageText != nil, valid: age.map { definition.childAges.contains($0) } ?? false)
        let hasChild =
            scratch.isSet(.givenName) || scratch.isSet(.familyName) || childDOBRaw != nil || hasNHSNumber
            || hasUPN
        // A health visiting row naming no child is antenatal: about the expectant mother, who must
        // be named or identified; no date of birth, age or surname of a child is asked of it.
        let isChild = hasChild || definition.kind != .healthVisiting
        scratch.isAntenatal = !isChild
        if !isChild {
            guard scratch.isSet(.carerFamilyName) || scratch.isSet(.carerNHSNumber) else { return false }
        } else if childDOBRaw != nil {
            guard let dob = childDOB, dob <= today, definition.childAges.contains(dob.age(on: today)) else {
                return false
            }
            scratch.set(.dob, dob, raw: childDOBRaw!, rawIsISO: childDOBFormat.readsISODatesOnly)
        } else {
            guard ageText != nil, let age, definition.childAges.contains(age) else { return false }
            scratch.approximateAge = age
        }
        guard !isChild || scratch.isSet(.familyName) else { return false }
        if unusual { return false }
        return fillCommonFacts(value: value, requiringFacts: isChild, scratch: &scratch) && !unusual
    }

    /// `Int(_:)` of an ASCII value: digits only are read here; anything else (a sign) as the
    /// reference reads it, through a string (rare).
    private static func integer(_ raw: UnsafeBufferPointer<UInt8>) -> Int? {
        CommonRowScratch.plainInteger(raw) ?? Int(String(decoding: raw, as: UTF8.self))
    }

    /// A name field's value: ASCII bytes (cleaned over bytes), or a non-ASCII name as text.
    private enum NameValue {
        case ascii(UnsafeBufferPointer<UInt8>)
        case text(String)
    }

    /// `bytes` without the spaces and tabs at its ends (as `trimmingSpaces` trims an ASCII value),
    /// nil when nothing is left.
    @inline(__always)
    private static func trimmedSpaces(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        guard let base = bytes.baseAddress else { return nil }
        var lower = 0
        var upper = bytes.count
        while lower < upper && (base[lower] == 0x20 || base[lower] == 0x09) { lower += 1 }
        while upper > lower && (base[upper - 1] == 0x20 || base[upper - 1] == 0x09) { upper -= 1 }
        guard lower < upper else { return nil }
        return UnsafeBufferPointer(start: base + lower, count: upper - lower)
    }

    /// Whether every byte of `bytes` is ASCII (eight at a time).
    private static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        var union: UInt64 = 0
        var offset = 0
        while offset + 8 <= bytes.count {
            union |= ByteWords.load(base + offset)
            offset += 8
        }
        var tail: UInt8 = 0
        while offset < bytes.count {
            tail |= base[offset]
            offset += 1
        }
        return union & ByteWords.highs == 0 && tail < 0x80
    }

    /// The facts, then the extras, as the reference reads and checks them; false when one is refused.
    /// `requiringFacts`: whether a blank required fact refuses the row (a child's row; an antenatal
    /// row may leave them blank).
    private func fillCommonFacts(
        value: (Int) -> UnsafeBufferPointer<UInt8>?, requiringFacts: Bool, scratch: inout CommonRowScratch
    ) -> Bool {
        var sessionsPossible: Int?
        var sessionsAttended: Int?
        var periodStart: CalendarDate?
        var periodEnd: CalendarDate?
        var eligibleFrom: CalendarDate?
        var eligibleTo: CalendarDate?
        scratch.startFacts(plans: factPlans, extras: extraPlans)
        let lanePlans = scratch.lanePlans
        // Borrowed in place: reading `factPlans[key]` copied the plan (retaining its strings).
        let accepted = factPlans.withUnsafeBufferPointer { factPlans in
            for key in lanePlans.indices {
                let plan = lanePlans[key]
                guard let raw = value(plan.slot) else {
                    scratch.count(plan.slot, present: false, valid: false)
                    if plan.required && requiringFacts { return false }
                    continue
                }
                switch plan.type {
                case .text:
                    if plan.hasValueMap {
                        guard let canonical = scratch.mapped(key, raw, { factPlans[key].valueMap![$0] }) else {
                            return false
                        }
                        scratch.appendFact(key, text: canonical)
                    } else {
                        guard scratch.appendFact(key, collapsing: raw) else { return false }
                    }
                case .integer:
                    guard let number = CommonRowScratch.plainInteger(raw) else { return false }
                    scratch.appendFact(key, integer: number)
                    if plan.role == .sessionsPossible { sessionsPossible = number }
                    if plan.role == .sessionsAttended { sessionsAttended = number }
                case .boolean:
                    guard
                        let word = scratch.mapped(
                            key, raw, { (factPlans[key].valueMap ?? Self.defaultBooleanValues)[$0] })
                    else { return false }
                    scratch.appendFact(key, boolean: word == "true")
                case .date:
                    guard let date = factPlans[key].format.parse(raw), date >= plan.earliest, date <= plan.latest else {
                        return false
                    }
                    if plan.readsISODatesOnly {
                        scratch.appendFact(key, isoDate: raw)
                    } else {
                        scratch.appendFact(key, date: date, minutes: nil, withTime: false)
                    }
                    switch plan.role {
                    case .periodStart: periodStart = date
                    case .periodEnd: periodEnd = date
                    case .eligibleFrom: eligibleFrom = date
                    case .eligibleTo: eligibleTo = date
                    default: break
                    }
                case .datetime:
                    guard let stamp = factPlans[key].format.parseDateTime(raw), stamp.date >= plan.earliest,
                        stamp.date <= plan.latest
                    else { return false }
                    scratch.appendFact(key, date: stamp.date, minutes: stamp.minuteOfDay, withTime: true)
                }
                scratch.count(plan.slot, present: true, valid: true)
            }
            return true
        }
        guard accepted else { return false }
        // Facts checked against each other (the reference's refusals).
        let periodInOrder = periodStart == nil || periodEnd == nil || periodStart! <= periodEnd!
        guard periodInOrder else { return false }
        if let possible = sessionsPossible,
            possible > FactRanges.maximumSessions(from: periodStart, to: periodEnd)
        {
            return false
        }
        if let possible = sessionsPossible, let attended = sessionsAttended, attended > possible { return false }
        if let from = eligibleFrom, let to = eligibleTo, to < from { return false }
        for (index, extra) in extraPlans.enumerated() {
            if let raw = value(extra.slot) { scratch.appendFact(factPlans.count + index, raw: raw) }
        }
        scratch.endFacts()
        return true
    }
}

extension FieldQuality {
    /// Wrapping adds (counts of rows never near `Int.max`): without an overflow check per count,
    /// a row's counts are added to the batch's in one vectorised pass.
    mutating func add(_ other: FieldQuality) {
        rows &+= other.rows
        present &+= other.present
        valid &+= other.valid
    }
}

/// A row's values between validation and encoding, kept from row to row so that rows allocate
/// nothing: text columns back to back in one arena, the facts' JSON in another.
struct CommonRowScratch {
    /// The text columns of `source_records` the lane fills, in COPY order.
    enum Column: Int, CaseIterable {
        case partnerRef, nhsNumber, nhsNumberRaw, upn, upnRaw, givenName, familyName, preferredGivenName,
            preferredFamilyName, dob, sex, addressLine1, addressLine2, town, postcode, postcodeRaw, uprn,
            carerNHSNumber, carerNHSNumberRaw, carerGivenName, carerFamilyName, carerDOB, carerNINumber,
            carerNINumberRaw
    }

    private var arena = RowBytes(capacity: 4096)
    /// Each column's start in `arena` and length (-1: NULL), then each slot's quality counts for
    /// the row: written through pointers (arrays checked their uniqueness on every write).
    private var tables = RowTables(columns: Column.allCases.count, slots: 0)
    /// Whether some value of the row may hold a byte COPY text escapes: then every column is
    /// escaped as `CopyTextBuffer.appendField` escapes it; otherwise each is copied as it is.
    private var copyEscapes = true
    private var json = RowBytes(capacity: 1024)
    /// `,"name":` of each fact plan, then of each extra, as JSON (made on the first row): the
    /// comma that separates a fact from the one before is kept with its key, so that a fact's
    /// start is one copy (from the quote on, for the first fact of a row).
    private var factKeys = RowBytes(capacity: 256)
    /// Where each key, its comma included, lies in `factKeys`.
    private var factKeyRanges: [Range<Int>] = []
    /// Whether some key holds a byte COPY text escapes (a fact named with a backslash).
    private var factKeysNeedCopyEscaping = false
    /// The facts' plans without their strings (copied per row without reference counting).
    private(set) var lanePlans: [LaneFact] = []
    /// `batch\tfeed\tkind`, the same on every row of the batch.
    private var prefix = RowBytes(capacity: 128)
    private var line = RowBytes(capacity: 4096)
    private var factCount = 0
    private var upper: [UInt8] = []
    /// What `mapped` answered, by map and bytes sent: where the bytes sent and the answer's UTF-8
    /// text (or the fallback's, for `setMapped`) lie in `mappedBytes`, with `mappedValues` beside.
    /// Plain values, scanned without retaining anything (a list of arrays and strings retained
    /// each entry it looked at).
    private var mappedSeen: [MappedAnswer] = []
    private var mappedValues: [String?] = []
    private static let mappedAnswerLimit = 64
    private var mappedBytes = RowBytes(capacity: 1024)
    var upnTemporary = false
    var approximateAge: Int?
    /// Whether the row is about an expectant parent (`RecordSubject.expectantParent`), not a child.
    var isAntenatal = false

    init() {
        upper.reserveCapacity(64)
    }

    /// `copyEscapes`: whether the record's fields may hold bytes COPY text escapes
    /// (`CSVRecord.mayNeedCopyEscaping`).
    mutating func startRow(slots: Int, copyEscapes: Bool) {
        arena.removeAll()
        if tables.slots != slots { tables = RowTables(columns: Column.allCases.count, slots: slots) }
        tables.startRow()
        self.copyEscapes = copyEscapes
        upnTemporary = false
        approximateAge = nil
        isAntenatal = false
    }

    /// Counts one field of the row (applied to the batch's quality only if the row is encoded).
    /// `mutating` although it writes through a pointer: the normaliser's closures hold the scratch
    /// `inout`, and a non-mutating call through such a capture copied the whole scratch.
    @inline(__always)
    mutating func count(_ slot: Int, present: Bool, valid: Bool) {
        guard slot >= 0 else { return }
        let delta = tables.deltas + slot
        delta.pointee.rows += 1
        if present { delta.pointee.present += 1 }
        if present && valid { delta.pointee.valid += 1 }
    }

    /// Adds the row's counts to the batch's.
    func addDeltas(to counters: inout [FieldQuality]) {
        counters.withUnsafeMutableBufferPointer { counters in
            for slot in counters.indices { counters[slot].add(tables.deltas[slot]) }
        }
    }

    /// `mutating` for the reason `count` is.
    mutating func isSet(_ column: Column) -> Bool { tables.lengths[column.rawValue] >= 0 }

    /// Bytes of the record (already known to need COPY escaping only if `copyEscapes`).
    mutating func set(_ column: Column, _ bytes: UnsafeBufferPointer<UInt8>) {
        tables.starts[column.rawValue] = arena.count
        arena.append(bytes)
        tables.lengths[column.rawValue] = bytes.count
    }

    mutating func set(_ column: Column, _ date: CalendarDate) {
        tables.starts[column.rawValue] = arena.count
        arena.appendISO8601(date)
        tables.lengths[column.rawValue] = 10
    }

    /// `date`, read from `raw`; when the format reads ISO dates only (`YYYY-MM-DD`, which the value
    /// matched with nothing around it), `raw` is already the ISO text `set(_:_:)` would write.
    mutating func set(_ column: Column, _ date: CalendarDate, raw: UnsafeBufferPointer<UInt8>, rawIsISO: Bool) {
        if rawIsISO {
            assert(raw.count == 10)
            set(column, raw)
        } else {
            set(column, date)
        }
    }

    /// The bytes `write` puts in at most `maxCount` bytes (it returns how many, or nil to leave the
    /// column NULL); false when it gave nil. For values made of the record's bytes, or of letters,
    /// digits and spaces (nothing COPY text escapes).
    mutating func setWriting(
        _ column: Column, maxCount: Int, _ write: (UnsafeMutableBufferPointer<UInt8>) -> Int?
    ) -> Bool {
        let start = arena.count
        guard let count = arena.appendWriting(maxCount: maxCount, write) else { return false }
        tables.starts[column.rawValue] = start
        tables.lengths[column.rawValue] = count
        return true
    }

    /// A value made here or taken from the definition (not the record's bytes): checked for bytes
    /// COPY text escapes.
    mutating func set(_ column: Column, _ text: String) {
        var text = text
        text.withUTF8 { bytes in
            if RowBytes.mayNeedEscaping(bytes) { copyEscapes = true }
            set(column, bytes)
        }
    }

    /// `NameCleaning.split(fullAddress:)` of an ASCII value, over bytes: its comma-separated parts,
    /// trimmed of spaces and tabs, the empty ones dropped; the first is line 1, the last (of two or
    /// more) the town, and those between line 2, joined by ", ". Whether it found line 1. (In ASCII
    /// text a comma, a space and a tab are each one byte and one Character.)
    mutating func setSplitFullAddress(_ full: UnsafeBufferPointer<UInt8>) -> Bool {
        var first = 0..<0
        var last = 0..<0
        var parts = 0
        Self.forEachAddressPart(full) { part in
            if parts == 0 { first = part }
            last = part
            parts += 1
        }
        guard parts > 0 else { return false }
        set(.addressLine1, UnsafeBufferPointer(rebasing: full[first]))
        guard parts > 1 else { return true }
        if parts > 2 {
            let start = arena.count
            var index = 0
            Self.forEachAddressPart(full) { part in
                defer { index += 1 }
                guard index > 0 && index < parts - 1 else { return }
                if index > 1 {
                    arena.append(UInt8(ascii: ","))
                    arena.append(0x20)
                }
                arena.append(UnsafeBufferPointer(rebasing: full[part]))
            }
            tables.starts[Column.addressLine2.rawValue] = start
            tables.lengths[Column.addressLine2.rawValue] = arena.count - start
        }
        set(.town, UnsafeBufferPointer(rebasing: full[last]))
        return true
    }

    /// Calls `body` with each comma-separated part of `full` that is not blank, trimmed of spaces
    /// and tabs, in order.
    private static func forEachAddressPart(_ full: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void) {
        var partStart = 0
        while partStart <= full.count {
            var partEnd = partStart
            while partEnd < full.count && full[partEnd] != UInt8(ascii: ",") { partEnd += 1 }
            var lower = partStart
            var upper = partEnd
            while lower < upper && (full[lower] == 0x20 || full[lower] == 0x09) { lower += 1 }
            while upper > lower && (full[upper - 1] == 0x20 || full[upper - 1] == 0x09) { upper -= 1 }
            if lower < upper { body(lower..<upper) }
            partStart = partEnd + 1
        }
    }

    /// `NameCleaning.clean` of an ASCII name; false (the column left NULL) when nothing is left.
    mutating func setCleanedName(_ column: Column, _ raw: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = arena.count
        if !arena.appendLettersOnlyName(raw) { _ = appendCleanedASCII(raw) }
        guard arena.count > start else { return false }
        tables.starts[column.rawValue] = start
        tables.lengths[column.rawValue] = arena.count - start
        return true
    }

    /// `NameCleaning.cleanASCII` of `raw`, written straight into the arena; where it starts there.
    /// (An ASCII value: the lane takes no other.) The cleaned name's words are separated by single
    /// spaces, with none at its ends.
    private mutating func appendCleanedASCII(_ raw: UnsafeBufferPointer<UInt8>) -> Int {
        let start = arena.count
        let written = NameCleaning.cleanASCII(raw, into: arena.reserveTail(raw.count))
        arena.extend(by: written ?? 0)
        return start
    }

    /// Points `column` at `count` bytes of the arena from `start`.
    private mutating func setArenaRange(_ column: Column, start: Int, count: Int) {
        tables.starts[column.rawValue] = start
        tables.lengths[column.rawValue] = count
    }

    /// `NameCleaning.split(fullName:)` of an ASCII value (`SURNAME, Forename Middle` or `Forename
    /// Middle Surname`), its parts cleaned by the same `NameCleaning.cleanASCII`, into `given` and
    /// `family`; which of the two it found. (A comma is one byte and one Character in ASCII text.)
    /// The parts are cleaned into the arena and the columns point at the words kept.
    mutating func setSplitFullName(
        _ full: UnsafeBufferPointer<UInt8>, given: Column, family: Column
    ) -> (forename: Bool, surname: Bool) {
        if let comma = full.firstIndex(of: UInt8(ascii: ",")) {
            let surname = setCleanedASCII(family, UnsafeBufferPointer(rebasing: full[..<comma]), firstWordOnly: false)
            let forename = setCleanedASCII(
                given, UnsafeBufferPointer(rebasing: full[(comma + 1)...]), firstWordOnly: true)
            return (forename, surname)
        }
        let start = appendCleanedASCII(full)
        let cleaned = UnsafeBufferPointer(start: arena.baseAddress! + start, count: arena.count - start)
        guard let firstSpace = cleaned.firstIndex(of: 0x20) else {
            guard !cleaned.isEmpty else { return (false, false) }
            setArenaRange(family, start: start, count: cleaned.count)
            return (false, true)
        }
        let lastSpace = cleaned.lastIndex(of: 0x20)!
        setArenaRange(given, start: start, count: firstSpace)
        setArenaRange(family, start: start + lastSpace + 1, count: cleaned.count - lastSpace - 1)
        return (true, true)
    }

    /// `NameCleaning.cleanASCII` of `raw` into `column` (its first word only, when `firstWordOnly`);
    /// false, the column left as it was, when nothing is left.
    private mutating func setCleanedASCII(
        _ column: Column, _ raw: UnsafeBufferPointer<UInt8>, firstWordOnly: Bool
    ) -> Bool {
        let start = appendCleanedASCII(raw)
        let cleaned = UnsafeBufferPointer(start: arena.baseAddress! + start, count: arena.count - start)
        guard !cleaned.isEmpty else { return false }
        let end = firstWordOnly ? (cleaned.firstIndex(of: 0x20) ?? cleaned.count) : cleaned.count
        setArenaRange(column, start: start, count: end)
        return true
    }

    /// `NameCleaning.collapse` of an ASCII value that is not blank; false when the value holds a
    /// line break (the reference's Characters treat CRLF as one).
    mutating func setCollapsed(_ column: Column, _ raw: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = arena.count
        guard Self.appendCollapsed(raw, to: &arena), arena.count > start else { return false }
        tables.starts[column.rawValue] = start
        tables.lengths[column.rawValue] = arena.count - start
        return true
    }

    /// Words separated by one space, as `NameCleaning.collapse` makes them; false on CR or LF.
    static func appendCollapsed(_ raw: UnsafeBufferPointer<UInt8>, to out: inout RowBytes) -> Bool {
        if isCollapsed(raw) {
            out.append(raw)
            return true
        }
        var pendingSpace = false
        var wrote = false
        for byte in raw {
            switch byte {
            case 0x0A, 0x0D: return false
            case 0x20, 0x09: pendingSpace = wrote
            default:
                if pendingSpace { out.append(0x20) }
                pendingSpace = false
                wrote = true
                out.append(byte)
            }
        }
        return true
    }

    /// Whether `raw` (not blank, no spaces at its ends) has only single spaces between words: then
    /// collapsing leaves it as it is. With `plainJSON`, also whether it holds nothing a JSON string
    /// escapes (a quote, a backslash; control bytes are refused either way): both in one pass.
    @inline(__always)
    static func isCollapsed(_ raw: UnsafeBufferPointer<UInt8>, plainJSON: Bool = false) -> Bool {
        guard let base = raw.baseAddress else { return true }
        var previousSpace = false
        var offset = 0
        // Eight bytes at a time (a control byte, or a space after a space, in or across words).
        while offset + 8 <= raw.count {
            let word = ByteWords.load(base + offset)
            var refused = ByteWords.below(word, 0x20)
            if plainJSON { refused |= ByteWords.equal(word, 0x22) | ByteWords.equal(word, 0x5C) }
            let spaces = ByteWords.equal(word, 0x20)
            if refused | (spaces & (spaces &>> 8)) != 0 || (previousSpace && spaces & 0x80 != 0) { return false }
            previousSpace = spaces &>> 63 != 0
            offset += 8
        }
        for byte in UnsafeBufferPointer(rebasing: raw[offset...]) {
            if byte <= 0x20 {
                if byte != 0x20 || previousSpace { return false }
                previousSpace = true
            } else {
                if plainJSON && (byte == 0x22 || byte == 0x5C) { return false }
                previousSpace = false
            }
        }
        return !previousSpace
    }

    /// Looks up the upper-cased ASCII value (the reference's `uppercased()` of an ASCII string) in
    /// value map `map` (any number naming the map: the lookup must be the same on every row). A feed
    /// sends a handful of spellings per column, so the answers are kept by the bytes sent.
    mutating func mapped(
        _ map: Int, _ raw: UnsafeBufferPointer<UInt8>, _ lookUp: (String) -> String?
    ) -> String? {
        if let seen = seenIndex(map, raw) { return mappedValues[seen] }
        let value = lookUp(upperCased(raw))
        remember(map, raw, value: value, text: value ?? "")
        return value
    }

    /// `set(column, mapped(map, raw, lookUp) ?? fallback)`, from the answer's kept bytes; whether
    /// the map had an answer. A map number set this way always has the same `fallback`.
    mutating func setMapped(
        _ column: Column, map: Int, _ raw: UnsafeBufferPointer<UInt8>, otherwise fallback: String,
        _ lookUp: (String) -> String?
    ) -> Bool {
        guard let seen = seenIndex(map, raw) else {
            let value = lookUp(upperCased(raw))
            remember(map, raw, value: value, text: value ?? fallback)
            set(column, value ?? fallback)
            return value != nil
        }
        let answer = mappedSeen[seen]
        if answer.textMayNeedEscaping { copyEscapes = true }
        set(column, UnsafeBufferPointer(start: mappedBytes.baseAddress! + answer.textStart, count: answer.textCount))
        return answer.known
    }

    /// Where the answer for `raw` in map `map` is kept, if it is.
    private func seenIndex(_ map: Int, _ raw: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let rawBase = raw.baseAddress, let kept = mappedBytes.baseAddress else { return nil }
        return mappedSeen.withUnsafeBufferPointer { answers in
            for index in answers.indices {
                let answer = answers[index]
                guard answer.map == map && answer.sentCount == raw.count else { continue }
                let sent = kept + answer.sentStart
                if (0..<raw.count).allSatisfy({ sent[$0] == rawBase[$0] }) { return index }
            }
            return nil
        }
    }

    /// The reference's `uppercased()` of an ASCII value.
    private mutating func upperCased(_ raw: UnsafeBufferPointer<UInt8>) -> String {
        upper.removeAll(keepingCapacity: true)
        for byte in raw { upper.append(byte >= 0x61 && byte <= 0x7A ? byte - 0x20 : byte) }
        return String(decoding: upper, as: UTF8.self)
    }

    private mutating func remember(_ map: Int, _ raw: UnsafeBufferPointer<UInt8>, value: String?, text: String) {
        // Bounded: a column of many different values is looked up afresh past that.
        guard mappedSeen.count < Self.mappedAnswerLimit, !raw.isEmpty else { return }
        let sentStart = mappedBytes.count
        mappedBytes.append(raw)
        let textStart = mappedBytes.count
        var text = text
        let textMayNeedEscaping = text.withUTF8 { text in
            mappedBytes.append(text)
            return RowBytes.mayNeedEscaping(text)
        }
        mappedSeen.append(
            MappedAnswer(
                map: map, sentStart: sentStart, sentCount: raw.count, textStart: textStart,
                textCount: mappedBytes.count - textStart, textMayNeedEscaping: textMayNeedEscaping,
                known: value != nil))
        mappedValues.append(value)
    }

    /// One answer kept by `mapped`: offsets into `mappedBytes`.
    private struct MappedAnswer {
        var map: Int
        var sentStart: Int
        var sentCount: Int
        var textStart: Int
        var textCount: Int
        var textMayNeedEscaping: Bool
        var known: Bool
    }

    /// A value of digits only, as `Int(_:)` reads it; nil for anything else (signs, overflow), which
    /// the reference decides.
    static func plainInteger(_ raw: UnsafeBufferPointer<UInt8>) -> Int? {
        guard raw.count <= 18 else { return nil }
        var value = 0
        for byte in raw {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    // MARK: Facts as JSON, written as `CanonicalRecord.appendFactsJSON` writes them

    mutating func startFacts(plans: [RecordNormaliser.FactPlan], extras: [(name: String, slot: Int)]) {
        if lanePlans.isEmpty && !plans.isEmpty { lanePlans = plans.map(LaneFact.init) }
        if factKeyRanges.isEmpty {
            for name in plans.map(\.name) + extras.map(\.name) {
                var key: [UInt8] = [UInt8(ascii: ",")]
                CanonicalRecord.appendJSONString(name, to: &key)
                key.append(UInt8(ascii: ":"))
                key.withUnsafeBufferPointer { key in
                    if RowBytes.mayNeedEscaping(key) { factKeysNeedCopyEscaping = true }
                    factKeyRanges.append(factKeys.count..<(factKeys.count + key.count))
                    factKeys.append(key)
                }
            }
        }
        if factKeysNeedCopyEscaping { copyEscapes = true }
        json.removeAll()
        json.append(UInt8(ascii: "{"))
        factCount = 0
    }

    mutating func endFacts() { json.append(UInt8(ascii: "}")) }

    /// Starts fact `key` (its index in the plans, then the extras).
    private mutating func factName(_ key: Int) {
        let range = factKeyRanges[key]
        let skippedComma = factCount == 0 ? 1 : 0
        factCount += 1
        json.append(
            UnsafeBufferPointer(
                start: factKeys.baseAddress! + range.lowerBound + skippedComma, count: range.count - skippedComma))
    }

    /// `text` as a JSON string into `json`; one that needed JSON escapes now holds backslashes.
    private mutating func appendJSON(_ text: UnsafeBufferPointer<UInt8>) {
        if !json.appendJSONString(text) { copyEscapes = true }
    }

    mutating func appendFact(_ key: Int, text: String) {
        factName(key)
        var text = text
        text.withUTF8 { appendJSON($0) }
    }

    mutating func appendFact(_ key: Int, raw: UnsafeBufferPointer<UInt8>) {
        factName(key)
        appendJSON(raw)
    }

    /// A text fact, white space collapsed; false when the reference must decide (line breaks).
    mutating func appendFact(_ key: Int, collapsing raw: UnsafeBufferPointer<UInt8>) -> Bool {
        if Self.isCollapsed(raw, plainJSON: true) {
            // One pass decided both: written as it is, between quotes.
            factName(key)
            json.append(UInt8(ascii: "\""))
            json.append(raw)
            json.append(UInt8(ascii: "\""))
            return true
        }
        if Self.isCollapsed(raw) {
            factName(key)
            appendJSON(raw)
            return true
        }
        var collapsed = RowBytes(capacity: raw.count)
        guard Self.appendCollapsed(raw, to: &collapsed), collapsed.count > 0 else { return false }
        factName(key)
        collapsed.withBuffer { appendJSON($0) }
        return true
    }

    /// A date fact whose value was read by a format of ISO dates only: the bytes as sent (see
    /// `set(_:_:raw:rawIsISO:)`).
    mutating func appendFact(_ key: Int, isoDate raw: UnsafeBufferPointer<UInt8>) {
        factName(key)
        json.append(UInt8(ascii: "\""))
        json.append(raw)
        json.append(UInt8(ascii: "\""))
    }

    mutating func appendFact(_ key: Int, integer: Int) {
        factName(key)
        json.appendDecimal(integer)
    }

    mutating func appendFact(_ key: Int, boolean: Bool) {
        factName(key)
        var word = boolean ? "true" : "false"
        word.withUTF8 { json.append($0) }
    }

    mutating func appendFact(_ key: Int, date: CalendarDate, minutes: Int?, withTime: Bool) {
        factName(key)
        json.append(UInt8(ascii: "\""))
        json.appendISO8601(date)
        if withTime, let minutes {
            // `THH:MM:00`, byte by byte (an array literal here was a heap allocation per row).
            let hh = minutes / 60, mm = minutes % 60
            json.append(UInt8(ascii: "T"))
            json.append(UInt8(truncatingIfNeeded: 0x30 + hh / 10))
            json.append(UInt8(truncatingIfNeeded: 0x30 + hh % 10))
            json.append(UInt8(ascii: ":"))
            json.append(UInt8(truncatingIfNeeded: 0x30 + mm / 10))
            json.append(UInt8(truncatingIfNeeded: 0x30 + mm % 10))
            json.append(UInt8(ascii: ":"))
            json.append(0x30)
            json.append(0x30)
        }
        json.append(UInt8(ascii: "\""))
    }

    // MARK: Encoding, in the order of `FeedLoader.copyColumns` (as `RowReading.encode`)

    /// Encodes the row as COPY text into `line`, in the order of `FeedLoader.copyColumns` (as
    /// `RowReading.encode` does); false when a value holds a NUL byte (which COPY cannot carry; the
    /// reference refuses it with its error).
    mutating func encodeLine(feed: String, kind: String, batch: Int, recordNumber: Int, lineNumber: Int) -> Bool {
        if prefix.count == 0 {
            prefix.appendDecimal(batch)
            for text in [feed, kind] {
                var text = text
                prefix.append(0x09)
                guard text.withUTF8({ prefix.appendCopyField($0) }) else { return false }
            }
        }
        line.removeAll()
        // Room for the whole line is made once, then it is written through one pointer (an append
        // per value checked the capacity and stored the count each time). Every value at most
        // doubles when escaped; numbers take at most 20 bytes.
        let valueBytes = arena.count + json.count
        let maxCount =
            prefix.count + 3 * 21 + 3 * Column.allCases.count + 32 + (copyEscapes ? 2 * valueBytes : valueBytes)
        let out = line.reserveTail(maxCount)
        let written = arena.withBuffer { arena in
            json.withBuffer { json in
                prefix.withBuffer { prefix in
                    writeLine(
                        to: out, prefix: prefix, arena: arena, json: json, recordNumber: recordNumber,
                        lineNumber: lineNumber)
                }
            }
        }
        guard let written else { return false }
        precondition(written <= maxCount)
        line.extend(by: written)
        return true
    }

    /// Writes the line from `out` on; its length, or nil when a value holds a NUL byte.
    private func writeLine(
        to start: UnsafeMutablePointer<UInt8>, prefix: UnsafeBufferPointer<UInt8>, arena: UnsafeBufferPointer<UInt8>,
        json: UnsafeBufferPointer<UInt8>, recordNumber: Int, lineNumber: Int
    ) -> Int? {
        var out = start
        let copyEscapes = self.copyEscapes
        let starts = tables.starts
        let lengths = tables.lengths
        func bytes(_ value: UnsafeBufferPointer<UInt8>) {
            RowBytes.copy(from: value.baseAddress!, to: out, count: value.count)
            out += value.count
        }
        func field(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
            out.pointee = 0x09
            out += 1
            guard copyEscapes else {
                bytes(value)
                return true
            }
            guard let end = RowBytes.writeCopyField(value, to: out) else { return false }
            out = end
            return true
        }
        func column(_ column: Column) -> Bool {
            let length = lengths[column.rawValue]
            guard length >= 0 else {
                literal("\\N")
                return true
            }
            return field(UnsafeBufferPointer(start: arena.baseAddress! + starts[column.rawValue], count: length))
        }
        func literal(_ text: StaticString) {
            out.pointee = 0x09
            out += 1
            bytes(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }
        func decimal(_ value: Int) {
            out.pointee = 0x09
            out += 1
            out += RowBytes.writeDecimal(value, to: out)
        }
        bytes(prefix)
        decimal(recordNumber)
        decimal(lineNumber)
        guard column(.partnerRef) else { return nil }
        if isAntenatal { literal("expectant_parent") } else { literal("child") }
        guard column(.nhsNumber), column(.nhsNumberRaw), column(.upn), column(.upnRaw) else { return nil }
        literal(upnTemporary ? "t" : "f")
        guard column(.givenName), column(.familyName), column(.preferredGivenName), column(.preferredFamilyName),
            column(.dob)
        else { return nil }
        if let approximateAge { decimal(approximateAge) } else { literal("\\N") }
        guard column(.sex), column(.addressLine1), column(.addressLine2), column(.town), column(.postcode),
            column(.postcodeRaw), column(.uprn), column(.carerNHSNumber), column(.carerNHSNumberRaw),
            column(.carerGivenName), column(.carerFamilyName), column(.carerDOB), column(.carerNINumber),
            column(.carerNINumberRaw), field(json)
        else { return nil }
        out.pointee = 0x0A
        out += 1
        return start.distance(to: out)
    }

    /// Appends the encoded line to `rows`.
    func emitLine(into rows: inout CopyTextBuffer) {
        line.withBuffer { rows.appendEncodedRow($0) }
    }
}

/// What the lane needs of a `RecordNormaliser.FactPlan`, without its strings.
struct LaneFact {
    var slot: Int
    var type: FactType
    var role: RecordNormaliser.FactPlan.Role
    var required: Bool
    var hasValueMap: Bool
    var earliest: CalendarDate
    var latest: CalendarDate
    var readsISODatesOnly: Bool

    init(_ plan: RecordNormaliser.FactPlan) {
        slot = plan.slot
        type = plan.type
        role = plan.role
        required = plan.required
        hasValueMap = plan.valueMap != nil
        earliest = plan.earliest
        latest = plan.latest
        readsISODatesOnly = plan.format.readsISODatesOnly
    }
}

/// The per-row tables of a `CommonRowScratch`, in memory of their own: each column's start and
/// length in the arena, and each slot's counts. Written through pointers, so that the hot path
/// does no uniqueness check (an array's) per write. Belongs to one scratch, on one thread.
final class RowTables {
    // Constants only (`let`): a `var` of a class is checked for exclusive access at run time.
    let starts: UnsafeMutablePointer<Int>
    /// -1: NULL.
    let lengths: UnsafeMutablePointer<Int>
    let deltas: UnsafeMutablePointer<FieldQuality>
    let columns: Int
    let slots: Int

    init(columns: Int, slots: Int) {
        self.columns = columns
        self.slots = slots
        starts = .allocate(capacity: columns)
        starts.initialize(repeating: 0, count: columns)
        lengths = .allocate(capacity: columns)
        lengths.initialize(repeating: -1, count: columns)
        deltas = .allocate(capacity: slots)
        deltas.initialize(repeating: FieldQuality(), count: slots)
    }

    deinit {
        starts.deallocate()
        lengths.deallocate()
        deltas.deallocate()
    }

    /// Every column NULL, every count zero.
    func startRow() {
        lengths.update(repeating: -1, count: columns)
        deltas.update(repeating: FieldQuality(), count: slots)
    }
}

/// Bytes of one row being built: a growable buffer written through a pointer (no uniqueness
/// check per byte, as an array append has). Belongs to one `CommonRowScratch`, on one thread.
struct RowBytes {
    /// Owns the memory (frees it with the last copy of the struct); the struct keeps the pointer
    /// itself so that writes do not go through the class. Never copied while in use.
    private final class Owner {
        var pointer: UnsafeMutablePointer<UInt8>
        init(_ pointer: UnsafeMutablePointer<UInt8>) { self.pointer = pointer }
        deinit { pointer.deallocate() }
    }

    private let owner: Owner
    private var pointer: UnsafeMutablePointer<UInt8>
    /// The first byte; valid until the next append.
    var baseAddress: UnsafeMutablePointer<UInt8>? { pointer }
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        pointer = .allocate(capacity: self.capacity)
        owner = Owner(pointer)
    }

    mutating func removeAll() { count = 0 }

    @inline(__always)
    private mutating func reserve(_ more: Int) {
        if count + more > capacity { grow(count + more) }
    }

    private mutating func grow(_ needed: Int) {
        let newCapacity = max(capacity * 2, needed)
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        bigger.update(from: pointer, count: count)
        pointer.deallocate()
        pointer = bigger
        owner.pointer = bigger
        capacity = newCapacity
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        reserve(1)
        pointer[count] = byte
        count += 1
    }

    /// Lets `write` fill up to `maxCount` bytes at the end; keeps the number it returns (nothing
    /// when it returns nil).
    @inline(__always)
    mutating func appendWriting(
        maxCount: Int, _ write: (UnsafeMutableBufferPointer<UInt8>) -> Int?
    ) -> Int? {
        reserve(maxCount)
        guard let written = write(UnsafeMutableBufferPointer(start: pointer + count, count: maxCount)) else {
            return nil
        }
        precondition(written <= maxCount)
        count += written
        return written
    }

    /// Makes room for `maxCount` more bytes and returns where they go; `extend(by:)` then keeps
    /// those written.
    mutating func reserveTail(_ maxCount: Int) -> UnsafeMutablePointer<UInt8> {
        reserve(maxCount)
        return pointer + count
    }

    /// Keeps `written` bytes written at `reserveTail`'s pointer.
    mutating func extend(by written: Int) {
        precondition(count + written <= capacity)
        count += written
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        Self.copy(from: base, to: pointer + count, count: bytes.count)
        count += bytes.count
    }

    /// Copies `count` bytes between buffers that do not overlap. Most values are a few bytes long:
    /// up to 16 they are moved as two (possibly overlapping) words, without a call to memmove.
    @inline(__always)
    static func copy(from source: UnsafePointer<UInt8>, to target: UnsafeMutablePointer<UInt8>, count: Int) {
        let from = UnsafeRawPointer(source)
        let to = UnsafeMutableRawPointer(target)
        switch count {
        case 8...16:
            let head = from.loadUnaligned(as: UInt64.self)
            let tail = from.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
            to.storeBytes(of: head, as: UInt64.self)
            to.storeBytes(of: tail, toByteOffset: count - 8, as: UInt64.self)
        case 4..<8:
            let head = from.loadUnaligned(as: UInt32.self)
            let tail = from.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
            to.storeBytes(of: head, as: UInt32.self)
            to.storeBytes(of: tail, toByteOffset: count - 4, as: UInt32.self)
        case 1..<4:
            for index in 0..<count { target[index] = source[index] }
        default:
            target.update(from: source, count: count)
        }
    }

    func withBuffer<R, E: Error>(_ body: (UnsafeBufferPointer<UInt8>) throws(E) -> R) throws(E) -> R {
        try body(UnsafeBufferPointer(start: pointer, count: count))
    }

    /// One field in COPY text, escaped as `CopyTextBuffer.appendField` escapes it; false on a NUL byte.
    mutating func appendCopyField(_ field: UnsafeBufferPointer<UInt8>) -> Bool {
        // Almost every value has nothing to escape: found eight bytes at a time, then copied whole.
        if !Self.mayNeedEscaping(field) {
            append(field)
            return true
        }
        // At most two bytes out for each byte in, written through the pointer.
        reserve(field.count * 2)
        guard let end = Self.writeEscaped(field, to: pointer + count) else { return false }
        count = pointer.distance(to: end)
        return true
    }

    /// `field` in COPY text at `out` (room for twice its length), as `appendCopyField` writes it;
    /// where it ends, or nil on a NUL byte.
    @inline(__always)
    static func writeCopyField(
        _ field: UnsafeBufferPointer<UInt8>, to out: UnsafeMutablePointer<UInt8>
    ) -> UnsafeMutablePointer<UInt8>? {
        guard mayNeedEscaping(field) else {
            if let base = field.baseAddress { copy(from: base, to: out, count: field.count) }
            return out + field.count
        }
        return writeEscaped(field, to: out)
    }

    /// Every byte of `field` at `out`, escaped for COPY text; where it ends, or nil on a NUL byte.
    private static func writeEscaped(
        _ field: UnsafeBufferPointer<UInt8>, to start: UnsafeMutablePointer<UInt8>
    ) -> UnsafeMutablePointer<UInt8>? {
        var out = start
        for byte in field {
            switch byte {
            case 0x5C: out[0] = 0x5C; out[1] = 0x5C; out += 2
            case 0x09: out[0] = 0x5C; out[1] = 0x74; out += 2
            case 0x0A: out[0] = 0x5C; out[1] = 0x6E; out += 2
            case 0x0D: out[0] = 0x5C; out[1] = 0x72; out += 2
            case 0x00: return nil
            default: out[0] = byte; out += 1
            }
        }
        return out
    }

    /// False only when no byte of `field` is one COPY text escapes or refuses (backslash, or a
    /// control byte up to CR: NUL, tab, LF, CR); true may also mean another control byte, which the
    /// byte-by-byte loop then copies as it is.
    @inline(__always)
    static func mayNeedEscaping(_ field: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = field.baseAddress else { return false }
        let raw = UnsafeRawPointer(base)
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var offset = 0
        // Word tests without false negatives: a byte below 0x0E, or a byte equal to 0x5C (a zero byte
        // of word ^ 0x5C5C…), sets a high bit.
        while offset + 8 <= field.count {
            let word = raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            let below = (word &- ones &* 0x0E) & ~word & highs
            let backslashes = word ^ (ones &* 0x5C)
            let equal = (backslashes &- ones) & ~backslashes & highs
            if below | equal != 0 { return true }
            offset += 8
        }
        while offset < field.count {
            let byte = base[offset]
            if byte <= 0x0D || byte == 0x5C { return true }
            offset += 1
        }
        return false
    }

    /// "2019-03-07", as `CalendarDate.appendISO8601` writes it (years 0…9999).
    mutating func appendISO8601(_ date: CalendarDate) {
        reserve(10)
        let p = pointer + count
        var year = date.year
        for index in stride(from: 3, through: 0, by: -1) {
            p[index] = UInt8(truncatingIfNeeded: 0x30 + year % 10)
            year /= 10
        }
        p[4] = UInt8(ascii: "-")
        p[5] = UInt8(truncatingIfNeeded: 0x30 + date.month / 10)
        p[6] = UInt8(truncatingIfNeeded: 0x30 + date.month % 10)
        p[7] = UInt8(ascii: "-")
        p[8] = UInt8(truncatingIfNeeded: 0x30 + date.day / 10)
        p[9] = UInt8(truncatingIfNeeded: 0x30 + date.day % 10)
        count += 10
    }

    /// The decimal digits of a number that is not negative.
    mutating func appendDecimal(_ value: Int) {
        reserve(19)
        count += Self.writeDecimal(value, to: pointer + count)
    }

    /// The decimal digits of a number that is not negative at `out` (room for 19); how many.
    @inline(__always)
    static func writeDecimal(_ value: Int, to out: UnsafeMutablePointer<UInt8>) -> Int {
        precondition(value >= 0)
        // At most 19 digits (Int.max); counted by comparison, written back to front.
        var digits = 1
        var threshold = 10
        while digits < 19 && value >= threshold {
            digits += 1
            threshold &*= 10
        }
        var magnitude = value
        var index = digits
        repeat {
            index -= 1
            let (quotient, digit) = magnitude.quotientAndRemainder(dividingBy: 10)
            out[index] = UInt8(truncatingIfNeeded: 0x30 + digit)
            magnitude = quotient
        } while magnitude > 0
        return digits
    }

    /// `text` as a JSON string, as `CanonicalRecord.appendJSONString` writes it; false when it
    /// needed escapes (backslashes were written).
    @discardableResult
    mutating func appendJSONString(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        var plain = true
        for byte in text where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            plain = false
            break
        }
        append(UInt8(ascii: "\""))
        if plain {
            append(text)
        } else {
            var escaped: [UInt8] = []
            CanonicalRecord.appendJSONString(utf8: text, to: &escaped)
            escaped.withUnsafeBufferPointer { append(UnsafeBufferPointer(rebasing: $0.dropFirst().dropLast())) }
        }
        append(UInt8(ascii: "\""))
        return plain
    }

    /// A name of ASCII letters only, cleaned as `NameCleaning.cleanASCII` cleans it (Title Case when
    /// it is all in one case); false, appending nothing, when it has anything but letters.
    mutating func appendLettersOnlyName(_ raw: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = raw.baseAddress else { return true }
        var offset = 0
        // Eight bytes at a time: folded to lower case (| 0x20 makes a letter of a letter only),
        // each must lie in a…z; bit 0x20 tells the case.
        let caseBits = ByteWords.ones &* 0x20
        var lowerBits: UInt64 = 0
        var upperBits: UInt64 = 0
        while offset + 8 <= raw.count {
            let word = ByteWords.load(base + offset)
            let folded = word | caseBits
            let outside = ByteWords.below(folded, 0x61) | (ByteWords.highs & ~ByteWords.below(folded, 0x7B))
            if outside != 0 { return false }
            lowerBits |= word & caseBits
            upperBits |= ~word & caseBits
            offset += 8
        }
        var hasUpper = upperBits != 0
        var hasLower = lowerBits != 0
        for byte in UnsafeBufferPointer(rebasing: raw[offset...]) {
            switch byte {
            case 0x41...0x5A: hasUpper = true
            case 0x61...0x7A: hasLower = true
            default: return false
            }
        }
        let start = count
        append(raw)
        if hasUpper != hasLower && raw.count > 0 {
            let p = pointer
            if p[start] >= 0x61 { p[start] -= 0x20 }
            for index in (start + 1)..<count where p[index] <= 0x5A { p[index] += 0x20 }
        }
        return true
    }
}
