import Foundation
import Identifiers
import Testing

@testable import Synth

/// `synth --noise harsh`: each rate of the harsh profile, measured on the files of one seed, within a
/// tolerance tight enough that the standard profile's rate (or a wrong one) fails; and a truth file that
/// still names the right child for every row.
@Suite(.serialized) struct HarshNoiseTests {
    static let children = 20_000
    static let seed: UInt64 = 12

    /// One harsh data set for the whole suite (generating it is the slow part).
    static let harsh: Result<Generated, Error> = Result {
        try Generated(children: children, seed: seed, profile: .harsh, name: "harsh")
    }

    func generated() throws -> Generated { try HarshNoiseTests.harsh.get() }

    /// Share of a feed's child rows whose truth tags contain `tag`.
    func taggedShare(_ g: Generated, _ kind: FeedKind, _ tag: String) -> (share: Double, rows: Int) {
        let rows = g.truth(kind).filter { !$0[2].isEmpty }
        let n = rows.filter { g.tags($0).contains(tag) }.count
        return (Double(n) / Double(max(rows.count, 1)), rows.count)
    }

    func expectNear(_ observed: Double, _ expected: Double, within: Double, _ what: String) {
        #expect(abs(observed - expected) <= within, "\(what): \(observed), expected \(expected) ± \(within)")
    }

