import Foundation

/// Colours from the Okabe–Ito palette, told apart by people with any common colour-vision
/// deficiency; every chart also has its numbers in a table, so no colour is the only carrier.
enum Palette {
    static let blue = "#0072B2"
    static let orange = "#E69F00"
    static let vermillion = "#D55E00"
    static let green = "#009E73"
    static let sky = "#56B4E9"
    static let purple = "#CC79A7"
    static let ink = "#1f1f1f"
    static let axis = "#595959"
    static let grid = "#e3e3e3"

    /// A sequential light-to-dark blue for shares from 0 to 1, and the text colour readable on it.
    static func sequential(_ share: Double) -> (fill: String, text: String) {
        let t = min(max(share, 0), 1)
        let light = (r: 247.0, g: 251.0, b: 255.0)
        let dark = (r: 8.0, g: 48.0, b: 107.0)
        func mix(_ a: Double, _ b: Double) -> Int { Int((a + (b - a) * t).rounded()) }
        let fill = String(format: "#%02X%02X%02X", mix(light.r, dark.r), mix(light.g, dark.g), mix(light.b, dark.b))
        return (fill, t > 0.55 ? "#ffffff" : ink)
    }
}

/// One named series of values, drawn in one colour.
struct ChartSeries: Sendable {
    var name: String
    var colour: String
    var values: [Double]
}

/// A vertical line drawn across a chart at a value on its x axis (a threshold).
struct ChartMarker: Sendable {
    var value: Double
    var label: String
}

/// Small, dependency-free SVG charts. Every chart is an `<svg role="img">` with a `<title>` and a
/// `<desc>` pointing at the table that holds its numbers; every bar has a `<title>` tooltip with
/// its value. Sizes are in viewBox units; the SVG scales to its container.
enum Charts {
    static let font = 11.5
    static let characterWidth = 6.4

    /// The svg element with its accessible name and description.
    static func svg(
        id: String, title: String, description: String, width: Double, height: Double, _ body: [Markup]
    ) -> Markup {
        Markup.element(
            "svg",
            [
                "xmlns": "http://www.w3.org/2000/svg", "viewBox": "0 0 \(Int(width)) \(Int(height))",
                "width": String(Int(width)),
                "height": String(Int(height)), "role": "img",
                "aria-labelledby": "\(id)-title \(id)-desc", "class": "chart", "font-size": "\(Int(font))",
            ],
            [
                .element("title", ["id": "\(id)-title"], text: title),
                .element("desc", ["id": "\(id)-desc"], text: description),
            ] + body)
    }

    static func text(
        _ value: String, x: Double, y: Double, anchor: String = "start", fill: String = Palette.ink,
        weight: String? = nil,
        size: Double? = nil
    ) -> Markup {
        if let weight {
            return .element(
                "text",
                [
                    "x": f(x), "y": f(y), "text-anchor": anchor, "fill": fill, "font-weight": weight,
                    "font-size": f(size ?? font),
                ],
                text: value)
        }
        return .element(
            "text", ["x": f(x), "y": f(y), "text-anchor": anchor, "fill": fill, "font-size": f(size ?? font)],
            text: value)
    }

    static func line(
        _ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double = 1, dash: String? = nil
    ) -> Markup {
        if let dash {
            return .element(
                "line",
                [
                    "x1": f(x1), "y1": f(y1), "x2": f(x2), "y2": f(y2), "stroke": stroke, "stroke-width": f(width),
                    "stroke-dasharray": dash,
                ])
        }
        return .element(
            "line", ["x1": f(x1), "y1": f(y1), "x2": f(x2), "y2": f(y2), "stroke": stroke, "stroke-width": f(width)])
    }

    static func rect(x: Double, y: Double, width: Double, height: Double, fill: String, tooltip: String) -> Markup {
        .element(
            "rect", ["x": f(x), "y": f(y), "width": f(max(width, 0)), "height": f(max(height, 0)), "fill": fill],
            [.element("title", text: tooltip)])
    }

    static func f(_ value: Double) -> String { ReportFormat.coordinate(value) }

