import Feeds
import Foundation
import Identifiers
import Postgres
import PostgresTestSupport
import Synth
import Testing

@testable import Resolution

/// Given-name aliases learned from records an identifier joins (`LearnedAliases`), on a real
/// PostgreSQL: a small synthetic population for the model, and hand-written school rows of children
/// named Araminta and known as Minty, a pair the nickname table does not hold.
@Suite("Learned aliases")
struct LearnedAliasTests {
    static let definition: FeedDefinition = {
        let text = """
            [feed]
            name = aliases
            kind = school_attendance
            [source]
            folder = aliases
            [columns]
            child.nhs_number = NHS
            child.upn = UPN
            child.forename = Forename
            child.surname = Surname
            child.dob = DOB
            address.line1 = Line1
            address.postcode = Postcode
            fact.period_start = From
            fact.period_end = To
            fact.sessions_possible = Possible
            fact.sessions_attended = Attended
            """
        return try! FeedDefinition.parse(text: text, path: "aliases.feed", checksum: String(repeating: "c", count: 64))
    }()

    /// One school row; `term` picks its own term, so rows of one child are not two pupils of one term.
    struct Row {
        var nhs = ""
        var upn = ""
        var given: String
        var family: String
        var dob: String
        var line1: String
        var postcode: String
        var term: Int

        var csv: String {
            let from = Calendar(identifier: .gregorian).date(
                byAdding: .day, value: term * 7, to: ISO8601DateFormatter().date(from: "2024-01-08T00:00:00Z")!)!
            let day = ISO8601DateFormatter()
            day.formatOptions = [.withFullDate]
            let start = day.string(from: from)
            let end = day.string(from: from.addingTimeInterval(4 * 86_400))
            return "\(nhs),\(upn),\(given),\(family),\(dob),\(line1),\(postcode),\(start),\(end),10,9\n"
        }
    }

    /// A valid NHS number made from `seed` (the check digit computed; seeds whose digit would be 10 skipped).
    static func nhs(_ seed: Int) -> String {
        var n = 943_100_000 + seed * 7
        while true {
            let digits = String(n).compactMap { $0.wholeNumberValue }
            if let number = NHSNumber.withCheckDigit(firstNine: digits) { return number.digits }
            n += 1
        }
    }

    /// A valid permanent UPN from twelve characters (`UniquePupilNumber.withCheckLetter`).
    static func upn(_ lastTwelve: String) -> String { UniquePupilNumber.withCheckLetter(lastTwelve: lastTwelve)!.value }

    static let surnames = ["Bellweather", "Cardew", "Dunmore", "Fairbairn", "Gostelow", "Hallam", "Ingleby"]

    /// Rows of `count` children, each joined by an NHS number and written once Araminta, once Minty.
    static func teachingChildren(_ count: Int, from first: Int = 0) -> [Row] {
        (first..<first + count).flatMap { i in
            let common = (
                nhs: nhs(i), family: surnames[i], dob: "201\(i)-0\(i + 1)-1\(i)", line1: "\(i + 3) Orchard Row",
                postcode: "NR\(i + 2) 4AB"
            )
            return [
                Row(
                    nhs: common.nhs, given: "Araminta", family: common.family, dob: common.dob, line1: common.line1,
                    postcode: common.postcode, term: 2 * i),
                Row(
                    nhs: common.nhs, given: "Minty", family: common.family, dob: common.dob, line1: common.line1,
                    postcode: common.postcode, term: 2 * i + 1),
            ]
        }
    }

    /// Two rows of one child with no identifier: Araminta in one term, Minty in the next.
    static let unidentifiedChild = [
        Row(
            given: "Araminta", family: "Quillfeather", dob: "2016-03-04", line1: "1 Mill Lane", postcode: "IP24 1AA",
            term: 30),
        Row(
            given: "Minty", family: "Quillfeather", dob: "2016-03-04", line1: "1 Mill Lane", postcode: "IP24 1AA",
            term: 31),
    ]

