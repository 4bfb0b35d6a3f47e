import Families
import Feeds
import Foundation
import Identifiers
import Postgres
import PostgresTestSupport
import Resolution
import Synth
import Testing

@testable import Flags

@Suite("The HTML report")
struct ReportTests {
    /// A synthetic run with every stage and every kind of figure: two batches of one feed (the second
    /// with broken rows), links, review pairs, families, flags exported, acknowledged and closed, and
    /// suppressions from a statutory list.
    static func syntheticRun(_ connection: PostgresConnection, folder: URL) throws {
        _ = try SyntheticFeedWriter.write(config: SynthConfig(children: 1200, seed: 8), to: folder)
        let definitions = try FeedDefinition.loadAll(directory: TestDatabase.schemasDirectory + "/feeds")
        let asOf = SynthConfig.defaultAsOf
        for kind in FeedKind.allCases {
            let definition = try #require(definitions.first { $0.name == kind.stem })
            _ = try FeedLoader(definition: definition, today: asOf).load(
                path: folder.appendingPathComponent(kind.fileName).path, connection: connection)
        }
        // A later school extract with broken rows: an impossible date of birth, more sessions attended than possible.
        let school = try String(
            contentsOf: folder.appendingPathComponent(FeedKind.schoolAttendance.fileName), encoding: .utf8)
        var lines = school.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map {
            String($0).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let dobColumn = try #require(header.firstIndex(of: "DateOfBirth"))
        let attendedColumn = try #require(header.firstIndex(of: "SessionsAttended"))
        var broken = [header.joined(separator: ",")]
        for (index, line) in lines.prefix(90).enumerated() where !line.contains("\"") {
            var cells = line.trimmingCharacters(in: .whitespacesAndNewlines).split(
                separator: ",", omittingEmptySubsequences: false
            ).map(String.init)
            if index % 3 == 0 { cells[dobColumn] = "2019-02-31" }
            if index % 5 == 1 { cells[attendedColumn] = "999" }
            broken.append(cells.joined(separator: ","))
        }
        let brokenPath = folder.appendingPathComponent("school_attendance_later.csv").path
        try (broken.joined(separator: "\r\n") + "\r\n").write(toFile: brokenPath, atomically: true, encoding: .utf8)
        let schoolDefinition = try #require(definitions.first { $0.name == FeedKind.schoolAttendance.stem })
        _ = try FeedLoader(definition: schoolDefinition, today: asOf).load(path: brokenPath, connection: connection)

        // A wider review band than the default, so that a world this small still queues pairs.
        var settings = ResolutionSettings()
        settings.reviewProbability = 1e-6
        _ = try Resolver(connection: connection, settings: settings).resolveIncremental()
        // The model's pairs in a world this small are all pairs of two children each made of several
        // records, which the queue leaves out (`Linkage.worthQueuing`): one pair of two children is
        // queued as the model would queue it, so that the queue's figures are checked against a count.
        try connection.execute(
            """
            INSERT INTO review_pairs (record_a, record_b, weight, reason, comparison, match_probability)
            SELECT least(first.record, last.record), greatest(first.record, last.record),
                   15, 'match probability between the bands', '{}', 0.3
            FROM (SELECT min(record_id) AS record FROM child_records
                  WHERE child_id = (SELECT min(child_id) FROM child_records)) first,
                 (SELECT min(record_id) AS record FROM child_records
                  WHERE child_id = (SELECT max(child_id) FROM child_records)) last
            """)
        let rules = try Cycle.shippedRules()
        let teams = try Cycle.shippedTeams()
        _ = try FamilyGrouper(connection: connection).regroup()
        _ = try IndicatorBuilder(connection: connection, rules: rules, asOf: asOf).refresh()
        _ = try FlagEngine(connection: connection, rules: rules, asOf: asOf, teams: teams).run()
        let outbox = folder.appendingPathComponent("outbox").path
        _ = try Exporter(connection: connection, teams: teams, outbox: outbox, asOf: asOf).export()

        // Outreach acts on some flags; two families turn out to be known to statutory services.
        let flags = try connection.query(
            "SELECT flag_id, family_id FROM flags WHERE status = 'exported' ORDER BY flag_id"
        )
        .map { (try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1)) }
        #expect(flags.count >= 8, "the synthetic run should raise enough flags to exercise the report")
        for (flag, _) in flags.prefix(4) {
            try FlagLifecycle.acknowledge(flagID: flag, by: "Test Worker", connection: connection)
        }
        for (flag, _) in flags.prefix(2) {
            try FlagLifecycle.close(
                flagID: flag, outcome: "engaged with early help", on: asOf, by: "Test Worker", connection: connection)
        }
        var suppressing = rules
        suppressing.statutoryList = try StatutoryList.parse(
            path: "statutory.list", text: flags.dropFirst(4).prefix(2).map { $0.1 + "\n" }.joined())
        _ = try FlagEngine(connection: connection, rules: suppressing, asOf: asOf, teams: teams).run()
    }