    /// A legend row of coloured squares and names.
    static func legend(_ series: [ChartSeries], x: Double, y: Double) -> [Markup] {
        var out: [Markup] = []
        var cursor = x
        for item in series {
            out.append(
                .element("rect", ["x": f(cursor), "y": f(y - 9), "width": "10", "height": "10", "fill": item.colour]))
            out.append(text(item.name, x: cursor + 14, y: y))
            cursor += 14 + Double(item.name.count) * characterWidth + 16
        }
        return out
    }

    /// A legend on its own, for a set of small multiples that share one: decorative, since every
    /// chart's title and table name what the colours mean.
    static func legendOnly(_ series: [ChartSeries], width: Double = 400) -> Markup {
        .element(
            "svg",
            [
                "xmlns": "http://www.w3.org/2000/svg", "viewBox": "0 0 \(Int(width)) 18", "width": String(Int(width)),
                "height": "18",
                "aria-hidden": "true", "class": "legend", "font-size": "\(Int(font))",
            ],
            legend(series, x: 0, y: 13))
    }

    /// Round tick values from 0 to at least `maximum`.
    static func linearTicks(_ maximum: Double) -> [Double] {
        guard maximum > 0 else { return [0, 1] }
        let rough = maximum / 4
        let magnitude = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        let stepWhole = max(step, 1)  // counts: no fractional ticks
        var ticks: [Double] = []
        var value = 0.0
        while value < maximum + stepWhole * 0.999 {
            ticks.append(value)
            if value >= maximum { break }
            value += stepWhole
        }
        return ticks
    }

    static func tickLabel(_ value: Double) -> String {
        if value >= 1_000_000 { return ReportFormat.count(Int(value / 1_000_000)) + "M" }
        if value >= 10_000 { return ReportFormat.count(Int(value / 1000)) + "k" }
        return ReportFormat.count(Int(value))
    }

    // MARK: Columns (vertical bars, grouped or stacked)

    /// Vertical bars per category: grouped side by side, or stacked. `maximum` fixes the y scale so
    /// small multiples share it.
    static func columns(
        id: String, title: String, description: String, categories: [String], series: [ChartSeries],
        stacked: Bool = false,
        maximum: Double? = nil, width: Double = 560, height: Double = 220, yLabel: String? = nil, xLabel: String? = nil,
        percent: Bool = false, legend: Bool = true
    ) -> Markup {
        let showLegend = legend && series.count > 1
        let top = showLegend ? 30.0 : 12.0
        let left = yLabel == nil ? 46.0 : 56.0
        let right = 12.0
        let bottom = xLabel == nil ? 26.0 : 42.0
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let totals = categories.indices.map { index in
            stacked ? series.reduce(0) { $0 + $1.values[index] } : series.map { $0.values[index] }.max() ?? 0
        }
        let ticks = linearTicks(max(maximum ?? 0, totals.max() ?? 0, 1))
        let maxTick = ticks.last ?? 1
        func y(_ value: Double) -> Double { top + plotHeight - value / maxTick * plotHeight }

        var body: [Markup] = []
        if showLegend { body += Self.legend(series, x: left, y: 14) }
        for tick in ticks {
            body.append(line(left, y(tick), left + plotWidth, y(tick), stroke: Palette.grid))
            body.append(
                text(
                    percent ? "\(Int(tick))%" : tickLabel(tick), x: left - 6, y: y(tick) + 4, anchor: "end",
                    fill: Palette.axis))
        }
        if let xLabel {
            body.append(text(xLabel, x: left + plotWidth / 2, y: height - 6, anchor: "middle", fill: Palette.axis))
        }
        if let yLabel {
            body.append(
                .element(
                    "text",
                    [
                        "x": "0", "y": "0", "transform": "translate(11 \(f(top + plotHeight / 2))) rotate(-90)",
                        "text-anchor": "middle",
                        "fill": Palette.axis,
                    ],
                    text: yLabel))
        }
        let slot = plotWidth / Double(max(categories.count, 1))
        let barArea = min(slot * 0.8, stacked ? 72 : 40 * Double(series.count))
        let barWidth = stacked ? barArea : barArea / Double(max(series.count, 1))
        for (index, category) in categories.enumerated() {
            let start = left + slot * Double(index) + (slot - barArea) / 2
            var base = 0.0
            for (position, item) in series.enumerated() {
                let value = item.values[index]
                guard value > 0 else { continue }
                let shown = percent ? String(format: "%.1f%%", value) : ReportFormat.count(Int(value.rounded()))
                let tooltip = "\(category): \(item.name) \(shown)"
                if stacked {
                    body.append(
                        rect(
                            x: start, y: y(base + value), width: barWidth, height: y(base) - y(base + value),
                            fill: item.colour, tooltip: tooltip))
                    base += value
                } else {
                    body.append(
                        rect(
                            x: start + barWidth * Double(position), y: y(value),
                            width: barWidth - (series.count > 1 ? 1 : 0),
                            height: y(0) - y(value), fill: item.colour, tooltip: tooltip))
                }
            }
        }
        body.append(line(left, y(0), left + plotWidth, y(0), stroke: Palette.axis))
        // Category labels, thinned so they never overlap.
        let longest = Double(categories.map(\.count).max() ?? 1) * characterWidth + 8
        let every = max(1, Int(ceil(longest / slot)))
        for (index, category) in categories.enumerated()
        where index % every == 0 || index == categories.count - 1 && every == 1 {
            body.append(
                text(
                    category, x: left + slot * (Double(index) + 0.5), y: top + plotHeight + 16, anchor: "middle",
                    fill: Palette.axis))
        }
        return svg(id: id, title: title, description: description, width: width, height: height, body)
    }

