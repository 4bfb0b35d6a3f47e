import Identifiers

/// A surname, possibly double-barrelled ("Smith-Jones"): indexes into `NameTables.surnames`.
struct Surname: Equatable {
    var a: UInt16
    var b: UInt16 = .max

    static let none = Surname(a: .max)
    var isNone: Bool { a == .max }
    var isHyphenated: Bool { b != .max }

    func text(_ t: NameTables) -> String {
        isHyphenated ? t.surnames[Int(a)] + "-" + t.surnames[Int(b)] : t.surnames[Int(a)]
    }
}

struct Address {
    var flat: UInt8  // 0 = not a flat
    var number: UInt16
    var street: UInt16
    var streetType: UInt8
    var locality: UInt16  // .max = none
    var district: UInt16
    var inwardDigit: UInt8  // ASCII
    var inward1: UInt8
    var inward2: UInt8

    var districtInfo: District { PlaceData.districts[Int(district)] }

    var line1: String {
        let street = "\(number) \(PlaceData.streetStems[Int(street)]) \(PlaceData.streetTypes[Int(streetType)])"
        return flat > 0 ? "Flat \(flat), " + street : street
    }
    var line2: String { locality == .max ? "" : PlaceData.localities[Int(locality)] }
    var town: String { districtInfo.town }
    var postcode: String {
        districtInfo.outward + " " + String(decoding: [inwardDigit, inward1, inward2], as: UTF8.self)
    }
    /// One line, comma-separated, as police and FSM systems hold it.
    var singleLine: String {
        let l2 = line2
        return l2.isEmpty ? line1 + ", " + town : line1 + ", " + l2 + ", " + town
    }
}

struct Adult {
    var forename: UInt16
    var surname: Surname
    var male: Bool
    var dob: Int32
    var nhs: UInt64
    var nino: String
}

enum FamilyStructure: UInt8 {
    case married, cohabiting, singleMother, singleMotherFatherName, stepFamily
}

struct Child {
    var family: Int32
    var forename: UInt16
    var surname: Surname
    /// The step-parent's surname, used by the school as the preferred surname; `.none` otherwise.
    var stepSurname: Surname
    /// A familiar form the child goes by; `.max` when none.
    var preferredForename: UInt16
    var male: Bool
    var twin: Bool
    var onSchoolRoll: Bool
    var dob: Int32
    var nhs: UInt64
    /// Allocated to children of school age; empty otherwise.
    var upn: String
}

struct Family {
    var mother: Adult
    var partner: Adult?
    var structure: FamilyStructure
    var address: Address
    var previousAddress: Address?
    var moveDay: Int32
    var firstChild: Int32
    var childCount: Int32
    var need: Double
    /// Expected delivery date of a current pregnancy past 28 weeks, as a day number; `Int32.min` when none.
    var edd: Int32
    var primarySchool: Int32
    var fsm: Bool
    var police: Bool

    var children: Range<Int> { Int(firstChild)..<Int(firstChild + childCount) }

    /// The address the family lived at on `day`.
    func address(on day: Int) -> (Address, moved: Bool) {
        if let previousAddress, day < Int(moveDay) { return (previousAddress, true) }
        return (address, false)
    }
}

struct School {
    var name: String
    var establishment: Int
    var primary: Bool
    var district: Int
}

/// The academic year whose attendance the school feed reports: the one containing the day before `asOf`.
struct AcademicYear {
    /// The calendar year in which it starts (September).
    let startYear: Int
    /// Term start and end days, clipped to the day before `asOf`; only terms that had begun.
    let terms: [(start: Int, end: Int)]

    init(asOf: CalendarDate) {
        let last = asOf.adding(days: -1)
        startYear = last.month >= 9 ? last.year : last.year - 1
        let y = startYear
        let full = [
            (CalendarDate(year: y, month: 9, day: 3)!, CalendarDate(year: y, month: 12, day: 19)!),
            (CalendarDate(year: y + 1, month: 1, day: 5)!, CalendarDate(year: y + 1, month: 3, day: 27)!),
            (CalendarDate(year: y + 1, month: 4, day: 13)!, CalendarDate(year: y + 1, month: 7, day: 21)!),
        ]
        terms = full.compactMap { s, e in
            s.dayNumber > last.dayNumber ? nil : (s.dayNumber, min(e.dayNumber, last.dayNumber))
        }
    }

