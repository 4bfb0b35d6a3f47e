import Feeds
import Foundation
import Synth

/// Splits a synthetic county (the feed files and truth.csv from `SyntheticFeedWriter.write`) into the
/// first day's files and the next day's batch: about `share` of the rows, half of them every row of a
/// few children held back (new to the county: a birth, a family moving in), the other half school rows
/// of children already known, sent again changed — a corrected attendance count, or a new address.
struct NextDayBatch {
    struct Counts: Equatable {
        var dayOneRows: [FeedKind: Int] = [:]
        var newChildren = 0
        var newChildRows: [FeedKind: Int] = [:]
        var changedAttendance = 0
        var changedAddress = 0

        var dayOneTotal: Int { dayOneRows.values.reduce(0, +) }
        var newRows: Int { newChildRows.values.reduce(0, +) }
        var changedRows: Int { changedAttendance + changedAddress }
        var nextDayTotal: Int { newRows + changedRows }
    }

    /// The file name of a feed's next-day batch.
    static func nextDayFileName(_ kind: FeedKind) -> String { kind.stem + "-next-day.csv" }

    /// Reads `source` (left as it is) and writes each feed's day-one file to `dayOne` and its next-day
    /// batch (if it has rows) to `nextDay`, under the feed's own file names.
    static func split(source: String, dayOne: String, nextDay: String, share: Double) throws -> Counts {
        for folder in [dayOne, nextDay] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        let owners = try childOfRow(truth: source + "/" + SyntheticFeedWriter.truthFileName)
        let allChildren = Set(owners.values.flatMap { $0.compactMap { $0 } }).sorted()
        // Every k-th child (in key order, so the same on every run) is new: half the share, in children.
        let stride = max(1, Int((2 / share).rounded()))
        let held = Set(allChildren.enumerated().filter { $0.offset % stride == stride / 2 }.map(\.element))
        var counts = Counts()
        counts.newChildren = held.count

        let totalRows = owners.values.map(\.count).reduce(0, +)
        for kind in FeedKind.allCases {
            let rows = owners[kind] ?? []
            let heldRows = rows.filter { $0.map(held.contains) ?? false }.count
            let wantedChanges =
                kind == .schoolAttendance
                ? max(0, Int((share * Double(totalRows)).rounded()) - heldRowCount(owners, held)) : 0
            let output = try FeedFileWriter(kind, path: dayOne + "/" + kind.fileName)
            var nextDayRows: [[String]] = []
            var changes = ChangePlan(header: [], dayOneRows: rows.count - heldRows, wanted: wantedChanges)
            var dayOneIndex = 0
            let header = try readRows(source + "/" + kind.fileName) { names in
                try output.append(names)
                changes = ChangePlan(header: names, dayOneRows: rows.count - heldRows, wanted: wantedChanges)
            } row: { index, fields in
                if let child = rows[safe: index] ?? nil, held.contains(child) {
                    nextDayRows.append(fields)
                    return
                }
                try output.append(fields)
                if let changed = changes.change(fields, at: dayOneIndex, counts: &counts) {
                    nextDayRows.append(changed)
                }
                dayOneIndex += 1
            }
            try output.close()
            if !nextDayRows.isEmpty {
                let batch = try FeedFileWriter(kind, path: nextDay + "/" + nextDayFileName(kind))
                try batch.append(header)
                for row in nextDayRows { try batch.append(row) }
                try batch.close()
            }
            counts.dayOneRows[kind] = dayOneIndex
            counts.newChildRows[kind] = nextDayRows.count - changes.made
        }
        return counts
    }

    /// Rows of every feed that belong to a held-back child.
    private static func heldRowCount(_ owners: [FeedKind: [String?]], _ held: Set<String>) -> Int {
        owners.values.map { rows in rows.filter { $0.map(held.contains) ?? false }.count }.reduce(0, +)
    }

    /// Which day-one rows are sent again changed: `wanted` of them, spread evenly over the file,
    /// alternately with fewer sessions attended (a register corrected) and with a new house number (the
    /// family moved along the street).
    struct ChangePlan {
        let columns: (possible: Int, attended: Int, address: Int)?
        let step: Int
        let wanted: Int
        private(set) var made = 0