    // MARK: Horizontal bars

    /// One bar per label and the value after it. Labels go left of the bars when `labelWidth` is
    /// given, else above each bar so that long labels (quarantine reasons) stay whole.
    static func bars(
        id: String, title: String, description: String, labels: [String], values: [Double],
        colour: String = Palette.blue,
        maximum: Double? = nil, width: Double = 640, labelWidth: Double? = nil
    ) -> Markup {
        let rowHeight = labelWidth == nil ? 34.0 : 22.0
        let top = 6.0
        let valueRoom = 64.0
        let start = labelWidth ?? 0
        let plotWidth = width - start - valueRoom
        let height = top + rowHeight * Double(max(labels.count, 1)) + 4
        let scale = max(maximum ?? 0, values.max() ?? 0, 1)
        var body: [Markup] = []
        for (index, label) in labels.enumerated() {
            let y = top + rowHeight * Double(index)
            let value = values[index]
            let length = value / scale * plotWidth
            let shown = ReportFormat.count(Int(value))
            let barY = labelWidth == nil ? y + 15 : y + 3
            if labelWidth == nil {
                body.append(text(label, x: 0, y: y + 11))
            } else {
                body.append(text(label, x: start - 8, y: y + 14, anchor: "end"))
            }
            body.append(
                rect(
                    x: start, y: barY, width: max(length, value > 0 ? 1 : 0), height: 14, fill: colour,
                    tooltip: "\(label): \(shown)"))
            body.append(text(shown, x: start + length + 5, y: barY + 11, fill: Palette.ink))
        }
        if labelWidth != nil { body.append(line(start, top - 2, start, height - 2, stroke: Palette.axis)) }
        return svg(id: id, title: title, description: description, width: width, height: height, body)
    }

    // MARK: Diverging bars (weights in bits, either side of zero)