    /// School year group (0 = Reception … 11 = Year 11) for a date of birth, using the 31 August cut-off.
    func yearGroup(dob: CalendarDate) -> Int {
        let birthYearStart = dob.month >= 9 ? dob.year : dob.year - 1
        return startYear - birthYearStart - 5
    }
}

/// Everyone in the synthetic county, with the ground truth the feeds are rendered from.
struct Population {
    var families: [Family] = []
    var children: [Child] = []
    var schools: [School] = []
    /// Indexes into `schools` per district: primaries, then one secondary.
    var districtPrimaries: [[Int]] = []
    var districtSecondary: [Int] = []
    let asOf: CalendarDate
    let asOfDay: Int
    let academicYear: AcademicYear
    let profile: NoiseProfile

    private var usedNHS = Set<UInt64>()
    private var usedNINO = Set<String>()
    private var usedUPN = Set<String>()
    private var upnSerials: [Int: Int] = [:]
    /// Buildings of flats shared by several households (harsher profiles): the building's address with
    /// no flat number, the flats taken, and how many flats it has.
    private var sharedBuildings: [(building: Address, flats: Set<UInt8>, capacity: Int)] = []
    private var openBuildings: [Int] = []

    static let otherLocalAuthorities = [935, 873, 881, 202, 330, 886, 850, 855]

    init(children target: Int, seed: UInt64, asOf: CalendarDate, profile: NoiseProfile = .standard) {
        self.asOf = asOf
        self.profile = profile
        self.asOfDay = asOf.dayNumber
        self.academicYear = AcademicYear(asOf: asOf)
        var rng = SynthRandom(seed, 0x504F_5055_4C41_5445)  // "POPULATE"
        makeSchools(&rng)
        families.reserveCapacity(target / 2 + 16)
        children.reserveCapacity(target)
        usedNHS.reserveCapacity(target * 2)
        while children.count < target {
            if rng.chance(0.02) {
                addExpectantFamily(&rng)
            } else {
                addFamily(&rng, maxChildren: target - children.count)
            }
        }
    }

    // MARK: Schools

    private mutating func makeSchools(_ rng: inout SynthRandom) {
        var names = Set<String>()
        var primaryEstab = 2001
        var secondaryEstab = 4001
        func uniqueName(_ kinds: [String], _ town: String, _ rng: inout SynthRandom) -> String {
            for _ in 0..<20 {
                let n = rng.pick(PlaceData.schoolStems) + " " + rng.pick(kinds)
                if names.insert(n).inserted { return n }
            }
            var k = 2
            while true {
                let n = "\(town) \(rng.pick(PlaceData.schoolStems)) \(rng.pick(kinds))" + (k > 2 ? " \(k)" : "")
                if names.insert(n).inserted { return n }
                k += 1
            }
        }
        for (d, district) in PlaceData.districts.enumerated() {
            var prim: [Int] = []
            for _ in 0..<3 {
                prim.append(schools.count)
                schools.append(
                    School(
                        name: uniqueName(PlaceData.primaryKinds, district.town, &rng),
                        establishment: primaryEstab, primary: true, district: d))
                primaryEstab += 1 + rng.below(5)
            }
            districtPrimaries.append(prim)
            districtSecondary.append(schools.count)
            schools.append(
                School(
                    name: uniqueName(PlaceData.secondaryKinds, district.town, &rng),
                    establishment: secondaryEstab, primary: false, district: d))
            secondaryEstab += 1 + rng.below(5)
        }
    }

    // MARK: People

    private mutating func newNHS(_ rng: inout SynthRandom) -> UInt64 {
        let leading: [UInt64] = [4, 4, 4, 6, 7, 7]
        while true {
            var nine = rng.pick(leading)
            for _ in 0..<8 { nine = nine * 10 + UInt64(rng.below(10)) }
            var digits = [Int](repeating: 0, count: 9)
            var v = nine
            for i in (0..<9).reversed() {
                digits[i] = Int(v % 10)
                v /= 10
            }
            guard let check = NHSNumber.checkDigit(forFirstNine: digits) else { continue }
            let number = nine * 10 + UInt64(check)
            if usedNHS.insert(number).inserted { return number }
        }
    }

