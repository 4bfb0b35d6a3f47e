import Foundation
import Testing

@testable import Feeds

/// What the reader returned for one record, in a form tests can compare.
private enum Item: Equatable, CustomStringConvertible {
    case record(number: Int, line: Int, lines: Int, fields: [String])
    case bad(number: Int, line: Int, code: CSVError.Code, errorLine: Int, field: Int?, raw: String)

    var description: String {
        switch self {
        case .record(let number, let line, let lines, let fields):
            "record #\(number) line \(line)+\(lines) \(fields.debugDescription)"
        case .bad(let number, let line, let code, let errorLine, let field, let raw):
            "bad #\(number) line \(line) \(code) at \(errorLine):\(field.map(String.init) ?? "-") \(raw.debugDescription)"
        }
    }
}

private func ok(_ number: Int, line: Int, lines: Int = 1, _ fields: [String]) -> Item {
    .record(number: number, line: line, lines: lines, fields: fields)
}

private func bad(
    _ number: Int, line: Int, _ code: CSVError.Code, errorLine: Int? = nil, field: Int?, raw: String
) -> Item {
    .bad(number: number, line: line, code: code, errorLine: errorLine ?? line, field: field, raw: raw)
}

private func items(_ reader: CSVReader) throws -> [Item] {
    var result: [Item] = []
    while let next = try reader.next() {
        switch next {
        case .record(let record):
            result.append(
                .record(
                    number: record.recordNumber, line: record.startLine, lines: record.lineCount,
                    fields: record.fields))
        case .malformed(let malformed):
            result.append(
                .bad(
                    number: malformed.recordNumber, line: malformed.startLine, code: malformed.error.code,
                    errorLine: malformed.error.line, field: malformed.error.field, raw: malformed.rawText))
        }
    }
    // Once at the end, it stays there.
    #expect(try reader.next() == nil)
    return result
}

private func read(_ text: String, _ dialect: CSVDialect = CSVDialect(), chunkSize: Int? = nil) throws -> [Item] {
    try read(Array(text.utf8), dialect, chunkSize: chunkSize)
}

private func read(_ bytes: [UInt8], _ dialect: CSVDialect = CSVDialect(), chunkSize: Int? = nil) throws -> [Item] {
    if let chunkSize {
        return try items(CSVReader(bytes: bytes, dialect: dialect, chunkSize: chunkSize))
    }
    return try items(CSVReader(bytes: bytes, dialect: dialect))
}

private func temporaryPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory
        .appendingPathComponent("csv-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(name)").path
}

@Suite struct CSVReaderTests {
    // MARK: Well-formed input

