import Foundation
import Identifiers
import Postgres

/// What `familyconnect report` wrote: the document and a one-line summary for the terminal.
public struct ReportDocument: Sendable {
    public var html: String
    public var summary: String
}

/// Builds the report for data officers and managers: one self-contained HTML file with inline SVG
/// charts, no scripts and no external assets, so it opens from a USB stick on a locked-down laptop.
///
/// Four sections — feeds, matching, children and families, flags — each made of figures: a plain
/// title saying what the chart shows, the chart (small multiples where there is one per feed or per
/// field), and beside it a table with the same numbers for screen readers and for copying. Only ids
/// and counts are read (`ReportReader`); every text node and attribute is escaped (`Markup`).
public struct ReportBuilder {
    let connection: PostgresConnection
    let since: CalendarDate?

    /// - Parameter since: over-time figures (batches, quarantine, field quality, flag steps, flag counts,
    ///   suppressions) start on this date; the current state (children, families, model, links, review
    ///   queue) is shown as it is now.
    public init(connection: PostgresConnection, since: CalendarDate? = nil) {
        self.connection = connection
        self.since = since
    }

    public func build() throws -> ReportDocument {
        let data = try ReportReader(connection: connection, since: since).read()
        let html = ReportPage(data: data).render()
        var parts: [String] = []
        if let feeds = data.feeds { parts.append("\(feeds.batches.count) batches") }
        if let matching = data.matching {
            parts.append(
                "\(matching.linksByMethod.values.reduce(0, +)) links, \(matching.reviewByStatus["open"] ?? 0) open review pairs"
            )
        }
        if let children = data.children {
            parts.append("\(children.children) children in \(children.families ?? 0) families")
        }
        if let flags = data.flags { parts.append("\(flags.flagsTotal) flags") }
        return ReportDocument(html: html, summary: parts.joined(separator: ", "))
    }
}

/// The page: layout and figures. Pure: data in, markup out.
struct ReportPage {
    let data: ReportData

    // MARK: Page

    func render() -> String {
        let title = "familyconnect report, \(data.generatedAt)"
        let head = Markup.element(
            "head", [:],
            [
                .void("meta", ["charset": "utf-8"]),
                .void("meta", ["name": "viewport", "content": "width=device-width, initial-scale=1"]),
                .element("title", text: title),
                .element("style", [:], [Self.style]),
            ])
        var main: [Markup] = []
        main.append(feedsSection())
        main.append(matchingSection())
        main.append(childrenSection())
        main.append(flagsSection())
        let body = Markup.element(
            "body", [:],
            [
                header(),
                .element("main", [:], main),
                .element(
                    "footer", [:],
                    [
                        .element(
                            "p", ["class": "note"],
                            text:
                                "Counts and ids only: this report holds no names, dates of birth, addresses, postcodes or NHS numbers. "
                                + "Every chart's numbers are in the table beside it.")
                    ]),
            ])
        return "<!DOCTYPE html>\n" + Markup.element("html", ["lang": "en-GB"], [head, body]).html + "\n"
    }

    func header() -> Markup {
        var notes = "Generated \(data.generatedAt) (UK time) from the familyconnect database."
        if let since = data.since {
            notes +=
                " Figures over time start on \(since.iso8601); children, families, the match model, links and the review queue are as they are now."
        } else {
            notes += " Figures over time cover everything loaded so far."
        }
        var tiles: [(String, String)] = []
        if let feeds = data.feeds {
            tiles.append(("Feed batches", ReportFormat.count(feeds.batches.count)))
            tiles.append(("Rows loaded", ReportFormat.count(feeds.batches.map(\.loaded).reduce(0, +))))
            tiles.append(("Rows quarantined", ReportFormat.count(feeds.batches.map(\.quarantined).reduce(0, +))))
        }
        if let children = data.children {
            tiles.append(("Children", ReportFormat.count(children.children)))
            if let families = children.families { tiles.append(("Families", ReportFormat.count(families))) }
        }
        if let matching = data.matching {
            tiles.append(("Open review pairs", ReportFormat.count(matching.reviewByStatus["open"] ?? 0)))
        }
        if let flags = data.flags {
            let open = Self.openStatuses.reduce(0) { $0 + (flags.byStatus[$1] ?? 0) }
            tiles.append(("Open flags", ReportFormat.count(open)))
        }
        return Markup.element(
            "header", [:],
            [
                .element("h1", text: "familyconnect: feeds, matching, children and early-help flags"),
                .element("p", ["class": "lede"], text: notes),
                .element(
                    "ul", ["class": "tiles", "aria-label": "Key figures"],
                    tiles.map {
                        .element("li", ["class": "tile"], [.element("span", text: $0.0), .element("b", text: $0.1)])
                    }),
                .element(
                    "nav", ["aria-label": "Sections"],
                    [
                        .element(
                            "ul", [:],
                            [
                                ("feeds", "1. Feeds"), ("matching", "2. Matching"),
                                ("children", "3. Children and families"), ("flags", "4. Flags"),
                            ]
                            .map { .element("li", [:], [.element("a", ["href": "#\($0.0)"], text: $0.1)]) })
                    ]),
            ])
    }

    static let openStatuses = ["new", "exported", "acknowledged"]

    // MARK: Building blocks

    struct Column {
        var title: String
        var numeric: Bool
        init(_ title: String, numeric: Bool = true) {
            self.title = title
            self.numeric = numeric
        }
    }