    private static let ninoFirst: [UInt8] = Array("ABCEGHJKLMNOPRSTWXYZ".utf8)
    private static let ninoSecond: [UInt8] = Array("ABCEGHJKLMNPRSTWXYZ".utf8)

    private mutating func newNINO(_ rng: inout SynthRandom) -> String {
        while true {
            let a = rng.pick(Population.ninoFirst)
            let b = rng.pick(Population.ninoSecond)
            guard NationalInsuranceNumber.isAllocatedPrefix(Character(UnicodeScalar(a)), Character(UnicodeScalar(b)))
            else { continue }
            var bytes = [a, b]
            for _ in 0..<6 { bytes.append(UInt8(48 + rng.below(10))) }
            bytes.append(UInt8(ascii: "A") + UInt8(rng.below(4)))
            let s = String(decoding: bytes, as: UTF8.self)
            if usedNINO.insert(s).inserted { return s }
        }
    }

    private mutating func newUPN(_ rng: inout SynthRandom, dob: CalendarDate, primaryEstablishment: Int) -> String {
        let la: Int
        var estab: Int
        if rng.chance(0.93) {
            la = 926
            estab = primaryEstablishment
        } else {
            la = rng.pick(Population.otherLocalAuthorities)
            estab = 2000 + rng.below(900)
        }
        let birthYearStart = dob.month >= 9 ? dob.year : dob.year - 1
        let yy = (birthYearStart + 5) % 100
        var serial = 0
        while true {
            let key = (la * 10_000 + estab) * 100 + yy
            let s = upnSerials[key, default: 0]
            if s < 999 {
                serial = s + 1
                upnSerials[key] = serial
                break
            }
            estab = estab >= 9999 ? 1000 : estab + 1
        }
        let twelve = zeroPad(la, 3) + zeroPad(estab, 4) + zeroPad(yy, 2) + zeroPad(serial, 3)
        if rng.chance(0.01) {
            // Temporary UPN: the last serial digit is replaced by a letter.
            for _ in 0..<30 {
                let letter = rng.pick(UniquePupilNumber.checkAlphabet)
                let candidate = String(twelve.dropLast()) + String(letter)
                let upn = UniquePupilNumber.withCheckLetter(lastTwelve: candidate)!.value
                if usedUPN.insert(upn).inserted { return upn }
            }
        }
        let upn = UniquePupilNumber.withCheckLetter(lastTwelve: twelve)!.value
        usedUPN.insert(upn)
        return upn
    }

    func makeAddress(_ rng: inout SynthRandom, near district: Int? = nil) -> Address {
        let d: Int
        if let district, rng.chance(0.6) {
            // Moves are mostly local: same town.
            let town = PlaceData.districts[district].town
            let same = PlaceData.districts.indices.filter { PlaceData.districts[$0].town == town }
            d = rng.pick(same)
        } else {
            d = PlaceData.districtWeights.pick(&rng)
        }
        let norwich = PlaceData.districts[d].town == "Norwich"
        return Address(
            flat: rng.chance(0.08) ? UInt8(1 + rng.below(24)) : 0,
            number: UInt16(1 + rng.below(rng.chance(0.7) ? 60 : 220)),
            street: UInt16(rng.below(PlaceData.streetStems.count)),
            streetType: UInt8(PlaceData.streetTypeWeights.pick(&rng)),
            // Each district has its own few localities, so a locality always goes with the same town.
            locality: rng.chance(norwich ? 0.12 : 0.4)
                ? UInt16((d * 3 + rng.below(3)) % PlaceData.localities.count) : .max,
            district: UInt16(d),
            inwardDigit: UInt8(48 + (rng.chance(0.05) ? 0 : 1 + rng.below(9))),
            inward1: rng.pick(PlaceData.inwardLetters),
            inward2: rng.pick(PlaceData.inwardLetters))
    }

    private mutating func makeAdult(_ rng: inout SynthRandom, male: Bool, surname: Surname, dob: Int) -> Adult {
        Adult(
            forename: NameTables.shared.adultForename(male: male, &rng), surname: surname, male: male,
            dob: Int32(dob), nhs: newNHS(&rng), nino: newNINO(&rng))
    }

