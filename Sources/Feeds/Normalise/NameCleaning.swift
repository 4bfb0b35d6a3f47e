import Config

/// Cleans a name for storage and display, keeping what carries information.
///
/// - white space trimmed and collapsed;
/// - a name sent wholly in upper or lower case (police extracts) becomes Title Case, word by word
///   and after hyphens and apostrophes (`O'BRIEN-SMITH` → `O'Brien-Smith`); mixed case is kept;
/// - diacritics are kept (`Zoë` stays `Zoë`: folding is the matcher's business, not storage's);
/// - hyphens and apostrophes are kept (a double-barrelled surname is evidence); other punctuation
///   (`.`, `,`, `"`, `*`, digits) is dropped;
/// - letters keep their script: a Cyrillic `о` in `Jоnes` stays Cyrillic (see `mixesScripts`).
public enum NameCleaning {
    public static func clean(_ raw: String) -> String? {
        if let ascii = cleanASCII(raw) { return ascii.isEmpty ? nil : ascii }
        return cleanUnicode(raw)
    }

    /// `clean`, and whether the name mixes Latin letters with Cyrillic or Greek ones: a
    /// data-quality finding, since such a name is almost always a look-alike (`Jоnes` with a
    /// Cyrillic `о`), which no matcher will see as `Jones`. ASCII names cost nothing extra.
    public static func cleanChecked(_ raw: String) -> (name: String?, mixedScripts: Bool) {
        if let ascii = cleanASCII(raw) { return (ascii.isEmpty ? nil : ascii, false) }
        return (cleanUnicode(raw), mixesScripts(raw))
    }

