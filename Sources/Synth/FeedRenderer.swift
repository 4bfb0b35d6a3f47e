import Identifiers

/// One data row to be rendered: which child (or -1), which family, and feed-specific numbers
/// (review type, term, incident; one or two days).
struct Plan {
    var child: Int32
    var family: Int32
    var kind: Int32
    var day: Int32
    var day2: Int32
}

struct Incident {
    var day: Int32
    var minute: Int32
    var type: UInt8
    var ref: String
    var otherAddress: Address?
    var adults: String
    var surnameFirst: Bool
}

enum Formats {
    static let healthVisiting = try! DateFormat(pattern: FeedKind.healthVisiting.datePattern)
    static let school = try! DateFormat(pattern: FeedKind.schoolAttendance.datePattern)
    static let fsm = try! DateFormat(pattern: FeedKind.fsmEligibility.datePattern)
    static let policeDOB = try! DateFormat(pattern: FeedKind.policeNotifications.datePattern)
    static let policeDateTime = try! DateFormat(pattern: FeedKind.policeIncidentDateTimePattern)
}

/// Turns the population into the four partner feeds and the truth file.
struct FeedRenderer {
    let pop: Population
    let seed: UInt64
    let noise: Double
    let profile: NoiseProfile
    let names = NameTables.shared
    var incidents: [Incident] = []
    /// Harsher profiles: the familiar form each child may be recorded under ("" when none), and the
    /// chance of using it that gives each feed its profile's nickname share.
    let familiar: [String]
    let nicknameChance: (healthVisiting: Double, school: Double, fsm: Double, police: Double)
    /// Pupils whose school keyed another pupil's UPN for them, with that UPN.
    let keyedTwice: [Int32: String]

    init(population: Population, seed: UInt64, noise: Double, profile: NoiseProfile = .standard) {
        self.pop = population
        self.seed = seed
        self.noise = max(0, noise)
        self.profile = profile
        if profile.usesFamiliarForms {
            familiar = FeedRenderer.familiarForms(population, seed: seed)
            let share = FeedRenderer.shareWithForm(population, familiar, pupilsOnly: false)
            let pupilShare = FeedRenderer.shareWithForm(population, familiar, pupilsOnly: true)
            func chance(_ rate: Double, _ share: Double) -> Double { share > 0 ? rate / share : 0 }
            nicknameChance = (
                chance(profile.healthVisiting.nickname, share), chance(profile.school.nickname, pupilShare),
                chance(profile.fsm.nickname, share), chance(profile.police.nickname, share)
            )
        } else {
            familiar = []
            nicknameChance = (
                profile.healthVisiting.nickname, profile.school.nickname, profile.fsm.nickname, profile.police.nickname
            )
        }
        keyedTwice =
            profile.upnKeyedTwice > 0
            ? FeedRenderer.upnsKeyedTwice(population, rate: profile.upnKeyedTwice, noise: max(0, noise), seed: seed)
            : [:]
    }

    /// The familiar form of each child's forename: the population's preferred name when there is one,
    /// else one from the synth's wider table, else a nickname-list alternate.
    ///
    /// A family does not call two of its children by one name: a form that is a brother's or sister's
    /// registered forename, or the form already chosen for one, is passed over for the next form of
    /// the list, and a child with none left goes by the registered name (no form). Without this,
    /// twins Ellie and Eleanor were written as Eleanor known as Ellie and Ellie known as Eleanor, and a
    /// meals claim named twins Charlotte and Lottie both "Lottie" (at 100,000 children, harsh, seed 1,
    /// 105 pupils had a brother's or sister's forename as their preferred name at school).
    static func familiarForms(_ pop: Population, seed: UInt64) -> [String] {
        let names = NameTables.shared
        var chosen = [String](repeating: "", count: pop.children.count)
        for family in pop.families where family.childCount > 0 {
            var taken = Set(family.children.map { names.forenames[Int(pop.children[$0].forename)].lowercased() })
            for ci in family.children {
                let own = names.forenames[Int(pop.children[ci].forename)].lowercased()
                let form = formsInOrder(pop.children[ci], ci, seed: seed).first {
                    let key = $0.lowercased()
                    return key == own || !taken.contains(key)
                }
                chosen[ci] = form ?? ""
                if let form { taken.insert(form.lowercased()) }
            }
        }
        return chosen
    }

