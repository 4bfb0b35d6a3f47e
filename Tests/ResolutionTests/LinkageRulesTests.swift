import Feeds
import Foundation
import Postgres
import PostgresTestSupport
import Synth
import Testing

@testable import Resolution

/// The cluster-level twin rule and the side-by-side rule (issue 12), on hand-made records.
@Suite("Twins and side by side")
struct TwinRuleTests {
    func record(
        _ id: Int64, nhs: UInt64 = 0, upn: UInt64 = 0, given: String, family: String = "Jenkins",
        dob: UInt32 = 20190314, sideBySide: UInt64 = 0
    ) -> MatchRecord {
        MatchRecord(
            id: id, kind: 0, nhs: nhs, upn: upn, given: NameKey(given), preferredGiven: nil, family: NameKey(family),
            preferredFamily: nil, dob: dob, approximateAge: -1, ageYear: 0, sex: 0, postcode: PostcodeKey("NR1 1AA"),
            addressKey: 7, carerNHS: 0, sideBySideKey: sideBySide)
    }

    /// Name counts as a county's records would give them: the common names often, the slips once.
    func frequencies(_ counts: [String: Int]) -> NameFrequencies {
        var table = NameFrequencies()
        for (name, count) in counts { table.given[NameKey(name)!.fingerprint] = count }
        table.total = 10_000
        return table
    }

    @Test("a mistyped first name on one side does not block a join, nor later links at that date of birth")
    func typoDoesNotBlock() {
        let counts = frequencies(["Zara": 60, "Zaa": 1, "Harvey": 80, "Harveu": 1])
        for (typo, name) in [("Zaa", "Zara"), ("Harveu", "Harvey")] {
            let records = [
                record(1, given: name), record(2, given: typo), record(3, given: name), record(4, given: name),
            ]
            var clusterer = Clusterer(records: records, apart: [], nicknames: .standard, frequencies: counts)
            clusterer.apply([
                Link(a: 0, b: 1, method: .probabilistic, weight: 30, vector: nil),  // the slip joins first
                Link(a: 2, b: 3, method: .probabilistic, weight: 29, vector: nil),
                Link(a: 1, b: 2, method: .probabilistic, weight: 28, vector: nil),  // typo × exact across the clusters
            ])
            let roots = clusterer.roots()
            #expect(Set(roots).count == 1, "\(typo) and \(name) are one child")
            #expect(clusterer.refused.isEmpty)
        }
    }

    @Test("two spellings that are both names in use are two names: Lily and Lila stay apart as possible twins")
    func twoNamesInUse() {
        let counts = frequencies(["Lily": 80, "Lila": 30])
        let records = [record(1, given: "Lily"), record(2, given: "Lila")]
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard, frequencies: counts)
        clusterer.apply([Link(a: 0, b: 1, method: .probabilistic, weight: 30, vector: nil)])
        #expect(clusterer.refused.map(\.reason) == [.twins])
    }

    @Test(
        "twins with nickname-equivalent names stay apart once a second child of that date is known; an identifier joins"
    )
    func nicknameTwins() {
        let records = [
            record(1, nhs: 4010232137, given: "Alfred"),  // health visiting
            record(2, upn: 0xA1F1E, given: "Alfie"),  // school: the twin
            record(3, upn: 0xA1F4ED, given: "Alfred"),  // school: two UPNs at one date and address, two children
        ]
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard, frequencies: NameFrequencies())
        clusterer.apply([
            // The nickname link weighs more (say, a fresher address): it comes first, and must not join.
            Link(a: 0, b: 1, method: .probabilistic, weight: 30, vector: nil),
            Link(a: 0, b: 2, method: .probabilistic, weight: 25, vector: nil),
        ])
        var roots = clusterer.roots()
        #expect(roots[0] == roots[2])
        #expect(roots[0] != roots[1])
        #expect(clusterer.refused.map(\.reason) == [.twins])
        clusterer.apply(Link(a: 0, b: 1, method: .nhsNumber, weight: 30, vector: nil))
        roots = clusterer.roots()
        #expect(roots[0] == roots[1])
    }

    @Test("without a known second child, a nickname is the same name (Muhammad and Mohammed)")
    func nicknameAlone() {
        let records = [record(1, given: "Muhammad"), record(2, given: "Mohammed")]
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard, frequencies: NameFrequencies())
        clusterer.apply([Link(a: 0, b: 1, method: .probabilistic, weight: 30, vector: nil)])
        #expect(clusterer.refused.isEmpty)
    }

    @Test("two children one partner reported side by side stay apart, whatever joins their other records")
    func sideBySide() {
        let records = [
            record(1, given: "Isabella", sideBySide: 99),  // one incident
            record(2, given: "Isabelle", sideBySide: 99),
            record(3, given: "Isabella"),
        ]
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard, frequencies: NameFrequencies())
        clusterer.apply([
            Link(a: 0, b: 2, method: .probabilistic, weight: 40, vector: nil),
            Link(a: 1, b: 2, method: .probabilistic, weight: 35, vector: nil),
        ])
        let roots = clusterer.roots()
        #expect(roots[0] == roots[2] && roots[1] != roots[0])
        #expect(clusterer.refused.map(\.reason) == [.samePeriodInOneFeed])
    }

    @Test("a band is a probability: the same evidence is less likely one child in a bigger population")
    func bandsScaleWithPopulation() {
        // The same share of matching pairs per record in both: a county's population is 50 times a town's.
        let town = MatchModel.prior(matchProportion: 0.2, pairs: 20_000, records: 20_000)
        let county = MatchModel.prior(matchProportion: 0.2, pairs: 1_000_000, records: 1_000_000)
        #expect(county < town / 40)
        #expect(
            MatchProbability.posterior(weight: 18, prior: county) < MatchProbability.posterior(weight: 18, prior: town))
        let settings = ResolutionSettings()
        #expect(settings.bands(prior: county).link > settings.bands(prior: town).link + 5)
        // A pair right on the link band has the link probability, whatever the prior.
        for prior in [town, county] {
            let band = settings.bands(prior: prior).link
            #expect(abs(MatchProbability.posterior(weight: band, prior: prior) - settings.linkProbability) < 1e-9)
        }
    }
}

