import Config
import Testing

@Suite("Config file format")
struct ConfigFileTests {
    @Test("sections, keys, comments and quoted values")
    func parses() throws {
        let file = try ConfigFile(
            path: "x.conf",
            text: "# top\n[a]\nkey = value # comment\nhash = Pupil#\nquoted = \"  spaced # kept \"\n\n[b]\nk=v\r\n")
        #expect(file.entry("a", "key")?.value == "value")
        #expect(file.entry("a", "hash")?.value == "Pupil#")
        #expect(file.entry("a", "quoted")?.value == "  spaced # kept ")
        #expect(file.entry("b", "k")?.value == "v")
        #expect(file.entry("b", "k")?.line == 8)
        #expect(file.sections == ["a", "b"])
    }

    @Test("errors name the file, line and key")
    func errors() {
        for (text, line, key) in [
            ("[a]\nk = 1\nk = 2\n", 3, "a.k"), ("k = 1\n", 1, nil), ("[a]\njust words\n", 2, nil), ("[a\n", 1, nil),
        ] as [(String, Int, String?)] {
            do {
                _ = try ConfigFile(path: "bad.conf", text: text)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.line == line)
                #expect(error.key == key)
                #expect(error.description.hasPrefix("bad.conf:\(line)"))
            }
        }
    }
}
