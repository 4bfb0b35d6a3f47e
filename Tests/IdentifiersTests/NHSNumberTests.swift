import Identifiers
import Testing

/// An independent NHS number check, written from the rule in domain.md and not sharing code with the module.
func independentNHSValid(_ s: String) -> Bool {
    let d = s.compactMap { $0.wholeNumberValue }
    guard s.count == 10, d.count == 10 else { return false }
    var total = 0
    for (i, w) in (2...10).reversed().enumerated() { total += d[i] * w }
    let r = 11 - (total % 11)
    if r == 10 { return false }
    return (r == 11 ? 0 : r) == d[9]
}

/// A tiny deterministic generator for property tests (not the module's PRNG).
struct TestLCG {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state >> 33
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

@Suite struct NHSNumberTests {
    // Worked by hand: 9 4 3 4 7 6 5 9 1 with weights 10…2:
    // 90 + 36 + 24 + 28 + 42 + 30 + 20 + 27 + 2 = 299; 299 mod 11 = 2; 11 − 2 = 9 → 943 476 5919.
    // Second: 4 0 1 0 2 3 2 1 3: 40 + 0 + 8 + 0 + 12 + 15 + 8 + 3 + 6 = 92; 92 mod 11 = 4; 11 − 4 = 7 → 401 023 2137.
    @Test func handComputedExamplesAreValid() throws {
        let a = try NHSNumber.parse("9434765919").get()
        #expect(a.digits == "9434765919")
        #expect(NHSNumber("4010232137") != nil)
        #expect(NHSNumber.checkDigit(forFirstNine: [9, 4, 3, 4, 7, 6, 5, 9, 1]) == 9)
        #expect(NHSNumber.checkDigit(forFirstNine: [4, 0, 1, 0, 2, 3, 2, 1, 3] as [UInt8]) == 7)
    }

    @Test func separatorsAndBlanksAreAccepted() {
        for text in ["943 476 5919", "943-476-5919", "  9434765919 ", "943 476  5919", "9434 765919"] {
            #expect(NHSNumber(text)?.digits == "9434765919", "\(text)")
        }
        #expect(NHSNumber("943 476 5919")?.formatted == "943 476 5919")
    }

    @Test func rejectionsCarryTheRightCode() {
        func code(_ s: String) -> IdentifierError.Code? {
            if case .failure(let e) = NHSNumber.parse(s) { return e.code }
            return nil
        }
        #expect(code("943476591") == .wrongLength)
        #expect(code("94347659190") == .wrongLength)
        #expect(code("943476591X") == .notDigits)
        #expect(code("943/476/5919") == .notDigits)
        #expect(code("9434765918") == .checkDigitMismatch)
        // 1 0 0 0 0 0 0 0 1: 10 + 2 = 12; 12 mod 11 = 1; 11 − 1 = 10 → no valid check digit.
        #expect(code("1000000010") == .checkDigitTen)
        #expect(NHSNumber.checkDigit(forFirstNine: [1, 0, 0, 0, 0, 0, 0, 0, 1]) == nil)
        // All the same passes modulus 11 (e.g. 1111111111: sum 54, 54 mod 11 = 10, check 1) but is refused.
        #expect(independentNHSValid("1111111111"))
        #expect(code("1111111111") == .allSameDigits)
        #expect(code("0000000000") == .allSameDigits)
        #expect(code("") == .empty)
        #expect(code("   ") == .empty)
        #expect(code("943--476-5919") == .badFormat)
        #expect(code("-9434765919") == .badFormat)
        #expect(code("9434765919-") == .badFormat)
    }

    @Test func checkDigitInputValidation() {
        #expect(NHSNumber.checkDigit(forFirstNine: [1, 2, 3]) == nil)
        #expect(NHSNumber.checkDigit(forFirstNine: [9, 4, 3, 4, 7, 6, 5, 9, 1, 9]) == nil)
        #expect(NHSNumber.checkDigit(forFirstNine: [9, 4, 3, 4, 7, 6, 5, 9, 12]) == nil)
    }