    static func diverging(
        id: String, title: String, description: String, labels: [String], values: [Double], extent: Double,
        width: Double = 340
    ) -> Markup {
        let labelRoom = 128.0
        let rowHeight = 16.0
        let top = 18.0
        let plotWidth = width - labelRoom - 8
        let height = top + rowHeight * Double(max(labels.count, 1)) + 8
        let zero = labelRoom + plotWidth / 2
        let half = plotWidth / 2
        let scale = max(extent, 1)
        var body: [Markup] = []
        body.append(text("against", x: zero - 4, y: 12, anchor: "end", fill: Palette.axis, size: 10))
        body.append(text("for a match", x: zero + 4, y: 12, fill: Palette.axis, size: 10))
        for (index, label) in labels.enumerated() {
            let y = top + rowHeight * Double(index)
            let value = values[index]
            let length = min(abs(value), scale) / scale * half
            body.append(text(label, x: labelRoom - 6, y: y + 12, anchor: "end"))
            let tooltip = "\(label): \(ReportFormat.bits(value)) bits"
            if value >= 0 {
                body.append(rect(x: zero, y: y + 3, width: length, height: 11, fill: Palette.blue, tooltip: tooltip))
            } else {
                body.append(
                    rect(
                        x: zero - length, y: y + 3, width: length, height: 11, fill: Palette.vermillion,
                        tooltip: tooltip))
            }
        }
        body.append(line(zero, top - 2, zero, height - 6, stroke: Palette.axis))
        return svg(id: id, title: title, description: description, width: width, height: height, body)
    }

    // MARK: Histogram on a log count axis, with thresholds

    /// Bins of `binWidth` starting at `start`; each series' count per bin drawn side by side within
    /// the bin, on a log10 count axis (a count of 1 still shows); markers are vertical lines.
    static func histogram(
        id: String, title: String, description: String, start: Double, binWidth: Double, series: [ChartSeries],
        markers: [ChartMarker], xLabel: String, width: Double = 640, height: Double = 300
    ) -> Markup {
        let top = 58.0
        let left = 52.0
        let right = 14.0
        let bottom = 44.0
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let bins = series.first?.values.count ?? 0
        let end = start + binWidth * Double(max(bins, 1))
        let largest = series.flatMap(\.values).max() ?? 1
        let decades = max(1, Int(ceil(log10(max(largest, 1)) + 0.0001)))
        func y(_ count: Double) -> Double {
            // log10(count) + 1 so that a count of 1 gets a visible bar; 0 is the baseline.
            let scaled = count <= 0 ? 0 : (log10(count) + 1) / Double(decades + 1)
            return top + plotHeight - scaled * plotHeight
        }
        func x(_ value: Double) -> Double { left + (value - start) / (end - start) * plotWidth }

        var body: [Markup] = legend(series, x: left, y: 12)
        for decade in 0...decades {
            let count = pow(10, Double(decade))
            body.append(line(left, y(count), left + plotWidth, y(count), stroke: Palette.grid))
            body.append(text(tickLabel(count), x: left - 6, y: y(count) + 4, anchor: "end", fill: Palette.axis))
        }
        body.append(text("0", x: left - 6, y: y(0) + 4, anchor: "end", fill: Palette.axis))
        body.append(
            .element(
                "text",
                [
                    "x": "0", "y": "0", "transform": "translate(12 \(f(top + plotHeight / 2))) rotate(-90)",
                    "text-anchor": "middle",
                    "fill": Palette.axis,
                ],
                text: "pairs (log scale)"))
        let slot = plotWidth / Double(max(bins, 1))
        let barWidth = slot * 0.9 / Double(max(series.count, 1))
        for bin in 0..<bins {
            let low = start + binWidth * Double(bin)
            for (position, item) in series.enumerated() where item.values[bin] > 0 {
                let count = item.values[bin]
                body.append(
                    rect(
                        x: x(low) + slot * 0.05 + barWidth * Double(position), y: y(count), width: barWidth,
                        height: y(0) - y(count),
                        fill: item.colour,
                        tooltip:
                            "\(ReportFormat.bits(low)) to \(ReportFormat.bits(low + binWidth)) bits: \(item.name) \(ReportFormat.count(Int(count)))"
                    ))
            }
        }
        body.append(line(left, y(0), left + plotWidth, y(0), stroke: Palette.axis))
        // x ticks every 2 or 5 bits depending on the range.
        let span = end - start
        let step = span > 40 ? 10.0 : span > 16 ? 4.0 : 2.0
        var tick = (start / step).rounded(.up) * step
        while tick <= end {
            body.append(line(x(tick), y(0), x(tick), y(0) + 4, stroke: Palette.axis))
            body.append(
                text(
                    ReportFormat.bits(tick).replacingOccurrences(of: ".0", with: ""), x: x(tick), y: y(0) + 16,
                    anchor: "middle", fill: Palette.axis))
            tick += step
        }
        body.append(text(xLabel, x: left + plotWidth / 2, y: height - 8, anchor: "middle", fill: Palette.axis))
        for (index, marker) in markers.enumerated() where marker.value >= start && marker.value <= end {
            // Labels on separate lines, each starting at its own line, so close thresholds never collide.
            let labelY = top - 6 - 13 * Double(markers.count - 1 - index)
            body.append(
                line(x(marker.value), labelY - 10, x(marker.value), y(0), stroke: Palette.ink, width: 1.5, dash: "5 3"))
            body.append(text(marker.label, x: x(marker.value) + 4, y: labelY, weight: "bold"))
        }
        return svg(id: id, title: title, description: description, width: width, height: height, body)
    }

