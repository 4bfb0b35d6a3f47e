// Small helpers shared by the byte-level parsers. Everything works on UTF-8 bytes.

@usableFromInline
enum ASCII {
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let hyphen: UInt8 = 0x2D
    static let zero: UInt8 = 0x30
    static let nine: UInt8 = 0x39

    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b &- zero < 10 }

    @inline(__always)
    static func isUpper(_ b: UInt8) -> Bool { b &- 0x41 < 26 }

    @inline(__always)
    static func isLower(_ b: UInt8) -> Bool { b &- 0x61 < 26 }

    /// Upper-cases an ASCII letter; other bytes are returned unchanged.
    @inline(__always)
    static func upper(_ b: UInt8) -> UInt8 { isLower(b) ? b &- 0x20 : b }

    /// Spaces, tabs and the no-break space's second byte are not handled here: callers treat
    /// only ASCII space and tab as blank.
    @inline(__always)
    static func isBlank(_ b: UInt8) -> Bool { b == space || b == tab }
}

/// Runs `body` over the bytes as a contiguous buffer, copying only when the collection
/// does not already store them contiguously.
@inlinable
func withContiguousBytes<C: Collection, R>(
    _ bytes: C, _ body: (UnsafeBufferPointer<UInt8>) -> R
) -> R where C.Element == UInt8 {
    if let result = bytes.withContiguousStorageIfAvailable(body) { return result }
    return Array(bytes).withUnsafeBufferPointer(body)
}

/// Runs `body` over `capacity` zeroed bytes on the stack: the scratch of parsers that run for every
/// row of a feed, where a heap array per call showed in profiles.
@inline(__always)
func withZeroedStackBytes<R>(_ capacity: Int, _ body: (UnsafeMutableBufferPointer<UInt8>) -> R) -> R {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { scratch in
        scratch.initialize(repeating: 0)
        return body(scratch)
    }
}

extension UnsafeBufferPointer where Element == UInt8 {
    /// The range left after dropping leading and trailing spaces and tabs.
    @inline(__always)
    func trimmedRange() -> Range<Int> {
        var lo = 0
        var hi = count
        while lo < hi, ASCII.isBlank(self[lo]) { lo += 1 }
        while hi > lo, ASCII.isBlank(self[hi - 1]) { hi -= 1 }
        return lo..<hi
    }
}

extension String {
    /// Builds a string from ASCII bytes already validated by the caller.
    @inline(__always)
    init(asciiBytes: some Collection<UInt8>) {
        self = String(decoding: asciiBytes, as: UTF8.self)
    }
}