    /// A child's candidate familiar forms, the one the family would pick first: the population's
    /// preferred name alone, else the wider table's forms from a pick on, else the alternates'.
    static func formsInOrder(_ c: Child, _ ci: Int, seed: UInt64) -> [String] {
        let names = NameTables.shared
        if c.preferredForename != .max { return [names.forenames[Int(c.preferredForename)]] }
        var rng = SynthRandom(seed, 0x4641_4D05, UInt64(ci))  // "FAM"
        func fromAPick(_ list: [String]) -> [String] {
            guard !list.isEmpty else { return [] }
            let first = rng.below(list.count)
            return Array(list[first...] + list[..<first])
        }
        let forms = names.familiarForms(c.forename)
        if !forms.isEmpty { return fromAPick(forms) }
        return fromAPick(names.alternates[Int(c.forename)].map { names.forenames[Int($0)] })
    }

    static func shareWithForm(_ pop: Population, _ familiar: [String], pupilsOnly: Bool) -> Double {
        var with = 0
        var all = 0
        for (ci, c) in pop.children.enumerated() where !pupilsOnly || (!c.upn.isEmpty && c.onSchoolRoll) {
            all += 1
            if !familiar[ci].isEmpty { with += 1 }
        }
        return all == 0 ? 0 : Double(with) / Double(all)
    }

    /// For a few pupils, the UPN of the pupil keyed just before them at the same school. That pupil's own
    /// rows carry the UPN as it is (not left blank or broken by noise), so two pupils share it.
    static func upnsKeyedTwice(_ pop: Population, rate: Double, noise: Double, seed: UInt64) -> [Int32: String] {
        var rng = SynthRandom(seed, 0x5550_4E06)  // "UPN"
        var previousAtSchool: [Int: Int] = [:]
        var out: [Int32: String] = [:]
        for (ci, c) in pop.children.enumerated() where !c.upn.isEmpty && c.onSchoolRoll {
            let school = pop.school(of: c)
            if let other = previousAtSchool[school], rng.chance(min(1, rate * noise)) {
                out[Int32(ci)] = pop.children[other].upn
                continue
            }
            // The same first draws as `renderSchool` makes from the pupil's stream: UPN missing, UPN invalid.
            var crng = SynthRandom(seed, salt(.schoolAttendance) &+ 0x1_0000_0000, UInt64(ci))
            let missing = crng.chance(min(1, 0.05 * noise))
            let invalid = crng.chance(min(1, 0.005 * noise))
            if !missing && !invalid { previousAtSchool[school] = ci }
        }
        return out
    }

    /// A noise rate scaled by the configured noise level.
    @inline(__always)
    func p(_ base: Double) -> Double { min(1, base * noise) }

    static func salt(_ kind: FeedKind) -> UInt64 {
        switch kind {
        case .healthVisiting: return 0x4856_0001
        case .schoolAttendance: return 0x5341_0002
        case .fsmEligibility: return 0x4653_4D03
        case .policeNotifications: return 0x504F_4C04
        }
    }

    func feedRNG(_ kind: FeedKind) -> SynthRandom { SynthRandom(seed, FeedRenderer.salt(kind)) }
    func childRNG(_ kind: FeedKind, _ child: Int32, stream: UInt64 = 0) -> SynthRandom {
        SynthRandom(seed, FeedRenderer.salt(kind) &+ 0x1_0000_0000 &+ stream, UInt64(child))
    }
    func familyRNG(_ kind: FeedKind, _ family: Int32) -> SynthRandom {
        SynthRandom(seed, FeedRenderer.salt(kind) &+ 0x2_0000_0000, UInt64(family))
    }

    // MARK: Plans

    mutating func plans(for kind: FeedKind, _ rng: inout SynthRandom) -> [Plan] {
        var plans: [Plan]
        switch kind {
        case .healthVisiting: plans = healthVisitingPlans(&rng)
        case .schoolAttendance: plans = schoolPlans()
        case .fsmEligibility: plans = fsmPlans()
        case .policeNotifications: plans = policePlans()
        }
        // Extracts come sorted by their own record ids, not grouped by family.
        rng.shuffle(&plans)
        return plans
    }

    /// Due and end days of health-visiting review 1…4 for a date of birth.
    static func reviewWindow(_ review: Int, dob: CalendarDate) -> (due: Int, end: Int) {
        let d = dob.dayNumber
        switch review {
        case 1: return (d + 10, d + 14)
        case 2: return (d + 42, d + 56)
        case 3: return (dob.adding(months: 9).dayNumber, dob.adding(months: 12).dayNumber)
        default: return (dob.adding(months: 24).dayNumber, dob.adding(months: 30).dayNumber)
        }
    }

    static let reviewLabels = ["Antenatal", "New Birth", "6-8 Week", "12 Month", "2-2.5 Year"]

