import Foundation
import Identifiers
import Synth
import Testing

@Suite struct DeterminismTests {
    @Test func sameSeedGivesByteIdenticalFiles() throws {
        let a = temporaryDirectory()
        let b = temporaryDirectory()
        let c = temporaryDirectory()
        defer { cleanup(a); cleanup(b); cleanup(c) }
        let config = SynthConfig(children: 1500, seed: 42)
        let sa = try SyntheticFeedWriter.write(config: config, to: a)
        let sb = try SyntheticFeedWriter.write(config: config, to: b)
        #expect(sa.rows == sb.rows && sa.truthRows == sb.truthRows && sa.families == sb.families)
        #expect(sa.twinChildren == sb.twinChildren && sa.children == 1500)
        let names = FeedKind.allCases.map(\.fileName) + ["truth.csv"]
        for name in names {
            let x = try Data(contentsOf: a.appendingPathComponent(name))
            let y = try Data(contentsOf: b.appendingPathComponent(name))
            #expect(!x.isEmpty)
            #expect(x == y, "\(name) differs between runs with the same seed")
        }
        var config2 = config
        config2.seed = 43
        _ = try SyntheticFeedWriter.write(config: config2, to: c)
        for name in names {
            let x = try Data(contentsOf: a.appendingPathComponent(name))
            let z = try Data(contentsOf: c.appendingPathComponent(name))
            #expect(x != z, "\(name) identical for different seeds")
        }
    }

    @Test func asOfChangesOutputButNotTheClock() throws {
        let a = temporaryDirectory()
        let b = temporaryDirectory()
        defer { cleanup(a); cleanup(b) }
        #expect(SynthConfig().asOf == CalendarDate(year: 2026, month: 9, day: 1))
        _ = try SyntheticFeedWriter.write(config: SynthConfig(children: 300, seed: 5), to: a)
        _ = try SyntheticFeedWriter.write(
            config: SynthConfig(children: 300, seed: 5, asOf: CalendarDate(year: 2025, month: 3, day: 1)!), to: b)
        let x = try Data(contentsOf: a.appendingPathComponent("school_attendance.csv"))
        let y = try Data(contentsOf: b.appendingPathComponent("school_attendance.csv"))
        #expect(x != y)
    }
}

@Suite struct ShapeTests {
    @Test func truthRowsMatchEachFeed() throws {
        let g = try Generated(children: 2500, seed: 7)
        defer { cleanup(g.dir) }
        #expect(g.truth.header == SyntheticFeedWriter.truthColumns)
        #expect(g.summary.children == 2500)
        var total = 0
        for kind in FeedKind.allCases {
            let table = g.feeds[kind]!
            #expect(table.header == kind.columns)
            let truthRows = g.truth(kind)
            #expect(truthRows.count == table.records.count, "\(kind.stem)")
            #expect(g.summary[kind] == table.records.count)
            #expect(table.records.count > 0, "\(kind.stem) is empty")
            // Rows numbered 1…n in order.
            #expect(truthRows.map { Int($0[1])! } == Array(stride(from: 1, through: truthRows.count, by: 1)))
            // Every record has exactly the header's number of fields (quoting is right).
            for r in table.records { #expect(r.count == kind.columns.count) }
            total += table.records.count
        }
        #expect(g.summary.truthRows == total)
        #expect(g.truth.records.count == total)
        // Keys are opaque C/F strings; child keys only blank for antenatal rows.
        for t in g.truth.records {
            #expect(t[3].hasPrefix("F") && t[3].count == 8)
            #expect(t[2].isEmpty || (t[2].hasPrefix("C") && t[2].count == 8))
            #expect(t[4] == "0" || t[4] == "1")
            for tag in g.tags(t) { #expect(SyntheticFeedWriter.noiseTags.contains(tag)) }
        }
    }

    @Test func fileConventions() throws {
        let dir = temporaryDirectory()
        defer { cleanup(dir) }
        _ = try SyntheticFeedWriter.write(config: SynthConfig(children: 400, seed: 3), to: dir)
        for kind in FeedKind.allCases {
            let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent(kind.fileName)))
            #expect(bytes.starts(with: [0xEF, 0xBB, 0xBF]) == kind.hasByteOrderMark)
            let crlf = zip(bytes, bytes.dropFirst()).contains { $0 == 0x0D && $1 == 0x0A }
            #expect(crlf == (kind.lineEnding == "\r\n"), "\(kind.stem)")
        }
        // FSM addresses are one field with commas, so quoted.
        let fsm = try String(contentsOf: dir.appendingPathComponent("fsm_eligibility.csv"), encoding: .utf8)
        #expect(fsm.contains(",\"") && fsm.contains(", "))
        let fsmTable = try Table(dir.appendingPathComponent("fsm_eligibility.csv"))
        #expect(fsmTable.records.allSatisfy { fsmTable.value($0, "Address").contains(", ") })
    }

