import Config
import Foundation
import PostgresTestSupport
import Testing

@testable import Flags

@Suite("Rule, indicator and team files")
struct RuleFileTests {
    static let indicators = """
        [indicator.persistent_absence]
        version = 1
        label = Persistent absence
        outcome = 1
        type = attendance_below
        below_percent = 90
        description = {rate}% at {school}

        [indicator.domestic_abuse]
        version = 2
        label = Domestic abuse
        outcome = 8
        type = police_incident
        incident_types = domestic_abuse
        child_present = true
        description = on {incident_date}
        """
    static let flags = """
        [lifecycle]
        cool_off_days = 30

        [rule.da_plus]
        version = 3
        title = DA plus
        require_any = domestic_abuse
        min_other_indicators = 1
        window_months = 12
        """

    @Test("the shipped rules and teams load, every indicator maps to an outcome and every rule is versioned")
    func shippedFiles() throws {
        let rules = try RuleSet.load(directory: TestDatabase.schemasDirectory + "/rules")
        #expect(rules.indicators.count >= 6)
        #expect(rules.rules.count >= 2)
        #expect(Set(rules.indicators.map(\.name)).count == rules.indicators.count)
        #expect(
            rules.indicator(named: "persistent_absence")?.kind
                == .attendanceBelow(thresholdTenths: 900, minSessionsPossible: 20))
        #expect(
            rules.indicator(named: "severe_absence")?.kind
                == .attendanceBelow(thresholdTenths: 500, minSessionsPossible: 20))
        let teams = try TeamDirectory.load(path: TestDatabase.schemasDirectory + "/rules/teams.conf")
        #expect(teams.fallbackTeam != nil)
        #expect(teams.team("norwich")?.postcodeDistricts.contains("NR1") == true)
    }

    @Test("a small rule set parses into exactly what it says")
    func parses() throws {
        let rules = try RuleSet.parse(
            indicatorsPath: "i.conf", indicatorsText: Self.indicators, flagsPath: "f.conf", flagsText: Self.flags)
        #expect(rules.lifecycle.coolOffDays == 30)
        let rule = try #require(rules.rules.first)
        #expect(
            rule.name == "da_plus" && rule.version == 3 && rule.requireAny == ["domestic_abuse"]
                && rule.windowMonths == 12)
        #expect(
            rules.indicator(named: "domestic_abuse")?.kind
                == .policeIncident(types: ["domestic_abuse"], childPresent: true))
    }

    private func failure(indicators: String = RuleFileTests.indicators, flags: String = RuleFileTests.flags) -> String {
        do {
            _ = try RuleSet.parse(
                indicatorsPath: "i.conf", indicatorsText: indicators, flagsPath: "f.conf", flagsText: flags)
            return "no error"
        } catch {
            return String(describing: error)
        }
    }

    @Test("errors name the file, the line and the key")
    func errors() {
        #expect(
            failure(indicators: Self.indicators + "\nthreshold = 3\n").hasPrefix(
                "i.conf:17 [indicator.domestic_abuse.threshold]: unknown key"))
        #expect(
            failure(
                indicators: Self.indicators.replacingOccurrences(
                    of: "below_percent = 90", with: "below_percent = 90.25")
            )
            .hasPrefix("i.conf:6 [indicator.persistent_absence.below_percent]"))
        #expect(
            failure(indicators: Self.indicators.replacingOccurrences(of: "{rate}%", with: "{name}%"))
                .contains("unknown placeholder {name}"))
        #expect(
            failure(indicators: Self.indicators.replacingOccurrences(of: "outcome = 8", with: "outcome = 11"))
                .hasPrefix("i.conf:12 [indicator.domestic_abuse.outcome]: must be between 1 and 10"))
        #expect(
            failure(
                flags: Self.flags.replacingOccurrences(
                    of: "require_any = domestic_abuse", with: "require_any = domestic_violence")
            )
            .hasPrefix("f.conf:7 [rule.da_plus.require_any]: no indicator named 'domestic_violence'"))
        #expect(
            failure(flags: Self.flags.replacingOccurrences(of: "window_months = 12", with: "")).contains(
                "window_months and window_days"))
        #expect(failure(flags: Self.flags + "\n[rules.typo]\nversion = 1\n").contains("unknown section [rules.typo]"))
    }

    @Test("teams: a district covered twice and an unknown fallback are refused")
    func teams() {
        func failure(_ text: String) -> String {
            do {
                _ = try TeamDirectory.parse(path: "teams.conf", text: text)
                return "no error"
            } catch {
                return String(describing: error)
            }
        }
        #expect(
            failure("[team.a]\nname = A\npostcode_districts = NR1, NR2\n[team.b]\nname = B\npostcode_districts = nr2\n")
                .hasPrefix("teams.conf:6 [team.b.postcode_districts]: NR2 is already covered by team a"))
        #expect(
            failure("[export]\nfallback_team = hub\n[team.a]\nname = A\n").hasPrefix(
                "teams.conf:2 [export.fallback_team]"))
        #expect(failure("[team.a]\nname = A\npostcode_districts = Norwich\n").contains("not a postcode district"))
    }

    @Test("the statutory services list holds valid ids only")
    func statutoryList() throws {
        let list = try StatutoryList.parse(path: "s.list", text: "# known\nC12345678J  # comment\n\n")
        #expect(list.children == ["C12345678J": 2])
        #expect(throws: ConfigFile.Error.self) { try StatutoryList.parse(path: "s.list", text: "C12345678K\n") }
    }
}