    private func healthVisitingPlans(_ rng: inout SynthRandom) -> [Plan] {
        var plans: [Plan] = []
        for (ci, c) in pop.children.enumerated() {
            let dob = CalendarDate(dayNumber: Int(c.dob))
            guard dob.months(until: pop.asOf) < 30 else { continue }
            for r in 1...4 {
                let due = FeedRenderer.reviewWindow(r, dob: dob).due
                if due > pop.asOfDay { break }
                // National data sets miss contacts: some never reach the extract.
                if rng.chance(p(0.04)) { continue }
                plans.append(Plan(child: Int32(ci), family: c.family, kind: Int32(r), day: Int32(due), day2: 0))
            }
        }
        for (fi, f) in pop.families.enumerated() where f.edd != Int32.min {
            // Antenatal contact from 28 weeks, i.e. 12 weeks before the due date.
            let due = Int(f.edd) - 84
            if due <= pop.asOfDay {
                plans.append(Plan(child: -1, family: Int32(fi), kind: 0, day: Int32(due), day2: 0))
            }
        }
        return plans
    }

    private func schoolPlans() -> [Plan] {
        var plans: [Plan] = []
        let terms = pop.academicYear.terms
        guard let yearStart = terms.first?.start, let yearEnd = terms.last?.end else { return [] }
        for (ci, c) in pop.children.enumerated() where !c.upn.isEmpty && c.onSchoolRoll {
            // Joining or leaving mid-year happens to the whole family (a move in or out of the county).
            var frng = familyRNG(.schoolAttendance, c.family)
            var join = yearStart
            var leave = Int.max
            if frng.chance(0.04) {
                join = yearStart + frng.below(max(1, yearEnd - yearStart))
            } else if frng.chance(0.02) {
                leave = yearStart + frng.below(max(1, yearEnd - yearStart))
            }
            for (t, term) in terms.enumerated() {
                let s = max(term.start, join)
                let e = min(term.end, leave)
                if e - s < 7 { continue }
                plans.append(Plan(child: Int32(ci), family: c.family, kind: Int32(t), day: Int32(s), day2: Int32(e)))
            }
        }
        return plans
    }

    private func fsmPlans() -> [Plan] {
        var plans: [Plan] = []
        let threeYearsAgo = pop.asOf.adding(years: -3).dayNumber
        for (fi, f) in pop.families.enumerated() where f.fsm {
            for ci in f.children where Int(pop.children[ci].dob) <= threeYearsAgo {
                plans.append(Plan(child: Int32(ci), family: Int32(fi), kind: 0, day: 0, day2: 0))
            }
        }
        return plans
    }

    private mutating func policePlans() -> [Plan] {
        var plans: [Plan] = []
        incidents = []
        for (fi, f) in pop.families.enumerated() where f.police && f.childCount > 0 {
            var frng = familyRNG(.policeNotifications, Int32(fi))
            let k = frng.chance(0.6) ? 1 : (frng.chance(0.6) ? 2 : 3)
            for _ in 0..<k {
                let day = pop.asOfDay - 1 - frng.below(365)
                let hour = frng.chance(0.6) ? 17 + frng.below(7) : frng.below(24)
                let minute = hour * 60 + frng.below(60)
                let u = frng.unit()
                let type: UInt8 = u < 0.7 ? 0 : (u < 0.8 ? 1 : (u < 0.88 ? 2 : 3))
                let elsewhere = frng.chance(0.06) ? pop.makeAddress(&frng) : nil
                var adults: String
                switch type {
                case 0:
                    adults = f.partner != nil && frng.chance(0.75) ? "2 (MOTHER, PARTNER)" : "2 (MOTHER, EX-PARTNER)"
                case 2: adults = f.partner != nil && frng.chance(0.5) ? "2 (MOTHER, PARTNER)" : "1 (MOTHER)"
                default: adults = "1 (MOTHER)"
                }
                let a = frng.unit()
                if a < 0.08 { adults = "UNKNOWN" } else if a < 0.12 { adults = "" }
                let index = incidents.count
                let date = CalendarDate(dayNumber: day)
                let serial = (index * 7919 + 12345) % 900_000 + 100_000
                let ref = "NC-" + zeroPad(date.year % 100, 2) + "-" + zeroPad(serial, 6)
                incidents.append(
                    Incident(
                        day: Int32(day), minute: Int32(minute), type: type, ref: ref,
                        otherAddress: elsewhere, adults: adults, surnameFirst: frng.chance(0.6)))
                for ci in f.children where Int(pop.children[ci].dob) < day {
                    plans.append(
                        Plan(child: Int32(ci), family: Int32(fi), kind: Int32(index), day: Int32(day), day2: 0))
                }
            }
        }
        return plans
    }

    // MARK: Shared pieces

    /// The child's familiar form under a harsher profile; nil under the standard one.
    func familiarForm(_ child: Int32) -> String? { familiar.isEmpty ? nil : familiar[Int(child)] }

