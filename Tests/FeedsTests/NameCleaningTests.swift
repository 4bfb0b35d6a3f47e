import Testing

@testable import Feeds

@Suite("Name and address cleaning")
struct NameCleaningTests {
    @Test(
        arguments: [
            ("  O'BRIEN-SMITH ", "O'Brien-Smith"),
            ("mary  ellen", "Mary Ellen"),
            ("McDonald", "McDonald"),
            ("ZOË", "Zoë"),
            ("Smith.", "Smith"),
            ("Jones’", "Jones"),
            ("-Taylor-", "Taylor"),
            ("12345", nil),
            ("", nil),
        ] as [(String, String?)])
    func clean(raw: String, expected: String?) {
        #expect(NameCleaning.clean(raw) == expected)
    }

    @Test("names mixing Latin with Cyrillic or Greek look-alikes are a finding; one script is not")
    func mixedScripts() {
        let cyrillicO = "\u{043E}"  // о, CYRILLIC SMALL LETTER O
        #expect(NameCleaning.mixesScripts("J\(cyrillicO)nes"))
        #expect(NameCleaning.mixesScripts("\u{0410}lice"))  // Cyrillic А
        #expect(NameCleaning.mixesScripts("\u{0396}oe"))  // Greek Ζ
        #expect(NameCleaning.mixesScripts("Smith-\u{041F}\u{0435}\u{0442}\u{0440}\u{043E}\u{0432}"))
        #expect(!NameCleaning.mixesScripts("Jones"))
        #expect(!NameCleaning.mixesScripts("Zoë Brontë"))
        #expect(!NameCleaning.mixesScripts("\u{0406}\u{0432}\u{0430}\u{043D}\u{043E}\u{0432}"))  // Іванов
        #expect(!NameCleaning.mixesScripts("\u{0391}\u{03BB}\u{03AD}\u{03BE}\u{03B7}\u{03C2}"))  // Αλέξης
        #expect(!NameCleaning.mixesScripts("O'Brien × 2"))  // × is not a letter
    }

    @Test("a mixed-script name is title-cased like any other, each letter keeping its script, and flagged")
    func mixedScriptsCleaned() {
        let upperO = "\u{041E}"  // О, CYRILLIC CAPITAL LETTER O
        let lowerO = "\u{043E}"
        // Case mapping never changes a letter's script: JОNES becomes Jоnes, with the Cyrillic о kept.
        #expect(NameCleaning.cleanChecked("J\(upperO)NES") == ("J\(lowerO)nes", true))
        #expect(NameCleaning.cleanChecked("j\(lowerO)nes") == ("J\(lowerO)nes", true))
        #expect(NameCleaning.cleanChecked("  J\(lowerO)nes ") == ("J\(lowerO)nes", true))
        #expect(NameCleaning.cleanChecked("J\(lowerO)nes").name != "Jones")
        #expect(NameCleaning.cleanChecked("JONES") == ("Jones", false))
        #expect(NameCleaning.cleanChecked("ZOË") == ("Zoë", false))
    }

    @Test("a scalar's letter kind, read from its value when ASCII, is what the Unicode tables say")
    func letterKindsAgreeWithUnicode() {
        let others: [UInt32] = [0x85, 0xA0, 0xC9, 0xDF, 0xEB, 0x141, 0x142, 0x2003, 0x2019, 0x301, 0x41E, 0x43E, 0x3B1]
        for value in Array(0..<0x80) + others {
            let scalar = Unicode.Scalar(value)!
            let kind = NameCleaning.LetterKind(scalar)
            #expect(kind.isWhitespace == scalar.properties.isWhitespace, "U+\(String(value, radix: 16))")
            #expect(kind.isAlphabetic == scalar.properties.isAlphabetic, "U+\(String(value, radix: 16))")
            #expect(kind.isUppercase == scalar.properties.isUppercase, "U+\(String(value, radix: 16))")
            #expect(kind.isLowercase == scalar.properties.isLowercase, "U+\(String(value, radix: 16))")
        }
    }

    @Test(
        "non-ASCII names: Title Case over ASCII and other letters alike, non-ASCII spaces split words",
        arguments: [
            ("ÉMILE  O'BRIEN-SMITH", "Émile O'Brien-Smith"),
            ("łukasz mcdonald-ó'neill", "Łukasz Mcdonald-Ó'Neill"),
            ("ZOË\u{00A0}LEE", "Zoë Lee"),
            ("Zoë\u{2003}McDonald", "Zoë McDonald"),
            ("SEÁN 2ND", "Seán Nd"),
            ("ß", "SS"),
            ("’ÉLODIE’", "Élodie"),
        ] as [(String, String)])
    func nonASCIINames(raw: String, expected: String) {
        #expect(NameCleaning.clean(raw) == expected)
    }

    @Test func fullNames() {
        #expect(NameCleaning.split(fullName: "SMITH-JONES, ALFIE JAMES") == ("Alfie", "Smith-Jones"))
        #expect(NameCleaning.split(fullName: "ALFIE JAMES SMITH") == ("Alfie", "Smith"))
        #expect(NameCleaning.split(fullName: "SMITH") == (nil, "Smith"))
    }

    @Test func addresses() {
        let parts = NameCleaning.split(fullAddress: "12 Church Lane, Gorleston,  Great Yarmouth")
        #expect(parts.line1 == "12 Church Lane")
        #expect(parts.line2 == "Gorleston")
        #expect(parts.town == "Great Yarmouth")
    }
}
