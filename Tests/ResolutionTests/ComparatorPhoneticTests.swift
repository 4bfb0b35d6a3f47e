import Resolution
import Testing

@Suite("Comparators: phonetic codes")
struct ComparatorPhoneticTests {
    @Test(
        "American Soundex",
        arguments: [
            ("Robert", "R163"), ("Rupert", "R163"), ("Rubin", "R150"), ("Ashcraft", "A261"),
            ("Ashcroft", "A261"), ("Tymczak", "T522"), ("Pfister", "P236"), ("Honeyman", "H555"),
            ("Lee", "L000"), ("O'Brien", "O165"), ("Smith-Jones", "S532"), ("Gutierrez", "G362"),
            ("Jackson", "J250"), ("Washington", "W252"), ("Zoë", "Z000"),
        ])
    func soundex(_ name: String, _ code: String) throws {
        let key = try #require(NameKey(name))
        let packed = Phonetic.soundex(key)
        #expect(Phonetic.soundexString(packed) == code, "\(name)")
        let expected = code.utf8.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        #expect(packed == expected)
    }

    @Test func soundexOfRawBytesIgnoresCaseAndNonLetters() {
        let code = Array("r-o'b e r t 1".utf8).withUnsafeBufferPointer { Phonetic.soundex($0) }
        #expect(Phonetic.soundexString(code) == "R163")
        #expect([UInt8]().withUnsafeBufferPointer { Phonetic.soundex($0) } == 0)
        #expect(Phonetic.soundexString(0) == "")
    }

    @Test(
        "NYSIIS",
        arguments: [
            ("Brian", "BRAN"), ("Brown", "BRAN"), ("Brun", "BRAN"), ("Smith", "SNAT"), ("Schmit", "SNAT"),
            ("Schmidt", "SNAD"), ("Knuth", "NAT"), ("Kelly", "CALY"), ("Trueman", "TRANAN"),
            ("Truman", "TRANAN"), ("Capp", "CAP"), ("Cope", "CAP"), ("Kipp", "CAP"), ("Dane", "DAN"),
            ("Dean", "DAN"), ("Dionne", "DAN"), ("Macintosh", "MCANT"), ("Phillips", "FALAP"),
            ("Robert", "RABAD"), ("Rupert", "RAPAD"),
        ])
    func nysiis(_ name: String, _ code: String) throws {
        let key = try #require(NameKey(name))
        #expect(Phonetic.nysiisString(Phonetic.nysiis(key)) == code, "\(name)")
    }

    @Test func nysiisPacksFiveBitsPerLetterFirstLetterHighest() throws {
        let code = Phonetic.nysiis(try #require(NameKey("Smith")))  // SNAT
        let expected: UInt32 = 19 << 25 | 14 << 20 | 1 << 15 | 20 << 10
        #expect(code == expected)
        #expect(Phonetic.nysiisString(0) == "")
    }
}