    /// A data table; the first column heads each row.
    func table(id: String, caption: String, columns: [Column], rows: [[String]]) -> Markup {
        table(id: id, caption: caption, columns: columns, groups: [(nil, rows)])
    }

    /// A data table in row groups, each under a heading row (a feed, a field) spanning the table.
    func table(id: String, caption: String, columns: [Column], groups: [(String?, [[String]])]) -> Markup {
        let head = Markup.element(
            "thead", [:],
            [
                .element(
                    "tr", [:],
                    columns.map { .element("th", ["scope": "col", "class": $0.numeric ? "n" : "t"], text: $0.title) })
            ])
        let bodies = groups.map { title, rows -> Markup in
            var trs: [Markup] = []
            if let title {
                trs.append(
                    .element(
                        "tr", ["class": "group"],
                        [
                            .element(
                                "th", ["scope": "rowgroup", "colspan": String(columns.count), "class": "t"], text: title
                            )
                        ]))
            }
            for row in rows {
                trs.append(
                    .element(
                        "tr", [:],
                        row.enumerated().map { index, cell in
                            let numeric = index < columns.count && columns[index].numeric
                            return index == 0
                                ? .element("th", ["scope": "row", "class": numeric ? "n" : "t"], text: cell)
                                : .element("td", ["class": numeric ? "n" : "t"], text: cell)
                        }))
            }
            return .element("tbody", [:], trs)
        }
        return .element(
            "div", ["class": "table-wrap", "tabindex": "0", "role": "region", "aria-label": caption],
            [.element("table", ["id": id], [.element("caption", text: caption), head] + bodies)])
    }

    /// A figure: a plain title, notes, the chart(s) and the table beside them.
    func figure(id: String, title: String, notes: [String] = [], graphic: [Markup], table: Markup) -> Markup {
        .element(
            "figure", ["class": "panel", "id": id, "aria-labelledby": "\(id)-h"],
            [.element("h3", ["id": "\(id)-h"], text: title)] + notes.map { .element("p", ["class": "note"], text: $0) }
                + [.element("div", ["class": "pair"], [.element("div", ["class": "graphic"], graphic), table])])
    }

    /// Small multiples: one titled panel per item in a grid.
    func multiples(_ panels: [(String, Markup)], wide: Bool = false) -> Markup {
        .element(
            "div", ["class": wide ? "multiples wide" : "multiples"],
            panels.map { .element("div", ["class": "multiple"], [.element("h4", text: $0.0), $0.1]) })
    }

    func section(id: String, title: String, intro: String, _ content: [Markup]) -> Markup {
        .element(
            "section", ["id": id, "aria-labelledby": "\(id)-h2"],
            [.element("h2", ["id": "\(id)-h2"], text: title), .element("p", ["class": "intro"], text: intro)] + content)
    }

    func missing(_ what: String) -> Markup {
        .element(
            "p", ["class": "note"],
            text: "No \(what) in the database yet (its tables are missing: run familyconnect migrate).")
    }

    func empty(_ text: String) -> Markup { .element("p", ["class": "empty"], text: text) }

    /// The prior and the bands it sets, in words (models stored before the prior have none).
    static func priorNote(_ model: ReportData.Matching.Model) -> String {
        guard let prior = model.prior, let link = model.linkProbability, let review = model.reviewProbability else {
            return ""
        }
        return
            " Prior: two records drawn at random are one child with chance \(String(format: "%.3g", prior)); a pair is linked at a "
            + "match probability of \(String(format: "%.2f", link)) or more (\(ReportFormat.bits(model.upper))) and reviewed from "
            + "\(String(format: "%.2f", review)) (\(ReportFormat.bits(model.lower))): the bits a band needs grow with the population."
    }

    static func slug(_ text: String) -> String {
        String(
            text.lowercased().unicodeScalars.map {
                CharacterSet.alphanumerics.contains($0) && $0.isASCII ? Character($0) : "-"
            })
    }

    // MARK: 1. Feeds