    private func pickStructure(_ rng: inout SynthRandom) -> FamilyStructure {
        let u = rng.unit()
        switch u {
        case ..<0.42: return .married
        case ..<0.62: return .cohabiting
        case ..<0.78: return .singleMother
        case ..<0.88: return .singleMotherFatherName
        default: return .stepFamily
        }
    }

    private func otherSurname(_ rng: inout SynthRandom, not s: UInt16) -> UInt16 {
        while true {
            let o = NameTables.shared.surname(&rng)
            if o != s { return o }
        }
    }

    private mutating func addExpectantFamily(_ rng: inout SynthRandom) {
        let names = NameTables.shared
        let motherAge = 17 + rng.below(12) + rng.below(12)
        let motherDob = asOfDay - motherAge * 365 - rng.below(365)
        let m = names.surname(&rng)
        let withPartner = rng.chance(0.7)
        let structure: FamilyStructure = withPartner ? (rng.chance(0.5) ? .married : .cohabiting) : .singleMother
        let partnerSurname = structure == .married ? m : otherSurname(&rng, not: m)
        let mother = makeAdult(&rng, male: false, surname: Surname(a: m), dob: motherDob)
        let partner =
            withPartner
            ? makeAdult(
                &rng, male: rng.chance(0.96), surname: Surname(a: partnerSurname),
                dob: motherDob - 3 * 365 + rng.below(10 * 365))
            : nil
        let address = makeAddress(&rng)
        let need = rng.unit() * rng.unit() * (withPartner ? 1.0 : 1.6)
        families.append(
            Family(
                mother: mother, partner: partner, structure: structure, address: address, previousAddress: nil,
                moveDay: 0, firstChild: Int32(children.count), childCount: 0, need: min(need, 1),
                edd: Int32(asOfDay + 1 + rng.below(84)),
                primarySchool: Int32(districtPrimaries[Int(address.district)][0]),
                fsm: false, police: false))
    }