    static func load(_ rows: [Row], into connection: PostgresConnection) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fc-alias-\(UUID().uuidString).csv")
        let header = "NHS,UPN,Forename,Surname,DOB,Line1,Postcode,From,To,Possible,Attended\n"
        try Data((header + rows.map(\.csv).joined()).utf8).write(to: path)
        _ = try FeedLoader(definition: definition, today: SynthConfig.defaultAsOf).load(
            path: path.path, connection: connection)
    }

    /// Each `aliases` row's child, in the order the rows were loaded.
    static func children(_ connection: PostgresConnection) throws -> [String] {
        try connection.query(
            """
            SELECT cr.child_id FROM child_records cr JOIN source_records sr ON sr.id = cr.record_id
            WHERE sr.feed = 'aliases' ORDER BY sr.id
            """
        ).map { try $0.decode(String.self, at: 0) }
    }

    static func recordIDs(_ connection: PostgresConnection) throws -> [Int64] {
        try connection.query("SELECT id FROM source_records WHERE feed = 'aliases' ORDER BY id").map {
            try $0.decode(Int64.self, at: 0)
        }
    }

    /// A small population for the model, then `rows`, then a full run.
    static func resolved(_ rows: [Row], _ body: (PostgresConnection) throws -> Void) throws {
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            _ = try ResolverTests.load(children: 400, seed: 3, into: connection)
            try load(rows, into: connection)
            _ = try Resolver(connection: connection).resolveFull()
            try body(connection)
        }
    }

    @Test("a pair seen in three NHS-joined children is learned and joins another child's two records")
    func learnedAliasJoins() throws {
        try Self.resolved(Self.teachingChildren(3) + Self.unidentifiedChild) { connection in
            let ids = try Self.children(connection)
            #expect(ids.count == 8)
            #expect(ids[6] == ids[7], "Araminta and Minty of one home and date are one child through the learned alias")
            let stored = try #require(try StoredModel.latest(connection)?.1.learnedAliases)
            let alias = try #require(stored.alias(NameKey("Araminta")!, NameKey("Minty")!))
            #expect(alias.children == 3 && alias.byNHSNumber == 3)
            let records = try Self.recordIDs(connection)
            let explanation = try Explainer(connection: connection).explain(
                pair: records[6], records[7], reason: "checking a learned alias")
            #expect(
                explanation.learnedAlias
                    == "learned alias (seen in 3 children joined by NHS number/UPN: 3 by NHS number, 0 by UPN alone)")
            #expect(explanation.steps.first { $0.field == "given_name" }?.level == "nickname")
            let child = try Explainer(connection: connection).explain(child: ids[6], reason: "checking a learned alias")
            #expect(child.links.count == 1)
            #expect(child.learnedAliasOfLink[0] == explanation.learnedAlias)
        }
    }

    @Test("the incremental run uses the aliases the full run stored, and a full run then moves nothing")
    func incrementalUsesStoredAliases() throws {
        try Self.resolved(Self.teachingChildren(3) + [Self.unidentifiedChild[0]]) { connection in
            try Self.load([Self.unidentifiedChild[1]], into: connection)
            _ = try Resolver(connection: connection).resolveIncremental()
            let ids = try Self.children(connection)
            #expect(ids.count == 8 && ids[6] == ids[7])
            let full = try Resolver(connection: connection).resolveFull()
            #expect(full.recordsMoved == 0 && full.merged == 0 && full.split == 0)
        }
    }

    @Test("a pair seen in fewer than three children is not learned: the records stay apart")
    func fewChildrenTeachNothing() throws {
        try Self.resolved(Self.teachingChildren(2) + Self.unidentifiedChild) { connection in
            let ids = try Self.children(connection)
            #expect(ids.count == 6)
            #expect(ids[4] != ids[5])
            let stored = try StoredModel.latest(connection)?.1.learnedAliases
            #expect(stored?.alias(NameKey("Araminta")!, NameKey("Minty")!) == nil)
        }
    }

    @Test("a UPN keyed for two children teaches nothing, however often: each group holds two NHS numbers")
    func upnKeyedTwiceTeachesNothing() throws {
        // Three UPNs, each keyed for an Araminta and for a Minty who have NHS numbers of their own.
        let mistakes = (0..<3).flatMap { i in
            let upn = Self.upn("80120000\(i)101")
            return [
                Row(
                    nhs: Self.nhs(10 + i), upn: upn, given: "Araminta", family: Self.surnames[i],
                    dob: "2014-05-0\(i + 1)",
                    line1: "\(i + 3) Orchard Row", postcode: "NR\(i + 2) 4AB", term: 2 * i),
                Row(
                    nhs: Self.nhs(20 + i), upn: upn, given: "Minty", family: Self.surnames[i + 3],
                    dob: "2012-07-1\(i + 1)", line1: "\(i + 9) Mill Street", postcode: "NR\(i + 5) 6CD", term: 2 * i + 1
                ),
            ]
        }
        try Self.resolved(mistakes + Self.unidentifiedChild) { connection in
            let ids = try Self.children(connection)
            #expect(ids.count == 8)
            #expect(ids[6] != ids[7])
            let stored = try StoredModel.latest(connection)?.1.learnedAliases
            #expect(stored?.alias(NameKey("Araminta")!, NameKey("Minty")!) == nil)
        }
    }

    @Test("twins Araminta and Minty stay apart where a second child of that date is known")
    func twinsWithALearnedAliasStayApart() throws {
        // Twins at one home: each has a UPN (two children of that date are known there), and a
        // record with no identifier for each, one term later.
        let twins = [
            Row(
                upn: Self.upn("801200004101"), given: "Araminta", family: "Quillfeather", dob: "2016-03-04",
                line1: "1 Mill Lane", postcode: "IP24 1AA", term: 40),
            Row(
                upn: Self.upn("801200005101"), given: "Minty", family: "Quillfeather", dob: "2016-03-04",
                line1: "1 Mill Lane", postcode: "IP24 1AA", term: 40),
            Row(
                given: "Minty", family: "Quillfeather", dob: "2016-03-04", line1: "1 Mill Lane", postcode: "IP24 1AA",
                term: 41),
        ]
        try Self.resolved(Self.teachingChildren(3) + twins) { connection in
            let ids = try Self.children(connection)
            #expect(ids.count == 9)
            #expect(ids[6] != ids[7], "the twins")
            #expect(ids[8] == ids[7], "the unidentified Minty is the twin Minty's, not Araminta's")
        }
    }
}
