import Resolution
import Testing

@Suite("Comparators: postcodes")
struct ComparatorPostcodeTests {
    @Test(
        "levels",
        arguments: [
            ("NR31 3FA", "NR31 3FA", PostcodeLevel.exact),
            ("NR31 3FA", "nr313fa", .exact),
            ("NR31 3FA", "NR31 3QT", .sameSector),
            ("NR31 3FA", "NR31 6LP", .sameDistrict),
            ("NR31 3FA", "NR30 3FA", .different),
            ("NR31 3FA", "NR3 13FA", .exact),  // the inward code is always the last three characters
            ("M1 1AE", "M1 1AF", .sameSector),
            ("M1 1AE", "M11 1AE", .different),
            ("SW1A 1AA", "SW1A 2AA", .sameDistrict),
            ("EC1A 1BB", "EC1A 1BB", .exact),
        ])
    func levels(_ a: String, _ b: String, _ expected: PostcodeLevel) {
        #expect(PostcodeComparison.compare(a, b) == expected)
        #expect(PostcodeComparison.compare(b, a) == expected)
    }

    @Test func missing() {
        #expect(PostcodeComparison.compare(nil, "NR31 3FA") == .missing)
        #expect(PostcodeComparison.compare("NR31 3FA", nil) == .missing)
        #expect(PostcodeComparison.compare("", "NR31 3FA") == .missing)
        #expect(PostcodeComparison.compare("NFA", "NR31 3FA") == .missing)  // "no fixed abode"
        #expect(PostcodeComparison.compare("NR31 FA3", "NR31 3FA") == .missing)
        #expect(PostcodeComparison.compare("NR31-3FA", "NR31 3FA") == .missing)
        #expect(PostcodeComparison.compare(nil as String?, nil) == .missing)
        #expect(PostcodeComparison.compare(nil as PostcodeKey?, PostcodeKey("NR31 3FA")) == .missing)
    }

    @Test func keyPacking() throws {
        let key = try #require(PostcodeKey("NR31 3FA"))
        #expect(key.outward == 0x4E52_3331)
        #expect(key.inward == 0x0033_4641)
        #expect(key.sectorDigit == UInt8(ascii: "3"))
        #expect(PostcodeKey("m1 1ae")?.outward == 0x4D31)
        #expect(PostcodeKey("NR31 3FA") == PostcodeKey("nr31   3fa"))
    }
}