    @Test func antenatalRowsHaveNoChild() throws {
        let g = try Generated(children: 4000, seed: 11)
        defer { cleanup(g.dir) }
        let hv = g.feeds[.healthVisiting]!
        let truth = g.truth(.healthVisiting)
        var antenatal = 0
        for (r, t) in zip(hv.records, truth) {
            let isAntenatal = hv.value(r, "ReviewType") == "Antenatal"
            #expect(isAntenatal == t[2].isEmpty)
            if isAntenatal {
                antenatal += 1
                for col in ["ChildNHSNumber", "ChildForename", "ChildSurname", "ChildDOB", "ChildSex"] {
                    #expect(hv.value(r, col).isEmpty)
                }
                #expect(!hv.value(r, "MotherSurname").isEmpty)
            }
        }
        #expect(antenatal > 0)
    }
}

@Suite struct TwinTests {
    @Test func twinsShareDOBSurnameAndAddressWithDifferentForenames() throws {
        // Without noise every record of a child carries its true values.
        let g = try Generated(children: 5000, seed: 21, noise: 0)
        defer { cleanup(g.dir) }
        #expect(g.summary.twinChildren > 0)
        let share = Double(g.summary.twinChildren) / Double(g.summary.children)
        #expect(share > 0.01 && share < 0.06, "twin children share \(share)")

        for kind in [FeedKind.schoolAttendance, .healthVisiting] {
            let table = g.feeds[kind]!
            let (dobCol, foreCol, surCol) =
                kind == .schoolAttendance
                ? ("DateOfBirth", "LegalForename", "LegalSurname") : ("ChildDOB", "ChildForename", "ChildSurname")
            // Compare siblings' records for the same term or review (addresses change when a family moves).
            let periodCol = kind == .schoolAttendance ? "PeriodStart" : "ReviewType"
            var byFamily: [String: [String: [String]]] = [:]
            var twinFlag: [String: Bool] = [:]
            for (r, t) in zip(table.records, g.truth(kind)) where !t[2].isEmpty {
                byFamily[t[3] + "|" + table.value(r, periodCol), default: [:]][t[2]] = r
                twinFlag[t[2]] = t[4] == "1"
            }
            var pairs = 0
            for (_, kids) in byFamily {
                let list = Array(kids)
                for i in 0..<list.count {
                    for j in (i + 1)..<max(i + 1, list.count) {
                        let (ka, a) = list[i]
                        let (kb, b) = list[j]
                        let sameDOB = table.value(a, dobCol) == table.value(b, dobCol)
                        // Siblings who share a DOB are twins. (Twins with different DOBs can happen: a
                        // family with two pairs of twins.)
                        guard sameDOB else { continue }
                        #expect(twinFlag[ka]! && twinFlag[kb]!, "\(kind.stem)")
                        pairs += 1
                        #expect(table.value(a, surCol) == table.value(b, surCol))
                        #expect(table.value(a, "AddressLine1") == table.value(b, "AddressLine1"))
                        #expect(table.value(a, "Postcode") == table.value(b, "Postcode"))
                        #expect(table.value(a, foreCol) != table.value(b, foreCol))
                    }
                }
            }
            #expect(pairs > 0, "no twin pairs in \(kind.stem)")
        }
    }
}