    /// Whether `text` has both Latin letters and Cyrillic or Greek ones. Whole words in one script
    /// are no finding on their own (`Іванов` is a name); the mix in one field is. The letters are
    /// not rewritten into Latin: which Latin letter a look-alike stands for is a guess, and the
    /// partner's value is the evidence, so it is stored as sent and counted as not valid.
    public static func mixesScripts(_ text: String) -> Bool {
        // Most names are ASCII: one pass over the bytes, no Unicode decoding.
        guard text.utf8.contains(where: { $0 >= 0x80 }) else { return false }
        var latin = false
        var lookAlike = false
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x41...0x5A, 0x61...0x7A, 0xC0...0x24F, 0x1E00...0x1EFF, 0xFF21...0xFF3A, 0xFF41...0xFF5A:
                if scalar.value != 0xD7 && scalar.value != 0xF7 { latin = true }
            case 0x370...0x3FF, 0x1F00...0x1FFF, 0x400...0x52F, 0x1C80...0x1C8F, 0x2DE0...0x2DFF, 0xA640...0xA69F:
                if scalar.properties.isAlphabetic { lookAlike = true }
            default:
                continue
            }
            if latin && lookAlike { return true }
        }
        return false
    }

    static func cleanUnicode(_ raw: String) -> String? {
        var words: [String] = []
        var current = ""
        var hasUpper = false
        var hasLower = false
        for scalar in raw.unicodeScalars {
            let kind = LetterKind(scalar)
            if kind.isWhitespace {
                if !current.isEmpty { words.append(current); current = "" }
                continue
            }
            if scalar == "-" || scalar == "'" || scalar == "’" {
                current.unicodeScalars.append(scalar == "’" ? "'" : scalar)
                continue
            }
            guard kind.isAlphabetic else { continue }
            if kind.isUppercase { hasUpper = true }
            if kind.isLowercase { hasLower = true }
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

    /// The same rules over bytes, for the common all-ASCII name (most rows of most feeds): no
    /// Unicode property look-ups. Returns nil when the name has non-ASCII bytes, "" when nothing is left.
    static func cleanASCII(_ raw: String) -> String? {
        var raw = raw
        var out: [UInt8] = []
        let ascii = raw.withUTF8 { bytes in cleanASCII(bytes, appendingTo: &out) }
        return ascii ? String(decoding: out, as: UTF8.self) : nil
    }

    /// `cleanASCII` over bytes, appending the cleaned name to `out` (nothing when nothing is left).
    /// Returns false, leaving `out` as it was, when the name has non-ASCII bytes.
    static func cleanASCII(_ raw: UnsafeBufferPointer<UInt8>, appendingTo out: inout [UInt8]) -> Bool {
        guard !raw.isEmpty else { return true }
        let base = out.count
        // Room for the name (cleaning never lengthens it), then cut to what was written.
        out.append(contentsOf: repeatElement(0, count: raw.count))
        let written = out.withUnsafeMutableBufferPointer { cleanASCII(raw, into: $0.baseAddress! + base) }
        out.removeSubrange((base + (written ?? 0))...)
        return written != nil
    }

    /// `cleanASCII` over bytes, written at `out` (room for `raw.count` bytes: cleaning never
    /// lengthens a name); how many bytes it wrote (0 when nothing is left), or nil when the name
    /// has non-ASCII bytes. Through a pointer: the lane cleans names straight into its row.
    static func cleanASCII(_ raw: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<UInt8>) -> Int? {
        var count = 0
        var hasUpper = false
        var hasLower = false
        var wordStart = 0
        func closeWord() {
            // Trim hyphens and apostrophes at the ends of the word just finished.
            var end = count
            while end > wordStart && (out[end - 1] == 0x2D || out[end - 1] == 0x27) { end -= 1 }
            var start = wordStart
            while start < end && (out[start] == 0x2D || out[start] == 0x27) { start += 1 }
            // Moved down byte by byte, front first (the ranges may overlap).
            for index in 0..<(end - start) { out[wordStart + index] = out[start + index] }
            count = wordStart + (end - start)
        }
        for byte in raw {
            guard byte < 0x80 else { return nil }
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D:
                if count > wordStart {
                    closeWord()
                    if count > wordStart {
                        out[count] = 0x20
                        count += 1
                        wordStart = count
                    }
                }
            case 0x2D, 0x27:
                out[count] = byte
                count += 1
            case 0x41...0x5A:
                hasUpper = true
                out[count] = byte
                count += 1
            case 0x61...0x7A:
                hasLower = true
                out[count] = byte
                count += 1
            default:
                continue
            }
        }
        if count > wordStart { closeWord() }
        while count > 0 && out[count - 1] == 0x20 { count -= 1 }
        if hasUpper != hasLower {
            var startOfWord = true
            for index in 0..<count {
                let byte = out[index]
                if byte == 0x20 || byte == 0x2D || byte == 0x27 {
                    startOfWord = true
                } else {
                    if startOfWord && byte >= 0x61 { out[index] = byte - 0x20 }
                    if !startOfWord && byte <= 0x5A { out[index] = byte + 0x20 }
                    startOfWord = false
                }
            }
        }
        return count
    }

    static func titleCased(_ name: String) -> String {
        var out = ""
        var startOfWord = true
        for character in name {
            if character == " " || character == "-" || character == "'" {
                out.append(character)
                startOfWord = true
            } else {
                // A one-byte (ASCII) character is cased over its byte, as `uppercased()` and
                // `lowercased()` case it; any other through them.
                if character.utf8.count == 1, let byte = character.asciiValue {
                    let cased = startOfWord ? ASCIILetters.upper(byte) : ASCIILetters.lower(byte)
                    out.unicodeScalars.append(Unicode.Scalar(cased))
                } else {
                    out += startOfWord ? character.uppercased() : character.lowercased()
                }
                startOfWord = false
            }
        }
        return out
    }

    /// What `cleanUnicode` asks of a scalar's Unicode properties. An ASCII scalar's are read from
    /// its value (the Unicode tables give White_Space to tab through CR and to space, and the
    /// letter properties to A–Z and a–z only), without the table look-ups non-ASCII ones take.
    struct LetterKind {
        var isWhitespace: Bool
        var isAlphabetic: Bool
        var isUppercase: Bool
        var isLowercase: Bool

        @inline(__always)
        init(_ scalar: Unicode.Scalar) {
            if scalar.isASCII {
                let byte = UInt8(truncatingIfNeeded: scalar.value)
                isWhitespace = byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
                isUppercase = byte >= 0x41 && byte <= 0x5A
                isLowercase = byte >= 0x61 && byte <= 0x7A
                isAlphabetic = isUppercase || isLowercase
            } else {
                let properties = scalar.properties
                isWhitespace = properties.isWhitespace
                isAlphabetic = properties.isAlphabetic
                isUppercase = properties.isUppercase
                isLowercase = properties.isLowercase
            }
        }
    }

    /// ASCII letters cased over bytes; other bytes unchanged.
    private enum ASCIILetters {
        static func upper(_ byte: UInt8) -> UInt8 { byte >= 0x61 && byte <= 0x7A ? byte - 0x20 : byte }
        static func lower(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte }
    }

    /// Splits a one-column name: `SURNAME, Forename Middle` or `Forename Middle Surname`.
    public static func split(fullName raw: String) -> (forename: String?, surname: String?) {
        if let comma = raw.firstIndex(of: ",") {
            return (
                clean(String(raw[raw.index(after: comma)...]))?.split(separator: " ").first.map(String.init),
                clean(String(raw[..<comma]))
            )
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
        // Fast path: nothing to collapse (the usual case) returns the string as it is.
        var previousSpace = true
        var clean = true
        for byte in raw.utf8 {
            let space = byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
            if (space && previousSpace) || (space && byte != 0x20) { clean = false; break }
            previousSpace = space
        }
        if clean && !previousSpace { return raw }
        let words = raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
        return words.isEmpty ? nil : words.joined(separator: " ")
    }
}