    private mutating func addFamily(_ rng: inout SynthRandom, maxChildren: Int) {
        let names = NameTables.shared
        let familyIndex = Int32(families.count)
        // Births: how many, when, and which are twins.
        let wanted: Int
        switch rng.unit() {
        case ..<0.38: wanted = 1
        case ..<0.75: wanted = 2
        case ..<0.92: wanted = 3
        default: wanted = 4
        }
        let earliest = asOf.adding(years: -17).dayNumber + 1
        var day = earliest + rng.below(asOfDay - earliest)
        let firstBirth = day
        let motherAge = 17 + rng.below(13) + rng.below(13)
        let motherDob = firstBirth - motherAge * 365 - rng.below(365)
        let lastPossibleBirth = motherDob + 44 * 365
        var births: [(day: Int, twins: Bool)] = []
        var count = 0
        let cap = min(wanted, maxChildren)
        while count < cap, day < asOfDay, day <= lastPossibleBirth {
            // About 1.5% of births are twins; never more than four children.
            let twins = rng.chance(0.015) && count + 2 <= min(4, maxChildren)
            births.append((day, twins))
            count += twins ? 2 : 1
            day += 300 + rng.below(1300)
        }

        // Who is in the household and what everyone is called.
        let structure = pickStructure(&rng)
        let m = names.surname(&rng)
        var motherSurname = Surname(a: m)
        var partner: Adult?
        var childSurname = Surname(a: m)
        var stepSurname = Surname.none
        let partnerDob = motherDob - 3 * 365 + rng.below(10 * 365)
        let partnerMale = rng.chance(0.96)
        switch structure {
        case .married:
            partner = makeAdult(&rng, male: partnerMale, surname: motherSurname, dob: partnerDob)
        case .cohabiting:
            let p = otherSurname(&rng, not: m)
            partner = makeAdult(&rng, male: partnerMale, surname: Surname(a: p), dob: partnerDob)
            let u = rng.unit()
            if u < 0.55 {
                childSurname = Surname(a: p)
            } else if u < 0.8 {
                childSurname = Surname(a: m)
            } else {
                childSurname = rng.chance(0.6) ? Surname(a: m, b: p) : Surname(a: p, b: m)
            }
        case .singleMother:
            break
        case .singleMotherFatherName:
            let f = otherSurname(&rng, not: m)
            childSurname = rng.chance(0.85) ? Surname(a: f) : Surname(a: m, b: f)
        case .stepFamily:
            let f = otherSurname(&rng, not: m)
            let p = otherSurname(&rng, not: m)
            partner = makeAdult(&rng, male: partnerMale, surname: Surname(a: p), dob: partnerDob)
            childSurname = rng.chance(0.6) ? Surname(a: f) : Surname(a: m)
            if rng.chance(0.5) { motherSurname = Surname(a: p) }
            if rng.chance(0.6) && p != childSurname.a { stepSurname = Surname(a: p) }
        }
        let mother = makeAdult(&rng, male: false, surname: motherSurname, dob: motherDob)

        // Where they live, and where they lived before a move.
        var address = makeAddress(&rng)
        if rng.chance(profile.sharedBuilding) { address = flatInSharedBuilding(address, &rng) }
        var previous: Address?
        var moveDay = 0
        if rng.chance(profile.familyMoves) {
            previous = makeAddress(&rng, near: Int(address.district))
            moveDay = asOfDay - 14 - rng.below(720)
        }
        let primaries = districtPrimaries[Int(address.district)]
        let primary = primaries[rng.below(primaries.count)]

        // Children.
        let firstChild = Int32(children.count)
        var used = Set<UInt16>()
        for birth in births {
            let dob = CalendarDate(dayNumber: birth.day)
            let n = birth.twins ? 2 : 1
            var twinInitial: UInt8?
            for k in 0..<n {
                var male = rng.chance(0.51)
                var forename = names.childForename(male: male, &rng)
                // Harsher profiles: a twin, or a later sibling, named like a brother or sister (Alfred and
                // Alfie). The usual rule below would refuse such a name, so it is given here.
                let lookAlikeChance = birth.twins && k == 1 ? profile.twinLookAlikeNames : profile.siblingLookAlikeNames
                if !used.isEmpty, rng.chance(lookAlikeChance),
                    let alike = lookAlikeName(
                        of: birth.twins && k == 1
                            ? children.count - 1 : Int(firstChild) + rng.below(children.count - Int(firstChild)),
                        used: used)
                {
                    used.insert(alike.forename)
                    male = alike.male
                    forename = alike.forename
                    appendChild(
                        family: familyIndex, forename: forename, surname: childSurname, stepSurname: stepSurname,
                        male: male, twin: birth.twins, dob: dob, primary: primary, &rng)
                    continue
                }
                for attempt in 0..<40 {
                    let first = names.forenames[Int(forename)].utf8.first
                    let initialOK = twinInitial == nil || attempt > 25 || first == twinInitial
                    // Siblings never share a name, nor a name and its short form (Thomas and Tommy).
                    let related = used.contains {
                        names.alternates[Int($0)].contains(forename) || names.alternates[Int(forename)].contains($0)
                            || Self.diminutiveLike(names.forenames[Int($0)], names.forenames[Int(forename)])
                    }
                    if !used.contains(forename) && !related && initialOK { break }
                    forename = names.childForename(male: male, &rng)
                }
                used.insert(forename)
                if birth.twins && twinInitial == nil && rng.chance(0.3) {
                    twinInitial = names.forenames[Int(forename)].utf8.first
                }
                appendChild(
                    family: familyIndex, forename: forename, surname: childSurname, stepSurname: stepSurname,
                    male: male, twin: birth.twins, dob: dob, primary: primary, &rng)
            }
        }
        let childCount = Int32(children.count) - firstChild

        // Circumstances: need drives free school meals, police contact and absence.
        let single = partner == nil
        let need = min(1, rng.unit() * rng.unit() * (single ? 1.7 : 1.0) + (structure == .stepFamily ? 0.05 : 0))
        var edd = Int32.min
        let youngest = births.last!.day
        if youngest < asOfDay - 300, CalendarDate(dayNumber: motherDob).age(on: asOf) <= 43, rng.chance(0.04) {
            edd = Int32(asOfDay + 1 + rng.below(84))
        }
        let hasOlderChild = births[0].day <= asOf.adding(years: -3).dayNumber
        let fsm = hasOlderChild && rng.chance(0.06 + 0.64 * need)
        let police = rng.chance(0.006 + 0.16 * need)
        families.append(
            Family(
                mother: mother, partner: partner, structure: structure, address: address, previousAddress: previous,
                moveDay: Int32(moveDay), firstChild: firstChild, childCount: childCount, need: need, edd: edd,
                primarySchool: Int32(primary), fsm: fsm, police: police))
    }
}

