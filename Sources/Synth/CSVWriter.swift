import Foundation
import Identifiers

/// A buffered CSV writer over bytes: fields are appended to a 1 MiB buffer that is flushed to the file
/// as it fills, so no file is ever held in memory as one string. Quoting follows RFC 4180: a field
/// containing a comma, a double quote, CR or LF is wrapped in double quotes with inner quotes doubled.
final class CSVWriter {
    private(set) var buffer: [UInt8] = []
    private let handle: FileHandle
    private let lineEnding: [UInt8]
    private var firstInRow = true
    private var failure: (any Error)?
    private(set) var rowsWritten = 0
    private static let flushSize = 1 << 20

    init(url: URL, lineEnding: String = "\n", byteOrderMark: Bool = false) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw SynthError("cannot create \(url.lastPathComponent)")
        }
        handle = try FileHandle(forWritingTo: url)
        self.lineEnding = Array(lineEnding.utf8)
        buffer.reserveCapacity(CSVWriter.flushSize + 4096)
        if byteOrderMark { buffer.append(contentsOf: [0xEF, 0xBB, 0xBF]) }
    }

    @inline(__always)
    private func separator() {
        if firstInRow { firstInRow = false } else { buffer.append(UInt8(ascii: ",")) }
    }

    /// A text field, quoted when needed.
    func field(_ s: String) {
        separator()
        var needsQuotes = false
        for b in s.utf8 where b == 0x2C || b == 0x22 || b == 0x0A || b == 0x0D {
            needsQuotes = true
            break
        }
        if !needsQuotes {
            buffer.append(contentsOf: s.utf8)
            return
        }
        buffer.append(0x22)
        for b in s.utf8 {
            if b == 0x22 { buffer.append(0x22) }
            buffer.append(b)
        }
        buffer.append(0x22)
    }

    /// A field whose bytes are known to need no quoting (digits, codes).
    func plainField(_ s: String) {
        separator()
        buffer.append(contentsOf: s.utf8)
    }

    func emptyField() { separator() }

    func intField(_ v: Int) {
        separator()
        if v < 0 { buffer.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            repeat {
                raw[n] = UInt8(48 + m % 10)
                m /= 10
                n += 1
            } while m > 0
            while n > 0 {
                n -= 1
                buffer.append(raw[n])
            }
        }
    }

    /// A date (and optional time) in the given format.
    func dateField(_ date: CalendarDate, _ format: DateFormat, minuteOfDay: Int? = nil) {
        separator()
        format.write(date, minuteOfDay: minuteOfDay, into: &buffer)
    }

    func endRow() {
        buffer.append(contentsOf: lineEnding)
        firstInRow = true
        rowsWritten += 1
        if buffer.count >= CSVWriter.flushSize { flush() }
    }

    /// Writes a header row (not counted in `rowsWritten`).
    func header(_ names: [String]) {
        for n in names { field(n) }
        buffer.append(contentsOf: lineEnding)
        firstInRow = true
    }

    private func flush() {
        guard failure == nil, !buffer.isEmpty else {
            buffer.removeAll(keepingCapacity: true)
            return
        }
        do {
            try handle.write(contentsOf: buffer)
        } catch {
            failure = error
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and closes; throws the first write error, if any.
    func close() throws {
        flush()
        try handle.close()
        if let failure { throw failure }
    }
}

/// An error from the synthetic feed writer.
public struct SynthError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
