import Identifiers
import Testing

@Suite struct UKPostcodeTests {
    @Test(arguments: [
        ("nr313fa", "NR31 3FA"), ("NR31  3FA", "NR31 3FA"), (" nr31 3fa ", "NR31 3FA"), ("NR313FA", "NR31 3FA"),
        ("n r 3 1 3 f a", "NR31 3FA"), ("pe30 1aa", "PE30 1AA"), ("IP24\t2AB", "IP24 2AB"),
    ])
    func normalisation(input: String, expected: String) {
        #expect(UKPostcode(input)?.value == expected)
    }

    @Test func parts() throws {
        let p = try UKPostcode.parse("nr313fa").get()
        #expect(p.outward == "NR31")
        #expect(p.inward == "3FA")
        #expect(p.area == "NR")
        #expect(p.district == "NR31")
        #expect(p.sector == "NR31 3")
        let single = try UKPostcode.parse("m11ae").get()
        #expect(single.area == "M")
        #expect(single.outward == "M1")
        #expect(single.sector == "M1 1")
    }

    @Test(arguments: [
        ("M1 1AE", "M"), ("B33 8TH", "B"), ("W1A 0AX", "W"), ("CR2 6XH", "CR"), ("DN55 1PT", "DN"), ("EC1A 1BB", "EC"),
    ])
    func allSixShapes(code: String, area: String) {
        let p = UKPostcode(code)
        #expect(p?.value == code)
        #expect(p?.area == area)
    }

    @Test(arguments: [
        "", "NR31", "12345", "NR31 FA3", "NRR1 3FA", "NR31 3CA", "NR31 3FI", "QR31 3FA", "NJ31 3FA",
        "NR31A1 3FA", "1R31 3FA", "W1L 0AX", "EC1C 1BB", "NR31 33A", "NR31-3FA",
    ])
    func rejects(code: String) {
        #expect(UKPostcode(code) == nil)
        if case .failure(let e) = UKPostcode.parse(code), !code.isEmpty {
            #expect(!e.description.contains(code))
        }
    }
}