    func truthRow(_ truth: CSVWriter?, _ kind: FeedKind, row: Int, plan: Plan, tags: NoiseTags) {
        guard let truth else { return }
        truth.plainField(kind.rawValue)
        truth.intField(row)
        if plan.child >= 0 {
            truth.plainField("C" + zeroPad(Int(plan.child) + 1, 7))
        } else {
            truth.emptyField()
        }
        truth.plainField("F" + zeroPad(Int(plan.family) + 1, 7))
        truth.plainField(plan.child >= 0 && pop.children[Int(plan.child)].twin ? "1" : "0")
        truth.plainField(tags.text)
        truth.endRow()
    }

    /// A forename as recorded: sometimes a familiar form, sometimes mistyped.
    func forename(
        _ id: UInt16, nickname: Double, typo: Double, preferred: UInt16 = .max, familiar: String? = nil,
        _ rng: inout SynthRandom, _ tags: inout NoiseTags, typoTag: NoiseTags = .forenameTypo
    ) -> String {
        var s = names.forenames[Int(id)]
        if rng.chance(p(nickname)) {
            if let familiar {
                if !familiar.isEmpty {
                    s = familiar
                    tags.insert(.nickname)
                }
            } else if preferred != .max {
                s = names.forenames[Int(preferred)]
                tags.insert(.nickname)
            } else if !names.alternates[Int(id)].isEmpty {
                s = names.forenames[Int(rng.pick(names.alternates[Int(id)]))]
                tags.insert(.nickname)
            }
        }
        if rng.chance(p(typo)) {
            s = Noise.typo(s, &rng)
            tags.insert(typoTag)
        }
        return s
    }

    /// A child's surname as recorded: the step-parent's name, another form of a double-barrelled name, a typo.
    func childSurname(
        _ c: Child, step: Double, variant: Double, typo: Double,
        _ rng: inout SynthRandom, _ tags: inout NoiseTags
    ) -> String {
        var s: String
        if !c.stepSurname.isNone && rng.chance(p(step)) {
            s = c.stepSurname.text(names)
            tags.insert(.stepSurname)
        } else if c.surname.isHyphenated && rng.chance(p(variant)) {
            s = Noise.surnameVariant(c.surname, names, &rng)
            tags.insert(.surnameVariant)
        } else {
            s = c.surname.text(names)
        }
        if rng.chance(p(typo)) {
            s = Noise.typo(s, &rng)
            tags.insert(.surnameTypo)
        }
        return s
    }

    /// A date as recorded: sometimes day and month swapped, sometimes one digit wrong.
    func recordedDate(
        _ day: Int32, swap: Double, typo: Double, _ rng: inout SynthRandom, _ tags: inout NoiseTags,
        swapTag: NoiseTags = .dobSwap, typoTag: NoiseTags = .dobTypo
    ) -> CalendarDate {
        let d = CalendarDate(dayNumber: Int(day))
        // A mistyped date that lands after the extract date would be refused at load (a future
        // date of birth): keep the noise to mistakes a partner's system would have accepted.
        if rng.chance(p(swap)), let s = Noise.swapDayMonth(d), s <= pop.asOf {
            tags.insert(swapTag)
            return s
        }
        if rng.chance(p(typo)), let t = Noise.digitTypo(d, &rng), t <= pop.asOf {
            tags.insert(typoTag)
            return t
        }
        return d
    }

    /// The address on `day`; after a move, a feed that was not told keeps the old one.
    func recordedAddress(
        _ f: Family, on day: Int, stale: Double, _ rng: inout SynthRandom,
        _ tags: inout NoiseTags
    ) -> Address {
        let (a, before) = f.address(on: day)
        if before {
            tags.insert(.previousAddress)
            return a
        }
        if let prev = f.previousAddress, rng.chance(p(stale)) {
            tags.insert(.oldAddress)
            return prev
        }
        return a
    }

    func postcode(
        _ a: Address, format: Double, missing: Double, _ rng: inout SynthRandom,
        _ tags: inout NoiseTags
    ) -> String {
        if rng.chance(p(missing)) {
            tags.insert(.postcodeMissing)
            return ""
        }
        let pc = a.postcode
        if rng.chance(p(format)) {
            tags.insert(.postcodeFormat)
            return Noise.postcodeVariant(pc, &rng)
        }
        return pc
    }

    func nhs(
        _ n: UInt64, missing: Bool, invalid: Double, _ rng: inout SynthRandom, _ tags: inout NoiseTags,
        missingTag: NoiseTags, invalidTag: NoiseTags
    ) -> String {
        if missing {
            tags.insert(missingTag)
            return ""
        }
        if rng.chance(p(invalid)) {
            tags.insert(invalidTag)
            return Noise.invalidNHS(n, &rng)
        }
        let t = Noise.nhsText(n)
        return rng.chance(0.05) ? Noise.spacedNHS(t) : t
    }