    @Test func simpleRecordsAndLineNumbers() throws {
        let got = try read("id,name,city\n1,Ann,Oslo\n2,Bob,Bergen\n")
        #expect(
            got == [
                ok(1, line: 1, ["id", "name", "city"]),
                ok(2, line: 2, ["1", "Ann", "Oslo"]),
                ok(3, line: 3, ["2", "Bob", "Bergen"]),
            ])
    }

    @Test func quotedFields() throws {
        let got = try read("\"a,b\",\"say \"\"hi\"\"\",\"\",plain\n\"\"\"\",x\n")
        #expect(
            got == [
                ok(1, line: 1, ["a,b", "say \"hi\"", "", "plain"]),
                ok(2, line: 2, ["\"", "x"]),
            ])
    }

    @Test func newlinesInsideQuotes() throws {
        let text = "a,\"line1\nline2\",z\r\nb,\"crlf\r\ninside\",z\nc,\"lone\rcr\",z\nd,\"\n\r\n\r\",z\ne,f,g\n"
        let got = try read(text)
        #expect(
            got == [
                ok(1, line: 1, lines: 2, ["a", "line1\nline2", "z"]),
                ok(2, line: 3, lines: 2, ["b", "crlf\r\ninside", "z"]),
                ok(3, line: 5, lines: 2, ["c", "lone\rcr", "z"]),
                ok(4, line: 7, lines: 4, ["d", "\n\r\n\r", "z"]),
                ok(5, line: 11, ["e", "f", "g"]),
            ])
    }

    @Test func lineEndingsCRLFAndLoneCR() throws {
        #expect(try read("a,b\r\nc,d\r\n") == [ok(1, line: 1, ["a", "b"]), ok(2, line: 2, ["c", "d"])])
        #expect(
            try read("a,b\rc,d\re") == [
                ok(1, line: 1, ["a", "b"]), ok(2, line: 2, ["c", "d"]), ok(3, line: 3, ["e"]),
            ])
        #expect(
            try read("a\nb\r\nc\rd\n\re")
                == [
                    ok(1, line: 1, ["a"]), ok(2, line: 2, ["b"]), ok(3, line: 3, ["c"]), ok(4, line: 4, ["d"]),
                    ok(5, line: 6, ["e"]),
                ])
    }

    @Test func emptyLinesAreSkippedButCounted() throws {
        let got = try read("\n\na,b\n\r\n\r\n\nc,d\n\n")
        #expect(got == [ok(1, line: 3, ["a", "b"]), ok(2, line: 7, ["c", "d"])])
        // A line with only a space is a record; a quoted empty field is a record.
        #expect(try read(" \n\"\"\n") == [ok(1, line: 1, [" "]), ok(2, line: 2, [""])])
    }

    @Test func lastLineWithoutNewline() throws {
        #expect(try read("a,b\nc,d") == [ok(1, line: 1, ["a", "b"]), ok(2, line: 2, ["c", "d"])])
        #expect(try read("a,\"b\"") == [ok(1, line: 1, ["a", "b"])])
        #expect(try read("a,") == [ok(1, line: 1, ["a", ""])])
        #expect(try read("x") == [ok(1, line: 1, ["x"])])
    }

    @Test func trailingDelimiterMeansEmptyLastField() throws {
        #expect(
            try read("a,b,\n,\n,,\n") == [
                ok(1, line: 1, ["a", "b", ""]), ok(2, line: 2, ["", ""]), ok(3, line: 3, ["", "", ""]),
            ])
        #expect(try read("\"a\",\n") == [ok(1, line: 1, ["a", ""])])
    }

    @Test func emptyInput() throws {
        #expect(try read("") == [])
        #expect(try read("\n\r\n\r") == [])
        #expect(try read([0xEF, 0xBB, 0xBF]) == [])
        #expect(try read([0xEF, 0xBB, 0xBF, 0x0A]) == [])
    }

    @Test func byteOrderMarkIsStrippedAtFileStartOnly() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let bytes = bom + Array("id,name\n1,x".utf8) + [0x0A] + bom + Array(",y\n".utf8)
        for chunkSize in [1, 2, 3, 4, 1024] {
            let reader = CSVReader(bytes: bytes, chunkSize: chunkSize)
            guard case .record(let header) = try reader.next() else {
                Issue.record("no header")
                return
            }
            #expect(header.field(0) == "id")
            #expect(header.fieldBytes(0) == Array("id".utf8))
            #expect(header.rawBytes == Array("id,name".utf8))
            _ = try reader.next()
            guard case .record(let third) = try reader.next() else {
                Issue.record("no third record")
                return
            }
            #expect(third.field(0) == "\u{FEFF}")
            #expect(try reader.next() == nil)
        }
        // Only a full BOM is stripped.
        #expect(try read([0xEF, 0xBB, 0x41], CSVDialect(encoding: .windows1252)) == [ok(1, line: 1, ["ï»A"])])
    }

    @Test func customDelimiterAndQuote() throws {
        let dialect = CSVDialect(delimiter: UInt8(ascii: ";"), quote: UInt8(ascii: "'"))
        #expect(
            try read("a;'b;c';'it''s'\n\"x\";y,z\n", dialect) == [
                ok(1, line: 1, ["a", "b;c", "it's"]), ok(2, line: 2, ["\"x\"", "y,z"]),
            ])
        let tabs = CSVDialect(delimiter: 0x09)
        #expect(try read("a\tb, c\t\"d\te\"\n", tabs) == [ok(1, line: 1, ["a", "b, c", "d\te"])])
    }

    @Test func recordAccessors() throws {
        let reader = CSVReader(bytes: Array("\"q\"\"x\",,\"\",plain\n".utf8))
        guard case .record(let record) = try reader.next() else {
            Issue.record("no record")
            return
        }
        #expect(record.fieldCount == 4)
        #expect(record.fieldBytes(0) == Array("q\"x".utf8))
        #expect(record.fieldByteCount(0) == 3)
        #expect(record.isFieldQuoted(0))
        #expect(!record.isFieldQuoted(1))
        #expect(record.isFieldQuoted(2))
        #expect(record.field(1) == "" && record.field(2) == "")
        #expect(record.withFieldBytes(3) { String(decoding: $0, as: UTF8.self) } == "plain")
        #expect(record.rawBytes == Array("\"q\"\"x\",,\"\",plain".utf8))
        #expect(record.rawText == "\"q\"\"x\",,\"\",plain")
        #expect(record.rawByteCount == 16)
        #expect(record.isASCIIOnly)
        #expect(record.endLine == 1)
        #expect(reader.recordCount == 1)
        #expect(reader.currentLine == 2)
        #expect(reader.bytesRead == 17)
    }

    // MARK: Encodings

    @Test func windows1252Decoding() throws {
        let bytes: [UInt8] = [0x80, 0x2C, 0x92, 0x2C, 0x96, 0x2C, 0xE9, 0x2C, 0x81, 0x9F, 0xFF, 0x2C, 0xC3, 0xA9, 0x0A]
        let got = try read(bytes, CSVDialect(encoding: .windows1252))
        #expect(got == [ok(1, line: 1, ["€", "’", "–", "é", "\u{81}Ÿÿ", "Ã©"])])

        // Every byte 0x80...0xFF decodes to exactly one character; 0xA0...0xFF are Latin-1.
        let all = Array(UInt8(0x80)...UInt8(0xFF))
        guard case .record(let record) = try CSVReader(bytes: all, dialect: CSVDialect(encoding: .windows1252)).next()
        else {
            Issue.record("no record")
            return
        }
        let scalars = Array(record.field(0).unicodeScalars)
        #expect(scalars.count == 128)
        #expect(scalars[0x20...].map(\.value) == (0xA0...0xFF).map { UInt32($0) })
        #expect(
            String(String.UnicodeScalarView(scalars[0..<0x20]))
                == "€\u{81}‚ƒ„…†‡ˆ‰Š‹Œ\u{8D}Ž\u{8F}\u{90}‘’“”•–—˜™š›œ\u{9D}žŸ")
    }

    @Test func utf8OrWindows1252DecidesPerField() throws {
        // Field 1 valid UTF-8 (é), field 2 a lone 0xE9 (CP-1252 é), field 3 valid UTF-8 (€), field 4 0x80.
        let bytes: [UInt8] = [0xC3, 0xA9, 0x2C, 0xE9, 0x2C, 0xE2, 0x82, 0xAC, 0x2C, 0x80, 0x0A]
        #expect(try read(bytes, CSVDialect(encoding: .utf8OrWindows1252)) == [ok(1, line: 1, ["é", "é", "€", "€"])])
    }

    @Test func invalidUTF8IsAnErrorForThatRecordOnly() throws {
        var bytes = Array("ok,é\n".utf8)
        bytes += Array("x,\"multi\nline\",caf".utf8) + [0xE9] + Array("\n".utf8)
        bytes += Array("next,record\n".utf8)
        let got = try read(bytes)
        #expect(
            got == [
                ok(1, line: 1, ["ok", "é"]),
                bad(2, line: 2, .invalidEncoding, errorLine: 3, field: 3, raw: "x,\"multi\nline\",café"),
                ok(3, line: 4, ["next", "record"]),
            ])
        // Overlong, surrogate, truncated and out-of-range sequences are all invalid.
        for sequence: [UInt8] in [
            [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0xBF],
        ] {
            let result = try read(Array("a,".utf8) + sequence + [0x0A] + Array("b\n".utf8))
            #expect(result.count == 2)
            if case .bad(_, _, let code, _, let field, _) = result[0] {
                #expect(code == .invalidEncoding && field == 2)
            } else {
                Issue.record("\(sequence) accepted")
            }
            #expect(result[1] == ok(2, line: 2, ["b"]))
        }
        // Valid 2-, 3- and 4-byte sequences pass.
        #expect(try read("ä,€,𝄞\n") == [ok(1, line: 1, ["ä", "€", "𝄞"])])
    }

    // MARK: Malformed records

    @Test func quoteInsideUnquotedField() throws {
        let got = try read("a,b\nc,ab\"c,d\ne,f\n")
        #expect(
            got == [
                ok(1, line: 1, ["a", "b"]), bad(2, line: 2, .unexpectedQuote, field: 2, raw: "c,ab\"c,d"),
                ok(3, line: 3, ["e", "f"]),
            ])
    }

    @Test func textAfterClosingQuote() throws {
        let got = try read("a,\"ab\"c,\"x\ny\"\nnext\n")
        // The rest of the physical line is skipped, quotes and all; reading resumes at line 2.
        #expect(
            got == [
                bad(1, line: 1, .textAfterClosingQuote, field: 2, raw: "a,\"ab\"c,\"x"),
                bad(2, line: 2, .unexpectedQuote, field: 1, raw: "y\""),
                ok(3, line: 3, ["next"]),
            ])
    }

    @Test func textAfterClosingQuoteOnALaterLineOfTheRecord() throws {
        let got = try read("1,\"two\nlines\"x,3\n4,5\n")
        #expect(
            got == [
                bad(1, line: 1, .textAfterClosingQuote, errorLine: 2, field: 2, raw: "1,\"two\nlines\"x,3"),
                ok(2, line: 3, ["4", "5"]),
            ])
    }

    @Test func unterminatedQuoteAtEndOfFile() throws {
        // The record's first line is reported; the lines after it are read again as records.
        let got = try read("h1,h2\na,\"open\nb,c\nd,e")
        #expect(
            got == [
                ok(1, line: 1, ["h1", "h2"]),
                bad(2, line: 2, .unterminatedQuote, field: 2, raw: "a,\"open"),
                ok(3, line: 3, ["b", "c"]),
                ok(4, line: 4, ["d", "e"]),
            ])
        #expect(try read("x,\"abc") == [bad(1, line: 1, .unterminatedQuote, field: 2, raw: "x,\"abc")])
        #expect(try read("\"") == [bad(1, line: 1, .unterminatedQuote, field: 1, raw: "\"")])
        #expect(
            try read("\"a\r\n\r\nb,c\r\n") == [
                bad(1, line: 1, .unterminatedQuote, field: 1, raw: "\"a"), ok(2, line: 3, ["b", "c"]),
            ])
    }

    @Test func nulBytesRejectTheRecord() throws {
        let bytes =
            Array("a,b\nc,d".utf8) + [0] + Array("e\n\"q".utf8) + [0] + Array("\"\n\"r\"".utf8) + [0]
            + Array("\nf,g\n".utf8)
        let got = try read(bytes)
        #expect(
            got == [
                ok(1, line: 1, ["a", "b"]),
                bad(2, line: 2, .nulByte, field: 2, raw: "c,d\u{FFFD}e"),
                bad(3, line: 3, .nulByte, field: 1, raw: "\"q\u{FFFD}\""),
                bad(4, line: 4, .nulByte, field: 1, raw: "\"r\"\u{FFFD}"),
                ok(5, line: 5, ["f", "g"]),
            ])
        // Even under windows1252 (where 0x00 would otherwise be a character).
        let cp = try read(Array("x".utf8) + [0, 0x0A], CSVDialect(encoding: .windows1252))
        #expect(cp == [bad(1, line: 1, .nulByte, field: 1, raw: "x\u{FFFD}")])
    }

    @Test func fieldAndRecordLimitsAreExact() throws {
        let dialect = CSVDialect(maxFieldBytes: 4, maxRecordBytes: 10)
        let got = try read("abcd,x\n\"efgh\",1\nabcde,x\n\"abcde\",y\nab,cd,ef,g\nab,cd,ef,gh\nz\n", dialect)
        #expect(
            got == [
                ok(1, line: 1, ["abcd", "x"]),
                ok(2, line: 2, ["efgh", "1"]),
                bad(3, line: 3, .fieldTooLarge, field: 1, raw: "abcde,x"),
                bad(4, line: 4, .fieldTooLarge, field: 1, raw: "\"abcde\",y"),
                ok(5, line: 5, ["ab", "cd", "ef", "g"]),
                bad(6, line: 6, .recordTooLarge, field: nil, raw: "ab,cd,ef,g"),
                ok(7, line: 7, ["z"]),
            ])
    }

    @Test func limitsHoldForDelimitersQuotesAndLineBreaks() throws {
        let dialect = CSVDialect(maxFieldBytes: 4, maxRecordBytes: 10)
        // Line breaks inside quotes are field content.
        #expect(
            try read("\"\n\n\n\n\"\n\"\n\n\n\n\n\"\nok\n", dialect) == [
                ok(1, line: 1, lines: 5, ["\n\n\n\n"]),
                bad(2, line: 6, .fieldTooLarge, errorLine: 10, field: 1, raw: "\"\n\n\n\n"),
                bad(3, line: 11, .unterminatedQuote, field: 1, raw: "\""),
                ok(4, line: 12, ["ok"]),
            ])
        // A doubled quote is two bytes of content.
        #expect(
            try read("\"ab\"\"\",x\n\"abc\"\"\",y\nz\n", dialect) == [
                ok(1, line: 1, ["ab\"", "x"]),
                bad(2, line: 2, .fieldTooLarge, field: 1, raw: "\"abc\"\"\",y"),
                ok(3, line: 3, ["z"]),
            ])
        // Delimiters and opening quotes count towards the record size: a line of only commas is bounded too.
        #expect(
            try read(",,,,,,,,,,\n,,,,,,,,,,,,\nabcd,efgh,\nabcd,efgh,\"x\"\nabcd,efgh,x\nz", dialect) == [
                ok(1, line: 1, Array(repeating: "", count: 11)),
                bad(2, line: 2, .recordTooLarge, field: nil, raw: ",,,,,,,,,,"),
                ok(3, line: 3, ["abcd", "efgh", ""]),
                bad(4, line: 4, .recordTooLarge, field: nil, raw: "abcd,efgh,"),
                bad(5, line: 5, .recordTooLarge, field: nil, raw: "abcd,efgh,"),
                ok(6, line: 6, ["z"]),
            ])
    }

    @Test func aHugeLineOfDelimitersOrQuotedNewlinesStaysBounded() throws {
        let dialect = CSVDialect(maxFieldBytes: 1000, maxRecordBytes: 5000)
        for filler in [UInt8(ascii: ","), 0x0A] {
            var bytes: [UInt8] = filler == 0x0A ? [UInt8(ascii: "\"")] : []
            bytes += [UInt8](repeating: filler, count: 1 << 20)
            bytes += Array("\"\nnext\n".utf8)
            let reader = CSVReader(bytes: bytes, dialect: dialect, chunkSize: 4096)
            var results: [CSVReadResult] = []
            var maxCapacity = 0
            while let next = try reader.next() {
                results.append(next)
                maxCapacity = max(maxCapacity, reader.bufferCapacity)
            }
            guard case .malformed(let first) = results.first else {
                Issue.record("expected malformed")
                continue
            }
            #expect(first.error.code == (filler == 0x0A ? .fieldTooLarge : .recordTooLarge))
            #expect(maxCapacity <= 5000 + 2 * 4096)
        }
    }

    @Test func malformedRawIsCappedAtMaxRecordBytes() throws {
        let dialect = CSVDialect(maxFieldBytes: 4, maxRecordBytes: 8)
        let reader = CSVReader(bytes: Array("a\"bcdefghijklmnop\nok\n".utf8), dialect: dialect, chunkSize: 3)
        guard case .malformed(let malformed) = try reader.next() else {
            Issue.record("expected malformed")
            return
        }
        #expect(malformed.error.code == .unexpectedQuote)
        #expect(malformed.rawBytes == Array("a\"bcdefg".utf8))
        #expect(malformed.rawTruncated)
        guard case .record(let record) = try reader.next() else {
            Issue.record("expected record")
            return
        }
        #expect(record.field(0) == "ok" && record.startLine == 2)
    }

    @Test func errorDescriptionsSayWhereButNeverWhat() throws {
        let secret = "Ola Nordmann 01017012345"
        let inputs: [[UInt8]] = [
            Array("x,\(secret)\"q\n".utf8),
            Array("x,\"\(secret)\"q\n".utf8),
            Array("x,\"\(secret)\n".utf8),
            Array("x,\(secret)".utf8) + [0xFF, 0x0A],
            Array("x,\(secret)".utf8) + [0x00, 0x0A],
            Array("x,\(secret)\(secret)\n".utf8),
        ]
        var codes: Set<CSVError.Code> = []
        for input in inputs {
            let reader = CSVReader(bytes: input, dialect: CSVDialect(maxFieldBytes: 30))
            guard case .malformed(let malformed) = try reader.next() else {
                Issue.record("expected malformed")
                continue
            }
            codes.insert(malformed.error.code)
            let text = malformed.error.description
            #expect(!text.contains("Ola") && !text.contains("0101"), "\(text)")
            #expect(text.contains("line 1"))
            #expect(text.contains("field 2"))
            #expect(text.contains(malformed.error.code.description))
        }
        #expect(codes.count == inputs.count)
    }

    // MARK: Chunk boundaries

    /// Input exercising every feature and every malformed case, read with every chunk size must give the same
    /// result as read in one piece.
    private static let tricky: [UInt8] = {
        var bytes: [UInt8] = [0xEF, 0xBB, 0xBF]
        bytes += Array("id,\"name\",note\r\n".utf8)
        bytes += Array("1,\"Ann \"\"A\"\", Jr\",\"two\r\nlines\"\r\n".utf8)
        bytes += Array("\r\n\n".utf8)
        bytes += Array("2,Bob,\"lf\nand cr\rand crlf\r\n\"\r".utf8)
        bytes += Array("3,bad\"quote,x\n".utf8)
        bytes += Array("4,\"closed\"junk,\"y\nz\"\n".utf8)
        bytes += Array("5,nul".utf8) + [0] + Array(",x\r\n".utf8)
        bytes += Array("6,".utf8) + [0xC3, 0xA9, 0x2C, 0xE9] + Array(",\"\"\n".utf8)
        bytes += Array("7,toolongfield_________________________,x\n".utf8)
        bytes += Array("8,trailing,\n".utf8)
        bytes += Array("9,\"\",\"\"\"\"\r".utf8)
        bytes += Array("10,\"unterminated\nx,y\r\nlast,\"\"".utf8)
        return bytes
    }()

    private static let trickyExpected: [Item] = [
        ok(1, line: 1, ["id", "name", "note"]),
        ok(2, line: 2, lines: 2, ["1", "Ann \"A\", Jr", "two\r\nlines"]),
        ok(3, line: 6, lines: 4, ["2", "Bob", "lf\nand cr\rand crlf\r\n"]),
        bad(4, line: 10, .unexpectedQuote, field: 2, raw: "3,bad\"quote,x"),
        bad(5, line: 11, .textAfterClosingQuote, field: 2, raw: "4,\"closed\"junk,\"y"),
        bad(6, line: 12, .unexpectedQuote, field: 1, raw: "z\""),
        bad(7, line: 13, .nulByte, field: 2, raw: "5,nul\u{FFFD},x"),
        ok(8, line: 14, ["6", "é", "é", ""]),
        bad(9, line: 15, .fieldTooLarge, field: 2, raw: "7,toolongfield_________________________,x"),
        ok(10, line: 16, ["8", "trailing", ""]),
        ok(11, line: 17, ["9", "", "\""]),
        bad(12, line: 18, .unterminatedQuote, field: 2, raw: "10,\"unterminated"),
        ok(13, line: 19, ["x", "y"]),
        ok(14, line: 20, ["last", ""]),
    ]

    @Test func trickyInputInOnePiece() throws {
        let dialect = CSVDialect(encoding: .utf8OrWindows1252, maxFieldBytes: 30, maxRecordBytes: 100)
        let got = try read(CSVReaderTests.tricky, dialect)
        #expect(got == CSVReaderTests.trickyExpected)
    }

    @Test func everyChunkBoundaryGivesTheSameResult() throws {
        let dialect = CSVDialect(encoding: .utf8OrWindows1252, maxFieldBytes: 30, maxRecordBytes: 100)
        let input = CSVReaderTests.tricky
        let expected = try read(input, dialect)
        for chunkSize in 1...(input.count + 1) {
            let got = try read(input, dialect, chunkSize: chunkSize)
            #expect(got == expected, "chunk size \(chunkSize)")
            if got != expected { break }
        }
    }

    @Test func recordsStraddlingThe256KiBBoundary() throws {
        let chunk = CSVReader.defaultChunkSize
        let tail = Array("x,\"q\"\"uo\r\nted\",\"a,b\"\r\ny,z\r\n".utf8)
        for shift in 0..<tail.count {
            // Filler records so that the boundary falls `shift` bytes into `tail`.
            var bytes: [UInt8] = []
            let fillerRow = Array("filler,row,0123456789\n".utf8)
            while bytes.count + fillerRow.count < chunk - shift - 40 { bytes += fillerRow }
            let pad = chunk - shift - bytes.count - 1
            bytes += Array(repeating: UInt8(ascii: "p"), count: pad) + [0x0A]
            #expect(bytes.count == chunk - shift)
            bytes += tail
            let fillerCount = (bytes.count - tail.count - pad - 1) / fillerRow.count
            let got = try read(bytes)
            #expect(got.count == fillerCount + 3)
            #expect(
                Array(got.suffix(2)) == [
                    ok(fillerCount + 2, line: fillerCount + 2, lines: 2, ["x", "q\"uo\r\nted", "a,b"]),
                    ok(fillerCount + 3, line: fillerCount + 4, ["y", "z"]),
                ], "shift \(shift)")
        }
    }

    // MARK: Large input in constant memory

    @Test func tenMegabyteFieldIsRejectedAndReadingGoesOn() throws {
        var bytes = Array("before,1\n".utf8)
        bytes += Array("big,".utf8) + Array(repeating: UInt8(ascii: "x"), count: 10 << 20) + Array(",end\n".utf8)
        bytes += Array("after,2\n".utf8)
        let reader = CSVReader(bytes: bytes)
        var results: [CSVReadResult] = []
        var fields: [[String]] = []
        while let next = try reader.next() {
            results.append(next)
            if case .record(let record) = next { fields.append(record.fields) }
        }
        #expect(results.count == 3)
        #expect(fields == [["before", "1"], ["after", "2"]])
        guard case .malformed(let malformed) = results[1] else {
            Issue.record("expected malformed")
            return
        }
        #expect(malformed.error.code == .fieldTooLarge)
        #expect(malformed.error.line == 2 && malformed.error.field == 2 && malformed.startLine == 2)
        #expect(malformed.recordNumber == 2)
        #expect(malformed.rawTruncated && malformed.rawBytes.count == 4 << 20)
        #expect(results[2].startLine == 3 && results[2].recordNumber == 3)
        #expect(reader.bufferCapacity <= CSVDialect().maxRecordBytes + 2 * CSVReader.defaultChunkSize)
    }

    @Test func fiftyMegabyteLineWithoutNewlineInConstantMemory() throws {
        let path = temporaryPath("huge.csv")
        defer { unlink(path) }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(fd >= 0)
        let header = Array("a,b,c\n".utf8)
        _ = header.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        // 50 MiB of short fields, no line break.
        let piece = [UInt8](String(repeating: "0123456789abcdef,", count: 1 << 16).utf8)
        var written = 0
        while written < 50 << 20 {
            written += piece.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }
        close(fd)

        let reader = try CSVReader(path: path)
        var maxCapacity = 0
        var results: [(code: CSVError.Code?, line: Int, rawCount: Int)] = []
        while let next = try reader.next() {
            maxCapacity = max(maxCapacity, reader.bufferCapacity)
            switch next {
            case .record(let record): results.append((nil, record.startLine, record.rawByteCount))
            case .malformed(let bad): results.append((bad.error.code, bad.error.line, bad.rawBytes.count))
            }
        }
        #expect(results.count == 2)
        #expect(results.first?.code == nil)
        #expect(results.last?.code == .recordTooLarge)
        #expect(results.last?.line == 2)
        #expect(results.last?.rawCount == 4 << 20)
        #expect(reader.bytesRead == Int64(header.count + written))
        // The window never holds much more than one maximal record.
        #expect(maxCapacity <= (4 << 20) + 2 * CSVReader.defaultChunkSize)
    }

    // MARK: Sources

    @Test func readsFromPathAndFileDescriptor() throws {
        let path = temporaryPath("small.csv")
        defer { unlink(path) }
        let text = "h\r\n\"multi\r\nline\"\r\n"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
        let expected = [ok(1, line: 1, ["h"]), ok(2, line: 2, lines: 2, ["multi\r\nline"])]
        #expect(try items(CSVReader(path: path)) == expected)
        for chunkSize in [1, 2, 5] {
            let fd = open(path, O_RDONLY)
            defer { close(fd) }
            #expect(try items(CSVReader(fileDescriptor: fd, dialect: CSVDialect(), chunkSize: chunkSize)) == expected)
        }
        let fd = open(path, O_RDONLY)
        #expect(try items(CSVReader(fileDescriptor: fd, closeWhenDone: true)) == expected)
    }

    @Test func readsFromAPipe() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let text = Array("a,b\n\"c\nd\",e\n".utf8)
        _ = text.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])
        let reader = CSVReader(fileDescriptor: fds[0], closeWhenDone: true)
        #expect(try items(reader) == [ok(1, line: 1, ["a", "b"]), ok(2, line: 2, lines: 2, ["c\nd", "e"])])
    }

    @Test func missingFileIsAnIOError() {
        do {
            _ = try CSVReader(path: "/nonexistent/dir/people-secret.csv")
            Issue.record("opened a missing file")
        } catch {
            #expect(error.code == .io)
            #expect(error.systemError == ENOENT)
            #expect(!error.description.contains("people-secret"))
        }
    }

    @Test func readingADirectoryIsAnIOErrorThrownByNext() throws {
        let reader = try CSVReader(path: FileManager.default.temporaryDirectory.path)
        #expect(throws: CSVError.self) { _ = try reader.next() }
        #expect(try reader.next() == nil)
    }

    @Test func usingARecordAfterNextIsStopped() async {
        await #expect(processExitsWith: .failure) {
            let reader = CSVReader(bytes: Array("a\nb\n".utf8))
            guard case .record(let first) = try reader.next() else { return }
            _ = try reader.next()
            _ = first.field(0)
        }
    }

    @Test("the eight-byte scan stops on every special byte wherever it falls, and notes what COPY must escape")
    func wordScanAndCopyEscapes() throws {
        let plain = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        for offset in 0...plain.count {
            for special in [",", "\\", "\t", "\u{01}", "\u{0D}", "é", "\n", ";"] {
                var field = plain
                field.insert(contentsOf: Array(special.utf8), at: offset)
                let text = String(decoding: plain[..<offset], as: UTF8.self)
                let rest = String(decoding: plain[offset...], as: UTF8.self)
                let reader = CSVReader(bytes: Array("x,".utf8) + field + Array(",y\n".utf8))
                guard case .record(let record) = try reader.next() else {
                    Issue.record("no record for \(special.debugDescription) at \(offset)")
                    continue
                }
                let context = "\(special.debugDescription) at \(offset)"
                switch special {
                case ",":
                    #expect(record.fields == ["x", text, rest, "y"], "\(context)")
                    #expect(!record.mayNeedCopyEscaping && record.isASCIIOnly, "\(context)")
                case "\n", "\u{0D}":
                    #expect(record.fields == ["x", text], "\(context)")
                    #expect(!record.mayNeedCopyEscaping, "\(context)")
                case "é":
                    #expect(record.fields == ["x", text + special + rest, "y"], "\(context)")
                    #expect(!record.isASCIIOnly && !record.mayNeedCopyEscaping, "\(context)")
                case ";":
                    #expect(record.fields == ["x", text + special + rest, "y"], "\(context)")
                    #expect(!record.mayNeedCopyEscaping && record.isASCIIOnly, "\(context)")
                default:
                    #expect(record.fields == ["x", text + special + rest, "y"], "\(context)")
                    #expect(record.mayNeedCopyEscaping && record.isASCIIOnly, "\(context)")
                }
            }
        }
        // Inside quotes: a line break, a tab or a backslash is content COPY escapes; a doubled quote is not.
        for (line, escapes) in [
            ("a,\"b\r\nc\",d\n", true), ("a,\"b\tc\",d\n", true), ("a,\"b\\c\",d\n", true),
            ("a,\"b\"\"c\",d\n", false), ("a,\"bc\",d\n", false),
        ] {
            let reader = CSVReader(bytes: Array(line.utf8))
            guard case .record(let record) = try reader.next() else {
                Issue.record("no record for \(line.debugDescription)")
                continue
            }
            #expect(record.fieldCount == 3, "\(line.debugDescription)")
            #expect(record.mayNeedCopyEscaping == escapes, "\(line.debugDescription)")
        }
        // A tab delimiter separates fields and is not content.
        let tabs = CSVReader(
            bytes: Array("abcdefghij\tklmnopqrstu\tv\n".utf8), dialect: CSVDialect(delimiter: UInt8(ascii: "\t")))
        guard case .record(let record) = try tabs.next() else {
            Issue.record("no tab-separated record")
            return
        }
        #expect(record.fields == ["abcdefghij", "klmnopqrstu", "v"])
        #expect(!record.mayNeedCopyEscaping)
    }
}
