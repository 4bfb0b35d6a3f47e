import Testing

@testable import Feeds

@Suite("Name and address cleaning")
struct NameCleaningTests {
    @Test(arguments: [
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
