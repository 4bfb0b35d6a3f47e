// Byte-level text helpers for the CSV reader: UTF-8 validation and Windows-1252 decoding.

enum CSVText {
    /// Offset of the first byte that is not part of a well-formed UTF-8 sequence (no overlongs, no surrogates,
    /// nothing above U+10FFFF), or nil if all of `bytes` is valid.
    static func firstInvalidUTF8Offset(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let p = bytes.baseAddress else { return nil }
        let n = bytes.count
        var i = 0
        while i < n {
            // ASCII fast path, eight bytes at a time.
            while i + 8 <= n {
                let word = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
                if word & 0x8080_8080_8080_8080 != 0 { break }
                i += 8
            }
            if i >= n { break }
            let b0 = p[i]
            if b0 < 0x80 {
                i += 1
                continue
            }
            @inline(__always) func isContinuation(_ at: Int) -> Bool { at < n && p[at] & 0xC0 == 0x80 }
            if b0 < 0xC2 { return i }
            if b0 < 0xE0 {
                guard isContinuation(i + 1) else { return i }
                i += 2
            } else if b0 < 0xF0 {
                guard i + 1 < n else { return i }
                let b1 = p[i + 1]
                let low: UInt8 = b0 == 0xE0 ? 0xA0 : 0x80
                let high: UInt8 = b0 == 0xED ? 0x9F : 0xBF
                guard b1 >= low, b1 <= high, isContinuation(i + 2) else { return i }
                i += 3
            } else if b0 < 0xF5 {
                guard i + 1 < n else { return i }
                let b1 = p[i + 1]
                let low: UInt8 = b0 == 0xF0 ? 0x90 : 0x80
                let high: UInt8 = b0 == 0xF4 ? 0x8F : 0xBF
                guard b1 >= low, b1 <= high, isContinuation(i + 2), isContinuation(i + 3) else { return i }
                i += 4
            } else {
                return i
            }
        }
        return nil
    }

    /// Unicode scalars for bytes 0x80–0x9F in Windows-1252 (WHATWG mapping; undefined bytes map to C1 controls).
    static let windows1252High: [UInt16] = [
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
        0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
        0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
        0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
    ]

    /// Decodes every byte as Windows-1252. With `replacingNUL`, NUL bytes become U+FFFD.
    static func decodeWindows1252(_ bytes: UnsafeBufferPointer<UInt8>, replacingNUL: Bool = false) -> String {
        windows1252High.withUnsafeBufferPointer { table in
            String(unsafeUninitializedCapacity: bytes.count * 3) { out in
                var o = 0
                for b in bytes {
                    if b < 0x80 {
                        if b == 0 && replacingNUL {
                            out[o] = 0xEF
                            out[o + 1] = 0xBF
                            out[o + 2] = 0xBD
                            o += 3
                        } else {
                            out[o] = b
                            o += 1
                        }
                        continue
                    }
                    let scalar = b < 0xA0 ? UInt32(table[Int(b) - 0x80]) : UInt32(b)
                    if scalar < 0x800 {
                        out[o] = UInt8(0xC0 | (scalar >> 6))
                        out[o + 1] = UInt8(0x80 | (scalar & 0x3F))
                        o += 2
                    } else {
                        out[o] = UInt8(0xE0 | (scalar >> 12))
                        out[o + 1] = UInt8(0x80 | ((scalar >> 6) & 0x3F))
                        out[o + 2] = UInt8(0x80 | (scalar & 0x3F))
                        o += 3
                    }
                }
                return o
            }
        }
    }

    /// Text under `policy`, for bytes already known to be acceptable under it (valid UTF-8 for `.utf8`).
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, policy: TextEncodingPolicy, isASCII: Bool) -> String {
        if isASCII { return String(decoding: bytes, as: UTF8.self) }
        switch policy {
        case .utf8:
            return String(decoding: bytes, as: UTF8.self)
        case .windows1252:
            return decodeWindows1252(bytes)
        case .utf8OrWindows1252:
            if firstInvalidUTF8Offset(bytes) == nil { return String(decoding: bytes, as: UTF8.self) }
            return decodeWindows1252(bytes)
        }
    }

    /// Best-effort text of raw record bytes for a quarantine table: UTF-8 if valid (and the policy allows UTF-8),
    /// otherwise Windows-1252, which maps every byte to a character; NUL bytes become U+FFFD so the text can be
    /// stored in a PostgreSQL `text` column.
    static func quarantineText(_ bytes: UnsafeBufferPointer<UInt8>, policy: TextEncodingPolicy) -> String {
        if policy != .windows1252, firstInvalidUTF8Offset(bytes) == nil, !bytes.contains(0) {
            return String(decoding: bytes, as: UTF8.self)
        }
        if policy != .windows1252, firstInvalidUTF8Offset(bytes) == nil {
            // Valid UTF-8 with NUL bytes: keep the text, replace only the NULs.
            var utf8: [UInt8] = []
            utf8.reserveCapacity(bytes.count + 8)
            for b in bytes {
                if b == 0 { utf8.append(contentsOf: [0xEF, 0xBF, 0xBD]) } else { utf8.append(b) }
            }
            return String(decoding: utf8, as: UTF8.self)
        }
        return decodeWindows1252(bytes, replacingNUL: true)
    }
}