/// The rules end to end: feeds through ingest, the loader's side-by-side key, the model's prior, the queue.
@Suite("Linkage rules on a small seed")
struct LinkageRulesResolverTests {
    static let definitions = ResolverTests.definitions

    /// A police extract: each row (incident ref, name "SURNAME, FORENAME", DOB), one address.
    static func policeFile(_ rows: [(ref: String, name: String, dob: String)]) throws -> URL {
        var text = FeedKind.policeNotifications.columns.joined(separator: ",") + "\n"
        for row in rows {
            text +=
                "\(row.ref),20260310 18:05,DOMESTIC ABUSE,Y,\"\(row.name)\",\(row.dob),7,\"14 Quarry Lane, Norwich\",NR5 8QT,1 (MOTHER)\n"
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fc-police-\(UUID().uuidString).csv")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    static func children(of ids: [Int64], _ connection: PostgresConnection) throws -> Int {
        try connection.execute(
            "SELECT count(DISTINCT child_id) FROM child_records WHERE record_id = ANY($1::bigint[])",
            [ids.map { Int($0) }]
        ).scalar(Int.self)
    }

    @Test("two children named in one police incident are two children; the same two names in two incidents are one")
    func oneIncidentTwoChildren() throws {
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            _ = try ResolverTests.load(children: 600, seed: 21, into: connection)
            let file = try Self.policeFile([
                ("NC-26-990001", "QUARRINGTON, ISABELLA", "14/03/2019"),
                ("NC-26-990001", "QUARRINGTON, ISABELLE", "14/03/2019"),
                ("NC-26-990002", "WHELDRAKE, ISABELLA", "02/11/2018"),
                ("NC-26-990003", "WHELDRAKE, ISABELLE", "02/11/2018"),
            ])
            defer { try? FileManager.default.removeItem(at: file) }
            let police = Self.definitions.first { $0.name == "police_notifications" }!
            _ = try FeedLoader(definition: police, today: SynthConfig.defaultAsOf).load(
                path: file.path, connection: connection)
            _ = try Resolver(connection: connection).resolveFull()
            let ids = try connection.query(
                "SELECT id FROM source_records WHERE family_name IN ('Quarrington', 'Wheldrake') ORDER BY family_name, id"
            ).map { try $0.decode(Int64.self, at: 0) }
            #expect(ids.count == 4)
            // The control: the same evidence in two incidents is enough to link (a spelling of one name)…
            #expect(try Self.children(of: [ids[2], ids[3]], connection) == 1)
            // …so only the incident keeps these two apart.
            #expect(try Self.children(of: [ids[0], ids[1]], connection) == 2)
            let explanation = try Explainer(connection: connection).explain(pair: ids[0], ids[1], reason: "test")
            #expect(explanation.verdict.contains("side by side"), "\(explanation.verdict)")
        }
    }

