import Foundation
import Identifiers
import Postgres
import PostgresTestSupport
import Synth
import Testing

@testable import Feeds

#if canImport(Glibc)
    import Glibc
#endif

/// A small deterministic generator (SplitMix64): the same seed gives the same inputs on every
/// machine, so a failure is reproducible from the seed and the iteration number it prints.
struct SplitMix64: RandomNumberGenerator {
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

/// A bounded fuzzing budget: at most `iterations`, and never longer than `seconds` (so a slow
/// machine finishes; the count actually run is reported).
struct FuzzBudget {
    let iterations: Int
    let seconds: Double
    let started = Date()
    var executed = 0

    mutating func next() -> Bool {
        guard executed < iterations, Date().timeIntervalSince(started) < seconds else { return false }
        executed += 1
        return true
    }
}

/// Fuzz figures, printed for the closing note (`swift test --filter HostileInput | grep fuzz`).
func reportFuzz(_ name: String, _ budget: FuzzBudget, _ extra: String = "") {
    print(
        "[fuzz] \(name): \(budget.executed) executions in \(String(format: "%.2f", Date().timeIntervalSince(budget.started))) s, 0 crashes\(extra)"
    )
}

@Suite("Hostile input")
struct HostileInputTests {
    // MARK: - Property-based fuzzing with a fixed seed

    /// Bytes a CSV parser finds interesting, weighted towards structure.
    static let csvAlphabet: [UInt8] =
        Array("abcXYZ019 ,;|\t\"\"\"\r\n\n".utf8) + [
            0x00, 0xEF, 0xBB, 0xBF, 0x80, 0x92, 0xC3, 0xA9, 0xFF, 0xE2, 0x80, 0xAE,
        ]