@Suite struct IdentifierValidityTests {
    @Test func nhsNumbersValidUnlessDeliberatelyBroken() throws {
        let g = try Generated(children: 4000, seed: 99)
        defer { cleanup(g.dir) }
        let hv = g.feeds[.healthVisiting]!
        var valid = 0, invalid = 0, missing = 0, childRows = 0
        for (r, t) in zip(hv.records, g.truth(.healthVisiting)) {
            let tags = g.tags(t)
            for (col, missTag, badTag) in [
                ("ChildNHSNumber", "nhs_missing", "nhs_invalid"),
                ("MotherNHSNumber", "mother_nhs_missing", "mother_nhs_invalid"),
            ] {
                if col == "ChildNHSNumber" && t[2].isEmpty { continue }
                if col == "ChildNHSNumber" { childRows += 1 }
                let v = hv.value(r, col)
                if v.isEmpty {
                    #expect(tags.contains(missTag))
                    if col == "ChildNHSNumber" { missing += 1 }
                } else if independentNHSCheck(v) {
                    #expect(!tags.contains(badTag))
                    valid += 1
                    // The module agrees.
                    #expect(NHSNumber(v) != nil)
                } else {
                    #expect(tags.contains(badTag), "unexplained invalid NHS number")
                    #expect(NHSNumber(v) == nil)
                    invalid += 1
                }
            }
        }
        #expect(valid > 0)
        #expect(invalid > 0)
        let missingShare = Double(missing) / Double(childRows)
        #expect(missingShare > 0.05 && missingShare < 0.16, "missing child NHS share \(missingShare)")
    }