extension Population {
    private mutating func appendChild(
        family: Int32, forename: UInt16, surname: Surname, stepSurname: Surname, male: Bool, twin: Bool,
        dob: CalendarDate, primary: Int, _ rng: inout SynthRandom
    ) {
        let names = NameTables.shared
        var preferred = UInt16.max
        let alternates = names.alternates[Int(forename)].filter {
            names.forenames[Int($0)].count < names.forenames[Int(forename)].count
        }
        if !alternates.isEmpty && rng.chance(0.3) { preferred = rng.pick(alternates) }
        let group = academicYear.yearGroup(dob: dob)
        let schoolAge = (0...11).contains(group)
        let upn =
            schoolAge
            ? newUPN(&rng, dob: dob, primaryEstablishment: schools[primary].establishment) : ""
        children.append(
            Child(
                family: family, forename: forename, surname: surname, stepSurname: stepSurname,
                preferredForename: preferred, male: male, twin: twin, onSchoolRoll: rng.chance(0.98),
                dob: Int32(dob.dayNumber), nhs: newNHS(&rng), upn: upn))
    }

    /// A name like that of child `sibling` (same sex), not yet used in the family; nil when it has none.
    private func lookAlikeName(of sibling: Int, used: Set<UInt16>) -> (forename: UInt16, male: Bool)? {
        let c = children[sibling]
        guard let name = NameTables.shared.lookAlikes(c.forename).first(where: { !used.contains($0) }) else {
            return nil
        }
        return (name, c.male)
    }

    /// `own` turned into a flat in a building other households live in: an open building of the same
    /// shape most of the time, otherwise a new building at `own`'s street address.
    private mutating func flatInSharedBuilding(_ own: Address, _ rng: inout SynthRandom) -> Address {
        var slot: Int
        if !openBuildings.isEmpty && rng.chance(0.65) {
            slot = openBuildings[rng.below(openBuildings.count)]
        } else {
            var building = own
            building.flat = 0
            sharedBuildings.append((building, [], 2 + rng.below(7)))
            slot = sharedBuildings.count - 1
            openBuildings.append(slot)
        }
        var flat: UInt8
        repeat { flat = UInt8(1 + rng.below(24)) } while sharedBuildings[slot].flats.contains(flat)
        sharedBuildings[slot].flats.insert(flat)
        if sharedBuildings[slot].flats.count >= sharedBuildings[slot].capacity {
            openBuildings.removeAll { $0 == slot }
        }
        var address = sharedBuildings[slot].building
        address.flat = flat
        return address
    }
}

extension Population {
    /// The school a pupil attends (index into `schools`): the family's primary school up to Year 6,
    /// then the secondary of the district they live in.
    func school(of c: Child) -> Int {
        let f = families[Int(c.family)]
        let group = academicYear.yearGroup(dob: CalendarDate(dayNumber: Int(c.dob)))
        return group <= 6 ? Int(f.primarySchool) : districtSecondary[Int(f.address.district)]
    }
}

/// `v` in decimal, left-padded with zeros to `width` digits.
func zeroPad(_ v: Int, _ width: Int) -> String {
    var bytes = [UInt8](repeating: 48, count: width)
    var x = v
    var i = width - 1
    while i >= 0 {
        bytes[i] = UInt8(48 + x % 10)
        x /= 10
        i -= 1
    }
    if x > 0 { return String(v) }
    return String(decoding: bytes, as: UTF8.self)
}

extension Population {
    /// True for names a nickname table might treat as one (Theo/Teddy, Alex/Al): same initial and
    /// one of them short. Parents rarely give two children such names, and a matcher cannot tell
    /// them apart, so the generator does not either.
    static func diminutiveLike(_ a: String, _ b: String) -> Bool {
        guard let x = a.first, let y = b.first, x == y else { return false }
        return a.count <= 5 || b.count <= 5
    }
}