    @Test(
        "figures in the tables equal the database's counts; no name, date of birth, address or identifier; no script or external URL"
    )
    func reportFromSyntheticRun() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fc-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            try Self.syntheticRun(connection, folder: folder)
            let document = try ReportBuilder(connection: connection).build()
            let html = document.html
            if let keep = ProcessInfo.processInfo.environment["FAMILYCONNECT_KEEP_REPORT"], !keep.isEmpty {
                try html.write(toFile: keep, atomically: true, encoding: .utf8)
            }
            let page = try ReportHTML(html)
            try checkFeeds(page, connection)
            try checkMatching(page, connection)
            try checkChildren(page, connection)
            try checkFlags(page, connection)
            try checkSelfContained(html)
            let leaks = try personalData(in: html, connection)
            #expect(leaks.isEmpty, "personal data in the report: \(leaks.prefix(10))")
            // The check itself finds what it looks for: a name, a date of birth and a postcode slipped into a table cell.
            let sample = try #require(
                try connection.query(
                    "SELECT family_name, dob::text, postcode FROM source_records WHERE family_name ~ '^[A-Za-z]+$' AND dob IS NOT NULL AND postcode IS NOT NULL LIMIT 1"
                ).first)
            for column in 0..<3 {
                let value = try sample.decode(String.self, at: column)
                let planted = html.replacingOccurrences(
                    of: "</tbody>", with: "<tr><td>\(HTMLEscape.escape(value))</td></tr></tbody>")
                #expect(try personalData(in: planted, connection).contains(value), "a planted \(value) is found")
            }
        }
    }

    @Test("--since keeps the figures over time to the period and says so")
    func sinceLimitsThePeriod() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fc-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            _ = try SyntheticFeedWriter.write(config: SynthConfig(children: 150, seed: 2), to: folder)
            let definitions = try FeedDefinition.loadAll(directory: TestDatabase.schemasDirectory + "/feeds")
            for kind in FeedKind.allCases {
                let definition = try #require(definitions.first { $0.name == kind.stem })
                _ = try FeedLoader(definition: definition, today: SynthConfig.defaultAsOf).load(
                    path: folder.appendingPathComponent(kind.fileName).path, connection: connection)
            }
            _ = try Resolver(connection: connection).resolveIncremental()
            let tomorrow = CalendarDate.today().adding(days: 1)
            let later = try ReportHTML(try ReportBuilder(connection: connection, since: tomorrow).build().html)
            #expect(later.html.contains("No batches loaded in this period."))
            #expect(later.html.contains("Figures over time start on \(tomorrow.iso8601)"))
            // The current state does not depend on the period.
            let children = try Cycle.count(connection, "SELECT count(DISTINCT child_id) FROM child_records")
            #expect(try later.table("t-partners").row("all")[1].number == children)
            let all = try ReportHTML(try ReportBuilder(connection: connection).build().html)
            #expect(try all.table("t-feed-batches").rows.count == FeedKind.allCases.count)
        }
    }

    @Test("an empty database gives a report with every section and no chart data")
    func emptyDatabase() throws {
        try TestDatabase.with(.migrated) { database in
            let page = try ReportHTML(try ReportBuilder(connection: try database.connect()).build().html)
            for section in ["feeds", "matching", "children", "flags"] {
                #expect(page.html.contains("<section id=\"\(section)\""))
            }
            #expect(page.html.contains("No batches loaded in this period."))
            #expect(try page.table("t-partners").row("all")[1].number == 0)
        }
        // A database migrated by no one: every section says its tables are missing, nothing fails.
        try TestDatabase.with(.empty) { database in
            let html = try ReportBuilder(connection: try database.connect()).build().html
            #expect(html.components(separatedBy: "its tables are missing").count - 1 == 4)
        }
    }

    @Test("every text node and attribute is escaped")
    func escaping() {
        #expect(
            HTMLEscape.escape(#"<script>alert("x") & 'y'</script>"#)
                == "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;")
        let element = Markup.element("p", ["title": "a\"b<c"], [.text("<b>&</b>")])
        #expect(element.html == "<p title=\"a&quot;b&lt;c\">&lt;b&gt;&amp;&lt;/b&gt;</p>")
        // A field name or reason from the database cannot become markup.
        let page = ReportPage(
            data: ReportData(
                generatedAt: "now", since: nil,
                feeds: ReportData.Feeds(
                    batches: [
                        .init(id: 1, feed: "<img src=x>", loadedOn: "2026-01-01", read: 2, loaded: 1, quarantined: 1)
                    ],
                    reasons: [.init(feed: "<img src=x>", field: "a&b", reason: "<script>", rows: 1)], quality: [],
                    refused: [:]),
                matching: nil, children: nil, flags: nil)
        ).render()
        #expect(!page.contains("<img") && !page.contains("<script"))
        #expect(page.contains("&lt;img src=x&gt;") && page.contains("&lt;script&gt;"))
    }

    // MARK: Checks

    func checkFeeds(_ page: ReportHTML, _ connection: PostgresConnection) throws {
        let totals = try page.table("t-feed-totals")
        let feeds = try connection.query(
            "SELECT feed, count(*)::int, sum(rows_read)::int, sum(rows_loaded)::int, sum(rows_quarantined)::int FROM feed_batches GROUP BY feed ORDER BY feed"
        )
        #expect(totals.rows.count == feeds.count)
        for row in feeds {
            let cells = try totals.row(try row.decode(String.self, at: 0))
            #expect(cells[1].number == (try row.decode(Int.self, at: 1)))
            #expect(cells[2].number == (try row.decode(Int.self, at: 2)))
            #expect(cells[3].number == (try row.decode(Int.self, at: 3)))
            #expect(cells[4].number == (try row.decode(Int.self, at: 4)))
        }
        // One row per batch, grouped by feed, with the ledger's counts.
        let batches = try page.table("t-feed-batches")
        let ledger = try connection.query(
            "SELECT id, feed, rows_read, rows_loaded, rows_quarantined FROM feed_batches ORDER BY id")
        #expect(batches.rows.count == ledger.count && ledger.count == FeedKind.allCases.count + 1)
        for row in ledger {
            let cells = try batches.row(String(try row.decode(Int.self, at: 0)))
            #expect(batches.group(of: cells) == (try row.decode(String.self, at: 1)))
            #expect(cells[2].number == (try row.decode(Int.self, at: 2)))
            #expect(cells[3].number == (try row.decode(Int.self, at: 3)))
            #expect(cells[4].number == (try row.decode(Int.self, at: 4)))
        }
        // Quarantine reasons add up to each feed's quarantined rows; the broken batch's reasons are named.
        let reasons = try page.table("t-quarantine-reasons")
        for row in try connection.query(
            "SELECT b.feed, count(*)::int FROM quarantined_rows q JOIN feed_batches b ON b.id = q.batch_id GROUP BY 1")
        {
            let feed = try row.decode(String.self, at: 0)
            #expect(
                reasons.rows.filter { reasons.group(of: $0) == feed }.map { $0[2].number ?? -1 }.reduce(0, +)
                    == (try row.decode(Int.self, at: 1)))
        }
        #expect(try Cycle.count(connection, "SELECT count(*) FROM quarantined_rows") >= 30)
        #expect(reasons.rows.contains { $0[0].text == "child.dob" && $0[1].text.hasPrefix("not a valid date") })
        #expect(
            reasons.rows.contains {
                $0[0].text == "fact.sessions_attended" && $0[1].text == "more sessions attended than possible"
            })
        // Field quality: every (batch, field) as recorded.
        let quality = try page.table("t-quality")
        let recorded = try connection.query(
            "SELECT b.feed || ', batch ' || b.id, q.field, q.rows, q.present, q.valid FROM feed_batch_quality q JOIN feed_batches b ON b.id = q.batch_id"
        )
        #expect(quality.rows.count == recorded.count)
        for row in recorded {
            let group = try row.decode(String.self, at: 0)
            let cells = try #require(
                quality.rows.first {
                    quality.group(of: $0) == group && $0[0].text == (try? row.decode(String.self, at: 1))
                })
            #expect(cells[1].number == (try row.decode(Int.self, at: 2)))
            #expect(cells[2].number == (try row.decode(Int.self, at: 3)))
            #expect(cells[3].number == (try row.decode(Int.self, at: 4)))
        }
        // One heat map per feed.
        #expect(page.html.components(separatedBy: "aria-labelledby=\"c-quality-").count - 1 == FeedKind.allCases.count)
    }

    func checkMatching(_ page: ReportHTML, _ connection: PostgresConnection) throws {
        let weights = try page.table("t-weights")
        let links = try Cycle.count(connection, "SELECT count(*) FROM record_links WHERE method = 'probabilistic'")
        let reviews = try Cycle.count(connection, "SELECT count(*) FROM review_pairs WHERE status <> 'superseded'")
        #expect(links > 0 && reviews > 0)
        #expect(weights.column(1).reduce(0, +) == links)
        #expect(weights.column(2).reduce(0, +) == reviews)
        for row in try connection.query(
            "SELECT floor(weight)::int, count(*)::int FROM record_links WHERE method = 'probabilistic' GROUP BY 1")
        {
            let bin = try row.decode(Int.self, at: 0)
            #expect(try weights.row("\(bin) to \(bin + 1)")[1].number == (try row.decode(Int.self, at: 1)))
        }
        // The histogram says what it shows and draws both thresholds.
        #expect(page.html.contains("Population: the \(ReportFormat.count(links)) pairs the model linked"))
        // The bands in bits follow the model's prior: those stored with it.
        let bands = try #require(
            try connection.query("SELECT upper_threshold, lower_threshold FROM match_models ORDER BY id DESC LIMIT 1")
                .first)
        let upper = try bands.decode(Double.self, at: 0)
        let lower = try bands.decode(Double.self, at: 1)
        #expect(
            page.html.contains("review from \(ReportFormat.bits(lower))")
                && page.html.contains("link from \(ReportFormat.bits(upper))"))

        // The model: every level of the stored model, with its m, u and weight.
        let model = try page.table("t-model")
        let parameters = try connection.execute(
            "SELECT parameters->'fields' FROM match_models ORDER BY id DESC LIMIT 1"
        ).scalar(PostgresJSON.self)
        let fields = try parameters.decode(as: [String: [String: [String: Double]]].self)
        #expect(model.rows.count == fields.values.map(\.count).reduce(0, +))
        for (field, levels) in fields {
            for (level, numbers) in levels {
                let cells = try #require(
                    model.rows.first {
                        model.group(of: $0) == field.replacingOccurrences(of: "_", with: " ")
                            && $0[0].text == level.replacingOccurrences(of: "_", with: " ")
                    })
                #expect(cells[3].text == ReportFormat.bits(numbers["weight"]!))
                #expect(cells[1].text == ReportFormat.probability(numbers["m"]!))
                #expect(cells[2].text == ReportFormat.probability(numbers["u"]!))
            }
        }

        let methods = try page.table("t-links")
        #expect(
            try methods.row("deterministic (identifier)")[1].number
                == (try Cycle.count(
                    connection, "SELECT count(*) FROM record_links WHERE method IN ('nhs_number', 'upn')")))
        #expect(try methods.row("probabilistic (match model)")[1].number == links)
        #expect(
            try methods.row("vouched by a police incident")[1].number
                == (try Cycle.count(
                    connection, "SELECT count(*) FROM record_links WHERE method = 'vouched_by_incident'")))
        #expect(
            try methods.row("decided by review")[1].number
                == (try Cycle.count(connection, "SELECT count(*) FROM record_links WHERE method = 'review'")))

        let queue = try page.table("t-review")
        for status in ["open", "accepted", "rejected", "superseded"] {
            #expect(
                try queue.row("\(status) (all)")[1].number
                    == (try Cycle.count(connection, "SELECT count(*) FROM review_pairs WHERE status = $1", [status])))
        }
        let open = try Cycle.count(connection, "SELECT count(*) FROM review_pairs WHERE status = 'open'")
        #expect(
            queue.rows.filter { $0[0].text.hasPrefix("open, waiting") }.map { $0[1].number ?? -1 }.reduce(0, +) == open)
        #expect(try queue.row("open, waiting under 7 days")[1].number == open)
    }

    func checkChildren(_ page: ReportHTML, _ connection: PostgresConnection) throws {
        let partners = try page.table("t-partners")
        #expect(
            try partners.row("all")[1].number
                == (try Cycle.count(connection, "SELECT count(DISTINCT child_id) FROM child_records")))
        for count in 1...4 {
            #expect(
                try partners.row(String(count))[1].number
                    == (try Cycle.count(connection, "SELECT count(*) FROM child_summary WHERE partners = $1", [count])))
        }
        #expect(try Cycle.count(connection, "SELECT count(*) FROM child_summary WHERE partners >= 2") > 0)
        let sizes = try page.table("t-family-sizes")
        let live = "f.merged_into IS NULL AND f.retired_at IS NULL"
        #expect(
            try sizes.row("all families")[1].number
                == (try Cycle.count(
                    connection,
                    "SELECT count(*) FROM families f WHERE \(live) AND EXISTS (SELECT 1 FROM family_members m WHERE m.family_id = f.family_id)"
                )))
        for row in try connection.query(
            """
            SELECT children, count(*)::int FROM (
                SELECT count(m.child_id)::int AS children FROM families f JOIN family_members m ON m.family_id = f.family_id WHERE \(live) GROUP BY f.family_id
            ) s GROUP BY 1
            """)
        {
            let children = try row.decode(Int.self, at: 0)
            #expect(
                try sizes.row(children == 0 ? "0 (expecting only)" : String(children))[1].number
                    == (try row.decode(Int.self, at: 1)))
        }
    }

    func checkFlags(_ page: ReportHTML, _ connection: PostgresConnection) throws {
        let months = try page.table("t-flag-months")
        #expect(months.column(1).reduce(0, +) == (try Cycle.count(connection, "SELECT count(*) FROM flags")))
        #expect(
            months.column(2).reduce(0, +)
                == (try Cycle.count(connection, "SELECT count(*) FROM flags WHERE exported_at IS NOT NULL")))
        #expect(
            months.column(3).reduce(0, +)
                == (try Cycle.count(connection, "SELECT count(*) FROM flags WHERE acknowledged_at IS NOT NULL")))
        #expect(
            months.column(4).reduce(0, +)
                == (try Cycle.count(connection, "SELECT count(*) FROM flags WHERE closed_at IS NOT NULL")))
        #expect(months.column(3).reduce(0, +) == 4 && months.column(4).reduce(0, +) == 4)  // 2 by outreach, 2 by suppression

        let outcomes = try page.table("t-flag-outcomes")
        #expect(outcomes.rows.count == 10)
        for outcome in 1...10 {
            #expect(
                try outcomes.row(String(outcome))[2].number
                    == (try Cycle.count(
                        connection,
                        """
                        SELECT count(DISTINCT e.flag_id) FROM flag_evidence e JOIN indicators i ON i.id = e.indicator_id WHERE i.outcome = $1
                        """, [outcome])))
        }
        let teams = try page.table("t-flag-teams")
        #expect(teams.column(5).reduce(0, +) == (try Cycle.count(connection, "SELECT count(*) FROM flags")))
        for row in try connection.query(
            "SELECT t.team, count(*)::int FROM flags f JOIN family_teams t ON t.family_id = f.family_id GROUP BY 1")
        {
            let team = try row.decode(String.self, at: 0)
            let cells = try #require(teams.rows.first { $0[0].text.hasSuffix("(\(team))") })
            #expect(cells[5].number == (try row.decode(Int.self, at: 1)))
        }
        let rules = try page.table("t-flag-rules")
        for row in try connection.query("SELECT rule_name, count(*)::int FROM flags GROUP BY 1") {
            #expect(try rules.row(try row.decode(String.self, at: 0))[1].number == (try row.decode(Int.self, at: 1)))
        }
        let suppressed = try page.table("t-suppressed")
        #expect(
            try suppressed.row("all")[2].number
                == (try Cycle.count(connection, "SELECT count(DISTINCT family_id) FROM flag_suppressions")))
        #expect(try suppressed.row("on the statutory list")[2].number == 2)
    }

    func checkSelfContained(_ html: String) throws {
        let lower = html.lowercased()
        #expect(!lower.contains("<script"))
        #expect(!lower.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "").contains("http"))
        for forbidden in ["src=", "url(", "@import", "<link", "<iframe", "<object", "<embed", "<img", "javascript:"] {
            #expect(!lower.contains(forbidden), "the report must not contain \(forbidden)")
        }
        // No event handler attributes (onload=, onclick=, …).
        #expect(lower.range(of: #"\son[a-z]+\s*="#, options: .regularExpression) == nil)
        // Links stay inside the page.
        for match in html.matches(#"href="([^"]*)""#) { #expect(match.hasPrefix("#")) }
        // Every chart is labelled and has a table beside it.
        let svgs = html.components(separatedBy: "<svg").count - 1
        let charts = html.components(separatedBy: "role=\"img\" aria-labelledby=").count - 1
        let decorative = html.components(separatedBy: "aria-hidden=\"true\"").count - 1
        #expect(charts > 10)
        #expect(charts + decorative == svgs, "every svg is a labelled image or hidden decoration (a shared legend)")
        for figure in html.components(separatedBy: "<figure").dropFirst() {
            let body = figure.components(separatedBy: "</figure>")[0]
            #expect(body.contains("<table"), "every figure has a data table")
        }
    }

    /// Every given or family name, date of birth (in any printed form), address line, postcode or
    /// person's identifier from `source_records` that appears in the report.
    func personalData(in html: String, _ connection: PostgresConnection) throws -> [String] {
        // Text that comes from the rule files (team names such as "West Norfolk Early Help Hub", outcome
        // names) is taken out first: a surname like West is then only found if the report leaks it.
        var text = html
        for name in try connection.query(
            "SELECT name FROM outreach_teams UNION SELECT name FROM supporting_families_outcomes"
        ).map({ try $0.decode(String.self, at: 0) }) {
            text = text.replacingOccurrences(of: HTMLEscape.escape(name), with: " ")
        }
        var words = Set<Substring>()
        var current = text.startIndex
        while current < text.endIndex {
            guard let start = text[current...].firstIndex(where: \.isLetter) else { break }
            let end = text[start...].firstIndex { !$0.isLetter } ?? text.endIndex
            words.insert(text[start..<end])
            current = end
        }
        let textIndex = ByteGrams(text)
        let htmlIndex = ByteGrams(html)
        func leaked(_ value: String) -> Bool {
            let value = value.trimmingCharacters(in: .whitespaces)
            guard !value.isEmpty else { return false }
            if value.allSatisfy(\.isLetter) {
                return words.contains(Substring(value)) || words.contains(Substring(value.uppercased()))
            }
            return textIndex.contains(value) || textIndex.contains(HTMLEscape.escape(value))
                || textIndex.contains(value.uppercased())
        }

        let names = try connection.query(
            """
            SELECT DISTINCT v FROM source_records,
                LATERAL unnest(ARRAY[given_name, family_name, preferred_given_name, preferred_family_name, carer_given_name, carer_family_name]) v
            WHERE v IS NOT NULL
            """
        ).map { try $0.decode(String.self, at: 0) }
        #expect(names.count > 100)
        var found = names.filter(leaked)

        let addresses = try connection.query(
            """
            SELECT DISTINCT v FROM source_records,
                LATERAL unnest(ARRAY[address_line1, address_line2, postcode, postcode_raw, nhs_number, nhs_number_raw, upn, upn_raw,
                                     carer_nhs_number, carer_ni_number]) v
            WHERE v IS NOT NULL AND length(v) >= 4
            """
        ).map { try $0.decode(String.self, at: 0) }
        #expect(addresses.count > 100)
        found += addresses.filter(leaked)

        let months = [
            "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
            "November", "December",
        ]
        let dates = try connection.query(
            "SELECT DISTINCT v::text FROM source_records, LATERAL unnest(ARRAY[dob, carer_dob]) v WHERE v IS NOT NULL"
        ).map { CalendarDate(iso8601: try $0.decode(String.self, at: 0))! }
        #expect(dates.count > 100)
        for date in dates {
            let (d, m, y) = (date.day, date.month, date.year)
            let dd = d < 10 ? "0\(d)" : "\(d)"
            let mm = m < 10 ? "0\(m)" : "\(m)"
            let forms = [
                date.iso8601, "\(dd)/\(mm)/\(y)", "\(d)/\(m)/\(y)", "\(mm)/\(dd)/\(y)", "\(dd)-\(mm)-\(y)",
                "\(dd).\(mm).\(y)", "\(y)\(mm)\(dd)",
                "\(dd)\(mm)\(y)", "\(d) \(months[m - 1]) \(y)", "\(d) \(months[m - 1].prefix(3)) \(y)",
                "\(months[m - 1]) \(d), \(y)",
            ]
            if forms.contains(where: { htmlIndex.contains($0) }) { found.append(date.iso8601) }
        }
        return found
    }
}

