import Identifiers
import Testing

/// Independent UPN check letter from the DfE rule in domain.md: characters 2–13 times positions 2…13,
/// sum mod 23, alphabet without I, O, S; a letter in position 13 counts as its index in that alphabet.
func independentUPNCheckLetter(_ lastTwelve: String) -> Character? {
    let alphabet = Array("ABCDEFGHJKLMNPQRTUVWXYZ")
    let chars = Array(lastTwelve)
    guard chars.count == 12 else { return nil }
    var total = 0
    for (offset, ch) in chars.enumerated() {
        let position = offset + 2
        let value: Int
        if let d = ch.wholeNumberValue, ch.isASCII {
            value = d
        } else if position == 13, let idx = alphabet.firstIndex(of: ch) {
            value = idx
        } else {
            return nil
        }
        total += value * position
    }
    return alphabet[total % 23]
}

func independentUPNValid(_ upn: String) -> Bool {
    let c = Array(upn)
    guard c.count == 13 else { return false }
    guard c[1...11].allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
    return independentUPNCheckLetter(String(c[1...])) == c[0]
}

@Suite struct UniquePupilNumberTests {
    @Test func knownValidExample() throws {
        // 8·2 + 0·3 + 1·4 + 2·5 + 0·6 + 0·7 + 0·8 + 0·9 + 5·10 + 0·11 + 0·12 + 1·13 = 93; 93 mod 23 = 1 → B.
        let upn = try UniquePupilNumber.parse("B801200005001").get()
        #expect(upn.value == "B801200005001")
        #expect(!upn.isTemporary)
        #expect(upn.localAuthority == "801")
        #expect(upn.establishment == "2000")
        #expect(upn.yearAllocated == "05")
        #expect(UniquePupilNumber.checkLetter(forLastTwelve: "801200005001") == "B")
        #expect(independentUPNValid("B801200005001"))
    }

    @Test func caseAndBlanks() {
        #expect(UniquePupilNumber(" b801200005001 ")?.value == "B801200005001")
    }

    @Test func rejections() {
        func code(_ s: String) -> IdentifierError.Code? {
            if case .failure(let e) = UniquePupilNumber.parse(s) { return e.code }
            return nil
        }
        #expect(code("C801200005001") == .badCheckLetter)
        #expect(code("B80120000500") == .wrongLength)
        #expect(code("B8012000050011") == .wrongLength)
        #expect(code("B80120X005001") == .notDigits)
        #expect(code("I801200005001") == .badFormat)  // I is never a check letter
        #expect(code("1801200005001") == .badFormat)
        #expect(code("B80120000500O") == .badFormat)  // O is not in the alphabet
        #expect(code("") == .empty)
    }

    @Test func temporaryUPN() throws {
        let twelve = "92620012300A"
        let letter = try #require(independentUPNCheckLetter(twelve))
        let upn = try UniquePupilNumber.parse(String(letter) + twelve).get()
        #expect(upn.isTemporary)
        #expect(upn.localAuthority == "926")
        #expect(UniquePupilNumber.checkLetter(forLastTwelve: twelve) == letter)
        // Lower-case temporary letter is normalised.
        #expect(UniquePupilNumber(String(letter) + "92620012300a")?.value == String(letter) + twelve)
    }

    @Test func checkLetterAgreesWithIndependentRule() {
        var rng = TestLCG(state: 7)
        let alphabet = Array("ABCDEFGHJKLMNPQRTUVWXYZ")
        for i in 0..<5000 {
            var s = String((0..<11).map { _ in Character(String(rng.below(10))) })
            s.append(i % 5 == 0 ? alphabet[rng.below(23)] : Character(String(rng.below(10))))
            let ours = UniquePupilNumber.checkLetter(forLastTwelve: s)
            #expect(ours == independentUPNCheckLetter(s))
            if let ours {
                let built = UniquePupilNumber.withCheckLetter(lastTwelve: s)
                #expect(built?.value == String(ours) + s)
                #expect(independentUPNValid(String(ours) + s))
                // Every other letter is rejected.
                let wrong = alphabet[(alphabet.firstIndex(of: ours)! + 1 + rng.below(22)) % 23]
                #expect(UniquePupilNumber(String(wrong) + s) == nil)
            }
        }
    }