    @Test(
        "the queue holds no pattern the model never links, is ordered by how likely a pair is one child, and the prior falls with the population"
    )
    func queueAndPrior() throws {
        var priors: [Double] = []
        for children in [400, 1600] {
            try TestDatabase.with(.migrated) { database in
                let connection = try database.connect()
                _ = try ResolverTests.load(children: children, seed: 4, into: connection)
                _ = try Resolver(connection: connection).resolveFull()
                let model = try connection.query(
                    "SELECT prior, link_probability, review_probability, upper_threshold, lower_threshold FROM match_models"
                )
                #expect(model.count == 1)
                let prior = try #require(try model.first?.decode(Double?.self, at: 0))
                priors.append(prior)
                let bands = ResolutionSettings().bands(prior: prior)
                #expect(abs(try model[0].decode(Double.self, at: 3) - bands.link) < 1e-9)
                #expect(abs(try model[0].decode(Double.self, at: 4) - bands.review) < 1e-9)

                let neverLink = try connection.execute(
                    "SELECT count(*) FROM review_pairs WHERE status = 'open' AND comparison->'given_name'->>'level' = 'different'"
                ).scalar(Int.self)
                #expect(neverLink == 0)
                let pairs = try ReviewQueue(connection: connection).list(limit: 10_000)
                #expect(pairs.allSatisfy { $0.matchProbability != nil })
                let likelihoods = pairs.compactMap(\.matchProbability)
                #expect(likelihoods == likelihoods.sorted(by: >))
                for pair in pairs where pair.reason.contains("between the bands") {
                    let p = pair.matchProbability ?? 0
                    #expect(p >= 0.2 - 1e-9 && p < 0.5 + 1e-9, "pair \(pair.id): \(p)")
                }
            }
        }
        #expect(priors.count == 2)
        // Four times the children: about a quarter of the prior (the matching pairs per record stay alike).
        #expect(priors[1] < priors[0] / 2.5, "\(priors)")
    }

    /// The links the incident rule made, as stored: (record a, record b) → the record that vouched.
    static func vouchedLinks(_ connection: PostgresConnection) throws -> [Int64: Int64] {
        var links: [Int64: Int64] = [:]
        for row in try connection.query(
            "SELECT record_a, record_b, vouched_by FROM record_links WHERE method = 'vouched_by_incident'")
        {
            links[try row.decode(Int64.self, at: 0) << 32 | row.decode(Int64.self, at: 1)] = try row.decode(
                Int64.self, at: 2)
        }
        return links
    }