    func feedsSection() -> Markup {
        let intro =
            "What each partner sent: every file is one batch, its rows either loaded or quarantined with a reason."
        guard let feeds = data.feeds else {
            return section(id: "feeds", title: "1. Feeds", intro: intro, [missing("feed batches")])
        }
        guard !feeds.feedNames.isEmpty else {
            return section(id: "feeds", title: "1. Feeds", intro: intro, [empty("No batches loaded in this period.")])
        }
        var content: [Markup] = []

        // Summary per feed.
        let summaryRows = feeds.feedNames.map { feed -> [String] in
            let batches = feeds.batches.filter { $0.feed == feed }
            let read = batches.map(\.read).reduce(0, +)
            let quarantined = batches.map(\.quarantined).reduce(0, +)
            return [
                feed, ReportFormat.count(batches.count), ReportFormat.count(read),
                ReportFormat.count(batches.map(\.loaded).reduce(0, +)),
                ReportFormat.count(quarantined), ReportFormat.percent(quarantined, of: read),
                ReportFormat.count(feeds.refused[feed] ?? 0),
                batches.last?.loadedOn ?? "–",
            ]
        }
        content.append(
            .element(
                "div", ["class": "panel"],
                [
                    .element("h3", text: "Each feed in total"),
                    table(
                        id: "t-feed-totals", caption: "Batches and rows per feed",
                        columns: [
                            Column("Feed", numeric: false), Column("Batches"), Column("Rows read"),
                            Column("Rows loaded"),
                            Column("Rows quarantined"), Column("Quarantined %"), Column("Files refused whole"),
                            Column("Last loaded", numeric: false),
                        ],
                        rows: summaryRows),
                ]))

        // Rows per batch, and the quarantined share per batch.
        let withBatches = feeds.feedNames.filter { feed in feeds.batches.contains { $0.feed == feed } }
        var rowPanels: [(String, Markup)] = []
        var sharePanels: [(String, Markup)] = []
        let maxShare = feeds.batches.map { $0.read > 0 ? Double($0.quarantined) * 100 / Double($0.read) : 0 }.max() ?? 0
        for feed in withBatches {
            let batches = feeds.batches.filter { $0.feed == feed }
            let labels = batches.map(\.loadedOn)
            rowPanels.append(
                (
                    feed,
                    Charts.columns(
                        id: "c-rows-\(Self.slug(feed))", title: "Rows loaded and quarantined per batch, \(feed)",
                        description: "The numbers are in the table 'Rows per batch' beside the charts.",
                        categories: labels,
                        series: [
                            ChartSeries(
                                name: "loaded", colour: Palette.blue, values: batches.map { Double($0.loaded) }),
                            ChartSeries(
                                name: "quarantined", colour: Palette.vermillion,
                                values: batches.map { Double($0.quarantined) }),
                        ], stacked: true, width: 310, height: 140, legend: false)
                ))
            sharePanels.append(
                (
                    feed,
                    Charts.columns(
                        id: "c-share-\(Self.slug(feed))", title: "Share of rows quarantined per batch, \(feed)",
                        description: "The numbers are in the table 'Rows per batch' beside the charts.",
                        categories: labels,
                        series: [
                            ChartSeries(
                                name: "quarantined", colour: Palette.vermillion,
                                values: batches.map { $0.read > 0 ? Double($0.quarantined) * 100 / Double($0.read) : 0 }
                            )
                        ],
                        maximum: max(maxShare, 1), width: 310, height: 100, yLabel: "% of rows", percent: true)
                ))
        }
        let batchGroups = withBatches.map { feed -> (String?, [[String]]) in
            (
                feed,
                feeds.batches.filter { $0.feed == feed }.map { batch in
                    [
                        String(batch.id), batch.loadedOn, ReportFormat.count(batch.read),
                        ReportFormat.count(batch.loaded),
                        ReportFormat.count(batch.quarantined), ReportFormat.percent(batch.quarantined, of: batch.read),
                    ]
                }
            )
        }
        content.append(
            figure(
                id: "fig-feed-batches",
                title: "Rows loaded (blue) and quarantined (red-orange) in each batch, one panel per feed",
                notes: [
                    "Each bar is one file, dated by when it was loaded. Each panel has its own scale. Below: the share of each batch's rows "
                        + "that were quarantined, on one scale for all feeds, so a partner's extract going bad stands out."
                ],
                graphic: [
                    Charts.legendOnly([
                        ChartSeries(name: "loaded", colour: Palette.blue, values: []),
                        ChartSeries(name: "quarantined", colour: Palette.vermillion, values: []),
                    ]),
                    multiples(rowPanels),
                    .element("h4", ["class": "sub"], text: "Share of rows quarantined in each batch"),
                    multiples(sharePanels),
                ],
                table: table(
                    id: "t-feed-batches", caption: "Rows per batch",
                    columns: [
                        Column("Batch"), Column("Loaded on"), Column("Rows read"), Column("Loaded"),
                        Column("Quarantined"),
                        Column("Quarantined %"),
                    ],
                    groups: batchGroups)))

        // Quarantine reasons.
        let reasonFeeds = feeds.feedNames.filter { feed in feeds.reasons.contains { $0.feed == feed } }
        let reasonPanels = reasonFeeds.map { feed -> (String, Markup) in
            let reasons = feeds.reasons.filter { $0.feed == feed }
            return (
                feed,
                Charts.bars(
                    id: "c-reasons-\(Self.slug(feed))", title: "Most common quarantine reasons, \(feed)",
                    description: "The numbers are in the table 'Quarantine reasons' beside the charts.",
                    labels: reasons.map { "\($0.field): \($0.reason)" }, values: reasons.map { Double($0.rows) },
                    colour: Palette.vermillion,
                    width: 640)
            )
        }
        content.append(
            figure(
                id: "fig-quarantine-reasons", title: "Why rows were quarantined: the most common reasons in each feed",
                notes: [
                    "The field at fault and what was wrong with it, counted over the period's batches (the value itself is never recorded). "
                        + "Up to \(ReportReader.reasonsPerFeed) reasons per feed; the rest are added up in 'all other reasons'."
                ],
                graphic: reasonPanels.isEmpty
                    ? [empty("No rows were quarantined in this period.")] : [multiples(reasonPanels, wide: true)],
                table: table(
                    id: "t-quarantine-reasons", caption: "Quarantine reasons",
                    columns: [Column("Field", numeric: false), Column("Reason", numeric: false), Column("Rows")],
                    groups: reasonFeeds.map { feed in
                        (
                            feed,
                            feeds.reasons.filter { $0.feed == feed }.map {
                                [$0.field, $0.reason, ReportFormat.count($0.rows)]
                            }
                        )
                    })))

        // Field quality per batch: one heat map per feed, complete and valid side by side for each batch.
        var qualityPanels: [(String, Markup)] = []
        for feed in withBatches {
            let quality = feeds.quality.filter { $0.feed == feed }
            guard !quality.isEmpty else { continue }
            let batchIDs = Array(Set(quality.map(\.batchID))).sorted()
            let fields = Array(Set(quality.map(\.field))).sorted()
            var columns: [Charts.HeatColumn] = []
            for batch in batchIDs {
                columns.append(Charts.HeatColumn(group: "batch \(batch)", label: "complete"))
                columns.append(Charts.HeatColumn(group: "batch \(batch)", label: "valid"))
            }
            let shares = fields.map { field -> [Double?] in
                batchIDs.flatMap { batch -> [Double?] in
                    guard let cell = quality.first(where: { $0.field == field && $0.batchID == batch }), cell.rows > 0
                    else { return [nil, nil] }
                    return [Double(cell.present) / Double(cell.rows), Double(cell.valid) / Double(cell.rows)]
                }
            }
            qualityPanels.append(
                (
                    feed,
                    Charts.heatmap(
                        id: "c-quality-\(Self.slug(feed))",
                        title: "Share of rows with each field complete and valid, by batch, \(feed)",
                        description: "The numbers are in the table 'Field quality per batch' beside the charts.",
                        rows: fields, columns: columns,
                        shares: shares, width: 310)
                ))
        }
        // The table in groups of one batch each, in the order of the heat maps.
        var qualityGroups: [(String?, [[String]])] = []
        for feed in withBatches {
            let quality = feeds.quality.filter { $0.feed == feed }
            for batch in Array(Set(quality.map(\.batchID))).sorted() {
                qualityGroups.append(
                    (
                        "\(feed), batch \(batch)",
                        quality.filter { $0.batchID == batch }.map {
                            [
                                $0.field, ReportFormat.count($0.rows), ReportFormat.count($0.present),
                                ReportFormat.count($0.valid),
                                ReportFormat.percent($0.present, of: $0.rows),
                                ReportFormat.percent($0.valid, of: $0.rows),
                            ]
                        }
                    ))
            }
        }
        content.append(
            figure(
                id: "fig-quality",
                title:
                    "Field quality in each batch: the share of rows with each field complete, and valid, one panel per feed",
                notes: [
                    "For each batch (the latest \(ReportReader.qualityBatches) per feed at most) two columns: complete (the field was not blank) "
                        + "and valid (it also passed its check: an NHS number's check digit, a date in the feed's format), as shares of the batch's rows. "
                        + "Darker is better; a column turning pale is an extract going bad."
                ],
                graphic: qualityPanels.isEmpty
                    ? [empty("No field quality recorded in this period.")] : [multiples(qualityPanels)],
                table: table(
                    id: "t-quality", caption: "Field quality per batch",
                    columns: [
                        Column("Field", numeric: false), Column("Rows"), Column("Complete"), Column("Valid"),
                        Column("Complete %"),
                        Column("Valid %"),
                    ],
                    groups: qualityGroups)))
        return section(id: "feeds", title: "1. Feeds", intro: intro, content)
    }

