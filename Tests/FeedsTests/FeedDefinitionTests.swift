import Foundation
import Testing

@testable import Feeds

@Suite("Feed definitions")
struct FeedDefinitionTests {
    static let minimal = """
        # A school attendance feed, as a data officer would write it.
        [feed]
        name = test_school
        kind = school_attendance

        [source]
        type = drop-folder
        folder = school
        schedule = daily 06:00, 18:30

        [format]
        date_format = DD/MM/YYYY

        [columns]
        child.upn = UPN
        child.forename = Forename
        child.surname = Surname
        child.dob = DOB
        address.postcode = Postcode
        fact.period_start = From
        fact.period_end = To
        fact.sessions_possible = Possible
        fact.sessions_attended = Attended
        """

    func parse(_ text: String) throws(FeedDefinitionError) -> FeedDefinition {
        try FeedDefinition.parse(
            text: text, path: "schemas/feeds/test.feed", checksum: String(repeating: "0", count: 64))
    }

    @Test("a complete definition loads with its mappings, schedule and formats")
    func loads() throws {
        let definition = try parse(Self.minimal)
        #expect(definition.name == "test_school")
        #expect(definition.kind == .schoolAttendance)
        #expect(definition.columns[.childUPN] == "UPN")
        #expect(definition.facts["sessions_possible"] == "Possible")
        #expect(definition.schedule == .daily(minutesAfterMidnight: [360, 1110]))
        #expect(definition.source == .dropFolder(folder: "school", pattern: "*.csv"))
        #expect(definition.defaultDateFormat.pattern == "DD/MM/YYYY")
    }

    func expectError(_ text: String, code: FeedDefinitionError.Code, key: String?, line: Int? = nil) {
        do {
            _ = try parse(text)
            Issue.record("expected \(code) for key \(key ?? "-")")
        } catch {
            #expect(error.code == code)
            #expect(error.key == key)
            if let line { #expect(error.line == line) }
            #expect(error.description.contains("schemas/feeds/test.feed"))
        }
    }

    @Test("an unknown key is rejected with the file, line and key")
    func unknownKey() {
        expectError(
            Self.minimal + "\nchild.shoe_size = Shoes\n", code: .unknownKey, key: "columns.child.shoe_size", line: 24)
        expectError(
            Self.minimal.replacingOccurrences(
                of: "kind = school_attendance", with: "kind = school_attendance\ncolour = blue"), code: .unknownKey,
            key: "feed.colour", line: 5)
        expectError(Self.minimal + "\nfact.shoe_size = Shoes\n", code: .unknownKey, key: "columns.fact.shoe_size")
        expectError(Self.minimal + "\n[extras]\na = b\n", code: .unknownSection, key: "extras.a")
    }

    @Test("a missing required mapping is rejected, naming what is missing")
    func missingMapping() {
        expectError(
            Self.minimal.replacingOccurrences(of: "child.dob = DOB\n", with: ""), code: .missingMapping,
            key: "columns.child.dob")
        expectError(
            Self.minimal.replacingOccurrences(of: "fact.sessions_attended = Attended", with: ""), code: .missingMapping,
            key: "columns.fact.sessions_attended")
        expectError(
            Self.minimal.replacingOccurrences(of: "name = test_school\n", with: ""), code: .missingKey, key: "feed.name"
        )
    }

    @Test("optional columns: only carer and extra columns may be missing from a file")
    func optionalColumns() throws {
        let withContact =
            Self.minimal.replacingOccurrences(
                of: "date_format = DD/MM/YYYY",
                with: "date_format = DD/MM/YYYY\noptional_columns = Contact Name , Relationship")
            + "\ncarer.full_name = Contact Name\nextra.contact_relationship = Relationship\n"
        let definition = try parse(withContact)
        #expect(definition.optionalColumns == ["CONTACT NAME", "RELATIONSHIP"])
        #expect(try parse(Self.minimal).optionalColumns.isEmpty)
        // A child's name is always needed: it cannot be optional, nor can a column nothing maps.
        expectError(
            withContact.replacingOccurrences(of: "Contact Name , Relationship", with: "Contact Name, Surname"),
            code: .invalidValue, key: "format.optional_columns")
        expectError(
            withContact.replacingOccurrences(of: "Contact Name , Relationship", with: "Shoe Size"),
            code: .invalidValue, key: "format.optional_columns")
    }

    @Test("a bad date format is rejected at load time")
    func badDateFormat() {
        expectError(
            Self.minimal.replacingOccurrences(of: "DD/MM/YYYY", with: "DD/QQ/YYYY"), code: .invalidValue,
            key: "format.date_format",
            line: 12)
        expectError(
            Self.minimal + "\n[dates]\nfact.period_start = MM/YYYY\n", code: .invalidValue,
            key: "dates.fact.period_start")
    }

    @Test("a drop folder outside the drop root is refused")
    func unsafeFolder() {
        expectError(
            Self.minimal.replacingOccurrences(of: "folder = school", with: "folder = ../../etc/passwd"),
            code: .unsafePath,
            key: "source.folder")
        expectError(
            Self.minimal.replacingOccurrences(of: "folder = school", with: "folder = /etc"), code: .unsafePath,
            key: "source.folder")
    }

    @Test("sftp sources must verify the host key; credentials never sit in the URL")
    func remoteSources() throws {
        let sftp = Self.minimal.replacingOccurrences(
            of: "type = drop-folder\nfolder = school", with: "type = sftp\nurl = sftp://feeds@127.0.0.1/out/")
        expectError(sftp, code: .missingKey, key: "source.known_hosts")
        let withHosts = sftp.replacingOccurrences(
            of: "url = sftp://", with: "known_hosts = /etc/fc/known_hosts\nurl = sftp://")
        guard case .remote(let settings) = try parse(withHosts).source else {
            Issue.record("expected a remote source")
            return
        }
        #expect(settings.knownHosts == "/etc/fc/known_hosts")
        expectError(
            withHosts.replacingOccurrences(of: "sftp://feeds@", with: "sftp://feeds:secret@"), code: .invalidValue,
            key: "source.url")
    }

    @Test("vocabulary facts need a value map onto the canonical words")
    func vocabularies() throws {
        let hv = """
            [feed]
            name = hv
            kind = health_visiting
            [source]
            folder = hv
            [columns]
            child.forename = F
            child.surname = S
            child.dob = D
            address.postcode = P
            fact.review_type = T
            fact.review_due = Due
            fact.review_status = Status
            [values.fact.review_type]
            New Birth = new_birth
            """
        expectError(hv, code: .missingMapping, key: "values.fact.review_status")
        expectError(
            hv + "\n[values.fact.review_status]\nDNA = missed\n", code: .invalidValue,
            key: "values.fact.review_status.DNA")
        let ok = try parse(hv + "\n[values.fact.review_status]\nDNA = not_attended\n")
        #expect(ok.valueMaps["fact.review_status"]?["DNA"] == "not_attended")
    }

    @Test("the shipped definitions all load")
    func shipped() throws {
        var url = URL(fileURLWithPath: #filePath)
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("schemas/feeds").path) {
            url.deleteLastPathComponent()
        }
        let definitions = try FeedDefinition.loadAll(directory: url.appendingPathComponent("schemas/feeds").path)
        #expect(Set(definitions.map(\.kind)) == Set(PartnerKind.allCases))
    }
}