    // MARK: Health visiting

    func renderHealthVisiting(_ plans: [Plan], _ out: CSVWriter, _ truth: CSVWriter?, _ rng: inout SynthRandom) {
        out.header(FeedKind.healthVisiting.columns)
        let fmt = Formats.healthVisiting
        var row = 0
        for plan in plans {
            row += 1
            var tags = NoiseTags()
            let f = pop.families[Int(plan.family)]
            out.plainField("HV" + zeroPad(row, 8))
            let upper = rng.chance(p(0.02))
            if upper { tags.insert(.upperCase) }
            if plan.child >= 0 {
                let c = pop.children[Int(plan.child)]
                var crng = childRNG(.healthVisiting, plan.child)
                let missing = crng.chance(p(0.08)) || rng.chance(p(0.02))
                out.plainField(
                    nhs(
                        c.nhs, missing: missing, invalid: 0.005, &rng, &tags,
                        missingTag: .nhsMissing, invalidTag: .nhsInvalid))
                var fore = forename(
                    c.forename, nickname: nicknameChance.healthVisiting, typo: profile.healthVisiting.forenameTypo,
                    familiar: familiarForm(plan.child), &rng, &tags)
                var sur = childSurname(c, step: 0, variant: 0.25, typo: 0.015, &rng, &tags)
                if rng.chance(p(0.01)) {
                    if rng.chance(0.5) {
                        fore = Noise.whitespace(fore, &rng)
                    } else {
                        sur = Noise.whitespace(sur, &rng)
                    }
                    tags.insert(.whitespace)
                }
                if upper {
                    fore = fore.uppercased()
                    sur = sur.uppercased()
                }
                out.field(fore)
                out.field(sur)
                out.dateField(recordedDate(c.dob, swap: 0.004, typo: 0.004, &rng, &tags), fmt)
                out.plainField(c.male ? "M" : "F")
            } else {
                for _ in 0..<5 { out.emptyField() }
            }
            let a = recordedAddress(f, on: Int(plan.day), stale: 0.4, &rng, &tags)
            out.field(a.line1)
            out.field(a.line2)
            out.field(a.town)
            out.field(postcode(a, format: 0.02, missing: 0.005, &rng, &tags))
            // Mother.
            let m = f.mother
            out.plainField(
                nhs(
                    m.nhs, missing: rng.chance(p(0.02)), invalid: 0.003, &rng, &tags,
                    missingTag: .motherNHSMissing, invalidTag: .motherNHSInvalid))
            var mf = forename(m.forename, nickname: 0.01, typo: 0.01, &rng, &tags, typoTag: .parentNameTypo)
            var ms = m.surname.text(names)
            if rng.chance(p(0.01)) {
                ms = Noise.typo(ms, &rng)
                tags.insert(.parentNameTypo)
            }
            if upper {
                mf = mf.uppercased()
                ms = ms.uppercased()
            }
            out.field(mf)
            out.field(ms)
            out.dateField(
                recordedDate(
                    m.dob, swap: 0.003, typo: 0.003, &rng, &tags,
                    swapTag: .parentDOBError, typoTag: .parentDOBError), fmt)
            // Review.
            let review = Int(plan.kind)
            let end: Int
            if plan.child >= 0 {
                end =
                    FeedRenderer.reviewWindow(
                        review, dob: CalendarDate(dayNumber: Int(pop.children[Int(plan.child)].dob))
                    ).end
            } else {
                end = Int(plan.day) + 28
            }
            out.plainField(FeedRenderer.reviewLabels[review])
            out.dateField(CalendarDate(dayNumber: Int(plan.day)), fmt)
            let status: String
            let u = rng.unit()
            if end < pop.asOfDay {
                status = u < 0.86 ? "Completed" : (u < 0.92 ? "Not attended" : (u < 0.95 ? "Declined" : ""))
            } else {
                status = u < 0.45 ? "Completed" : ""
            }
            out.plainField(status)
            out.endRow()
            truthRow(truth, .healthVisiting, row: row, plan: plan, tags: tags)
        }
    }

    // MARK: School attendance

    static func weekdays(_ from: Int, _ to: Int) -> Int {
        var n = 0
        var d = from
        while d <= to {
            let w = ((d % 7) + 7) % 7  // 0 = Thursday, 2 = Saturday, 3 = Sunday
            if w != 2 && w != 3 { n += 1 }
            d += 1
        }
        return n
    }