/// Every 4- to 8-byte run of a text, so that thousands of values can be looked for in a whole page
/// quickly: a value is in the text only if each of its 8-byte runs is (then a real search confirms).
struct ByteGrams {
    let text: String
    let grams: [Set<UInt64>]

    init(_ text: String) {
        self.text = text
        let bytes = Array(text.utf8)
        grams = (4...8).map { length in
            var set = Set<UInt64>(minimumCapacity: bytes.count)
            if bytes.count >= length {
                for start in 0...(bytes.count - length) { set.insert(Self.pack(bytes, start, length)) }
            }
            return set
        }
    }

    static func pack(_ bytes: [UInt8], _ start: Int, _ length: Int) -> UInt64 {
        var value: UInt64 = 0
        for offset in 0..<length { value = value << 8 | UInt64(bytes[start + offset]) }
        return value
    }

    func contains(_ needle: String) -> Bool {
        let bytes = Array(needle.utf8)
        if bytes.count < 4 { return text.contains(needle) }
        if bytes.count <= 8 { return grams[bytes.count - 4].contains(Self.pack(bytes, 0, bytes.count)) }
        for start in 0...(bytes.count - 8) where !grams[4].contains(Self.pack(bytes, start, 8)) { return false }
        return text.contains(needle)
    }
}