    @Test func agreesWithIndependentValidatorOnRandomNumbers() {
        var rng = TestLCG(state: 12345)
        var valid = 0
        for _ in 0..<20_000 {
            let s = String((0..<10).map { _ in Character(String(rng.below(10))) })
            let ours: Bool
            if case .success = NHSNumber.parse(s) { ours = true } else { ours = false }
            let allSame = Set(s).count == 1
            #expect(ours == (independentNHSValid(s) && !allSame), "disagreement")
            if ours { valid += 1 }
        }
        // About 1 in 11 random numbers pass.
        #expect(valid > 1200 && valid < 2400)
    }

    /// The in-place form the loader's lane uses writes exactly the digits `parse` keeps, and
    /// nothing for what `parse` refuses (separators, blanks, bad check digits, all one digit).
    @Test func normalisedInPlaceMatchesParse() {
        var rng = TestLCG(state: 777)
        var samples = [
            "943 476 5919", "943-476-5919", "  9434765919 ", "943--476-5919", "1111111111", "", " ", "94347659",
        ]
        for _ in 0..<5_000 {
            let digits = String((0..<10).map { _ in Character(String(rng.below(10))) })
            samples.append(rng.below(3) == 0 ? String(digits.prefix(3)) + " " + String(digits.dropFirst(3)) : digits)
        }
        var valid = 0
        for text in samples {
            var out = [UInt8](repeating: 0x2A, count: 16)
            let written = Array(text.utf8).withUnsafeBufferPointer { raw in
                out.withUnsafeMutableBufferPointer { NHSNumber.normalised(utf8: raw, into: $0) }
            }
            switch NHSNumber.parse(text) {
            case .success(let number):
                valid += 1
                #expect(written == 10)
                #expect(String(decoding: out.prefix(10), as: UTF8.self) == number.digits)
                #expect(out[10] == 0x2A, "nothing written past the ten digits")
            case .failure:
                #expect(written == nil)
            }
        }
        #expect(valid > 300, "the sample holds valid numbers")
    }

    @Test func withCheckDigitBuildsValidNumbers() {
        var rng = TestLCG(state: 99)
        var built = 0
        for _ in 0..<2000 {
            let nine = (0..<9).map { _ in rng.below(10) }
            if let n = NHSNumber.withCheckDigit(firstNine: nine) {
                built += 1
                #expect(independentNHSValid(n.digits))
                #expect(n.digits.hasPrefix(nine.map(String.init).joined()))
            } else {
                #expect(NHSNumber.checkDigit(forFirstNine: nine) == nil || Set(nine).count == 1)
            }
        }
        #expect(built > 1700)
    }

    @Test func testRange() throws {
        // 999 000 000 x has check 10 (243 mod 11 = 1), so search upward for a valid test-range number.
        var found: NHSNumber?
        for tail in 0..<100 {
            let nine = [9, 9, 9, 0, 0, 0, 0, tail / 10, tail % 10]
            if let n = NHSNumber.withCheckDigit(firstNine: nine) { found = n; break }
        }
        let test = try #require(found)
        #expect(test.isTestRange)
        #expect(NHSNumber("9434765919")?.isTestRange == false)
        #expect(NHSNumber("4010232137")?.isTestRange == false)
    }

    @Test func descriptionsNeverShowTheNumber() {
        let n = NHSNumber("9434765919")!
        #expect(!n.description.contains("5919"))
        #expect(!"\(n)".contains("943"))
        for bad in ["9434765918", "943476591", "94347659X9", "1000000010", "2222222222"] {
            guard case .failure(let e) = NHSNumber.parse(bad) else {
                Issue.record("expected failure")
                continue
            }
            #expect(!e.description.contains(bad))
            #expect(!e.description.contains(String(bad.prefix(4))))
            #expect(!e.reason.isEmpty)
        }
    }

    @Test func parsesBytesAndSubstrings() {
        let line = "x,943 476 5919,y"
        let field = line.split(separator: ",")[1]
        #expect(NHSNumber(field)?.digits == "9434765919")
        let bytes: [UInt8] = Array("9434765919".utf8)
        #expect((try? NHSNumber.parse(utf8: bytes).get())?.digits == "9434765919")
        #expect((try? NHSNumber.parse(utf8: bytes[0..<9]).get()) == nil)
    }
}