    func renderSchool(_ plans: [Plan], _ out: CSVWriter, _ truth: CSVWriter?, _ rng: inout SynthRandom) {
        let contacts = profile.schoolContact > 0
        out.header(FeedKind.schoolAttendance.columns + (contacts ? FeedKind.schoolContactColumns : []))
        let fmt = Formats.school
        var row = 0
        for plan in plans {
            row += 1
            var tags = NoiseTags()
            let c = pop.children[Int(plan.child)]
            let f = pop.families[Int(plan.family)]
            // Decisions about the child's record are the same in every term: draw them from the child's stream.
            var crng = childRNG(.schoolAttendance, plan.child)
            let upnMissing = crng.chance(p(0.05))
            let upnInvalid = crng.chance(p(0.005))
            let upper = crng.chance(p(0.005))
            let spaces = crng.chance(p(0.005))
            let staleAddress = crng.chance(p(0.3))
            let u = crng.unit()
            let severe = 0.004 + 0.05 * f.need
            let persistent = 0.07 + 0.45 * f.need
            let base: Double
            if u < severe {
                base = 0.25 + 0.25 * crng.unit()
            } else if u < severe + persistent {
                base = 0.72 + 0.18 * crng.unit()
            } else {
                base = 1 - 0.1 * crng.unit() * crng.unit()
            }
            if upnMissing {
                out.emptyField()
                tags.insert(.upnMissing)
            } else if upnInvalid {
                out.plainField(Noise.invalidUPN(c.upn, &crng))
                tags.insert(.upnInvalid)
            } else if let other = keyedTwice[plan.child] {
                out.plainField(other)
                tags.insert(.upnKeyedTwice)
            } else {
                out.plainField(c.upn)
            }
            var fore = forename(c.forename, nickname: 0, typo: profile.school.forenameTypo, &crng, &tags)
            var sur = childSurname(c, step: 0, variant: 0.1, typo: 0.003, &crng, &tags)
            if spaces {
                sur = Noise.whitespace(sur, &crng)
                tags.insert(.whitespace)
            }
            if upper {
                fore = fore.uppercased()
                sur = sur.uppercased()
                tags.insert(.upperCase)
            }
            out.field(fore)
            out.field(sur)
            if profile.usesFamiliarForms {
                // The pupil's preferred name, the same in every term.
                var prng = childRNG(.schoolAttendance, plan.child, stream: 1)
                let form = familiar[Int(plan.child)]
                out.field(!form.isEmpty && prng.chance(nicknameChance.school) ? form : names.forenames[Int(c.forename)])
            } else {
                out.field(
                    c.preferredForename != .max
                        ? names.forenames[Int(c.preferredForename)] : names.forenames[Int(c.forename)])
            }
            out.field(c.stepSurname.isNone ? c.surname.text(names) : c.stepSurname.text(names))
            out.dateField(recordedDate(c.dob, swap: 0.002, typo: 0.002, &crng, &tags), fmt)
            out.plainField(c.male ? "Male" : "Female")
            var a: Address
            let (atEnd, before) = f.address(on: Int(plan.day2))
            if before {
                a = atEnd
                tags.insert(.previousAddress)
            } else if let prev = f.previousAddress, staleAddress {
                a = prev
                tags.insert(.oldAddress)
            } else {
                a = atEnd
            }
            out.field(a.line1)
            out.field(a.line2)
            out.field(a.town)
            out.field(postcode(a, format: 0.01, missing: 0.002, &rng, &tags))
            out.field(pop.schools[pop.school(of: c)].name)
            out.dateField(CalendarDate(dayNumber: Int(plan.day)), fmt)
            out.dateField(CalendarDate(dayNumber: Int(plan.day2)), fmt)
            let possible = 2 * Int((Double(FeedRenderer.weekdays(Int(plan.day), Int(plan.day2))) * 0.93).rounded())
            let rate = min(1, max(0, base + (rng.unit() - 0.5) * 0.06))
            out.intField(possible)
            out.intField(Int((Double(possible) * rate).rounded()))
            if contacts { schoolContact(plan.child, f, out, &tags) }
            out.endRow()
            truthRow(truth, .schoolAttendance, row: row, plan: plan, tags: tags)
        }
    }