        init(header: [String], dayOneRows: Int, wanted: Int) {
            if let possible = header.firstIndex(of: "SessionsPossible"),
                let attended = header.firstIndex(of: "SessionsAttended"),
                let address = header.firstIndex(of: "AddressLine1")
            {
                columns = (possible, attended, address)
            } else {
                columns = nil
            }
            self.wanted = wanted
            step = wanted > 0 ? max(1, dayOneRows / wanted) : 0
        }

        mutating func change(_ fields: [String], at index: Int, counts: inout Counts) -> [String]? {
            guard let columns, wanted > 0, made < wanted, index % step == step / 2 else { return nil }
            var row = fields
            if made % 2 == 0, let sessions = Int(row[columns.possible]), let present = Int(row[columns.attended]) {
                row[columns.attended] = String(max(0, present - max(1, sessions / 10)))
                counts.changedAttendance += 1
            } else {
                row[columns.address] = NextDayBatch.movedAlongTheStreet(row[columns.address])
                counts.changedAddress += 1
            }
            made += 1
            return row
        }
    }

    /// "12 Coppice Way" → "14 Coppice Way"; an address without a leading number gets one.
    static func movedAlongTheStreet(_ line: String) -> String {
        let digits = line.prefix { $0.isASCII && $0.isNumber }
        guard let number = Int(digits) else { return "2 " + line }
        return String(number + 2) + line.dropFirst(digits.count)
    }

    /// truth.csv as feed → the child key of each data row (0-based; nil for an antenatal row).
    private static func childOfRow(truth: String) throws -> [FeedKind: [String?]] {
        let columns = SyntheticFeedWriter.truthColumns
        let (feed, row, child) = (
            columns.firstIndex(of: "feed")!, columns.firstIndex(of: "row")!, columns.firstIndex(of: "child_key")!
        )
        var out: [FeedKind: [String?]] = [:]
        try readRows(truth) { names in
            guard names == columns else {
                throw UsageError(description: "truth.csv does not have the expected columns")
            }
        } row: { _, fields in
            guard let kind = FeedKind(rawValue: fields[feed]), let number = Int(fields[row]), number > 0 else { return }
            var rows = out.removeValue(forKey: kind) ?? []
            while rows.count < number { rows.append(nil) }
            rows[number - 1] = fields[child].isEmpty ? nil : fields[child]
            out[kind] = rows
        }
        return out
    }

    /// Calls `header` with the first record, then `row` with each data row's 0-based index and fields;
    /// returns the header.
    @discardableResult
    private static func readRows(
        _ path: String, header: ([String]) throws -> Void, row: (Int, [String]) throws -> Void
    ) throws -> [String] {
        let reader = try CSVReader(path: path)
        var names: [String]?
        var index = 0
        while let result = try reader.next() {
            guard case .record(let record) = result else {
                throw UsageError(
                    description: "\((path as NSString).lastPathComponent): malformed record \(result.recordNumber)")
            }
            let fields = record.fields
            if names == nil {
                names = fields
                try header(fields)
                continue
            }
            try row(index, fields)
            index += 1
        }
        return names ?? []
    }
}

/// A feed file written as the partner's system writes it (line ends, byte order mark), in chunks.
final class FeedFileWriter {
    private let handle: FileHandle
    private let writer: CSVWriter
    private var buffer: [UInt8] = []

    init(_ kind: FeedKind, path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else {
            throw UsageError(description: "cannot write \(path)")
        }
        self.handle = handle
        writer = CSVWriter(lineEnding: kind.lineEnding == "\r\n" ? .crlf : .lf)
        if kind.hasByteOrderMark { buffer = [0xEF, 0xBB, 0xBF] }
    }

    func append(_ fields: [String]) throws {
        writer.appendRow(fields, to: &buffer)
        if buffer.count >= 1 << 20 { try flush() }
    }

    func close() throws {
        try flush()
        try handle.close()
    }

    private func flush() throws {
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