    // MARK: 2. Matching

    func matchingSection() -> Markup {
        let intro =
            "How records were linked into children: by an identifier, by the match model's weight, or by a person's review decision."
        guard let matching = data.matching else {
            return section(id: "matching", title: "2. Matching", intro: intro, [missing("links or match model")])
        }
        var content: [Markup] = []

        // Weight distribution.
        let links = matching.linkWeights.values.reduce(0, +)
        let reviews = matching.reviewWeights.values.reduce(0, +)
        let bins = Array(matching.linkWeights.keys) + Array(matching.reviewWeights.keys)
        let upper = matching.model?.upper
        let lower = matching.model?.lower
        var population =
            "Population: the \(ReportFormat.count(links)) pairs the model linked (probabilistic links) and the "
            + "\(ReportFormat.count(reviews)) pairs sent to clerical review (open, accepted or rejected), with their weights as stored. "
            + "Pairs linked by NHS number or UPN, and compared pairs that scored below the review threshold and were not linked, are not stored with a weight and are not shown."
        if let run = matching.latestRun {
            population +=
                " The latest resolution run (\(run.mode), \(run.finishedOn)) compared \(ReportFormat.count(run.pairsCompared)) pairs of \(ReportFormat.count(run.records)) records."
        }
        if let low = bins.min(), let high = bins.max() {
            // Whole bits from just below the review threshold (or the lowest weight) to past the highest.
            let start = min(low, Int(floor(lower ?? Double(low))) - 1)
            let end = max(high, Int(ceil(upper ?? Double(high)))) + 2
            let range = start..<end
            let series = [
                ChartSeries(
                    name: "linked by the model", colour: Palette.blue,
                    values: range.map { Double(matching.linkWeights[$0] ?? 0) }),
                ChartSeries(
                    name: "sent to review", colour: Palette.orange,
                    values: range.map { Double(matching.reviewWeights[$0] ?? 0) }),
            ]
            var markers: [ChartMarker] = []
            if let lower { markers.append(ChartMarker(value: lower, label: "review from \(ReportFormat.bits(lower))")) }
            if let upper { markers.append(ChartMarker(value: upper, label: "link from \(ReportFormat.bits(upper))")) }
            let rows = range.compactMap { bin -> [String]? in
                let link = matching.linkWeights[bin] ?? 0
                let review = matching.reviewWeights[bin] ?? 0
                guard link + review > 0 else { return nil }
                return ["\(bin) to \(bin + 1)", ReportFormat.count(link), ReportFormat.count(review)]
            }
            content.append(
                figure(
                    id: "fig-weights",
                    title: "Match weights of the pairs the model linked or sent to review, with the two thresholds",
                    notes: [
                        population,
                        "Counts are on a log scale (1, 10, 100, …) so that the few pairs near the thresholds are visible next to the many clear links.",
                    ],
                    graphic: [
                        Charts.histogram(
                            id: "c-weights",
                            title:
                                "Number of pairs by match weight in bits, log scale, with the review and link thresholds",
                            description: "The numbers are in the table 'Pairs by match weight' beside the chart.",
                            start: Double(start), binWidth: 1,
                            series: series, markers: markers, xLabel: "match weight (bits); each bar covers one bit")
                    ],
                    table: table(
                        id: "t-weights", caption: "Pairs by match weight",
                        columns: [
                            Column("Weight (bits)", numeric: false), Column("Linked by the model"),
                            Column("Sent to review"),
                        ], rows: rows)))
        } else {
            content.append(
                figure(
                    id: "fig-weights",
                    title: "Match weights of the pairs the model linked or sent to review, with the two thresholds",
                    notes: [population],
                    graphic: [empty("No pair has been linked by the model or sent to review yet.")],
                    table: table(
                        id: "t-weights", caption: "Pairs by match weight",
                        columns: [
                            Column("Weight (bits)", numeric: false), Column("Linked by the model"),
                            Column("Sent to review"),
                        ], rows: [])))
        }

        // The model.
        if let model = matching.model {
            let fields = model.levels.reduce(into: [String]()) { if !$0.contains($1.field) { $0.append($1.field) } }
            let strongest = model.levels.map { abs($0.weight) }.max() ?? 1
            let extent = min(max(strongest, 1), 24)
            let panels = fields.map { field -> (String, Markup) in
                let levels = model.levels.filter { $0.field == field }
                return (
                    Self.words(field),
                    Charts.diverging(
                        id: "c-model-\(Self.slug(field))",
                        title: "Match weight of each comparison level, \(Self.words(field))",
                        description: "m, u and the weights are in the table 'Match model' beside the charts.",
                        labels: levels.map { Self.words($0.level) }, values: levels.map(\.weight), extent: extent,
                        width: 310)
                )
            }
            content.append(
                figure(
                    id: "fig-model",
                    title: "What each comparison level is worth: the model's match weight in bits, one panel per field",
                    notes: [
                        "Model \(model.id), estimated \(model.createdOn) (\(ReportFormat.count(model.emIterations)) EM iterations over "
                            + "\(ReportFormat.count(model.pairsUsed)) pairs). m is the chance of the level when two records are the same child, u when "
                            + "they are not; the weight is log2(m/u), evidence for a match (blue, right) or against (red-orange, left). A missing value counts 0."
                            + (strongest > extent
                                ? " Bars longer than \(Int(extent)) bits are cut at the edge; the table has every number."
                                : "")
                            + Self.priorNote(model)
                    ],
                    graphic: [multiples(panels)],
                    table: table(
                        id: "t-model", caption: "Match model",
                        columns: [Column("Level", numeric: false), Column("m"), Column("u"), Column("Weight (bits)")],
                        groups: fields.map { field in
                            (
                                Self.words(field),
                                model.levels.filter { $0.field == field }.map {
                                    [
                                        Self.words($0.level), ReportFormat.probability($0.m),
                                        ReportFormat.probability($0.u), ReportFormat.bits($0.weight),
                                    ]
                                }
                            )
                        })))
        } else {
            content.append(empty("No match model stored yet: run familyconnect resolve."))
        }

        // Links by method.
        let deterministic = (matching.linksByMethod["nhs_number"] ?? 0) + (matching.linksByMethod["upn"] ?? 0)
        let probabilistic = matching.linksByMethod["probabilistic"] ?? 0
        let vouched = matching.linksByMethod["vouched_by_incident"] ?? 0
        let vouchedByClaim = matching.linksByMethod["vouched_by_claim"] ?? 0
        let reviewed = matching.linksByMethod["review"] ?? 0
        content.append(
            figure(
                id: "fig-links", title: "How the links holding children together were made",
                notes: [
                    "Deterministic: the same valid NHS number or permanent UPN. Probabilistic: the model's weight at or above the link threshold. "
                        + "Vouched by a police incident: a police record queued for review (only an approximate age, or between the bands), "
                        + "linked because another child "
                        + "named in the same incident shares a home with the child. "
                        + "Vouched by a meals claim: the same rule for a free-school-meals claim row queued between the bands. "
                        + "Review: a data officer decided the two records are the same child."
                ],
                graphic: [
                    Charts.bars(
                        id: "c-links", title: "Links by how they were made",
                        description: "The numbers are in the table 'Links by method' beside the chart.",
                        labels: [
                            "deterministic (identifier)", "probabilistic (match model)", "vouched by a police incident",
                            "vouched by a meals claim", "decided by review",
                        ],
                        values: [
                            Double(deterministic), Double(probabilistic), Double(vouched), Double(vouchedByClaim),
                            Double(reviewed),
                        ], colour: Palette.green,
                        labelWidth: 190)
                ],
                table: table(
                    id: "t-links", caption: "Links by method",
                    columns: [Column("Method", numeric: false), Column("Links")],
                    rows: [
                        ["deterministic (identifier)", ReportFormat.count(deterministic)],
                        ["  of which NHS number", ReportFormat.count(matching.linksByMethod["nhs_number"] ?? 0)],
                        ["  of which UPN", ReportFormat.count(matching.linksByMethod["upn"] ?? 0)],
                        ["probabilistic (match model)", ReportFormat.count(probabilistic)],
                        ["vouched by a police incident", ReportFormat.count(vouched)],
                        ["vouched by a meals claim", ReportFormat.count(vouchedByClaim)],
                        ["decided by review", ReportFormat.count(reviewed)],
                    ])))

        // Review queue.
        let open = matching.reviewByStatus["open"] ?? 0
        var queueNote = "\(ReportFormat.count(open)) pairs wait for a decision"
        if let oldest = matching.oldestOpenDays, open > 0 {
            queueNote += "; the oldest has waited \(ReportFormat.count(oldest)) days"
        }
        queueNote +=
            ". Decided so far: \(ReportFormat.count(matching.reviewByStatus["accepted"] ?? 0)) accepted (same child), "
            + "\(ReportFormat.count(matching.reviewByStatus["rejected"] ?? 0)) rejected (different children); "
            + "\(ReportFormat.count(matching.reviewByStatus["superseded"] ?? 0)) superseded by a later run."
        content.append(
            figure(
                id: "fig-review-age", title: "The clerical review queue: open pairs by how long they have waited",
                notes: [queueNote],
                graphic: [
                    Charts.columns(
                        id: "c-review-age", title: "Open review pairs by age",
                        description: "The numbers are in the table 'Review queue' beside the chart.",
                        categories: ReportData.Matching.ageBands,
                        series: [
                            ChartSeries(
                                name: "open pairs", colour: Palette.orange, values: matching.openByAge.map(Double.init))
                        ],
                        width: 640, height: 160)
                ],
                table: table(
                    id: "t-review", caption: "Review queue",
                    columns: [Column("Pairs", numeric: false), Column("Count")],
                    rows: ReportData.Matching.ageBands.enumerated().map {
                        ["open, waiting \($0.element)", ReportFormat.count(matching.openByAge[$0.offset])]
                    }
                        + ["open", "accepted", "rejected", "superseded"].map {
                            ["\($0) (all)", ReportFormat.count(matching.reviewByStatus[$0] ?? 0)]
                        })))
        if !matching.openByReason.isEmpty {
            content.append(
                figure(
                    id: "fig-review-reasons", title: "Why the open pairs were sent to review",
                    graphic: [
                        Charts.bars(
                            id: "c-review-reasons", title: "Open review pairs by reason",
                            description: "The numbers are in the table 'Open review pairs by reason' beside the chart.",
                            labels: matching.openByReason.map(\.reason),
                            values: matching.openByReason.map { Double($0.pairs) }, colour: Palette.orange)
                    ],
                    table: table(
                        id: "t-review-reasons", caption: "Open review pairs by reason",
                        columns: [Column("Reason", numeric: false), Column("Pairs")],
                        rows: matching.openByReason.map { [$0.reason, ReportFormat.count($0.pairs)] })))
        }
        return section(id: "matching", title: "2. Matching", intro: intro, content)
    }