    @Test(
        "CSV reader: random bytes, dialects, limits and chunk sizes never crash, hang or grow memory; every malformed record says why"
    )
    func fuzzCSVReader() throws {
        var random = SplitMix64(seed: 0x6663_6373_7631)
        var budget = FuzzBudget(iterations: 40_000, seconds: 12)
        let startRSS = ProcessMemory.residentKB
        var malformed = 0
        var records = 0
        let codes: Set<String> = [
            "unterminatedQuote", "unexpectedQuote", "textAfterClosingQuote", "fieldTooLarge", "recordTooLarge",
            "nulByte", "invalidEncoding",
        ]
        while budget.next() {
            let length = Int.random(in: 0...600, using: &random)
            var bytes: [UInt8] = []
            bytes.reserveCapacity(length)
            for _ in 0..<length {
                bytes.append(
                    Int.random(in: 0..<10, using: &random) == 0
                        ? UInt8.random(in: 0...255, using: &random) : Self.csvAlphabet.randomElement(using: &random)!)
            }
            var dialect = CSVDialect()
            dialect.delimiter = [UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "|"), 0x09].randomElement(
                using: &random)!
            dialect.encoding = TextEncodingPolicy.allCases.randomElement(using: &random)!
            dialect.maxFieldBytes = Int.random(in: 1...80, using: &random)
            dialect.maxRecordBytes = Int.random(in: 1...200, using: &random)
            let chunk = Int.random(in: 1...64, using: &random)
            let reader = CSVReader(bytes: bytes, dialect: dialect, chunkSize: chunk)
            var steps = 0
            do {
                while let result = try reader.next() {
                    steps += 1
                    // Each result consumes at least one byte: no infinite loop on any input.
                    #expect(steps <= bytes.count + 1, "seed iteration \(budget.executed): too many records")
                    if steps > bytes.count + 1 { break }
                    switch result {
                    case .record(let record):
                        records += 1
                        for index in 0..<record.fieldCount {
                            let field = record.field(index)
                            if dialect.encoding == .utf8 {
                                #expect(field.utf8.count <= dialect.maxFieldBytes)
                                #expect(!field.utf8.contains(0))
                            }
                        }
                        #expect(record.rawByteCount <= dialect.maxRecordBytes + 2)
                    case .malformed(let bad):
                        malformed += 1
                        #expect(
                            codes.contains(bad.error.code.description),
                            "iteration \(budget.executed): \(bad.error.code)")
                        // A reason, and never the content.
                        #expect(bad.error.description.hasPrefix("CSV \(bad.error.code)"))
                        #expect(bad.rawBytes.count <= dialect.maxRecordBytes)
                        #expect(
                            !bad.rawText.utf8.contains(0), "quarantine text never holds NUL (PostgreSQL text cannot)")
                    }
                    #expect(
                        reader.bufferCapacity <= dialect.maxRecordBytes + 3 * chunk + 8,
                        "iteration \(budget.executed): window grew")
                }
            } catch {
                Issue.record("iteration \(budget.executed): reading bytes from memory threw \(error)")
            }
        }
        #expect(budget.executed >= 2000)
        #expect(ProcessMemory.residentKB - startRSS < 200_000, "memory grew by more than 200 MB")
        reportFuzz("CSVReader", budget, "; \(records) records, \(malformed) malformed, each with a reason")
    }

    @Test("CSV round trip: whatever the writer quotes, the reader gives back exactly")
    func fuzzCSVRoundTrip() throws {
        var random = SplitMix64(seed: 0x726F_756E_6474)
        var budget = FuzzBudget(iterations: 8_000, seconds: 6)
        let pieces = [
            "", "a", "Zoë", "O'Brien", "\"", "\"\"", ",", ";", "\n", "\r\n", "\r", " ", "\t", "—", "😀", "Ω", "x y",
            "=1+1", "'; DROP TABLE x;--",
        ]
        while budget.next() {
            let fields = (0..<Int.random(in: 1...8, using: &random)).map { _ in
                (0..<Int.random(in: 0...4, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            }
            let writer = CSVWriter(lineEnding: Bool.random(using: &random) ? .crlf : .lf)
            var bytes: [UInt8] = []
            writer.appendRow(fields, to: &bytes)
            let reader = CSVReader(
                bytes: bytes, dialect: CSVDialect(), chunkSize: Int.random(in: 1...16, using: &random))
            guard case .record(let record)? = try reader.next() else {
                // A row of one empty field is an empty line, which the reader skips by design.
                #expect(fields == [""], "iteration \(budget.executed): \(fields.count) fields did not come back")
                continue
            }
            #expect((0..<record.fieldCount).map { record.field($0) } == fields, "iteration \(budget.executed)")
            #expect(try reader.next() == nil)
        }
        reportFuzz("CSV round trip", budget)
    }

    /// Values a definition mutation splices in: paths out of the folder, syntax, huge and odd values.
    static let definitionTokens = [
        "../../etc/passwd", "/etc/passwd", "..", "a/../../b", "./../x", "school/../..", "", "\"", "\"unterminated", "#",
        "=", "[", "]",
        "[feed]", "[source]", "[values.child.sex]", "[columns]", "-1", "0", "101", "99999999999999999999", "1e3", "  ",
        "drop-folder", "https", "sftp", "https://user:secret@example.org/x", "sftp://example.org/x", "every 0m",
        "daily 25:00",
        "daily 06:00", "YYYY-MM-DD", "DD/MM/YY", "YYYYMMDD hh:mm", "MM/DD/YYYY", "\u{202E}gnp.exe", "Ｏ",
        "scho\u{200B}ol",
        "\u{0}", "name = x", "kind = police", "retention_years = 0", "retention_from = birth", "retention_from = never",
        "child.surname = ", "fact.unknown = X", "extra. = Y", "max_field_bytes = 1", "max_field_bytes = 1099511627776",
        "delimiter = ,,", "encoding = utf-16", "child_ages = 9-3", "child_ages = 0-99", "folder = ../../etc/passwd",
    ]

    @Test(
        "feed definitions: mutated definitions load or are refused with file, line and key; none escapes its drop root")
    func fuzzDefinitions() throws {
        let folder = TestDatabase.schemasDirectory + "/feeds"
        let originals = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".feed") }
            .sorted().map {
                try String(contentsOfFile: folder + "/" + $0, encoding: .utf8)
            }
        #expect(originals.count == 4)
        var random = SplitMix64(seed: 0x6465_6669_6E65)
        var budget = FuzzBudget(iterations: 6_000, seconds: 10)
        var accepted = 0
        var refused: [String: Int] = [:]
        while budget.next() {
            var lines = originals.randomElement(using: &random)!.split(
                separator: "\n", omittingEmptySubsequences: false
            ).map(String.init)
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let at = Int.random(in: 0..<max(1, lines.count), using: &random)
                let token = Self.definitionTokens.randomElement(using: &random)!
                switch Int.random(in: 0..<7, using: &random) {
                case 0: if !lines.isEmpty { lines.remove(at: at) }
                case 1: if at < lines.count { lines.insert(lines[at], at: at) }
                case 2: lines.insert(token, at: min(at, lines.count))
                case 3:
                    // Replace a value.
                    if at < lines.count, let equals = lines[at].firstIndex(of: "=") {
                        lines[at] = String(lines[at][...equals]) + " " + token
                    }
                case 4:
                    if at < lines.count {
                        lines[at] = String(
                            lines[at].prefix(Int.random(in: 0...max(0, lines[at].count), using: &random)))
                    }
                case 5:
                    if at < lines.count, !lines[at].isEmpty {
                        var scalars = Array(lines[at].unicodeScalars)
                        scalars[Int.random(in: 0..<scalars.count, using: &random)] =
                            Unicode.Scalar(UInt8.random(in: 0...127, using: &random))
                        lines[at] = String(String.UnicodeScalarView(scalars))
                    }
                default: lines.append("[source]\nfolder = " + token)
                }
            }
            let text = lines.joined(separator: Bool.random(using: &random) ? "\n" : "\r\n")
            do {
                let definition = try FeedDefinition.parse(text: text, path: "fuzz.feed", checksum: "0")
                accepted += 1
                if case .dropFolder(let drop, _) = definition.source {
                    #expect(
                        !drop.hasPrefix("/") && !drop.split(separator: "/").contains(".."), "escaped its root: \(drop)")
                    #expect(!drop.isEmpty)
                }
                if let years = definition.retentionYears { #expect((1...100).contains(years)) }
                #expect(definition.dialect.maxFieldBytes >= 1024 && definition.dialect.maxFieldBytes <= 64 << 20)
                #expect(
                    !definition.name.isEmpty
                        && definition.name.utf8.allSatisfy {
                            $0 == 95 || (48...57).contains($0) || (97...122).contains($0)
                        })
            } catch {
                refused[error.code.description, default: 0] += 1
                #expect(!error.message.isEmpty, "iteration \(budget.executed): refused without a reason")
                #expect(error.description.hasPrefix("fuzz.feed") || error.file == "fuzz.feed")
            }
        }
        #expect(accepted > 0 && refused.values.reduce(0, +) > 0)
        #expect(refused["unsafePath", default: 0] > 0, "paths out of the drop root were tried and refused")
        reportFuzz(
            "FeedDefinition.parse", budget,
            "; \(accepted) accepted, refused by reason: \(refused.sorted { $0.key < $1.key })")
    }

    /// Characters that look like digits or letters and are not ASCII, and other traps.
    static let lookAlikes: [Character] = [
        "０", "１", "２", "９", "٠", "٣", "۷", "¹", "²", "𝟗", "О", "В", "Е", "А", "Ν", "Ζ", "ß", "ﬁ", "\u{200B}",
        "\u{202E}", "\u{0301}",
        "\u{0}", "😀", " ", "-", "/", ".", "\t",
    ]
    static let identifierAlphabet: [Character] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz  -/") + lookAlikes

    static func mutate(_ text: String, _ random: inout SplitMix64) -> String {
        var characters = Array(text)
        for _ in 0..<Int.random(in: 0...3, using: &random) {
            let alphabet = identifierAlphabet
            switch Int.random(in: 0..<4, using: &random) {
            case 0 where !characters.isEmpty:
                characters.remove(at: Int.random(in: 0..<characters.count, using: &random))
            case 1:
                characters.insert(
                    alphabet.randomElement(using: &random)!, at: Int.random(in: 0...characters.count, using: &random))
            case 2 where !characters.isEmpty:
                characters[Int.random(in: 0..<characters.count, using: &random)] = alphabet.randomElement(
                    using: &random)!
            default: characters.shuffle(using: &random)
            }
        }
        return String(characters)
    }

    @Test(
        "identifier and date validators: random and mutated input is valid by the rules or refused with a reason that never repeats it"
    )
    func fuzzIdentifiers() throws {
        var random = SplitMix64(seed: 0x6964_656E_7473)
        var budget = FuzzBudget(iterations: 60_000, seconds: 12)
        let valid = [
            "943 476 5919", "4010232137", "B801200005001", "A926000001001", "QQ123456C", "AB 12 34 56 D", "NR31 3FA",
            "PE30 1AB",
            "IP24 3RF", "EC1A 1BB", "2016-02-29", "29/02/2016", "20160229 23:59", "1/2/2020",
        ]
        let patterns = [
            "YYYY-MM-DD", "DD/MM/YYYY", "D/M/YYYY", "YYYYMMDD", "YYYYMMDD hh:mm", "DD-MM-YYYY hh:mm:ss", "MM/DD/YYYY",
        ]
        var accepted = 0
        var refused = 0
        func check<T>(_ result: Result<T, IdentifierError>, _ input: String, valid: (T) -> Bool) {
            switch result {
            case .success(let value):
                accepted += 1
                #expect(valid(value), "accepted something invalid (iteration \(budget.executed))")
            case .failure(let error):
                refused += 1
                #expect(!error.reason.isEmpty)
                let significant = input.filter { !$0.isWhitespace }
                if significant.count >= 6 {
                    #expect(!error.description.contains(significant), "the reason repeats the input")
                }
            }
        }
        func asciiDigits(_ text: String) -> Bool { text.utf8.allSatisfy { (48...57).contains($0) } }
        while budget.next() {
            let input: String
            if Bool.random(using: &random) {
                input = Self.mutate(valid.randomElement(using: &random)!, &random)
            } else {
                input = String(
                    (0..<Int.random(in: 0...16, using: &random)).map { _ in
                        Self.identifierAlphabet.randomElement(using: &random)!
                    })
            }
            check(NHSNumber.parse(input), input) { number in
                number.digits.count == 10 && asciiDigits(number.digits)
                    && NHSNumber.checkDigit(forFirstNine: number.digits.utf8.prefix(9).map { Int($0) - 48 }) == Int(
                        number.digits.utf8.last!) - 48
            }
            check(UniquePupilNumber.parse(input), input) { upn in
                upn.value.utf8.count == 13
                    && upn.value.utf8.allSatisfy { (48...57).contains($0) || (65...90).contains($0) }
                    && UniquePupilNumber.checkLetter(forLastTwelve: upn.value.dropFirst()) == upn.value.first
            }
            check(NationalInsuranceNumber.parse(input), input) { nino in
                nino.value.utf8.count == 9
                    && nino.value.utf8.allSatisfy { (48...57).contains($0) || (65...90).contains($0) }
            }
            check(UKPostcode.parse(input), input) { postcode in
                postcode.value.utf8.allSatisfy { (48...57).contains($0) || (65...90).contains($0) || $0 == 32 }
                    && postcode.value.filter { $0 == " " }.count == 1 && (6...8).contains(postcode.value.count)
            }
            if let date = CalendarDate(iso8601: input) {
                #expect(CalendarDate(year: date.year, month: date.month, day: date.day) != nil)
            }
            let format = try DateFormat(pattern: patterns.randomElement(using: &random)!)
            check(format.parseResult(input), input) { date in
                CalendarDate(year: date.year, month: date.month, day: date.day) != nil
                    && (format.hasTime || format.parse(format.format(date)) == date)
            }
            // Patterns themselves: refused with a reason, or usable.
            let pattern = Self.mutate(patterns.randomElement(using: &random)!, &random)
            do {
                let made = try DateFormat(pattern: pattern)
                _ = made.parse(input)
            } catch {
                #expect(!error.reason.isEmpty)
            }
        }
        // Look-alikes are never identifiers: full-width, Arabic-Indic and superscript digits, Cyrillic letters.
        #expect((try? NHSNumber.parse("９４３４７６５９１９").get()) == nil)
        #expect((try? NHSNumber.parse("٩٤٣٤٧٦٥٩١٩").get()) == nil)
        #expect((try? UniquePupilNumber.parse("В801200005001").get()) == nil, "Cyrillic Ve")
        #expect((try? UKPostcode.parse("ΝR31 3FA").get()) == nil, "Greek Nu")
        #expect((try? NHSNumber.parse("943 476 5919").get()) != nil)
        #expect(budget.executed >= 5000)
        reportFuzz(
            "identifier and date validators", budget, "; \(accepted) accepted, \(refused) refused, each with a reason")
    }

    @Test(
        "record normaliser: random rows under every shipped definition load or are quarantined with a field and a reason, never the value"
    )
    func fuzzNormaliser() throws {
        let definitions = try FeedDefinition.loadAll(directory: TestDatabase.schemasDirectory + "/feeds")
        var random = SplitMix64(seed: 0x6E6F_726D_616C)
        var budget = FuzzBudget(iterations: 20_000, seconds: 10)
        let today = CalendarDate(year: 2026, month: 9, day: 1)!
        let values = [
            "", "2016-02-29", "29/02/2016", "31/02/2016", "20260610 21:40", "Y", "N", "maybe", "120", "-5",
            "99999999999", "Completed",
            "12 Month", "DOMESTIC ABUSE", "NR31 3FA", "ＮＲ３１", "SMITH, JO", "O'Brien", "\u{202E}x", "'; DROP TABLE x;--",
            "Zoë",
            "9434765919", "B801200005001", "QQ123456C", "2099-01-01",
        ]
        var loaded = 0
        var rejected: [String: Int] = [:]
        var normalisers: [(FeedDefinition, RecordNormaliser)] = []
        // Seeds: real-looking rows of each feed (synthetic), mutated a few fields at a time.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fc-fuzz-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try SyntheticFeedWriter.write(config: SynthConfig(children: 60, seed: 4), to: folder)
        var seeds: [[[String]]] = []
        for definition in definitions {
            let kind = try #require(FeedKind(rawValue: definition.name))
            normalisers.append(
                (definition, try RecordNormaliser(definition: definition, header: kind.columns, today: today)))
            let reader = try CSVReader(path: folder.appendingPathComponent(kind.fileName).path)
            var rows: [[String]] = []
            while let result = try reader.next() {
                if case .record(let record) = result, record.recordNumber > 1 {
                    rows.append((0..<record.fieldCount).map { record.field($0) })
                }
            }
            seeds.append(rows)
        }
        while budget.next() {
            let index = Int.random(in: 0..<normalisers.count, using: &random)
            var normaliser = normalisers[index].1
            var fields = seeds[index].randomElement(using: &random)!
            for _ in 0..<Int.random(in: 0...3, using: &random) {
                let at = Int.random(in: 0..<fields.count, using: &random)
                fields[at] =
                    Bool.random(using: &random)
                    ? values.randomElement(using: &random)! : Self.mutate(fields[at], &random)
            }
            switch normaliser.normalise(fields, recordNumber: budget.executed, lineNumber: budget.executed + 1) {
            case .success:
                loaded += 1
            case .failure(let rejection):
                rejected[rejection.field ?? "(row)", default: 0] += 1
                #expect(!rejection.reason.isEmpty)
                for value in fields where value.count >= 6 && !["Completed", "12 Month"].contains(value) {
                    #expect(!rejection.reason.contains(value), "a rejection reason repeats a value")
                }
            }
            normalisers[index].1 = normaliser
        }
        #expect(loaded > 0 && !rejected.isEmpty)
        reportFuzz(
            "RecordNormaliser", budget,
            "; \(loaded) loaded, \(rejected.values.reduce(0, +)) quarantined over \(rejected.count) fields")
    }

    // MARK: - Huge and hostile files

    @Test("a 2 GiB single line (streamed through a pipe) is refused in bounded memory, and the next line still reads")
    func twoGigabyteLine() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let (readEnd, writeEnd) = (fds[0], fds[1])
        let total = 2 << 30  // 2 GiB of one field, no line break
        let writer = Thread {
            let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20)
            var left = total
            chunk.withUnsafeBytes { buffer in
                while left > 0 {
                    let n = write(writeEnd, buffer.baseAddress!, min(left, buffer.count))
                    if n <= 0 { break }
                    left -= n
                }
            }
            _ = "\nnext,line\n".withCString { write(writeEnd, $0, 11) }
            close(writeEnd)
        }
        writer.start()
        let reader = CSVReader(fileDescriptor: readEnd, dialect: CSVDialect(), closeWhenDone: true)
        let started = Date()
        guard case .malformed(let bad)? = try reader.next() else {
            Issue.record("the 2 GiB line was not refused")
            return
        }
        #expect(bad.error.code == .fieldTooLarge)
        #expect(bad.rawBytes.count <= CSVDialect().maxRecordBytes)
        #expect(reader.bufferCapacity <= CSVDialect().maxRecordBytes + 3 * CSVReader.defaultChunkSize)
        guard case .record(let next)? = try reader.next() else {
            Issue.record("the line after it was lost")
            return
        }
        #expect(next.fieldCount == 2 && next.field(0) == "next" && next.field(1) == "line")
        #expect(try reader.next() == nil)
        #expect(reader.bytesRead == Int64(total) + 11)
        // Had the line been buffered, this process would hold 2 GiB or more.
        #expect(ProcessMemory.residentKB < 1_500_000)
        #expect(ProcessMemory.kilobytes("VmHWM") < 1_900_000)
        print(
            "[hostile] 2 GiB line: refused (fieldTooLarge) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s, window \(reader.bufferCapacity) bytes"
        )
    }

    /// One school attendance file with a valid header and the given data lines.
    static func schoolFile(_ lines: [[UInt8]], in folder: URL, name: String) throws -> String {
        var bytes = Array(FeedKind.schoolAttendance.columns.joined(separator: ",").utf8) + [0x0A]
        for line in lines { bytes += line + [0x0A] }
        let path = folder.appendingPathComponent(name).path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return path
    }

    static func schoolRow(
        upn: String = "", given: String = "Ann", family: String = "Lee", dob: String = "2015-05-05",
        line1: String = "1 Road",
        town: String = "Norwich", postcode: String = "NR1 1AA", school: String = "Riverside"
    ) -> [String] {
        [
            upn, given, family, given, family, dob, "F", line1, "", town, postcode, school, "2026-01-05", "2026-03-27",
            "100", "90",
        ]
    }

    static func csvLine(_ fields: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        CSVWriter(lineEnding: .lf).appendRow(fields, to: &bytes)
        return Array(bytes.dropLast())
    }

    @Test(
        "a file of NUL bytes, a 10 MB field and a 24 MB line: refused or quarantined with a reason; the good rows load")
    func hugeAndNul() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fc-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let definitions = try FeedDefinition.loadAll(directory: TestDatabase.schemasDirectory + "/feeds")
        let school = try #require(definitions.first { $0.name == "school_attendance" })
        let today = CalendarDate(year: 2026, month: 9, day: 1)!
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            // A file of nothing but NUL bytes: no header, refused whole, nothing stored.
            let nulPath = folder.appendingPathComponent("nul.csv").path
            #expect(FileManager.default.createFile(atPath: nulPath, contents: Data(count: 1 << 20)))
            let nulError = #expect(throws: FeedBatchError.self) {
                try FeedLoader(definition: school, today: today).load(path: nulPath, connection: connection)
            }
            #expect(nulError?.description.contains("nulByte") == true, "\(String(describing: nulError))")
            #expect(try connection.execute("SELECT count(*) FROM feed_batches").scalar(Int.self) == 0)
            // The reader on its own: one malformed record for the one line, then the end.
            let reader = try CSVReader(path: nulPath)
            guard case .malformed(let bad)? = try reader.next() else { Issue.record("NULs not refused"); return }
            #expect(bad.error.code == .nulByte && !bad.rawText.utf8.contains(0))
            #expect(try reader.next() == nil)

            // NUL inside a row, a 10 MB field and a 24 MB line, between good rows.
            let tenMB = String(repeating: "x", count: 10_000_000)
            var nulRow = Self.csvLine(Self.schoolRow(given: "Nul"))
            nulRow.insert(0, at: 10)
            let path = try Self.schoolFile(
                [
                    Self.csvLine(Self.schoolRow(given: "Good", family: "First")),
                    nulRow,
                    Self.csvLine(Self.schoolRow(given: "Big", school: tenMB)),
                    [UInt8](repeating: UInt8(ascii: "y"), count: 24_000_000),
                    Self.csvLine(Self.schoolRow(given: "Good", family: "Last")),
                ], in: folder, name: "hostile.csv")
            guard
                case .loaded(let batch) = try FeedLoader(definition: school, today: today).load(
                    path: path, connection: connection)
            else {
                Issue.record("not loaded")
                return
            }
            #expect(batch.rowsRead == 5 && batch.rowsLoaded == 2 && batch.rowsQuarantined == 3)
            let reasons = try connection.query(
                "SELECT reason, length(raw_line) FROM quarantined_rows ORDER BY record_number"
            ).map {
                (try $0.decode(String.self, at: 0), try $0.decode(Int.self, at: 1))
            }
            #expect(
                reasons.map(\.0) == [
                    "malformed CSV: nulByte", "malformed CSV: fieldTooLarge", "malformed CSV: fieldTooLarge",
                ])
            #expect(reasons.allSatisfy { $0.1 <= CSVDialect().maxRecordBytes }, "raw text is capped")
            #expect(
                try connection.execute("SELECT count(*) FROM source_records WHERE given_name = 'Good'").scalar(Int.self)
                    == 2)
        }
    }

    @Test("definitions pointing outside their folder are refused, naming the key")
    func definitionOutsideFolder() throws {
        let original = try String(
            contentsOfFile: TestDatabase.schemasDirectory + "/feeds/school_attendance.feed", encoding: .utf8)
        for folder in ["../../etc/passwd", "/etc/passwd", "..", "school/../../../etc", "./../x", "/"] {
            let text = original.replacingOccurrences(of: "folder = school_attendance", with: "folder = \(folder)")
            let error = #expect(throws: FeedDefinitionError.self) {
                try FeedDefinition.parse(text: text, path: "school.feed", checksum: "x")
            }
            #expect(error?.code == .unsafePath && error?.key == "source.folder" && error?.line != nil, "\(folder)")
        }
        // A folder name that merely contains dots stays inside.
        let fine = original.replacingOccurrences(
            of: "folder = school_attendance", with: "folder = school..attendance/in")
        if case .dropFolder(let folder, _) = try FeedDefinition.parse(text: fine, path: "school.feed", checksum: "x")
            .source
        {
            #expect(folder == "school..attendance/in")
        }
    }

    @Test(
        "SQL metacharacters, control characters and Unicode look-alikes in every field are stored literally or quarantined"
    )
    func metacharacters() throws {
        let payloads = [
            "Robert'); DROP TABLE source_records;--", "\" OR \"1\"=\"1", "'; SELECT pg_sleep(30); --",
            "$1 $$ $tag$ \\ \\x00 %s %n {}",
            "Ｏ'Ｂｒｉｅｎ", "Аlice", "Zoë\u{200B}Smith", "\u{202E}evil\u{202C}", "💥 Ω ß", "ＮＲ３１ ３ＦＡ", "NR31 3FA\u{0301}",
            "В801200005001", "E'\\\\' || chr(0) || '", "\\N", "\t tabbed \t",
        ]
        let definitions = try FeedDefinition.loadAll(directory: TestDatabase.schemasDirectory + "/feeds")
        let school = try #require(definitions.first { $0.name == "school_attendance" })
        let today = CalendarDate(year: 2026, month: 9, day: 1)!
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fc-meta-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // Every column gets the payload, except what must be valid for the row to be usable at all
        // (a date of birth; the facts' dates and numbers): one row with the payload everywhere, and
        // one row with it in the text columns only.
        var rows: [[String]] = []
        for payload in payloads {
            rows.append(Array(repeating: payload, count: FeedKind.schoolAttendance.columns.count))
            rows.append(
                Self.schoolRow(
                    upn: payload, given: payload, family: payload + "x", line1: payload, town: payload,
                    postcode: payload, school: payload))
        }
        let path = try Self.schoolFile(rows.map(Self.csvLine), in: folder, name: "meta.csv")
        // What the normaliser makes of each row, to compare with what the database holds.
        var normaliser = try RecordNormaliser(
            definition: school, header: FeedKind.schoolAttendance.columns, today: today)
        var expected: [Int: CanonicalRecord] = [:]
        var expectedQuarantine: Set<Int> = []
        for (index, row) in rows.enumerated() {
            switch normaliser.normalise(row, recordNumber: index + 1, lineNumber: index + 2) {
            case .success(let record): expected[index + 1] = record
            case .failure(let rejection):
                expectedQuarantine.insert(index + 1)
                #expect(!rejection.reason.isEmpty)
            }
        }
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            let started = Date()
            guard
                case .loaded(let batch) = try FeedLoader(definition: school, today: today).load(
                    path: path, connection: connection)
            else {
                Issue.record("not loaded")
                return
            }
            #expect(Date().timeIntervalSince(started) < 20, "nothing was executed (pg_sleep)")
            #expect(
                batch.rowsRead == rows.count && batch.rowsLoaded == expected.count
                    && batch.rowsQuarantined == expectedQuarantine.count)
            #expect(expected.count >= payloads.count, "the text-only rows load")
            let stored = try connection.query(
                """
                SELECT record_number, upn, upn_raw, given_name, family_name, address_line1, town, postcode, postcode_raw,
                       facts->>'school_name'
                FROM source_records ORDER BY record_number
                """)
            #expect(stored.count == expected.count)
            for row in stored {
                let number = try row.decode(Int.self, at: 0)
                let record = try #require(expected[number])
                #expect(try row.decode(String?.self, at: 1) == record.upn)
                #expect(try row.decode(String?.self, at: 2) == record.upnRaw)
                #expect(try row.decode(String?.self, at: 3) == record.givenName)
                #expect(try row.decode(String?.self, at: 4) == record.familyName)
                #expect(try row.decode(String?.self, at: 5) == record.addressLine1)
                #expect(try row.decode(String?.self, at: 6) == record.town)
                #expect(try row.decode(String?.self, at: 7) == record.postcode)
                #expect(try row.decode(String?.self, at: 8) == record.postcodeRaw)
                if case .text(let school)? = record.fact("school_name") {
                    #expect(try row.decode(String?.self, at: 9) == school)
                }
                // Look-alikes are never identifiers.
                #expect(try row.decode(String?.self, at: 1) == nil && row.decode(String?.self, at: 7) == nil)
            }
            // The payloads are there, byte for byte, where the normaliser keeps text as sent.
            for payload in payloads where payload.first != " " && payload.first != "\t" {
                let trimmed = payload
                #expect(
                    try connection.execute(
                        "SELECT count(*) FROM source_records WHERE address_line1 = $1 OR upn_raw = $1", [trimmed]
                    )
                    .scalar(Int.self) >= 1, "\(payload.unicodeScalars.map { String($0.value, radix: 16) })")
            }
            let quarantined = try connection.query(
                "SELECT record_number, reason FROM quarantined_rows ORDER BY record_number")
            #expect(Set(try quarantined.map { try $0.decode(Int.self, at: 0) }) == expectedQuarantine)
            #expect(try quarantined.allSatisfy { !(try $0.decode(String.self, at: 1)).isEmpty })
            // Still all there.
            #expect(
                try connection.execute(
                    "SELECT count(*) FROM pg_tables WHERE tablename IN ('source_records', 'children')"
                ).scalar(Int.self) == 2)
        }
    }
}