    @Test("a check letter needs digits in the first eleven of the twelve; any other byte there refuses it")
    func checkLetterRefusesNonDigitsBeforeTheLast() {
        var rng = TestLCG(state: 11)
        let strays = Array("ABZaz /:-.")
        for _ in 0..<2000 {
            var characters = (0..<12).map { _ in Character(String(rng.below(10))) }
            characters[rng.below(11)] = strays[rng.below(strays.count)]
            let twelve = String(characters)
            #expect(UniquePupilNumber.checkLetter(forLastTwelve: twelve) == nil)
            #expect(independentUPNCheckLetter(twelve) == nil)
        }
    }

    @Test func descriptionRedacted() {
        let upn = UniquePupilNumber("B801200005001")!
        #expect(!upn.description.contains("8012"))
        if case .failure(let e) = UniquePupilNumber.parse("C801200005001") {
            #expect(!e.description.contains("801200005001"))
        } else {
            Issue.record("expected failure")
        }
    }
}

@Suite struct NationalInsuranceNumberTests {
    /// `normalised(utf8:into:)` writes, without a string, exactly the `value` `parse` keeps, and
    /// nothing for what `parse` refuses (wrong length, digits out of place, bad suffix or prefix).
    @Test func normalisedInPlaceMatchesParse() {
        var rng = TestLCG(state: 4242)
        var samples = ["ab 12 34 56 c", "JH123456A", " jh123456a ", "QQ123456C", "ZZ123456A", "JH12345A", "", "  "]
        let letters = Array("ABCDEFGHJKLMNOPQRSTWXYZ abcdz")
        let digits = Array("0123456789 ")
        for _ in 0..<5_000 {
            var text = ""
            for _ in 0..<2 { text.append(letters[rng.below(letters.count)]) }
            for _ in 0..<(5 + rng.below(3)) { text.append(digits[rng.below(digits.count)]) }
            text.append(Array("ABCDEab ")[rng.below(8)])
            samples.append(text)
        }
        var valid = 0
        var refused = 0
        for text in samples {
            var out = [UInt8](repeating: 0x2A, count: 16)
            let written = Array(text.utf8).withUnsafeBufferPointer { raw in
                out.withUnsafeMutableBufferPointer { NationalInsuranceNumber.normalised(utf8: raw, into: $0) }
            }
            switch NationalInsuranceNumber.parse(text) {
            case .success(let number):
                valid += 1
                #expect(written == 9)
                #expect(String(decoding: out.prefix(9), as: UTF8.self) == number.value)
                #expect(out[9] == 0x2A, "nothing written past the nine characters")
            case .failure:
                refused += 1
                #expect(written == nil)
            }
        }
        #expect(valid > 300, "the sample holds valid numbers")
        #expect(refused > 300, "the sample holds numbers parse refuses")
    }

    @Test func normalises() throws {
        let n = try NationalInsuranceNumber.parse("ab 12 34 56 c").get()
        #expect(n.value == "AB123456C")
        #expect(n.prefix == "AB")
        #expect(n.suffix == "C")
        #expect(n.formatted == "AB 12 34 56 C")
        #expect(NationalInsuranceNumber("JH123456A")?.value == "JH123456A")
        #expect(!n.description.contains("123456"))
    }

    @Test func prefixRules() {
        for bad in [
            "DA", "FA", "IA", "QA", "UA", "VA", "AD", "AF", "AI", "AO", "AQ", "AU", "AV",
            "BG", "GB", "NK", "KN", "TN", "NT", "ZZ",
        ] {
            let r = NationalInsuranceNumber.parse(bad + "123456A")
            if case .failure(let e) = r {
                #expect(e.code == .badPrefix, "\(bad)")
            } else {
                Issue.record("prefix \(bad) accepted")
            }
        }
        for good in ["AA", "OA", "ZY", "JT", "BH", "NA", "TT"] {
            #expect(NationalInsuranceNumber(good + "123456D") != nil, "\(good)")
        }
        #expect(NationalInsuranceNumber.isAllocatedPrefix("a", "b"))
        #expect(!NationalInsuranceNumber.isAllocatedPrefix("Z", "Z"))
    }

    @Test func shapeRules() {
        func code(_ s: String) -> IdentifierError.Code? {
            if case .failure(let e) = NationalInsuranceNumber.parse(s) { return e.code }
            return nil
        }
        #expect(code("AB123456E") == .badFormat)
        #expect(code("AB123456") == .wrongLength)
        #expect(code("AB12345C6") == .notDigits)
        #expect(code("A1123456C") == .badFormat)
        #expect(code(" ") == .empty)
    }
}