    /// "date_of_birth" → "date of birth".
    static func words(_ code: String) -> String { code.replacingOccurrences(of: "_", with: " ") }

    // MARK: 3. Children and families

    func childrenSection() -> Markup {
        let intro =
            "Children as the resolver sees them now (one stable id each), and the families they are grouped into."
        guard let children = data.children else {
            return section(id: "children", title: "3. Children and families", intro: intro, [missing("children")])
        }
        var content: [Markup] = []
        let partnerCounts = (1...max(4, children.byPartners.keys.max() ?? 4)).map { ($0, children.byPartners[$0] ?? 0) }
        content.append(
            figure(
                id: "fig-partners", title: "Children by how many partners hold a record of them",
                notes: [
                    "\(ReportFormat.count(children.children)) children with \(ReportFormat.count(children.records)) records. A partner is one of the "
                        + "four feeds (health visiting, school attendance, free school meals, police); a child known to more partners is where joining up the data adds most."
                ],
                graphic: [
                    Charts.columns(
                        id: "c-partners", title: "Number of children by number of partners with a record",
                        description: "The numbers are in the table 'Children by partners' beside the chart.",
                        categories: partnerCounts.map { $0.0 == 1 ? "1 partner" : "\($0.0) partners" },
                        series: [
                            ChartSeries(
                                name: "children", colour: Palette.blue, values: partnerCounts.map { Double($0.1) })
                        ], width: 640, height: 180)
                ],
                table: table(
                    id: "t-partners", caption: "Children by partners",
                    columns: [Column("Partners"), Column("Children"), Column("Share")],
                    rows: partnerCounts.map {
                        [String($0.0), ReportFormat.count($0.1), ReportFormat.percent($0.1, of: children.children)]
                    }
                        + [
                            [
                                "all", ReportFormat.count(children.children),
                                ReportFormat.percent(children.children, of: children.children),
                            ]
                        ])))
        if let families = children.families {
            let largest = children.familySizes.keys.max() ?? 1
            let sizes = (1...max(largest, 4)).map { ($0, children.familySizes[$0] ?? 0) }
            var rows = sizes.map { [String($0.0), ReportFormat.count($0.1)] }
            rows.append(["0 (expecting only)", ReportFormat.count(children.familiesOnlyExpecting)])
            rows.append(["all families", ReportFormat.count(families)])
            content.append(
                figure(
                    id: "fig-family-sizes", title: "Families by number of children",
                    notes: [
                        "\(ReportFormat.count(families)) families now (merged and retired family ids not counted). "
                            + "\(ReportFormat.count(children.familiesExpecting)) include an expectant parent; \(ReportFormat.count(children.familiesOnlyExpecting)) of them have no child record yet."
                    ],
                    graphic: [
                        Charts.columns(
                            id: "c-family-sizes", title: "Number of families by number of children",
                            description:
                                "The numbers are in the table 'Families by number of children' beside the chart.",
                            categories: sizes.map { String($0.0) },
                            series: [
                                ChartSeries(name: "families", colour: Palette.blue, values: sizes.map { Double($0.1) })
                            ], width: 640, height: 190,
                            xLabel: "children in the family")
                    ],
                    table: table(
                        id: "t-family-sizes", caption: "Families by number of children",
                        columns: [Column("Children", numeric: false), Column("Families")], rows: rows)))
        } else {
            content.append(missing("families"))
        }
        return section(id: "children", title: "3. Children and families", intro: intro, content)
    }

