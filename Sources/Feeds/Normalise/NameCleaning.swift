import Config
/// Cleans a name for storage and display, keeping what carries information.
///
/// - white space trimmed and collapsed;
/// - a name sent wholly in upper or lower case (police extracts) becomes Title Case, word by word
///   and after hyphens and apostrophes (`O'BRIEN-SMITH` → `O'Brien-Smith`); mixed case is kept;
/// - diacritics are kept (`Zoë` stays `Zoë`: folding is the matcher's business, not storage's);
/// - hyphens and apostrophes are kept (a double-barrelled surname is evidence); other punctuation
///   (`.`, `,`, `"`, `*`, digits) is dropped.
public enum NameCleaning {
    public static func clean(_ raw: String) -> String? {
        var words: [String] = []
        var current = ""
        var hasUpper = false
        var hasLower = false
        for scalar in raw.unicodeScalars {
            if scalar.properties.isWhitespace {
                if !current.isEmpty { words.append(current); current = "" }
                continue
            }
            if scalar == "-" || scalar == "'" || scalar == "’" {
                current.unicodeScalars.append(scalar == "’" ? "'" : scalar)
                continue
            }
            guard scalar.properties.isAlphabetic else { continue }
            if scalar.properties.isUppercase { hasUpper = true }
            if scalar.properties.isLowercase { hasLower = true }
            current.unicodeScalars.append(scalar)
        }
        if !current.isEmpty { words.append(current) }
        // Leading/trailing hyphens and apostrophes are noise ("-Smith", "Jones'").
        words = words.map { word in
            var slice = Substring(word)
            while let first = slice.first, first == "-" || first == "'" { slice = slice.dropFirst() }
            while let last = slice.last, last == "-" || last == "'" { slice = slice.dropLast() }
            return String(slice)
        }.filter { !$0.isEmpty }
        guard !words.isEmpty else { return nil }
        let name = words.joined(separator: " ")
        return hasUpper != hasLower ? titleCased(name) : name
    }

    static func titleCased(_ name: String) -> String {
        var out = ""
        var startOfWord = true
        for character in name {
            if character == " " || character == "-" || character == "'" {
                out.append(character)
                startOfWord = true
            } else {
                out += startOfWord ? character.uppercased() : character.lowercased()
                startOfWord = false
            }
        }
        return out
    }

    /// Splits a one-column name: `SURNAME, Forename Middle` or `Forename Middle Surname`.
    public static func split(fullName raw: String) -> (forename: String?, surname: String?) {
        if let comma = raw.firstIndex(of: ",") {
            return (clean(String(raw[raw.index(after: comma)...]))?.split(separator: " ").first.map(String.init),
                clean(String(raw[..<comma])))
        }
        guard let cleaned = clean(raw) else { return (nil, nil) }
        let words = cleaned.split(separator: " ")
        guard words.count > 1 else { return (nil, cleaned) }
        return (String(words.first!), String(words.last!))
    }

    /// Splits a one-column address `12 Church Lane, Gorleston, Great Yarmouth` into line 1, line 2, town.
    public static func split(fullAddress raw: String) -> (line1: String?, line2: String?, town: String?) {
        let parts = raw.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
        switch parts.count {
        case 0: return (nil, nil, nil)
        case 1: return (parts[0], nil, nil)
        case 2: return (parts[0], nil, parts[1])
        default: return (parts[0], parts[1..<(parts.count - 1)].joined(separator: ", "), parts.last)
        }
    }

    /// Collapses white space in a free-text field (addresses, school names); nil when blank.
    public static func collapse(_ raw: String) -> String? {
        let words = raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
        return words.isEmpty ? nil : words.joined(separator: " ")
    }
}