    @Test func forenameTypoRatesArePerFeed() throws {
        let g = try generated()
        let expected: [(FeedKind, Double)] = [
            (.healthVisiting, 0.03), (.schoolAttendance, 0.02), (.fsmEligibility, 0.02), (.policeNotifications, 0.06),
        ]
        for (kind, rate) in expected {
            let (share, rows) = taggedShare(g, kind, "forename_typo")
            #expect(rows > 800, "\(kind.stem): only \(rows) rows")
            // A quarter of the rate either side: the standard profile's rates (0.015, 0.003, 0.015, 0.03)
            // all fall outside.
            expectNear(share, rate, within: rate * 0.25, "\(kind.stem) forename typo share")
        }
        // Police names are written in upper case, typos included.
        let police = g.feeds[.policeNotifications]!
        #expect(
            police.records.allSatisfy { police.value($0, "CHILD_NAME") == police.value($0, "CHILD_NAME").uppercased() })
    }

    @Test func preferredNamesInHalfTheSchoolRowsAndNicknamesInFSM() throws {
        let g = try generated()
        let school = g.feeds[.schoolAttendance]!
        let differing = school.records.filter {
            school.value($0, "PreferredForename").lowercased() != school.value($0, "LegalForename").lowercased()
        }
        let typos = g.truth(.schoolAttendance).filter { g.tags($0).contains("forename_typo") }.count
        // A typo in the legal forename also makes the two differ: take those rows out.
        let share = Double(differing.count - typos) / Double(school.records.count)
        expectNear(share, 0.5, within: 0.05, "school rows with a preferred forename")
        expectNear(taggedShare(g, .fsmEligibility, "nickname").share, 0.15, within: 0.035, "FSM nickname share")
    }

    @Test func policeRowsWithAnApproximateAgeInsteadOfADateOfBirth() throws {
        let g = try generated()
        let police = g.feeds[.policeNotifications]!
        let noDOB = police.records.filter { police.value($0, "CHILD_DOB").isEmpty }
        expectNear(Double(noDOB.count) / Double(police.records.count), 0.25, within: 0.04, "police rows with no DOB")
        #expect(noDOB.allSatisfy { Int(police.value($0, "CHILD_AGE")) != nil })
        let truth = g.truth(.policeNotifications)
        let missing = truth.filter { g.tags($0).contains("dob_missing") }
        let approximate = missing.filter { g.tags($0).contains("age_approx") }
        #expect(missing.count == noDOB.count)
        expectNear(Double(approximate.count) / Double(missing.count), 0.6, within: 0.08, "approximate ages")
    }

    @Test func fifteenPercentOfFamiliesMoved() {
        func movedShare(_ profile: NoiseProfile) -> Double {
            let pop = Population(children: 8000, seed: 5, asOf: SynthConfig.defaultAsOf, profile: profile)
            let withChildren = pop.families.filter { $0.childCount > 0 }
            return Double(withChildren.filter { $0.previousAddress != nil }.count) / Double(withChildren.count)
        }
        expectNear(movedShare(.harsh), 0.15, within: 0.02, "harsh families moved")
        expectNear(movedShare(.standard), 0.10, within: 0.02, "standard families moved")
    }

    @Test("a family calls no two children by one name: no familiar form is a sibling's forename or form")
    func familiarFormsAreNotASiblingsName() {
        let names = NameTables.shared
        let pop = Population(children: 30_000, seed: 9, asOf: SynthConfig.defaultAsOf, profile: .harsh)
        let forms = FeedRenderer.familiarForms(pop, seed: 9)
        var lookAlikeFamiliesWithForms = 0
        for f in pop.families {
            let kids = Array(f.children)
            for a in kids {
                for b in kids where a != b {
                    let formA = forms[a].lowercased()
                    guard !formA.isEmpty else { continue }
                    #expect(formA != names.forenames[Int(pop.children[b].forename)].lowercased())
                    #expect(formA != forms[b].lowercased())
                }
            }
            let alike = kids.contains { a in
                kids.contains { names.lookAlikes(pop.children[a].forename).contains(pop.children[$0].forename) }
            }
            if alike && kids.allSatisfy({ !forms[$0].isEmpty }) { lookAlikeFamiliesWithForms += 1 }
        }
        // Children with look-alike names still have familiar forms of their own (Eleanor known as Nell).
        #expect(lookAlikeFamiliesWithForms > 20, "\(lookAlikeFamiliesWithForms)")
        // Most children keep a familiar form: only collisions lose theirs.
        let withForm = forms.filter { !$0.isEmpty }.count
        #expect(Double(withForm) / Double(forms.count) > 0.5, "\(withForm) of \(forms.count)")
    }

    @Test func twinsAndSiblingsWithLookAlikeNames() {
        let names = NameTables.shared
        func lookAlikeShares(_ profile: NoiseProfile) -> (twins: Double, twinPairs: Int, siblingFamilies: Int) {
            let pop = Population(children: 30_000, seed: 9, asOf: SynthConfig.defaultAsOf, profile: profile)
            var twinPairs = 0
            var alikeTwins = 0
            var siblingFamilies = 0
            for f in pop.families {
                let kids = Array(f.children)
                for (i, a) in kids.enumerated() {
                    for b in kids[(i + 1)...] {
                        let x = pop.children[a]
                        let y = pop.children[b]
                        let alike = names.lookAlikes(x.forename).contains(y.forename)
                        if alike {
                            // Look-alike names are always of one sex and never the same name.
                            #expect(x.male == y.male && x.forename != y.forename)
                        }
                        if x.twin && y.twin && x.dob == y.dob {
                            twinPairs += 1
                            if alike { alikeTwins += 1 }
                        } else if alike {
                            siblingFamilies += 1
                        }
                    }
                }
            }
            return (Double(alikeTwins) / Double(max(twinPairs, 1)), twinPairs, siblingFamilies)
        }
        let harsh = lookAlikeShares(.harsh)
        #expect(harsh.twinPairs > 150)
        expectNear(harsh.twins, 0.35, within: 0.1, "twin pairs with look-alike names")
        #expect(harsh.siblingFamilies > 100, "\(harsh.siblingFamilies) sibling pairs with look-alike names")
        let standard = lookAlikeShares(.standard)
        #expect(standard.twins < 0.08, "standard twins with look-alike names \(standard.twins)")
    }

    @Test func siblingsWithLookAlikeNamesAreNamedInOnePoliceIncident() throws {
        let g = try generated()
        let pop = Population(
            children: HarshNoiseTests.children, seed: HarshNoiseTests.seed, asOf: SynthConfig.defaultAsOf,
            profile: .harsh)
        let police = g.feeds[.policeNotifications]!
        var childrenOfIncident: [String: Set<Int>] = [:]
        for (r, t) in zip(police.records, g.truth(.policeNotifications)) {
            childrenOfIncident[police.value(r, "INCIDENT_REF"), default: []].insert(Int(t[2].dropFirst())! - 1)
        }
        // Every child of an incident is of one family: siblings reported side by side.
        var lookAlikeIncidents = 0
        for children in childrenOfIncident.values {
            let list = children.sorted()
            #expect(Set(list.map { pop.children[$0].family }).count == 1)
            for (i, a) in list.enumerated() {
                for b in list[(i + 1)...]
                where NameTables.shared.lookAlikes(pop.children[a].forename).contains(pop.children[b].forename) {
                    lookAlikeIncidents += 1
                }
            }
        }
        #expect(lookAlikeIncidents >= 3, "\(lookAlikeIncidents) incidents naming look-alike siblings")
    }

    @Test func sharedBuildingsHoldSeveralFamiliesInDifferentFlats() {
        func buildings(_ profile: NoiseProfile) -> (sharedFamilies: Double, flatsDistinct: Bool) {
            let pop = Population(children: 10_000, seed: 4, asOf: SynthConfig.defaultAsOf, profile: profile)
            var byBuilding: [String: [UInt8]] = [:]
            for f in pop.families {
                var building = f.address
                building.flat = 0
                byBuilding[building.line1 + "|" + building.line2 + "|" + building.postcode, default: []].append(
                    f.address.flat)
            }
            let shared = byBuilding.values.filter { $0.count > 1 }
            let families = shared.reduce(0) { $0 + $1.count }
            let distinct = shared.allSatisfy { flats in Set(flats).count == flats.count && !flats.contains(0) }
            return (Double(families) / Double(pop.families.count), distinct)
        }
        let harsh = buildings(.harsh)
        #expect(
            harsh.sharedFamilies > 0.09 && harsh.sharedFamilies < 0.16,
            "harsh shared-building share \(harsh.sharedFamilies)")
        #expect(harsh.flatsDistinct)
        #expect(buildings(.standard).sharedFamilies < 0.01)
        // Written the way flats are: "Flat 3, 12 High Street".
        let pop = Population(children: 2000, seed: 4, asOf: SynthConfig.defaultAsOf, profile: .harsh)
        let flat = pop.families.first { $0.address.flat > 0 }!.address
        #expect(flat.line1.hasPrefix("Flat \(flat.flat), \(flat.number) "))
    }

    @Test func aFewUPNsAreKeyedTwiceAndTruthNamesTheRealPupil() throws {
        let g = try generated()
        let school = g.feeds[.schoolAttendance]!
        let truth = g.truth(.schoolAttendance)
        #expect(truth.count == school.records.count)
        var childrenOfUPN: [String: Set<String>] = [:]
        for (r, t) in zip(school.records, truth) where !school.value(r, "UPN").isEmpty {
            childrenOfUPN[school.value(r, "UPN"), default: []].insert(t[2])
        }
        let shared = childrenOfUPN.filter { $0.value.count > 1 }
        let pupils = Set(truth.map { $0[2] }).count
        let share = Double(shared.count) / Double(pupils)
        #expect(share > 0.0008 && share < 0.004, "\(shared.count) UPNs on two pupils of \(pupils)")
        // Every row keyed with another pupil's UPN is tagged, and only those.
        for (r, t) in zip(school.records, truth) {
            let isShared = (childrenOfUPN[school.value(r, "UPN")]?.count ?? 0) > 1
            if g.tags(t).contains("upn_keyed_twice") { #expect(isShared) }
        }
        let taggedPupils = Set(truth.filter { g.tags($0).contains("upn_keyed_twice") }.map { $0[2] })
        #expect(taggedPupils.count >= shared.count)
    }

    @Test func truthNamesTheChildOfEveryRow() throws {
        let g = try generated()
        let pop = Population(
            children: HarshNoiseTests.children, seed: HarshNoiseTests.seed, asOf: SynthConfig.defaultAsOf,
            profile: .harsh)
        let names = NameTables.shared
        let fmt = try DateFormat(pattern: FeedKind.schoolAttendance.datePattern)
        for kind in FeedKind.allCases {
            #expect(g.truth(kind).count == g.feeds[kind]!.records.count, "\(kind.stem) truth rows")
        }
        // School rows: the legal name and date of birth are the truth child's unless a tag says otherwise.
        let school = g.feeds[.schoolAttendance]!
        var checked = 0
        for (r, t) in zip(school.records, g.truth(.schoolAttendance)) {
            let c = pop.children[Int(t[2].dropFirst())! - 1]
            #expect(t[3] == "F" + zeroPad(Int(c.family) + 1, 7))
            #expect(t[4] == (c.twin ? "1" : "0"))
            let tags = g.tags(t)
            if tags.isDisjoint(with: ["forename_typo", "upper_case", "dob_swap", "dob_typo"]) {
                #expect(school.value(r, "LegalForename") == names.forenames[Int(c.forename)])
                #expect(fmt.parse(school.value(r, "DateOfBirth")) == CalendarDate(dayNumber: Int(c.dob)))
                checked += 1
            }
        }
        #expect(checked > school.records.count * 9 / 10)
        // Look-alike twins are flagged as twins in the truth of every feed.
        let twinKeys = Set(pop.children.indices.filter { pop.children[$0].twin }.map { "C" + zeroPad($0 + 1, 7) })
        for t in g.truth.records where !t[2].isEmpty { #expect((t[4] == "1") == twinKeys.contains(t[2])) }
    }

    @Test func standardProfileOutputIsPinned() throws {
        // Recorded from the generator before noise profiles existed: the default must not move a byte.
        let g = try Generated(children: 1500, seed: 42, name: "pinned")
        defer { cleanup(g.dir) }
        var digests: [String: UInt64] = [:]
        for name in FeedKind.allCases.map(\.fileName) + ["truth.csv"] {
            digests[name] = try fnv1a(g.dir.appendingPathComponent(name))
        }
        #expect(digests == HarshNoiseTests.pinnedStandardDigests)
    }

    static let pinnedStandardDigests: [String: UInt64] = [
        "health_visiting.csv": 0x1d48_2c51_9696_8462,
        "school_attendance.csv": 0xca0a_34a5_0ed1_cc3b,
        "fsm_eligibility.csv": 0xd41e_4cd3_f601_dcfb,
        "police_notifications.csv": 0x52e8_f454_9f0b_d88c,
        "truth.csv": 0xb985_91dc_62d9_7fc2,
    ]
}
