import Testing

@testable import Feeds

/// Deterministic generator for the property tests (SplitMix64).
private struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct CSVWriterTests {
    @Test func quotesOnlyWhenNeeded() {
        let writer = CSVWriter(lineEnding: .lf)
        #expect(String(decoding: writer.encodeRow(["a", "b c", ""]), as: UTF8.self) == "a,b c,\n")
        #expect(
            String(decoding: writer.encodeRow(["x,y", "say \"hi\"", "cr\r", "lf\n"]), as: UTF8.self)
                == "\"x,y\",\"say \"\"hi\"\"\",\"cr\r\",\"lf\n\"\n")
        #expect(String(decoding: CSVWriter().encodeRow(["é", "1"]), as: UTF8.self) == "é,1\r\n")
        // A lone empty field must not become an empty line, which readers skip.
        #expect(String(decoding: writer.encodeRow([""]), as: UTF8.self) == "\"\"\n")
        #expect(String(decoding: writer.encodeRow(["", ""]), as: UTF8.self) == ",\n")
        let semicolons = CSVWriter(delimiter: UInt8(ascii: ";"), quote: UInt8(ascii: "'"))
        #expect(
            String(decoding: semicolons.encodeRow(["a;b", "it's", "x,\"y\""]), as: UTF8.self)
                == "'a;b';'it''s';x,\"y\"\r\n")
        var out: [UInt8] = []
        writer.appendField(Array("q\"".utf8), to: &out)
        #expect(out == Array("\"q\"\"\"".utf8))
        #expect(writer.needsQuoting(Array("a\rb".utf8)))
        #expect(!writer.needsQuoting(Array("a b".utf8)))
    }

    /// Random rows of random byte strings (quotes, delimiters, CR, LF, non-ASCII bytes) written with
    /// `CSVWriter` and read back with `CSVReader` at random chunk sizes come back unchanged.
    @Test(arguments: [
        (UInt8(ascii: ","), UInt8(ascii: "\"")),
        (UInt8(ascii: ";"), UInt8(ascii: "'")),
        (UInt8(0x09), UInt8(ascii: "\"")),
    ])
    func randomRoundTrip(delimiter: UInt8, quote: UInt8) throws {
        var rng = SeededGenerator(seed: 0x00C5_7EED ^ UInt64(delimiter))
        let alphabet: [UInt8] = [
            UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: " "), UInt8(ascii: ","), UInt8(ascii: ";"),
            UInt8(ascii: "\""), UInt8(ascii: "'"), 0x09, 0x0D, 0x0A, 0xC3, 0xA9, 0x80, 0xFF,
        ]
        let chunkSizes = [1, 2, 3, 7, 64, 4096, 1 << 18]
        for document in 0..<300 {
            let rowCount = Int.random(in: 1...20, using: &rng)
            var rows: [[[UInt8]]] = []
            for _ in 0..<rowCount {
                let fieldCount = Int.random(in: 1...6, using: &rng)
                rows.append(
                    (0..<fieldCount).map { _ in
                        let length = Int.random(in: 0...12, using: &rng)
                        return (0..<length).map { _ in alphabet.randomElement(using: &rng)! }
                    })
            }
            let writer = CSVWriter(
                delimiter: delimiter, quote: quote, lineEnding: Bool.random(using: &rng) ? .crlf : .lf)
            var bytes: [UInt8] = []
            for row in rows { writer.appendRow(row, to: &bytes) }
            if Bool.random(using: &rng) {
                // No line ending after the last row.
                bytes.removeLast(writer.lineEnding == .crlf ? 2 : 1)
            }

            let chunkSize = chunkSizes.randomElement(using: &rng)!
            let dialect = CSVDialect(delimiter: delimiter, quote: quote, encoding: .windows1252)
            let reader = CSVReader(bytes: bytes, dialect: dialect, chunkSize: chunkSize)
            var readBack: [[[UInt8]]] = []
            while let result = try reader.next() {
                guard case .record(let record) = result else {
                    Issue.record("document \(document): malformed \(result.recordNumber)")
                    break
                }
                readBack.append((0..<record.fieldCount).map { record.fieldBytes($0) })
            }
            #expect(readBack == rows, "document \(document), chunk size \(chunkSize)")
            if readBack != rows { break }
        }
    }

    /// The same with text fields: what is written as UTF-8 reads back as the same strings.
    @Test func textRoundTrip() throws {
        let rows = [
            ["id", "navn", "merknad"],
            ["1", "Ærlig Ødegård", "sier \"hei\", og går"],
            ["2", "", "to\r\nlinjer"],
            ["3", "Zoë €5", "\n"],
        ]
        var bytes: [UInt8] = []
        for row in rows { CSVWriter().appendRow(row, to: &bytes) }
        let reader = CSVReader(bytes: bytes)
        var got: [[String]] = []
        while case .record(let record) = try reader.next() { got.append(record.fields) }
        #expect(got == rows)
    }
}