    // MARK: 4. Flags

    func flagsSection() -> Markup {
        let intro =
            "Families flagged for early-help outreach: each flag names its rule and the indicators behind it, and a person reviews it before anyone is contacted."
        guard let flags = data.flags else {
            return section(id: "flags", title: "4. Flags", intro: intro, [missing("flags")])
        }
        var content: [Markup] = []
        let steps: [(String, String, KeyPath<ReportData.Flags.Month, Int>)] = [
            ("raised", Palette.blue, \.raised), ("exported", Palette.sky, \.exported),
            ("acknowledged", Palette.orange, \.acknowledged),
            ("closed", Palette.purple, \.closed),
        ]
        content.append(
            figure(
                id: "fig-flag-months", title: "Flags raised, exported to teams, acknowledged and closed, per month",
                notes: [
                    "Each step counted in the month it happened (UK time). Now: "
                        + ReportData.Flags.statuses.map { "\(ReportFormat.count(flags.byStatus[$0] ?? 0)) \($0)" }
                        .joined(separator: ", ") + "."
                ],
                graphic: flags.months.isEmpty
                    ? [empty("No flag was raised in this period.")]
                    : [
                        Charts.columns(
                            id: "c-flag-months", title: "Flag lifecycle steps per month",
                            description: "The numbers are in the table 'Flag steps per month' beside the chart.",
                            categories: flags.months.map(\.month),
                            series: steps.map { step in
                                ChartSeries(
                                    name: step.0, colour: step.1,
                                    values: flags.months.map { Double($0[keyPath: step.2]) })
                            },
                            width: 640, height: 210)
                    ],
                table: table(
                    id: "t-flag-months", caption: "Flag steps per month",
                    columns: [
                        Column("Month", numeric: false), Column("Raised"), Column("Exported"), Column("Acknowledged"),
                        Column("Closed"),
                    ],
                    rows: flags.months.map {
                        [
                            $0.month, ReportFormat.count($0.raised), ReportFormat.count($0.exported),
                            ReportFormat.count($0.acknowledged), ReportFormat.count($0.closed),
                        ]
                    })))

        content.append(
            figure(
                id: "fig-flag-outcomes", title: "Flags by Supporting Families outcome area of their evidence",
                notes: [
                    "A flag is counted once in each outcome area its evidence falls in, so the areas add up to more than the \(ReportFormat.count(flags.flagsTotal)) flags."
                ],
                graphic: [
                    Charts.bars(
                        id: "c-flag-outcomes", title: "Number of flags with evidence in each outcome area",
                        description: "The numbers are in the table 'Flags by outcome area' beside the chart.",
                        labels: flags.byOutcome.map { "\($0.outcome). \($0.name)" },
                        values: flags.byOutcome.map { Double($0.flags) }, colour: Palette.blue,
                        labelWidth: 290)
                ],
                table: table(
                    id: "t-flag-outcomes", caption: "Flags by outcome area",
                    columns: [Column("Outcome"), Column("Area", numeric: false), Column("Flags")],
                    rows: flags.byOutcome.map { [String($0.outcome), $0.name, ReportFormat.count($0.flags)] })))

        content.append(
            figure(
                id: "fig-flag-teams", title: "Flags by outreach team, and where each stands",
                notes: ["The team covering the family's home (or a child's school, or the fallback team)."],
                graphic: flags.byTeam.isEmpty
                    ? [empty("No flags in this period.")]
                    : [
                        Charts.columns(
                            id: "c-flag-teams", title: "Flags per team by status",
                            description: "The numbers are in the table 'Flags by team' beside the chart.",
                            categories: flags.byTeam.map(\.team),
                            series: zip(
                                ReportData.Flags.statuses, [Palette.blue, Palette.sky, Palette.orange, Palette.purple]
                            ).map { status, colour in
                                ChartSeries(
                                    name: status, colour: colour,
                                    values: flags.byTeam.map { Double($0.byStatus[status] ?? 0) })
                            }, stacked: true, width: 640, height: 210)
                    ],
                table: table(
                    id: "t-flag-teams", caption: "Flags by team",
                    columns: [Column("Team", numeric: false)] + ReportData.Flags.statuses.map { Column($0.capitalized) }
                        + [Column("All")],
                    rows: flags.byTeam.map { team in
                        ["\(team.name) (\(team.team))"]
                            + ReportData.Flags.statuses.map { ReportFormat.count(team.byStatus[$0] ?? 0) }
                            + [ReportFormat.count(team.total)]
                    })))

        content.append(
            figure(
                id: "fig-flag-rules", title: "Flags by the rule that raised them",
                graphic: flags.byRule.isEmpty
                    ? [empty("No flags in this period.")]
                    : [
                        Charts.bars(
                            id: "c-flag-rules", title: "Number of flags raised by each rule",
                            description: "The numbers are in the table 'Flags by rule' beside the chart.",
                            labels: flags.byRule.map { Self.words($0.rule) },
                            values: flags.byRule.map { Double($0.flags) }, colour: Palette.blue,
                            labelWidth: 290)
                    ],
                table: table(
                    id: "t-flag-rules", caption: "Flags by rule",
                    columns: [Column("Rule", numeric: false), Column("Flags")],
                    rows: flags.byRule.map { [$0.rule, ReportFormat.count($0.flags)] })))

        content.append(
            figure(
                id: "fig-suppressed",
                title: "Families not flagged because statutory services already know them, by reason",
                notes: [
                    "A family that met a rule but is known to children's social care is not flagged; the suppression is recorded. "
                        + "Known from the feed: a child's latest record says so. Statutory list: the family or a child is on the council's list."
                ],
                graphic: flags.suppressions.isEmpty
                    ? [empty("No family was suppressed in this period.")]
                    : [
                        Charts.bars(
                            id: "c-suppressed", title: "Suppressed families by basis and rule",
                            description: "The numbers are in the table 'Suppressed families' beside the chart.",
                            labels: flags.suppressions.map { "\(Self.basisName($0.basis)): \(Self.words($0.rule))" },
                            values: flags.suppressions.map { Double($0.families) }, colour: Palette.purple)
                    ],
                table: table(
                    id: "t-suppressed", caption: "Suppressed families",
                    columns: [Column("Why", numeric: false), Column("Rule", numeric: false), Column("Families")],
                    rows: flags.suppressions.map {
                        [Self.basisName($0.basis), $0.rule, ReportFormat.count($0.families)]
                    }
                        + [["all", "", ReportFormat.count(flags.suppressedFamilies)]])))
        return section(id: "flags", title: "4. Flags", intro: intro, content)
    }