    // MARK: Heatmap (fields × batches)

    /// One column of a heat map: its group (a batch) and its own label within the group.
    struct HeatColumn: Sendable {
        var group: String
        var label: String
    }

    /// Cells shaded by a share from 0 to 1 (darker is higher), the percentage written in them when
    /// they are wide enough; nil is a blank cell. Columns of one group sit together under its label.
    static func heatmap(
        id: String, title: String, description: String, rows: [String], columns: [HeatColumn], shares: [[Double?]],
        width: Double = 340
    ) -> Markup {
        let labelRoom = 142.0
        let top = 32.0
        let rowHeight = 15.0
        let cell = min(52, max(6, (width - labelRoom - 4) / Double(max(columns.count, 1))))
        let height = top + rowHeight * Double(max(rows.count, 1)) + 4
        // As wide as its cells need, no wider: a single batch is not stretched across the panel.
        let width = min(width, labelRoom + cell * Double(columns.count) + 6)
        var body: [Markup] = []
        // Group labels over their columns, thinned so they never overlap.
        var groups: [(label: String, first: Int, count: Int)] = []
        for (index, column) in columns.enumerated() {
            if let last = groups.last, last.label == column.group, last.first + last.count == index {
                groups[groups.count - 1].count += 1
            } else {
                groups.append((column.group, index, 1))
            }
        }
        var nextFree = 0.0
        for group in groups {
            let centre = labelRoom + cell * (Double(group.first) + Double(group.count) / 2)
            let halfWidth = Double(group.label.count) * characterWidth / 2
            guard centre - halfWidth >= nextFree else { continue }
            body.append(text(group.label, x: centre, y: 12, anchor: "middle", fill: Palette.axis, size: 10))
            nextFree = centre + halfWidth + 6
        }
        if cell >= 14 {
            for (index, column) in columns.enumerated() {
                let label = cell >= 50 ? column.label : String(column.label.prefix(1))
                body.append(
                    text(
                        label, x: labelRoom + cell * (Double(index) + 0.5), y: top - 8, anchor: "middle",
                        fill: Palette.axis, size: 10))
            }
        }
        for (rowIndex, row) in rows.enumerated() {
            let y = top + rowHeight * Double(rowIndex)
            body.append(text(row, x: labelRoom - 6, y: y + 11, anchor: "end", size: 10.5))
            for (columnIndex, column) in columns.enumerated() {
                guard let share = shares[rowIndex][columnIndex] else { continue }
                let colour = Palette.sequential(share)
                let x = labelRoom + cell * Double(columnIndex)
                body.append(
                    rect(
                        x: x, y: y, width: cell - 1, height: rowHeight - 1, fill: colour.fill,
                        tooltip: "\(row), batch \(column.group), \(column.label): \(ReportFormat.percent(share))"))
                if cell >= 34 {
                    body.append(
                        text(
                            String(format: "%.0f%%", share * 100), x: x + (cell - 1) / 2, y: y + 11, anchor: "middle",
                            fill: colour.text, size: 10))
                }
            }
        }
        return svg(id: id, title: title, description: description, width: width, height: height, body)
    }
}