    @Test func upnsValidUnlessDeliberatelyBroken() throws {
        let g = try Generated(children: 4000, seed: 98)
        defer { cleanup(g.dir) }
        let school = g.feeds[.schoolAttendance]!
        var temporary = 0, invalid = 0, valid = 0
        var upnOwner: [String: String] = [:]
        for (r, t) in zip(school.records, g.truth(.schoolAttendance)) {
            let tags = g.tags(t)
            let upn = school.value(r, "UPN")
            if upn.isEmpty {
                #expect(tags.contains("upn_missing"))
                continue
            }
            if independentUPNCheck(upn) {
                #expect(!tags.contains("upn_invalid"))
                valid += 1
                if upn.last!.isLetter { temporary += 1 }
                #expect(UniquePupilNumber(upn) != nil)
                // One UPN, one child.
                if let owner = upnOwner[upn] { #expect(owner == t[2]) } else { upnOwner[upn] = t[2] }
            } else {
                #expect(tags.contains("upn_invalid"), "unexplained invalid UPN")
                invalid += 1
            }
        }
        #expect(valid > 0 && invalid > 0 && temporary > 0)
        let norfolk = upnOwner.keys.filter { Array($0)[1...3] == ["9", "2", "6"] }.count
        #expect(Double(norfolk) / Double(upnOwner.count) > 0.85)
    }

    @Test func cleanFeedsHaveNoBrokenOrMissingIdentifiers() throws {
        let g = try Generated(children: 2000, seed: 5, noise: 0)
        defer { cleanup(g.dir) }
        let hv = g.feeds[.healthVisiting]!
        for (r, t) in zip(hv.records, g.truth(.healthVisiting)) {
            if !t[2].isEmpty { #expect(independentNHSCheck(hv.value(r, "ChildNHSNumber"))) }
            #expect(independentNHSCheck(hv.value(r, "MotherNHSNumber")))
        }
        let school = g.feeds[.schoolAttendance]!
        for r in school.records { #expect(independentUPNCheck(school.value(r, "UPN"))) }
        let fsm = g.feeds[.fsmEligibility]!
        for r in fsm.records { #expect(independentNINOShape(fsm.value(r, "Parent/Carer NI Number"))) }
        // With noise 0 the only tags left are facts: an address of the time before a move, an incident elsewhere.
        for t in g.truth.records {
            #expect(g.tags(t).subtracting(["previous_address", "other_address"]).isEmpty)
        }
    }

    @Test func ninosAreWellFormed() throws {
        let g = try Generated(children: 3000, seed: 17)
        defer { cleanup(g.dir) }
        let fsm = g.feeds[.fsmEligibility]!
        var checked = 0
        for (r, t) in zip(fsm.records, g.truth(.fsmEligibility)) {
            let v = fsm.value(r, "Parent/Carer NI Number")
            if v.isEmpty {
                #expect(g.tags(t).contains("nino_missing"))
                continue
            }
            #expect(independentNINOShape(v))
            #expect(NationalInsuranceNumber(v) != nil)
            checked += 1
        }
        #expect(checked > 0)
    }
}

@Suite struct ContentTests {
    @Test func everyDateParsesWithTheDeclaredPattern() throws {
        let g = try Generated(children: 3000, seed: 31)
        defer { cleanup(g.dir) }
        let columns: [FeedKind: [String]] = [
            .healthVisiting: ["ChildDOB", "MotherDOB", "ReviewDueDate"],
            .schoolAttendance: ["DateOfBirth", "PeriodStart", "PeriodEnd"],
            .fsmEligibility: ["Parent/Carer DOB", "Child DOB", "Eligible From", "Eligible To"],
            .policeNotifications: ["CHILD_DOB"],
        ]
        let asOf = SynthConfig.defaultAsOf
        for (kind, cols) in columns {
            let fmt = try DateFormat(pattern: kind.datePattern)
            let table = g.feeds[kind]!
            for r in table.records {
                for c in cols {
                    let v = table.value(r, c)
                    if v.isEmpty { continue }
                    let d = fmt.parse(v)
                    #expect(d != nil, "\(kind.stem).\(c) does not match \(kind.datePattern)")
                    if let d, c.contains("DOB") || c == "DateOfBirth" {
                        #expect(d <= asOf)
                    }
                }
            }
        }
        let dt = try DateFormat(pattern: FeedKind.policeIncidentDateTimePattern)
        let police = g.feeds[.policeNotifications]!
        for r in police.records {
            let parsed = dt.parseDateTime(police.value(r, "INCIDENT_DATETIME"))
            #expect(parsed?.minuteOfDay != nil)
            if let parsed {
                #expect(parsed.date < asOf && parsed.date >= asOf.adding(days: -366))
            }
        }
    }

    @Test func agesFitEachFeed() throws {
        let g = try Generated(children: 3000, seed: 32, noise: 0)
        defer { cleanup(g.dir) }
        let asOf = SynthConfig.defaultAsOf
        let hv = g.feeds[.healthVisiting]!
        let hvFmt = try DateFormat(pattern: FeedKind.healthVisiting.datePattern)
        for r in hv.records where !hv.value(r, "ChildDOB").isEmpty {
            let dob = hvFmt.parse(hv.value(r, "ChildDOB"))!
            #expect(dob.months(until: asOf) < 30)
            #expect(hvFmt.parse(hv.value(r, "ReviewDueDate"))! <= asOf)
        }
        let school = g.feeds[.schoolAttendance]!
        for r in school.records {
            let dob = CalendarDate(iso8601: school.value(r, "DateOfBirth"))!
            let age = dob.age(on: asOf)
            #expect(age >= 4 && age <= 16)
            let possible = Int(school.value(r, "SessionsPossible"))!
            let attended = Int(school.value(r, "SessionsAttended"))!
            #expect(possible > 0 && possible <= 200 && attended >= 0 && attended <= possible)
            #expect(school.value(r, "Gender") == "Male" || school.value(r, "Gender") == "Female")
        }
        let police = g.feeds[.policeNotifications]!
        for r in police.records {
            #expect(police.value(r, "CHILD_NAME") == police.value(r, "CHILD_NAME").uppercased())
            #expect(["Y", "N"].contains(police.value(r, "CHILD_PRESENT")))
            #expect(
                ["DOMESTIC ABUSE", "MISSING PERSON", "ASB", "CONCERN FOR WELFARE"]
                    .contains(police.value(r, "INCIDENT_TYPE")))
            #expect(Int(police.value(r, "CHILD_AGE")).map { $0 >= 0 && $0 <= 17 } == true)
        }
    }

    @Test func postcodesAreNorfolkShaped() throws {
        let g = try Generated(children: 3000, seed: 33)
        defer { cleanup(g.dir) }
        var seen = Set<String>()
        for kind in FeedKind.allCases {
            let table = g.feeds[kind]!
            let col = kind == .policeNotifications ? "POSTCODE" : "Postcode"
            for (r, t) in zip(table.records, g.truth(kind)) {
                let v = table.value(r, col)
                if v.isEmpty {
                    #expect(g.tags(t).contains("postcode_missing"))
                    continue
                }
                let pc = UKPostcode(v)
                #expect(pc != nil, "unparseable postcode in \(kind.stem)")
                guard let pc else { continue }
                #expect(["NR", "PE", "IP"].contains(pc.area))
                if !g.tags(t).contains("postcode_format") { #expect(pc.value == v) }
                seen.insert(pc.area)
            }
        }
        #expect(seen == ["NR", "PE", "IP"])
    }

    @Test func realisticShares() throws {
        let g = try Generated(children: 12000, seed: 34)
        defer { cleanup(g.dir) }
        func familyShare(_ kind: FeedKind) -> Double {
            Double(Set(g.truth(kind).map { $0[3] }).count) / Double(g.summary.families)
        }
        let fsm = familyShare(.fsmEligibility)
        let police = familyShare(.policeNotifications)
        #expect(fsm > 0.12 && fsm < 0.28, "FSM family share \(fsm)")
        #expect(police > 0.025 && police < 0.09, "police family share \(police)")
        let school = g.feeds[.schoolAttendance]!
        var persistent = 0, severe = 0
        for r in school.records {
            let p = Double(school.value(r, "SessionsPossible"))!
            let a = Double(school.value(r, "SessionsAttended"))!
            if a < 0.9 * p { persistent += 1 }
            if a < 0.5 * p { severe += 1 }
        }
        let pa = Double(persistent) / Double(school.records.count)
        #expect(pa > 0.1 && pa < 0.35, "persistent absence share \(pa)")
        #expect(severe > 0 && Double(severe) / Double(school.records.count) < 0.05)
        // Some families moved: rows dated before the move, and feeds still holding the old address.
        let tags = g.truth.records.flatMap { g.tags($0) }
        #expect(tags.contains("previous_address") && tags.contains("old_address"))
        for tag in [
            "nickname", "forename_typo", "surname_typo", "dob_swap", "dob_typo", "step_surname",
            "surname_variant", "upper_case", "whitespace", "dob_missing", "age_approx",
        ] {
            #expect(tags.contains(tag), "no \(tag) noise")
        }
        // Police mostly domestic abuse.
        let police2 = g.feeds[.policeNotifications]!
        let da = police2.records.filter { police2.value($0, "INCIDENT_TYPE") == "DOMESTIC ABUSE" }.count
        #expect(Double(da) / Double(police2.records.count) > 0.5)
    }

    @Test func noiseLevelScalesNoise() throws {
        let low = try Generated(children: 3000, seed: 35, noise: 0.5, name: "low")
        let high = try Generated(children: 3000, seed: 35, noise: 2, name: "high")
        defer { cleanup(low.dir); cleanup(high.dir) }
        func noisyShare(_ g: Generated) -> Double {
            let n = g.truth.records.filter { !g.tags($0).subtracting(["previous_address", "other_address"]).isEmpty }
                .count
            return Double(n) / Double(g.truth.records.count)
        }
        #expect(noisyShare(high) > noisyShare(low) * 2.5)
    }
}

@Suite struct SingleFeedTests {
    @Test func exactRowCountWithTruth() throws {
        let dir = temporaryDirectory()
        defer { cleanup(dir) }
        for kind in [FeedKind.schoolAttendance, .policeNotifications] {
            let file = dir.appendingPathComponent(kind.fileName)
            let truthFile = dir.appendingPathComponent("truth-\(kind.stem).csv")
            let rows = kind == .schoolAttendance ? 5000 : 700
            try SyntheticFeedWriter.writeSingleFeed(kind: kind, rows: rows, seed: 8, to: file, truthFile: truthFile)
            let table = try Table(file)
            #expect(table.header == kind.columns)
            #expect(table.records.count == rows)
            let truth = try Table(truthFile)
            #expect(truth.records.count == rows)
            #expect(truth.records.allSatisfy { $0[0] == kind.stem })
        }
    }
}