    /// The pupil's primary contact, the same in every term: usually the mother, sometimes the father or
    /// step-parent, sometimes a grandmother; now and then another spelling of the carer's forename.
    func schoolContact(_ child: Int32, _ f: Family, _ out: CSVWriter, _ tags: inout NoiseTags) {
        var rng = childRNG(.schoolAttendance, child, stream: 2)
        guard rng.chance(profile.schoolContact) else {
            out.emptyField()
            out.emptyField()
            out.emptyField()
            return
        }
        let u = rng.unit()
        let carer: (forename: UInt16, surname: String, relationship: String)
        // Whose phone it is: the mother's, the partner's or the grandmother's, the same for every child.
        let phoneOwner: UInt64 = f.partner != nil && u >= 0.82 && u < 0.94 ? 1 : (u >= 0.94 ? 2 : 0)
        if let partner = f.partner, u >= 0.82, u < 0.94 {
            let step = f.structure == .stepFamily
            carer = (
                partner.forename, partner.surname.text(names),
                partner.male ? (step ? "Stepfather" : "Father") : (step ? "Stepmother" : "Mother")
            )
        } else if u >= 0.94 {
            carer = (names.adultForename(male: false, &rng), f.mother.surname.text(names), "Grandmother")
        } else {
            carer = (f.mother.forename, f.mother.surname.text(names), "Mother")
        }
        var forename = names.forenames[Int(carer.forename)]
        if rng.chance(p(profile.schoolContactVariant)) {
            let forms =
                names.familiarForms(carer.forename)
                + names.alternates[Int(carer.forename)].map {
                    names.forenames[Int($0)]
                }
            forename = !forms.isEmpty && rng.chance(0.5) ? rng.pick(forms) : Noise.typo(forename, &rng)
            tags.insert(.contactNameVariant)
        }
        out.field(forename + " " + carer.surname)
        out.plainField(carer.relationship)
        // Drawn last, so the name and relationship are those of the feed without phones.
        if rng.chance(0.8) {
            out.plainField(
                contactPhone(
                    family: child >= 0 ? pop.children[Int(child)].family : 0, owner: phoneOwner, style: rng.below(10)))
        } else {
            out.emptyField()
        }
    }

    /// A carer's mobile number, the same on every child's row (invented: 07 and nine digits from the
    /// family), written as schools do: `07xxx xxxxxx`, `07xxxxxxxxx` or `+44 7xxx xxxxxx`.
    func contactPhone(family: Int32, owner: UInt64, style: Int) -> String {
        var prng = SynthRandom(seed, 0x5048_4F07, UInt64(family) &* 4 &+ owner)  // "PHO"
        var digits = "07"
        for _ in 0..<9 { digits += String(prng.below(10)) }
        switch style {
        case 0..<5: return String(digits.prefix(5)) + " " + String(digits.dropFirst(5))
        case 5..<8: return digits
        default: return "+44 " + String(digits.dropFirst().prefix(4)) + " " + String(digits.dropFirst(5))
        }
    }

    // MARK: Free school meals

    func renderFSM(_ plans: [Plan], _ out: CSVWriter, _ truth: CSVWriter?, _ rng: inout SynthRandom) {
        out.header(FeedKind.fsmEligibility.columns)
        let fmt = Formats.fsm
        var row = 0
        for plan in plans {
            row += 1
            var tags = NoiseTags()
            let c = pop.children[Int(plan.child)]
            let f = pop.families[Int(plan.family)]
            // Family-level facts, the same on each child's row.
            var frng = familyRNG(.fsmEligibility, plan.family)
            let from = pop.asOfDay - 30 - frng.below(4 * 365)
            let toKind = frng.unit()
            let toOffset = frng.below(1000)
            let claimantIsPartner = f.partner != nil && frng.chance(0.15)
            let staleAddress = frng.chance(p(0.5))
            let ninoStyle = frng.below(10)
            let ninoMissing = frng.chance(p(0.01))
            let ninoTypo = frng.chance(p(0.005))
            let ninoTypoPos = 2 + frng.below(6)
            let ninoTypoDigit = 1 + frng.below(9)
            let upper = rng.chance(p(0.05))
            if upper { tags.insert(.upperCase) }

            let parent = claimantIsPartner ? f.partner! : f.mother
            var ps = parent.surname.text(names)
            var pf = names.forenames[Int(parent.forename)]
            if rng.chance(p(0.015)) {
                if rng.chance(0.5) { ps = Noise.typo(ps, &rng) } else { pf = Noise.typo(pf, &rng) }
                tags.insert(.parentNameTypo)
            }
            if upper {
                ps = ps.uppercased()
                pf = pf.uppercased()
            }
            out.field(ps)
            out.field(pf)
            out.dateField(
                recordedDate(
                    parent.dob, swap: 0.004, typo: 0.004, &rng, &tags,
                    swapTag: .parentDOBError, typoTag: .parentDOBError), fmt)
            if ninoMissing {
                out.emptyField()
                tags.insert(.ninoMissing)
            } else {
                var bytes = Array(parent.nino.utf8)
                if ninoTypo {
                    bytes[ninoTypoPos] = UInt8(48 + (Int(bytes[ninoTypoPos]) - 48 + ninoTypoDigit) % 10)
                    tags.insert(.ninoTypo)
                }
                var s = String(decoding: bytes, as: UTF8.self)
                if ninoStyle == 0 {
                    s = s.lowercased()
                } else if ninoStyle == 1 {
                    s = NationalInsuranceNumber(s)?.formatted ?? s
                }
                out.field(s)
            }
            var fore = forename(
                c.forename, nickname: nicknameChance.fsm, typo: profile.fsm.forenameTypo,
                preferred: c.preferredForename, familiar: familiarForm(plan.child), &rng, &tags)
            var sur = childSurname(c, step: 0.25, variant: 0.25, typo: 0.015, &rng, &tags)
            if rng.chance(p(0.01)) {
                fore = Noise.whitespace(fore, &rng)
                tags.insert(.whitespace)
            }
            if upper {
                fore = fore.uppercased()
                sur = sur.uppercased()
            }
            out.field(fore)
            out.field(sur)
            out.dateField(recordedDate(c.dob, swap: 0.005, typo: 0.005, &rng, &tags), fmt)
            var a: Address = f.address
            if let prev = f.previousAddress, staleAddress {
                a = prev
                tags.insert(.oldAddress)
            }
            out.field(upper ? a.singleLine.uppercased() : a.singleLine)
            out.field(postcode(a, format: 0.03, missing: 0.005, &rng, &tags))
            out.dateField(CalendarDate(dayNumber: from), fmt)
            if toKind < 0.7 {
                out.emptyField()
            } else if toKind < 0.9 {
                out.dateField(CalendarDate(dayNumber: pop.asOfDay + 30 + toOffset), fmt)
            } else {
                out.dateField(CalendarDate(dayNumber: from + (pop.asOfDay - from) * toOffset / 1000), fmt)
            }
            out.endRow()
            truthRow(truth, .fsmEligibility, row: row, plan: plan, tags: tags)
        }
    }

