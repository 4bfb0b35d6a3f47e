import Resolution
import Testing

private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

@Suite("Comparators: NameKey")
struct NameKeyTests {
    @Test(
        "folding to upper-case ASCII",
        arguments: [
            ("Zoë", "ZOE"), ("Zoe\u{0308}", "ZOE"), ("Łukasz", "LUKASZ"), ("Ørsted", "ORSTED"),
            ("Strauß", "STRAUSS"), ("STRAUẞ", "STRAUSS"), ("O'Brien", "OBRIEN"), ("O’Brien", "OBRIEN"),
            ("Renée", "RENEE"), ("François", "FRANCOIS"), ("Nguyễn", "NGUYEN"), ("Şükrü", "SUKRU"),
            ("Đorđe", "DORDE"), ("Ævar", "AEVAR"), ("Œdipe", "OEDIPE"), ("Þór", "THOR"), ("Iñaki", "INAKI"),
            ("Çelik", "CELIK"), ("Yıldız", "YILDIZ"), ("İsmail", "ISMAIL"), ("Ștefan", "STEFAN"),
            ("Siobhán", "SIOBHAN"), ("Małgorzata", "MALGORZATA"), ("Dvořák", "DVORAK"), ("Əliyev", "ALIYEV"),
            ("ＪＯＨＮ", "JOHN"), ("  john  ", "JOHN"), ("j.r.", "JR"), ("Smith2", "SMITH"),
        ])
    func folding(_ input: String, _ expected: String) throws {
        let key = try #require(NameKey(input))
        #expect(text(key.bytes) == expected, "\(input)")
        #expect(key.parts.count == 1)
    }

    @Test func hyphensAndSpacesSeparateParts() throws {
        let key = try #require(NameKey("Smith-Jones"))
        #expect(text(key.bytes) == "SMITHJONES")
        #expect(key.parts.map(text) == ["SMITH", "JONES"])
        #expect(key.isHyphenated)
        #expect(key.text == "SMITH-JONES")

        let spaced = try #require(NameKey("  de  la   Cruz "))
        #expect(text(spaced.bytes) == "DELACRUZ")
        #expect(spaced.parts.map(text) == ["DE", "LA", "CRUZ"])
        #expect(!spaced.isHyphenated)
        #expect(spaced.text == "DE LA CRUZ")

        // Runs of separators count once; leading and trailing ones are ignored.
        let messy = try #require(NameKey("- Mary -- Ann – "))
        #expect(messy.parts.map(text) == ["MARY", "ANN"])
        #expect(messy.isHyphenated)

        // An en dash is a hyphen; an apostrophe between parts does not split them.
        let dash = try #require(NameKey("Ahmed–Khan"))
        #expect(dash.parts.map(text) == ["AHMED", "KHAN"])
        #expect(try #require(NameKey("D'Arcy-O'Neill")).parts.map(text) == ["DARCY", "ONEILL"])
    }

    @Test func equalityFollowsLettersAndPartBreaks() throws {
        #expect(NameKey("Mary-Ann") == NameKey("mary ann"))
        #expect(NameKey("Zoë") == NameKey("ZOE"))
        #expect(NameKey("Mary Ann") != NameKey("Maryann"))
        #expect(try #require(NameKey("Mary Ann")).fingerprint == (try #require(NameKey("Maryann"))).fingerprint)
        #expect(Set([NameKey("Zoë"), NameKey("zoe"), NameKey("ZOE")]).count == 1)
    }

    @Test(
        "nil when nothing foldable remains",
        arguments: [
            "", "   ", "-", "'", "123", "...", "Иван", "李", "Anna Иванова", "محمد",
        ])
    func nilCases(_ input: String) {
        #expect(NameKey(input) == nil, "\(input.unicodeScalars.map { $0.value })")
    }

    @Test func utf8InitialiserMatchesStringInitialiser() {
        for name in ["O'Brien", "Zoë", "Smith-Jones", "Łukasz", "", "Иван"] {
            #expect(NameKey(utf8: Array(name.utf8)) == NameKey(name))
            #expect(NameKey(utf8: name.utf8) == NameKey(name))
        }
    }

    @Test func fingerprintIsStableFNV1a() throws {
        // FNV-1a 64 of "A" (offset basis 0xCBF29CE484222325, prime 0x100000001B3).
        #expect(try #require(NameKey("a")).fingerprint == 0xAF63_FC4C_8602_22EC)
    }
}
