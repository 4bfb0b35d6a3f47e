import Identifiers
import Resolution
import Testing

@Suite("Opaque ids shared by children, families and flags")
struct IdentifierTests {
    @Test("minted ids have the prefix, the alphabet and a check symbol that catches a mistyped symbol")
    func mintAndCheck() {
        var generator = SystemRandomNumberGenerator()
        for prefix: Character in ["C", "F", "H"] {
            for _ in 0..<200 {
                let id = OpaqueID.mint(prefix: prefix, using: &generator)
                #expect(id.value.range(of: OpaqueID.sqlPattern(prefix: prefix), options: .regularExpression) != nil)
                #expect(OpaqueID(id.value, prefix: prefix) == id)
                #expect(OpaqueID(id.value.lowercased(), prefix: prefix) == id)
                #expect(OpaqueID(id.value, prefix: prefix == "C" ? "F" : "C") == nil)
                // Change one random symbol to another (not the 0/Z pair the check cannot see).
                var bytes = Array(id.value.utf8)
                let position = Int.random(in: 1...9, using: &generator)
                let old = OpaqueID.alphabet.firstIndex(of: bytes[position])!
                var new = Int.random(in: 0..<32, using: &generator)
                while new == old || (min(old, new) == 0 && max(old, new) == 31) {
                    new = Int.random(in: 0..<32, using: &generator)
                }
                bytes[position] = OpaqueID.alphabet[new]
                #expect(OpaqueID(String(decoding: bytes, as: UTF8.self), prefix: prefix) == nil)
            }
        }
    }

    @Test("ChildID keeps its format and API on top of OpaqueID")
    func childID() {
        var generator = SystemRandomNumberGenerator()
        let id = ChildID.mint(using: &generator)
        #expect(id.value.range(of: #"^C[0-9A-HJKMNP-TV-Z]{9}$"#, options: .regularExpression) != nil)
        #expect(ChildID(id.value) == id)
        #expect(ChildID("F" + id.value.dropFirst()) == nil)
        #expect(ChildID("C00000000") == nil)
        // A hand-computed example: symbols 1…8 are "12345678", check Σ i·v = 1+4+9+16+25+36+49+64 = 204 mod 31 = 18 → "J".
        #expect(ChildID("C12345678J") != nil)
        #expect(ChildID("C12345678K") == nil)
    }
}