    // MARK: Police notifications

    static let incidentTypes = ["DOMESTIC ABUSE", "MISSING PERSON", "ASB", "CONCERN FOR WELFARE"]

    func renderPolice(_ plans: [Plan], _ out: CSVWriter, _ truth: CSVWriter?, _ rng: inout SynthRandom) {
        out.header(FeedKind.policeNotifications.columns)
        var row = 0
        for plan in plans {
            row += 1
            var tags = NoiseTags()
            let c = pop.children[Int(plan.child)]
            let f = pop.families[Int(plan.family)]
            let inc = incidents[Int(plan.kind)]
            let date = CalendarDate(dayNumber: Int(inc.day))
            out.plainField(inc.ref)
            out.dateField(date, Formats.policeDateTime, minuteOfDay: Int(inc.minute))
            out.plainField(FeedRenderer.incidentTypes[Int(inc.type)])
            out.plainField(rng.chance(inc.type == 0 ? 0.65 : 0.4) ? "Y" : "N")
            let fore = forename(
                c.forename, nickname: nicknameChance.police, typo: profile.police.forenameTypo,
                preferred: c.preferredForename, familiar: familiarForm(plan.child), &rng, &tags
            ).uppercased()
            let sur = childSurname(c, step: 0.3, variant: 0.3, typo: 0.03, &rng, &tags).uppercased()
            out.field(inc.surnameFirst ? sur + ", " + fore : fore + " " + sur)
            let trueAge = CalendarDate(dayNumber: Int(c.dob)).age(on: date)
            if rng.chance(p(profile.policeNoDOB)) {
                out.emptyField()
                tags.insert(.dobMissing)
                if rng.chance(profile.policeAgeApproximate) {
                    let off = profile.policeAgeOffByTwo && rng.chance(0.2) ? 2 : 1
                    out.intField(max(0, trueAge + (rng.chance(0.5) ? off : -off)))
                    tags.insert(.ageApprox)
                } else {
                    out.intField(trueAge)
                }
            } else {
                out.dateField(recordedDate(c.dob, swap: 0.015, typo: 0.015, &rng, &tags), Formats.policeDOB)
                out.intField(trueAge)
            }
            let a: Address
            if let other = inc.otherAddress {
                a = other
                tags.insert(.otherAddress)
            } else {
                a = recordedAddress(f, on: Int(inc.day), stale: 0.1, &rng, &tags)
            }
            out.field(a.singleLine.uppercased())
            out.field(postcode(a, format: 0.02, missing: 0.01, &rng, &tags).uppercased())
            out.field(inc.adults)
            out.endRow()
            truthRow(truth, .policeNotifications, row: row, plan: plan, tags: tags)
        }
    }

    func render(_ kind: FeedKind, _ plans: [Plan], _ out: CSVWriter, _ truth: CSVWriter?, _ rng: inout SynthRandom) {
        switch kind {
        case .healthVisiting: renderHealthVisiting(plans, out, truth, &rng)
        case .schoolAttendance: renderSchool(plans, out, truth, &rng)
        case .fsmEligibility: renderFSM(plans, out, truth, &rng)
        case .policeNotifications: renderPolice(plans, out, truth, &rng)
        }
    }
}