    @Test("evaluate's classes account for every missed pair, each with record ids of a split child to explain")
    func missClassesAddUp() throws {
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            let folder = try ResolverTests.load(children: 1500, seed: 7, into: connection)
            defer { try? FileManager.default.removeItem(at: folder) }
            _ = try Resolver(connection: connection).resolveFull()
            let report = try Evaluator.evaluate(
                truthPath: folder.appendingPathComponent("truth.csv").path, connection: connection)
            let diagnosis = try #require(report.diagnosis)
            #expect(report.truePairs > report.correctPairs)
            #expect(diagnosis.missed.reduce(0) { $0 + $1.pairs } == report.truePairs - report.correctPairs)
            #expect(diagnosis.missed.reduce(0) { $0 + $1.count } >= report.splitChildren)
            #expect(diagnosis.merged.isEmpty == (report.falseMerges == 0))
            // Each example is a pair of records in two different children.
            for example in diagnosis.missed.flatMap(\.examples) {
                let children = try connection.execute(
                    "SELECT count(DISTINCT child_id) FROM child_records WHERE record_id = ANY($1::bigint[])",
                    [[Int(example.0), Int(example.1)]]
                ).scalar(Int.self)
                #expect(children == 2)
            }
        }
    }

    /// A 600-child world of every feed but the police's, resolved; `body` gets its connection and folder.
    static func withResolvedWorldWithoutPolice(_ body: (PostgresConnection, URL) throws -> Void) throws {
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            let folder = try ResolverTests.load(
                children: 600, seed: 21, feeds: FeedKind.allCases.filter { $0 != .policeNotifications },
                into: connection)
            defer { try? FileManager.default.removeItem(at: folder) }
            _ = try Resolver(connection: connection).resolveFull()
            try body(connection, folder)
        }
    }

    /// Two siblings a school knows at one home (the pair `choosing` picks: SQL after the join's WHERE,
    /// over `a` and `b`), then named by the police in one incident with ages only at a new address.
    static func reportSchoolSiblingsToPolice(
        _ connection: PostgresConnection, folder: URL, incident: String, choosing: String
    ) throws {
        let siblings = try #require(
            try connection.query(
                """
                SELECT a.given_name, b.given_name, a.family_name,
                       date_part('year', age(date '2026-03-10', a.dob))::int, date_part('year', age(date '2026-03-10', b.dob))::int
                FROM source_records a JOIN source_records b ON a.family_name = b.family_name AND a.address_line1 = b.address_line1
                     AND a.postcode = b.postcode AND a.given_name <> b.given_name AND abs(a.dob - b.dob) > 400
                WHERE a.feed = 'school_attendance' AND b.feed = 'school_attendance' AND a.id < b.id
                \(choosing)
                LIMIT 1
                """
            ).first)
        var text = FeedKind.policeNotifications.columns.joined(separator: ",") + "\n"
        for (given, age) in [
            (try siblings.decode(String.self, at: 0), try siblings.decode(Int.self, at: 3)),
            (try siblings.decode(String.self, at: 1), try siblings.decode(Int.self, at: 4)),
        ] {
            let name = "\(try siblings.decode(String.self, at: 2).uppercased()), \(given.uppercased())"
            text +=
                "\(incident),20260310 18:05,DOMESTIC ABUSE,Y,\"\(name)\",,\(age),\"14 Quarry Lane, Norwich\",NR5 8QT,1 (MOTHER)\n"
        }
        let file = folder.appendingPathComponent("police-\(incident).csv")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let police = Self.definitions.first { $0.name == "police_notifications" }!
        _ = try FeedLoader(definition: police, today: SynthConfig.defaultAsOf).load(
            path: file.path, connection: connection)
    }

    @Test("the incident vouches for an age elsewhere even below the review band, when both names agree")
    func incidentVouchesBelowTheBand() throws {
        try Self.withResolvedWorldWithoutPolice { connection, folder in
            // Two siblings a school knows at one home, with common first names: an age at a new
            // address with a common name is too weak to be queued.
            try Self.reportSchoolSiblingsToPolice(
                connection, folder: folder, incident: "NC-26-990201",
                choosing: """
                    ORDER BY (SELECT count(*) FROM source_records r WHERE r.given_name = a.given_name)
                           + (SELECT count(*) FROM source_records r WHERE r.given_name = b.given_name)
                           + (SELECT count(*) FROM source_records r WHERE r.family_name = a.family_name) DESC, a.id, b.id
                    """)
            _ = try Resolver(connection: connection).resolveIncremental()
            let incremental = try Self.vouchedLinks(connection)
            #expect(incremental.count == 2)
            _ = try Resolver(connection: connection).resolveFull()
            #expect(try Self.vouchedLinks(connection) == incremental)
            // The model alone would not even queue at least one of them: only the incident links it.
            var verdicts: [String] = []
            for pair in incremental.keys {
                verdicts.append(
                    try Explainer(connection: connection).explain(pair: pair >> 32, pair & 0xFFFF_FFFF, reason: "test")
                        .verdict)
            }
            #expect(verdicts.allSatisfy { $0.hasPrefix("linked by the incident rule") }, "\(verdicts)")
            #expect(
                verdicts.contains { $0.contains("the model alone: no link: match probability below") }, "\(verdicts)")
        }
    }

    @Test(
        "a link the claim rule made is stored under its own method, must name the record that vouched, and explain names the claim rule"
    )
    func explainsClaimVouchedLinks() throws {
        try Self.withResolvedWorldWithoutPolice { connection, _ in
            // Two meals rows of one claim and a school record of another child: the link as the claim rule
            // stores it (`Linkage.vouchedForByTheReport` decides when; `claimVouchesForADatedRecord`).
            let rows = try connection.query(
                """
                SELECT a.id, b.id, (SELECT min(s.id) FROM source_records s WHERE s.kind = 'school_attendance')
                FROM source_records a JOIN source_records b ON a.carer_ni_number = b.carer_ni_number AND a.id < b.id
                WHERE a.kind = 'fsm' AND b.kind = 'fsm' ORDER BY a.id, b.id LIMIT 1
                """)
            let row = try #require(rows.first)
            let (voucher, claimed, school) = (
                try row.decode(Int64.self, at: 0), try row.decode(Int64.self, at: 1), try row.decode(Int64.self, at: 2)
            )
            let (a, b) = (min(claimed, school), max(claimed, school))
            try connection.execute("DELETE FROM record_links WHERE record_a = $1 AND record_b = $2", [a, b])
            // The method must name its voucher, as the incident rule's does.
            #expect(throws: PostgresError.self) {
                try connection.execute(
                    "INSERT INTO record_links (record_a, record_b, method, weight) VALUES ($1, $2, 'vouched_by_claim', 15)",
                    [a, b])
            }
            try connection.execute(
                "INSERT INTO record_links (record_a, record_b, method, weight, vouched_by) VALUES ($1, $2, 'vouched_by_claim', 15, $3)",
                [a, b, voucher])
            let explanation = try Explainer(connection: connection).explain(pair: a, b, reason: "test")
            #expect(explanation.verdict.hasPrefix("linked by the claim rule"), "\(explanation.verdict)")
            #expect(explanation.verdict.contains("record \(voucher), named in the same claim"))
            #expect(!explanation.verdict.contains("incident"))
        }
    }

    @Test(
        "a link the incident rule made is stored as such, counted apart, and explain names the rule and the record that vouched"
    )
    func explainsIncidentVouchedLinks() throws {
        try Self.withResolvedWorldWithoutPolice { connection, folder in
            // Two siblings a school knows at one home; then the police name both in one incident, with
            // ages only, at a new address (a family that moved): each alone would only be queued.
            try Self.reportSchoolSiblingsToPolice(
                connection, folder: folder, incident: "NC-26-990101",
                choosing: """
                      -- Rare first names: an age is weak evidence, a common name's agreement weaker still.
                      AND (SELECT count(*) FROM source_records r WHERE r.given_name = a.given_name) <= 4
                      AND (SELECT count(*) FROM source_records r WHERE r.given_name = b.given_name) <= 4
                    ORDER BY a.id, b.id
                    """)
            // The incremental run makes the incident rule's links…
            let incremental = try Resolver(connection: connection).resolveIncremental()
            let afterIncremental = try Self.vouchedLinks(connection)
            #expect(afterIncremental.count == 2)
            #expect(incremental.linksVouchedByIncident == afterIncremental.count)
            // …and a full run over the same records makes the same ones, counted apart from the model's.
            let full = try Resolver(connection: connection).resolveFull()
            let vouched = try Self.vouchedLinks(connection)
            #expect(vouched == afterIncremental)
            #expect(full.linksVouchedByIncident == vouched.count)
            #expect(
                try connection.execute(
                    "SELECT links_vouched_by_incident FROM resolution_runs WHERE id = $1", [full.runID]
                ).scalar(Int.self) == vouched.count)

            let (pair, voucher) = try #require(vouched.min { $0.key < $1.key })
            let (a, b) = (pair >> 32, pair & 0xFFFF_FFFF)
            // The record that vouched is another record of the same police incident.
            let records = try MatchRecordLoader.load(connection, ids: [a, b, voucher])
            let incident = try #require(records.first { $0.id == voucher }?.sideBySideKey)
            #expect(incident != 0 && records.contains { $0.id != voucher && $0.sideBySideKey == incident })
            #expect(voucher != a && voucher != b)

            let explanation = try Explainer(connection: connection).explain(pair: a, b, reason: "test")
            #expect(explanation.verdict.hasPrefix("linked by the incident rule"), "\(explanation.verdict)")
            #expect(explanation.verdict.contains("record \(voucher), named with it in the same police incident"))
            let child = try connection.execute("SELECT child_id FROM child_records WHERE record_id = $1", [a]).scalar(
                String.self)
            let link = try #require(
                try Explainer(connection: connection).explain(child: child, reason: "test").links.first {
                    $0.a == a && $0.b == b
                })
            #expect(link.method == "vouched_by_incident" && link.vouchedBy == voucher)
        }
    }
}
