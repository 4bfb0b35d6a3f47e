import Foundation
import Identifiers
import Synth
import Testing

// Helpers for the Synth tests, written independently of the module: a CSV reader, and the NHS, UPN and
// NI number rules re-implemented from domain.md.

/// Reads RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF, optional UTF-8 BOM) into rows of fields.
func readCSV(_ url: URL) throws -> [[String]] {
    var bytes = [UInt8](try Data(contentsOf: url))
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
    var rows: [[String]] = []
    var row: [String] = []
    var field: [UInt8] = []
    var inQuotes = false
    var i = 0
    func endField() {
        row.append(String(decoding: field, as: UTF8.self))
        field.removeAll()
    }
    while i < bytes.count {
        let b = bytes[i]
        if inQuotes {
            if b == UInt8(ascii: "\"") {
                if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\"") {
                    field.append(b)
                    i += 1
                } else {
                    inQuotes = false
                }
            } else {
                field.append(b)
            }
        } else if b == UInt8(ascii: "\"") && field.isEmpty {
            inQuotes = true
        } else if b == UInt8(ascii: ",") {
            endField()
        } else if b == UInt8(ascii: "\r") && i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\n") {
            // CR of a CRLF: the LF ends the row.
        } else if b == UInt8(ascii: "\n") {
            endField()
            rows.append(row)
            row = []
        } else {
            field.append(b)
        }
        i += 1
    }
    if !field.isEmpty || !row.isEmpty {
        endField()
        rows.append(row)
    }
    return rows
}

/// A CSV file as header + records, with access by column name.
struct Table {
    let header: [String]
    let records: [[String]]
    let index: [String: Int]

    init(_ url: URL) throws {
        let rows = try readCSV(url)
        header = rows.first ?? []
        records = Array(rows.dropFirst())
        index = Dictionary(uniqueKeysWithValues: header.enumerated().map { ($1, $0) })
    }

    func value(_ record: [String], _ column: String) -> String { record[index[column]!] }
}

func independentNHSCheck(_ text: String) -> Bool {
    let digits = text.filter { $0 != " " }
    guard digits.count == 10, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
    let d = digits.map { Int(String($0))! }
    var sum = 0
    for i in 0..<9 { sum += d[i] * (10 - i) }
    var check = 11 - sum % 11
    if check == 11 { check = 0 }
    return check != 10 && check == d[9] && Set(d).count > 1
}

func independentUPNCheck(_ upn: String) -> Bool {
    let alphabet = Array("ABCDEFGHJKLMNPQRTUVWXYZ")
    let c = Array(upn)
    guard c.count == 13, c[1...11].allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
    var sum = 0
    for pos in 2...13 {
        let ch = c[pos - 1]
        let v: Int
        if let d = ch.wholeNumberValue, ch.isASCII {
            v = d
        } else if pos == 13, let k = alphabet.firstIndex(of: ch) {
            v = k
        } else {
            return false
        }
        sum += v * pos
    }
    return alphabet[sum % 23] == c[0]
}

func independentNINOShape(_ text: String) -> Bool {
    let c = Array(text.uppercased().filter { $0 != " " })
    guard c.count == 9 else { return false }
    let letters = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    guard letters.contains(c[0]), letters.contains(c[1]) else { return false }
    guard !"DFIQUV".contains(c[0]), !"DFIOQUV".contains(c[1]) else { return false }
    guard !["BG", "GB", "NK", "KN", "TN", "NT", "ZZ"].contains(String(c[0...1])) else { return false }
    guard c[2...7].allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
    return "ABCD".contains(c[8])
}

/// A fresh temporary directory, removed by `cleanup`.
func temporaryDirectory(_ name: String = #function) -> URL {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("synth-tests-\(safe)-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func cleanup(_ url: URL) { try? FileManager.default.removeItem(at: url) }

/// A generated data set read back in.
struct Generated {
    let dir: URL
    let summary: SynthSummary
    let feeds: [FeedKind: Table]
    let truth: Table

    init(
        children: Int, seed: UInt64, noise: Double = 1.0, profile: NoiseProfile = .standard,
        name: String = #function
    ) throws {
        dir = temporaryDirectory(name)
        summary = try SyntheticFeedWriter.write(
            config: SynthConfig(children: children, seed: seed, noise: noise, profile: profile), to: dir)
        var f: [FeedKind: Table] = [:]
        for kind in FeedKind.allCases { f[kind] = try Table(dir.appendingPathComponent(kind.fileName)) }
        feeds = f
        truth = try Table(dir.appendingPathComponent("truth.csv"))
    }

    /// Truth records of one feed, in row order.
    func truth(_ kind: FeedKind) -> [[String]] {
        truth.records.filter { $0[0] == kind.stem }
    }

    func tags(_ truthRecord: [String]) -> Set<String> {
        Set(truthRecord[5].split(separator: ";").map(String.init))
    }
}

/// FNV-1a (64-bit) of a file's bytes, to pin generated output without keeping copies of it.
func fnv1a(_ url: URL) throws -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in try Data(contentsOf: url) {
        h ^= UInt64(b)
        h = h &* 0x100_0000_01b3
    }
    return h
}