/// The report read back: its tables by id, each row's cells as text (entities decoded).
struct ReportHTML {
    let html: String

    init(_ html: String) throws { self.html = html }

    struct Cell {
        var text: String
        /// "1,234" → 1234, "12.5%" → nil (not a whole count), "−3" → -3.
        var number: Int? { Int(text.replacingOccurrences(of: ",", with: "").replacingOccurrences(of: "−", with: "-")) }
    }

    struct Table {
        var header: [String]
        /// Data rows, with the row group (a feed, a field) each belongs to.
        var rows: [[Cell]]
        var groups: [String?]

        func row(_ first: String) throws -> [Cell] {
            guard let row = rows.first(where: { $0.first?.text == first }) else {
                throw ReportParseError(
                    message: "no row '\(first)' in a table with rows \(rows.map { $0.first?.text ?? "" })")
            }
            return row
        }

        func group(of row: [Cell]) -> String? {
            guard let index = rows.firstIndex(where: { $0.map(\.text) == row.map(\.text) }) else { return nil }
            return groups[index]
        }

        func column(_ index: Int) -> [Int] { rows.compactMap { $0.count > index ? $0[index].number : nil } }
    }

    func table(_ id: String) throws -> Table {
        guard let start = html.range(of: "<table id=\"\(id)\">") else {
            throw ReportParseError(message: "no table \(id)")
        }
        guard let end = html.range(of: "</table>", range: start.upperBound..<html.endIndex) else {
            throw ReportParseError(message: "table \(id) not closed")
        }
        let body = String(html[start.upperBound..<end.lowerBound])
        var table = Table(header: [], rows: [], groups: [])
        var group: String?
        for (index, part) in body.components(separatedBy: "<tr").dropFirst().enumerated() {
            let cells = part.matches(#"<t[hd][^>]*>(.*?)</t[hd]>"#).map { Cell(text: Self.decode($0)) }
            if index == 0 {
                table.header = cells.map(\.text)
            } else if part.hasPrefix(" class=\"group\"") {
                group = cells.first?.text
            } else {
                table.rows.append(cells)
                table.groups.append(group)
            }
        }
        return table
    }

    static func decode(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}

struct ReportParseError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

extension String {
    /// The first capture group of every match of a regular expression.
    func matches(_ pattern: String) -> [String] {
        guard let expression = try? NSRegularExpression(pattern: pattern, options: [.dotMatchesLineSeparators]) else {
            return []
        }
        let range = NSRange(startIndex..<endIndex, in: self)
        return expression.matches(in: self, range: range).compactMap { match in
            Range(match.range(at: 1), in: self).map { String(self[$0]) }
        }
    }
}