    static func basisName(_ basis: String) -> String {
        switch basis {
        case "feed_fact": return "known from the feed"
        case "statutory_list": return "on the statutory list"
        default: return words(basis)
        }
    }

    // MARK: Style

    static let style = Markup.constant(
        """
        :root { color-scheme: light; }
        * { box-sizing: border-box; }
        body { margin: 0; background: #f6f6f4; color: #1f1f1f;
               font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
        header, main, footer { max-width: 1260px; margin: 0 auto; padding: 0 20px; }
        h1 { font-size: 1.55rem; margin: 22px 0 4px; }
        h2 { font-size: 1.3rem; margin: 34px 0 4px; padding-bottom: 4px; border-bottom: 3px solid #0072B2; }
        h3 { font-size: 1.02rem; margin: 0 0 4px; }
        h4 { font-size: .86rem; margin: 0 0 2px; color: #333; }
        h4.sub { margin: 14px 0 4px; }
        .lede, .intro { margin: 4px 0 10px; max-width: 80ch; }
        .note { margin: 0 0 10px; color: #3d3d3d; font-size: .88rem; max-width: 95ch; }
        .empty { color: #3d3d3d; font-style: italic; }
        nav ul { list-style: none; padding: 0; margin: 6px 0 0; display: flex; flex-wrap: wrap; gap: 6px 18px; }
        nav a { color: #005a8c; }
        .tiles { list-style: none; padding: 0; margin: 12px 0; display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 10px; }
        .tile { background: #fff; border: 1px solid #d9d9d9; border-left: 5px solid #0072B2; padding: 7px 12px; }
        .tile span { display: block; font-size: .82rem; color: #3d3d3d; }
        .tile b { font-size: 1.35rem; font-variant-numeric: tabular-nums; }
        figure { margin: 0; }
        .panel { background: #fff; border: 1px solid #d9d9d9; border-radius: 6px; padding: 14px 16px; margin: 14px 0; }
        .pair { display: grid; grid-template-columns: minmax(0, 11fr) minmax(0, 9fr); gap: 22px; align-items: start; }
        .multiples { display: grid; grid-template-columns: repeat(auto-fill, minmax(290px, 1fr)); gap: 12px 18px; }
        .multiples.wide { grid-template-columns: 1fr; }
        svg.chart, svg.legend { display: block; max-width: 100%; height: auto; font-family: inherit; }
        .table-wrap { max-height: 24rem; overflow: auto; border: 1px solid #e1e1e1; }
        table { border-collapse: collapse; width: 100%; font-size: .8rem; font-variant-numeric: tabular-nums; }
        caption { text-align: left; font-weight: 600; padding: 5px 8px; background: #fafafa; }
        th, td { padding: 3px 7px; border-bottom: 1px solid #ececec; text-align: left; vertical-align: top; }
        th.n, td.n { text-align: right; white-space: nowrap; }
        tr.group th { background: #f4f8fb; font-weight: 600; padding-top: 6px; }
        thead th { position: sticky; top: 0; background: #efefef; white-space: normal; vertical-align: bottom; }
        tbody th { font-weight: normal; }
        footer { padding-bottom: 30px; }
        @media (max-width: 900px) { .pair { grid-template-columns: 1fr; } }
        @media print { .table-wrap { max-height: none; overflow: visible; } .panel { break-inside: avoid; } body { background: #fff; } }
        """)
}
