#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Streaming RFC 4180 CSV reader over bytes, in constant memory however large the file.
///
/// ```swift
/// let reader = try CSVReader(path: "/srv/in/people.csv", dialect: CSVDialect(encoding: .utf8OrWindows1252))
/// while let result = try reader.next() {       // throws only CSVError.io
///     switch result {
///     case .record(let record):
///         let name = record.field(0)            // valid until the next call to next()
///     case .malformed(let bad):
///         quarantine(bad.rawText, bad.error)    // the reader has already resynchronised
///     }
/// }
/// ```
///
/// What it accepts:
/// - fields separated by `dialect.delimiter`; a field may be enclosed in `dialect.quote`, and then may contain the
///   delimiter, line breaks (CR, LF, CRLF) and doubled quotes (standing for one quote);
/// - records ended by CRLF, LF or a lone CR, or by the end of the file (a last line without a line break);
/// - a UTF-8 byte order mark at the very start of the file, which is dropped;
/// - empty lines, which are skipped (but counted in line numbers);
/// - a trailing delimiter, which ends the record with an empty last field.
///
/// A malformed record does not end the stream: `next()` returns `.malformed` with the error and the record's raw
/// bytes, and reading resumes at the next line. How it resynchronises:
/// - `unexpectedQuote`, `textAfterClosingQuote`, `nulByte`, `fieldTooLarge`, `recordTooLarge`: the rest of the
///   physical line where the problem was found is skipped (quotes are ignored while skipping), without buffering
///   more than `maxRecordBytes` of it;
/// - `invalidEncoding` (policy `.utf8`): the record was read whole; the next record follows it;
/// - `unterminatedQuote` (a quoted field still open at the end of the file): the malformed record is the first
///   physical line of the record, and reading resumes on the line after it, so a stray quote does not swallow the
///   rest of the file;
/// - `unterminatedQuote` when `dialect.recordsSpanLines` is false (a quoted field still open at the end of its
///   line): the malformed record is that line, and reading resumes on the next one.
///
/// Memory: the reader holds a window of the file from the start of the current record, read in chunks of
/// 256 KiB; it never grows beyond about `maxRecordBytes + 2 × 256 KiB`, whatever the file (every byte the parser
/// consumes, delimiters and quoted line breaks included, is checked against the limits). It also keeps a table of
/// 12 bytes per field of the current record (at most `12 × maxRecordBytes` for a record of nothing but
/// delimiters; such a table is released at the next record), and a malformed record's raw bytes (at most
/// `maxRecordBytes`). Nothing else grows with the input.
///
/// Not thread-safe: use one reader from one thread at a time.
public final class CSVReader {
    public let dialect: CSVDialect

    /// Number of records returned so far (good and malformed), which is the `recordNumber` of the last one.
    public private(set) var recordCount: Int {
        get { cursor.pointee.recordCount }
        set { cursor.pointee.recordCount = newValue }
    }
    /// Bytes read from the source so far (for progress reporting).
    public private(set) var bytesRead: Int64 {
        get { cursor.pointee.bytesRead }
        set { cursor.pointee.bytesRead = newValue }
    }
    /// 1-based physical line at which the reader now stands.
    public var currentLine: Int { line }

    /// Default chunk size for reading: 256 KiB.
    public static let defaultChunkSize = 256 * 1024

    private enum Source {
        case descriptor(Int32, owned: Bool)
        case bytes([UInt8])
    }

    private let source: Source
    private let chunkSize: Int

    /// Everything about the reader that changes as it reads, in memory of its own. A stored `var` of a
    /// class is checked for exclusive access at run time (`swift_beginAccess`) on every read and write,
    /// and these are read and written on every record; through a pointer held in a `let` they are not.
    /// The properties below stand for its fields.
    private struct Cursor {
        var sourceOffset = 0  // for .bytes
        // The window: buffer[0..<end] holds file bytes; the current record starts at recordStart and the
        // parser stands at position. Bytes before recordStart are discarded at the next fill.
        var buffer: UnsafeMutablePointer<UInt8>
        var capacity: Int
        var end = 0
        var position = 0
        var recordStart = 0
        var sourceExhausted = false
        var finished = false
        var line = 1
        /// The last line ending was a CR: a LF right after it belongs to the same line ending.
        var pendingLF = false
        var atFileStart = true
        var spans: UnsafeMutablePointer<FieldSpan>
        var spanCapacity: Int
        var recordCount = 0
        var bytesRead: Int64 = 0
    }
    private let cursor: UnsafeMutablePointer<Cursor>

    private var sourceOffset: Int {
        get { cursor.pointee.sourceOffset }
        set { cursor.pointee.sourceOffset = newValue }
    }
    private var buffer: UnsafeMutablePointer<UInt8> {
        get { cursor.pointee.buffer }
        set { cursor.pointee.buffer = newValue }
    }
    private var capacity: Int {
        get { cursor.pointee.capacity }
        set { cursor.pointee.capacity = newValue }
    }
    private var end: Int {
        get { cursor.pointee.end }
        set { cursor.pointee.end = newValue }
    }
    private var position: Int {
        get { cursor.pointee.position }
        set { cursor.pointee.position = newValue }
    }
    private var recordStart: Int {
        get { cursor.pointee.recordStart }
        set { cursor.pointee.recordStart = newValue }
    }
    private var sourceExhausted: Bool {
        get { cursor.pointee.sourceExhausted }
        set { cursor.pointee.sourceExhausted = newValue }
    }
    private var finished: Bool {
        get { cursor.pointee.finished }
        set { cursor.pointee.finished = newValue }
    }
    private var line: Int {
        get { cursor.pointee.line }
        set { cursor.pointee.line = newValue }
    }
    private var pendingLF: Bool {
        get { cursor.pointee.pendingLF }
        set { cursor.pointee.pendingLF = newValue }
    }
    private var atFileStart: Bool {
        get { cursor.pointee.atFileStart }
        set { cursor.pointee.atFileStart = newValue }
    }

    // Byte classes for the scanning loops (256 entries each).
    private let classes: UnsafeMutablePointer<UInt8>
    private static let plain: UInt8 = 0
    private static let delimiterClass: UInt8 = 1
    private static let quoteClass: UInt8 = 2
    private static let lineFeedClass: UInt8 = 3
    private static let carriageReturnClass: UInt8 = 4
    private static let nulClass: UInt8 = 5
    /// Content that COPY text would have to escape (a backslash, or a control byte up to CR): the
    /// scan stops on it only to note it (`CSVRecord.mayNeedCopyEscaping`), then goes on.
    private static let copyEscapeClass: UInt8 = 6

    // The current record's fields, valid while the generation is unchanged. Kept in manually managed memory
    // (like the window) so that the hot loops touch no class properties and records need no array copies.
    struct FieldSpan {
        var start: UInt32  // offsets from the record start; content only (without the quotes)
        var end: UInt32
        var quoted: Bool
        var escaped: Bool  // contains doubled quotes
    }
    private var spans: UnsafeMutablePointer<FieldSpan> {
        get { cursor.pointee.spans }
        set { cursor.pointee.spans = newValue }
    }
    private var spanCapacity: Int {
        get { cursor.pointee.spanCapacity }
        set { cursor.pointee.spanCapacity = newValue }
    }
    private static let initialSpanCapacity = 64
    /// Incremented by every call to `next()`; records remember the value they were made with.
    let generationCell: UnsafeMutablePointer<UInt64>

    // MARK: - Creating a reader

    /// Opens the file at `path` for reading.
    ///
    /// - Throws: `CSVError` with code `.io` if it cannot be opened.
    public convenience init(path: String, dialect: CSVDialect = CSVDialect()) throws(CSVError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw CSVError(code: .io, line: 0, systemError: errno) }
        self.init(source: .descriptor(fd, owned: true), dialect: dialect, chunkSize: CSVReader.defaultChunkSize)
    }

    /// Reads from an open file descriptor (a file, a pipe, a socket), which the reader does not close unless
    /// `closeWhenDone` is true (then it is closed when the reader is deallocated).
    public convenience init(fileDescriptor: Int32, dialect: CSVDialect = CSVDialect(), closeWhenDone: Bool = false) {
        self.init(
            source: .descriptor(fileDescriptor, owned: closeWhenDone), dialect: dialect,
            chunkSize: CSVReader.defaultChunkSize)
    }

    /// Reads CSV held in memory (mostly for tests).
    public convenience init(bytes: [UInt8], dialect: CSVDialect = CSVDialect()) {
        self.init(source: .bytes(bytes), dialect: dialect, chunkSize: CSVReader.defaultChunkSize)
    }

    /// For tests: CSV in memory, read `chunkSize` bytes at a time, so that chunk boundaries fall anywhere.
    convenience init(bytes: [UInt8], dialect: CSVDialect = CSVDialect(), chunkSize: Int) {
        self.init(source: .bytes(bytes), dialect: dialect, chunkSize: chunkSize)
    }

    /// For tests: a file descriptor read `chunkSize` bytes at a time.
    convenience init(fileDescriptor: Int32, dialect: CSVDialect, chunkSize: Int) {
        self.init(source: .descriptor(fileDescriptor, owned: false), dialect: dialect, chunkSize: chunkSize)
    }

    private init(source: Source, dialect: CSVDialect, chunkSize: Int) {
        let special: [UInt8] = [0x0A, 0x0D, 0x00]
        precondition(dialect.delimiter != dialect.quote, "CSV delimiter and quote must differ")
        precondition(
            !special.contains(dialect.delimiter) && !special.contains(dialect.quote),
            "CSV delimiter and quote must not be CR, LF or NUL")
        precondition(dialect.maxFieldBytes > 0 && dialect.maxRecordBytes > 0, "CSV size limits must be positive")
        precondition(dialect.maxRecordBytes <= 1 << 30, "CSV maxRecordBytes must be at most 1 GiB")
        precondition(chunkSize > 0)
        self.source = source
        self.dialect = dialect
        self.chunkSize = chunkSize
        cursor = .allocate(capacity: 1)
        cursor.initialize(
            to: Cursor(
                buffer: .allocate(capacity: chunkSize), capacity: chunkSize,
                spans: .allocate(capacity: CSVReader.initialSpanCapacity), spanCapacity: CSVReader.initialSpanCapacity))
        classes = UnsafeMutablePointer<UInt8>.allocate(capacity: 512)
        classes.initialize(repeating: CSVReader.plain, count: 512)
        // First table: outside quotes. Second: inside quotes (the delimiter is plain there).
        for table in [classes, classes + 256] {
            for byte in 0x01...0x0D { table[byte] = CSVReader.copyEscapeClass }
            table[0x5C] = CSVReader.copyEscapeClass
            table[Int(dialect.quote)] = CSVReader.quoteClass
            table[0x0A] = CSVReader.lineFeedClass
            table[0x0D] = CSVReader.carriageReturnClass
            table[0x00] = CSVReader.nulClass
        }
        classes[Int(dialect.delimiter)] = CSVReader.delimiterClass
        generationCell = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
        generationCell.initialize(to: 0)
    }

    deinit {
        buffer.deallocate()
        classes.deallocate()
        spans.deallocate()
        generationCell.deallocate()
        cursor.deallocate()  // plain values and pointers: nothing to deinitialise
        if case .descriptor(let fd, owned: true) = source { close(fd) }
    }

    /// Current size of the internal buffer in bytes (for tests of memory bounds).
    var bufferCapacity: Int { capacity }

    // MARK: - Reading

    /// The next record, or nil at the end of the file.
    ///
    /// A `.record` is only valid until the next call to `next()`: its fields are read lazily from the reader's
    /// buffer (using one afterwards stops the program with a precondition failure). Copy what you need first.
    /// A `.malformed` result owns its bytes and may be kept.
    ///
    /// - Throws: `CSVError` with code `.io` if reading fails; the reader then returns nil from then on.
    public func next() throws(CSVError) -> CSVReadResult? {
        generationCell.pointee &+= 1
        if finished { return nil }
        do {
            if let result = try readRecord() { return result }
            finished = true
            return nil
        } catch {
            finished = true
            throw error
        }
    }

    /// Reads more bytes into the window, first dropping what lies before `recordStart`. Returns the number of
    /// bytes read, 0 at the end of the source. `position` and `recordStart` are updated; offsets relative to
    /// `recordStart` stay valid.
    private func fill() throws(CSVError) -> Int {
        if sourceExhausted { return 0 }
        if recordStart > 0 {
            let keep = end - recordStart
            if keep > 0 { memmove(buffer, buffer + recordStart, keep) }
            position -= recordStart
            end = keep
            recordStart = 0
        }
        if capacity - end < chunkSize {
            // Only a record longer than a chunk gets here; it is at most maxRecordBytes + a few bytes.
            let newCapacity = max(end + chunkSize, min(capacity * 2, dialect.maxRecordBytes + 2 * chunkSize))
            let newBuffer = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
            newBuffer.update(from: buffer, count: end)
            buffer.deallocate()
            buffer = newBuffer
            capacity = newCapacity
        }
        var count = 0
        switch source {
        case .descriptor(let fd, _):
            while true {
                let n = read(fd, buffer + end, chunkSize)
                if n >= 0 {
                    count = n
                    break
                }
                let code = errno
                if code == EINTR { continue }
                throw CSVError(code: .io, line: line, systemError: code)
            }
        case .bytes(let bytes):
            count = min(chunkSize, bytes.count - sourceOffset)
            if count > 0 {
                bytes.withUnsafeBufferPointer { all in
                    (buffer + end).update(from: all.baseAddress! + sourceOffset, count: count)
                }
                sourceOffset += count
            }
        }
        if count == 0 {
            sourceExhausted = true
            return 0
        }
        end += count
        bytesRead += Int64(count)
        return count
    }

    private enum State {
        case fieldStart, unquoted, quoted, afterQuote
    }

    /// Stores the parser's position (kept in `readRecord`'s locals while it scans).
    @inline(__always)
    private func saveCursor(position: Int, recordStart: Int, line: Int) {
        self.position = position
        self.recordStart = recordStart
        self.line = line
    }

    /// Stores the parser's position, reads more (`fill`) and gives back the moved window; false at
    /// the end of the source.
    @inline(__always)
    private func refill(
        buffer: inout UnsafeMutablePointer<UInt8>, end: inout Int, position: inout Int, recordStart: inout Int,
        line: Int
    ) throws(CSVError) -> Bool {
        saveCursor(position: position, recordStart: recordStart, line: line)
        let count = try fill()
        buffer = self.buffer
        end = self.end
        position = self.position
        recordStart = self.recordStart
        return count > 0
    }

    private func readRecord() throws(CSVError) -> CSVReadResult? {
        if atFileStart {
            atFileStart = false
            while end - position < 3, try fill() > 0 {}
            if end - position >= 3, buffer[position] == 0xEF, buffer[position + 1] == 0xBB,
                buffer[position + 2] == 0xBF
            {
                position += 3
            }
        }

        // The hot state lives in locals; it is written back before anything that uses the properties
        // (fill, the error paths) and read again after.
        var buf = buffer
        var end = self.end
        var pos = position
        var recStart = recordStart
        var line = self.line
        // Saving, refilling and the helpers below are methods given these locals, not nested
        // functions that capture them: with such captures the compiler checked accesses to the
        // locals for exclusivity at run time (swift_beginAccess) on every record.

        // Skip empty lines.
        var pending = pendingLF
        while true {
            if pos == end {
                recStart = pos
                if try !refill(buffer: &buf, end: &end, position: &pos, recordStart: &recStart, line: line) {
                    pendingLF = pending
                    return nil
                }
            }
            let byte = buf[pos]
            if byte == 0x0A {
                pos += 1
                if pending { pending = false } else { line += 1 }
                continue
            }
            pending = false
            if byte == 0x0D {
                pos += 1
                line += 1
                pending = true
                continue
            }
            break
        }
        pendingLF = false

        recStart = pos
        recordCount += 1
        let recordNumber = recordCount
        let startLine = line
        if spanCapacity > 4096 {
            // Do not keep the memory of one record with very many fields.
            spans.deallocate()
            spanCapacity = CSVReader.initialSpanCapacity
            spans = UnsafeMutablePointer<FieldSpan>.allocate(capacity: spanCapacity)
        }
        var spanStore = spans
        var spanLimit = spanCapacity
        var spanCount = 0

        let quote = dialect.quote
        let delimiter = dialect.delimiter
        let maxField = dialect.maxFieldBytes
        let maxRecord = dialect.maxRecordBytes
        let spanLines = dialect.recordsSpanLines
        let outside = UnsafePointer(classes)
        let inside = outside + 256

        var state = State.fieldStart
        var fieldStart = 0  // relative to recStart
        var escaped = false
        var byteUnion: UInt8 = 0  // OR of all content bytes: < 0x80 means ASCII only
        var wordUnion: UInt64 = 0  // the same, of the bytes scanned eight at a time
        let delimiterWord = UInt64(delimiter) &* CSVReader.ones
        let quoteWord = UInt64(quote) &* CSVReader.ones
        // Whether some content byte is one COPY text escapes (see `copyEscapeClass`); a doubled
        // quote stands for one quote byte of content, which may be one too.
        var copyEscapes = false
        let quoteNeedsCopyEscape = quote == 0x5C || quote <= 0x0D
        var recordEnd = 0  // absolute, set when the record is complete
        var endLine = 0

        // Limits. The scanning loops stop at them for ordinary bytes; the special bytes that the parser consumes
        // as part of the record (delimiters, quotes, line breaks inside quotes) are checked one by one, so that no
        // input, not even a line of only delimiters, makes the window grow past maxRecordBytes.
        // (The helpers below are methods given the locals they use, for the reason given above.)

        parse: while true {
            switch state {
            case .fieldStart:
                if pos == end {
                    if try !refill(buffer: &buf, end: &end, position: &pos, recordStart: &recStart, line: line) {
                        // End of file right after a delimiter: an empty last field.
                        fieldStart = pos - recStart
                        escaped = false
                        addSpan(
                            end: pos - recStart, quoted: false, start: fieldStart, escaped: escaped, store: &spanStore,
                            count: &spanCount, limit: &spanLimit)
                        Self.endRecord(
                            at: pos, lineEnding: nil, recordEnd: &recordEnd, endLine: &endLine, position: &pos,
                            line: &line, pendingLF: &pending)
                        break parse
                    }
                    continue parse
                }
                escaped = false
                if buf[pos] == quote {
                    if Self.isOverLimit(
                        pos - recStart, fieldStart: fieldStart, content: false, maxRecord: maxRecord, maxField: maxField
                    ) {
                        return try malformedSize(
                            at: pos, content: false, recordStart: recStart, fieldStart: fieldStart, line: line,
                            field: spanCount + 1, recordNumber: recordNumber, startLine: startLine)
                    }
                    pos += 1
                    fieldStart = pos - recStart
                    state = .quoted
                } else {
                    fieldStart = pos - recStart
                    state = .unquoted
                }

            case .unquoted:
                let limit = recStart + min(fieldStart + maxField, maxRecord)
                let scanEnd = min(end, limit)
                var p = pos
                let stopFound = Self.scanWords(
                    buf, from: &p, to: scanEnd, delimiter: delimiterWord, quote: quoteWord, union: &wordUnion)
                while !stopFound && p < scanEnd {
                    let byte = buf[p]
                    if outside[Int(byte)] != 0 { break }
                    byteUnion |= byte
                    p &+= 1
                }
                pos = p
                if p == end {
                    if try !refill(buffer: &buf, end: &end, position: &pos, recordStart: &recStart, line: line) {
                        addSpan(
                            end: pos - recStart, quoted: false, start: fieldStart, escaped: escaped, store: &spanStore,
                            count: &spanCount, limit: &spanLimit)
                        Self.endRecord(
                            at: pos, lineEnding: nil, recordEnd: &recordEnd, endLine: &endLine, position: &pos,
                            line: &line, pendingLF: &pending)
                        break parse
                    }
                    continue parse
                }
                let byte = buf[p]
                // Most stops are the delimiter: tested first, without the class table and the jump
                // through the switch. When the next field is unquoted and already in the window, its
                // scan starts at once, as `.fieldStart` would start it.
                if byte == delimiter {
                    if Self.isOverLimit(
                        p - recStart, fieldStart: fieldStart, content: false, maxRecord: maxRecord, maxField: maxField)
                    {
                        return try malformedSize(
                            at: p, content: false, recordStart: recStart, fieldStart: fieldStart, line: line,
                            field: spanCount + 1, recordNumber: recordNumber, startLine: startLine)
                    }
                    addSpan(
                        end: p - recStart, quoted: false, start: fieldStart, escaped: escaped, store: &spanStore,
                        count: &spanCount, limit: &spanLimit)
                    pos = p + 1
                    if pos < end && buf[pos] != quote {
                        escaped = false
                        fieldStart = pos - recStart
                    } else {
                        state = .fieldStart
                    }
                    continue parse
                }
                switch outside[Int(byte)] {
                case CSVReader.lineFeedClass, CSVReader.carriageReturnClass:
                    addSpan(
                        end: p - recStart, quoted: false, start: fieldStart, escaped: escaped, store: &spanStore,
                        count: &spanCount, limit: &spanLimit)
                    Self.endRecord(
                        at: p, lineEnding: byte, recordEnd: &recordEnd, endLine: &endLine, position: &pos, line: &line,
                        pendingLF: &pending)
                    break parse
                case CSVReader.quoteClass:
                    return try reportMalformed(
                        CSVError(code: .unexpectedQuote, line: line, field: spanCount + 1), position: pos,
                        recordStart: recStart, line: line, recordNumber: recordNumber, startLine: startLine)
                case CSVReader.nulClass:
                    return try reportMalformed(
                        CSVError(code: .nulByte, line: line, field: spanCount + 1), position: pos,
                        recordStart: recStart, line: line, recordNumber: recordNumber, startLine: startLine)
                case CSVReader.copyEscapeClass where p < scanEnd:
                    // Content like any other (the scan stopped on it, not at a limit): noted, then kept.
                    copyEscapes = true
                    pos = p + 1
                default:
                    return try malformedSize(
                        at: p, content: true, recordStart: recStart, fieldStart: fieldStart, line: line,
                        field: spanCount + 1, recordNumber: recordNumber, startLine: startLine)
                }

            case .quoted:
                let limit = recStart + min(fieldStart + maxField, maxRecord)
                let scanEnd = min(end, limit)
                var p = pos
                // Inside quotes the delimiter is plain: the stops are the quote, line breaks and the
                // bytes COPY escapes, so the quote stands in the delimiter's place.
                let stopFound = Self.scanWords(
                    buf, from: &p, to: scanEnd, delimiter: quoteWord, quote: quoteWord, union: &wordUnion)
                while !stopFound && p < scanEnd {
                    let byte = buf[p]
                    if inside[Int(byte)] != 0 { break }
                    byteUnion |= byte
                    p &+= 1
                }
                pos = p
                if p == end {
                    if try !refill(buffer: &buf, end: &end, position: &pos, recordStart: &recStart, line: line) {
                        saveCursor(position: pos, recordStart: recStart, line: line)
                        return unterminatedQuote(field: spanCount + 1, recordNumber: recordNumber, startLine: startLine)
                    }
                    continue parse
                }
                let byte = buf[p]
                switch inside[Int(byte)] {
                case CSVReader.quoteClass:
                    // A closing quote, or the first of a doubled quote (checked as content in .afterQuote).
                    if Self.isOverLimit(
                        p - recStart, fieldStart: fieldStart, content: false, maxRecord: maxRecord, maxField: maxField)
                    {
                        return try malformedSize(
                            at: p, content: false, recordStart: recStart, fieldStart: fieldStart, line: line,
                            field: spanCount + 1, recordNumber: recordNumber, startLine: startLine)
                    }
                    pos = p + 1
                    state = .afterQuote
                case CSVReader.lineFeedClass:
                    if !spanLines {
                        saveCursor(position: pos, recordStart: recStart, line: line)
                        return unterminatedQuote(field: spanCount + 1, recordNumber: recordNumber, startLine: startLine)
                    }
                    if Self.isOverLimit(
                        p - recStart, fieldStart: fieldStart, content: true, maxRecord: maxRecord, maxField: maxField)
                    {
                        return try malformedSize(
                            at: p, content: true, recordStart: recStart, fieldStart: fieldStart, line: line,
                            field: spanCount + 1, recordNumber: recordNumber, startLine: startLine)
                    }
                    copyEscapes = true
                    // A LF right after a CR in the field completes a CRLF already counted.
                    if !(p > recStart + fieldStart && buf[p - 1] == 0x0D) { line += 1 }
                    pos = p + 1
                case CSVReader.carriageReturnClass:
                    if !spanLines {
                        saveCursor(position: pos, recordStart: recStart, line: line)
                        return unterminatedQuote(field: spanCount + 1, recordNumber: recordNumber, startLine: startLine)
                    }
                    if Self.isOverLimit(
                        p - recStart, fieldStart: fieldStart, content: true, maxRecord: maxRecord, maxField: maxField)
                    {
                        return try malformedSize(
                            at: p, content: true, recordStart: recStart, fieldStart: fieldStart, line: line,
                            field: spanCount + 1, recordNumber: recordNumber, startLine: startLine)
                    }
                    copyEscapes = true
                    line += 1
                    pos = p + 1
                case CSVReader.nulClass:
                    return try reportMalformed(
                        CSVError(code: .nulByte, line: line, field: spanCount + 1), position: pos,
                        recordStart: recStart, line: line, recordNumber: recordNumber, startLine: startLine)
                case CSVReader.copyEscapeClass where p < scanEnd:
                    copyEscapes = true
                    pos = p + 1
                default:
                    return try malformedSize(
                        at: p, content: true, recordStart: recStart, fieldStart: fieldStart, line: line,
                        field: spanCount + 1, recordNumber: recordNumber, startLine: startLine)
                }

            case .afterQuote:
                if pos == end {
                    if try !refill(buffer: &buf, end: &end, position: &pos, recordStart: &recStart, line: line) {
                        addSpan(
                            end: pos - 1 - recStart, quoted: true, start: fieldStart, escaped: escaped,
                            store: &spanStore, count: &spanCount, limit: &spanLimit)
                        Self.endRecord(
                            at: pos, lineEnding: nil, recordEnd: &recordEnd, endLine: &endLine, position: &pos,
                            line: &line, pendingLF: &pending)
                        break parse
                    }
                    continue parse
                }
                let byte = buf[pos]
                if byte == quote {
                    // The second quote of a doubled quote: the pair is two bytes of content.
                    if Self.isOverLimit(
                        pos - recStart, fieldStart: fieldStart, content: true, maxRecord: maxRecord, maxField: maxField)
                    {
                        return try malformedSize(
                            at: pos, content: true, recordStart: recStart, fieldStart: fieldStart, line: line,
                            field: spanCount + 1, recordNumber: recordNumber, startLine: startLine)
                    }
                    escaped = true
                    if quoteNeedsCopyEscape { copyEscapes = true }
                    pos += 1
                    state = .quoted
                } else if byte == delimiter {
                    if Self.isOverLimit(
                        pos - recStart, fieldStart: fieldStart, content: false, maxRecord: maxRecord, maxField: maxField
                    ) {
                        return try malformedSize(
                            at: pos, content: false, recordStart: recStart, fieldStart: fieldStart, line: line,
                            field: spanCount + 1, recordNumber: recordNumber, startLine: startLine)
                    }
                    addSpan(
                        end: pos - 1 - recStart, quoted: true, start: fieldStart, escaped: escaped, store: &spanStore,
                        count: &spanCount, limit: &spanLimit)
                    pos += 1
                    state = .fieldStart
                } else if byte == 0x0A || byte == 0x0D {
                    addSpan(
                        end: pos - 1 - recStart, quoted: true, start: fieldStart, escaped: escaped, store: &spanStore,
                        count: &spanCount, limit: &spanLimit)
                    Self.endRecord(
                        at: pos, lineEnding: byte, recordEnd: &recordEnd, endLine: &endLine, position: &pos,
                        line: &line, pendingLF: &pending)
                    break parse
                } else {
                    let code: CSVError.Code = byte == 0 ? .nulByte : .textAfterClosingQuote
                    return try reportMalformed(
                        CSVError(code: code, line: line, field: spanCount + 1), position: pos, recordStart: recStart,
                        line: line, recordNumber: recordNumber, startLine: startLine)
                }
            }
        }
        saveCursor(position: pos, recordStart: recStart, line: line)
        pendingLF = pending

        // The record is complete: buf[recStart..<recordEnd], the line ending (if any) consumed.
        let rawLength = recordEnd - recStart
        let raw = UnsafeBufferPointer(start: buf + recStart, count: rawLength)
        if rawLength > maxRecord {
            // Not expected to happen (every consumed byte is checked); kept as a guard.
            return .malformed(
                CSVMalformedRecord(
                    error: CSVError(code: .recordTooLarge, line: endLine), recordNumber: recordNumber,
                    startLine: startLine, rawBytes: Array(UnsafeBufferPointer(rebasing: raw[0..<maxRecord])),
                    rawTruncated: true, rawLength: rawLength, encoding: dialect.encoding))
        }
        let isASCII = byteUnion < 0x80 && wordUnion & (CSVReader.ones &* 0x80) == 0
        if !isASCII && dialect.encoding == .utf8 {
            if let bad = CSVText.firstInvalidUTF8Offset(raw) {
                // The field holding the bad byte: the last one starting at or before it.
                var field = spanCount
                for i in 0..<spanCount where Int(spanStore[i].start) > bad {
                    field = i
                    break
                }
                let errorLine = startLine + CSVReader.lineBreakCount(UnsafeBufferPointer(rebasing: raw[0..<bad]))
                return .malformed(
                    CSVMalformedRecord(
                        error: CSVError(code: .invalidEncoding, line: errorLine, field: field),
                        recordNumber: recordNumber, startLine: startLine, rawBytes: Array(raw), rawTruncated: false,
                        encoding: dialect.encoding))
            }
        }
        return .record(
            CSVRecord(
                reader: self, generation: generationCell.pointee, base: UnsafePointer(buf + recStart),
                spans: UnsafePointer(spanStore), fieldCount: spanCount, recordNumber: recordNumber,
                startLine: startLine, lineCount: endLine - startLine + 1, rawByteCount: rawLength, isASCII: isASCII,
                mayNeedCopyEscaping: copyEscapes))
    }

    private static let ones = ByteWords.ones

    /// Adds the span of a field to the record's table (grown when full).
    @inline(__always)
    private func addSpan(
        end: Int, quoted: Bool, start: Int, escaped: Bool, store: inout UnsafeMutablePointer<FieldSpan>,
        count: inout Int, limit: inout Int
    ) {
        if count == limit {
            store = growSpans()
            limit = spanCapacity
        }
        (store + count).initialize(
            to: FieldSpan(
                start: UInt32(truncatingIfNeeded: start), end: UInt32(truncatingIfNeeded: end), quoted: quoted,
                escaped: escaped))
        count += 1
    }

    /// Ends the record at `absoluteEnd`, consuming its line ending `byte` (CR or LF) if there is one.
    @inline(__always)
    private static func endRecord(
        at absoluteEnd: Int, lineEnding byte: UInt8?, recordEnd: inout Int, endLine: inout Int, position: inout Int,
        line: inout Int, pendingLF: inout Bool
    ) {
        recordEnd = absoluteEnd
        endLine = line
        if let byte {
            position += 1
            line += 1
            pendingLF = byte == 0x0D
        }
    }

    /// Whether the byte at `offset` from the record start goes past a limit (`content`: as field
    /// content, which `maxField` also bounds).
    @inline(__always)
    private static func isOverLimit(
        _ offset: Int, fieldStart: Int, content: Bool, maxRecord: Int, maxField: Int
    ) -> Bool {
        offset >= maxRecord || (content && offset - fieldStart >= maxField)
    }

    /// Reports the record as malformed, the parser standing at `position`, and skips the rest of its line.
    private func reportMalformed(
        _ error: CSVError, position: Int, recordStart: Int, line: Int, recordNumber: Int, startLine: Int
    ) throws(CSVError) -> CSVReadResult {
        saveCursor(position: position, recordStart: recordStart, line: line)
        return try malformedSkippingLine(error, recordNumber: recordNumber, startLine: startLine)
    }

    /// Reports the byte at `index` going past a limit: fieldTooLarge if it is field content beyond
    /// maxFieldBytes, recordTooLarge otherwise.
    private func malformedSize(
        at index: Int, content: Bool, recordStart: Int, fieldStart: Int, line: Int, field: Int, recordNumber: Int,
        startLine: Int
    ) throws(CSVError) -> CSVReadResult {
        let error =
            content && index - recordStart - fieldStart >= dialect.maxFieldBytes
            ? CSVError(code: .fieldTooLarge, line: line, field: field) : CSVError(code: .recordTooLarge, line: line)
        return try reportMalformed(
            error, position: index, recordStart: recordStart, line: line, recordNumber: recordNumber,
            startLine: startLine)
    }

    /// Scans eight bytes at a time from `p` while a whole word fits before `scanEnd`: a word with a
    /// byte that stops the scan (`unquotedStops`) moves `p` straight to the first such byte and
    /// returns true; the bytes passed are OR-ed into `union`. False leaves the last few bytes before
    /// `scanEnd` to the caller's byte-by-byte loop.
    @inline(__always)
    private static func scanWords(
        _ buf: UnsafeMutablePointer<UInt8>, from p: inout Int, to scanEnd: Int, delimiter: UInt64, quote: UInt64,
        union: inout UInt64
    ) -> Bool {
        while p &+ 8 <= scanEnd {
            let word = ByteWords.load(buf + p)
            let stops = unquotedStops(word, delimiter: delimiter, quote: quote)
            if stops != 0 {
                let before = stops.trailingZeroBitCount &>> 3  // bytes before the first stop (0…7)
                union |= word & ((1 &<< (UInt64(before) &* 8)) &- 1)
                p &+= before
                return true
            }
            union |= word
            p &+= 8
        }
        return false
    }

    /// The high bit of each byte of `word` (first byte lowest) that is not plain outside quotes:
    /// below 0x0E (NUL, the line breaks, the control bytes COPY escapes), a backslash, the delimiter
    /// or the quote (`delimiter` and `quote` repeated in every byte), and of no other byte. Exact per
    /// byte: the sums below never carry from one byte into the next.
    @inline(__always)
    static func unquotedStops(_ word: UInt64, delimiter: UInt64, quote: UInt64) -> UInt64 {
        ByteWords.below(word, 0x0E) | ByteWords.below(word ^ delimiter, 1) | ByteWords.below(word ^ quote, 1)
            | ByteWords.equal(word, 0x5C)
    }

    /// Doubles the span storage, keeping its contents; returns the new storage.
    private func growSpans() -> UnsafeMutablePointer<FieldSpan> {
        let bigger = UnsafeMutablePointer<FieldSpan>.allocate(capacity: spanCapacity * 2)
        bigger.moveInitialize(from: spans, count: spanCapacity)
        spans.deallocate()
        spans = bigger
        spanCapacity *= 2
        return bigger
    }

    /// Consumes the line ending `byte` (CR or LF) at `position`; a LF following a CR is consumed later.
    @inline(__always)
    private func consumeLineEnd(_ byte: UInt8) {
        position += 1
        line += 1
        pendingLF = byte == 0x0D
    }

    /// Number of line breaks (CRLF, LF or CR) in `bytes`.
    static func lineBreakCount(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var count = 0
        var previous: UInt8 = 0
        for byte in bytes {
            if byte == 0x0D || (byte == 0x0A && previous != 0x0D) { count += 1 }
            previous = byte
        }
        return count
    }

    /// Offset in `buffer` of the first CR or LF in `from..<to`, or nil.
    private func firstLineBreak(from: Int, to: Int) -> Int? {
        if from >= to { return nil }
        let start = UnsafeRawPointer(buffer + from)
        var limit = to - from
        var found: Int? = nil
        if let lf = memchr(start, 0x0A, limit) {
            let offset = start.distance(to: UnsafeRawPointer(lf))
            found = offset
            limit = offset
        }
        if limit > 0, let cr = memchr(start, 0x0D, limit) {
            found = start.distance(to: UnsafeRawPointer(cr))
        }
        return found.map { from + $0 }
    }

    /// Reports the current record as malformed and skips to the end of the physical line at `position`,
    /// without buffering more than `maxRecordBytes` of it.
    private func malformedSkippingLine(
        _ error: CSVError, recordNumber: Int, startLine: Int
    ) throws(CSVError) -> CSVReadResult {
        let cap = dialect.maxRecordBytes
        var raw: [UInt8] = []
        var truncated = false
        var length = 0
        @inline(__always) func keep(_ from: Int, _ to: Int) {
            let room = cap - raw.count
            let count = to - from
            length += count
            if count > room { truncated = true }
            let n = min(room, count)
            if n > 0 { raw.append(contentsOf: UnsafeBufferPointer(start: buffer + from, count: n)) }
        }
        keep(recordStart, position)
        recordStart = position
        while true {
            if position == end {
                recordStart = position
                if try fill() == 0 { break }
            }
            if let lineBreak = firstLineBreak(from: position, to: end) {
                keep(position, lineBreak)
                position = lineBreak
                consumeLineEnd(buffer[lineBreak])
                break
            }
            keep(position, end)
            position = end
        }
        recordStart = position
        return .malformed(
            CSVMalformedRecord(
                error: error, recordNumber: recordNumber, startLine: startLine, rawBytes: raw, rawTruncated: truncated,
                rawLength: length, encoding: dialect.encoding))
    }

    /// A quoted field is open at the end of the file, or (when records do not span lines) at the line
    /// break at `position`. The whole record is in the window: report its first physical line and resume
    /// reading on the next one.
    private func unterminatedQuote(field: Int, recordNumber: Int, startLine: Int) -> CSVReadResult {
        let error = CSVError(code: .unterminatedQuote, line: startLine, field: field)
        let rawEnd: Int
        if let lineBreak = firstLineBreak(from: recordStart, to: end) {
            rawEnd = lineBreak
            position = lineBreak
            line = startLine
            consumeLineEnd(buffer[lineBreak])
        } else {
            rawEnd = end
            position = end
        }
        let count = min(rawEnd - recordStart, dialect.maxRecordBytes)
        let truncated = count < rawEnd - recordStart
        let raw = Array(UnsafeBufferPointer(start: buffer + recordStart, count: count))
        let length = rawEnd - recordStart
        recordStart = position
        return .malformed(
            CSVMalformedRecord(
                error: error, recordNumber: recordNumber, startLine: startLine, rawBytes: raw,
                rawTruncated: truncated, rawLength: length, encoding: dialect.encoding))
    }

    // MARK: - Access for CSVRecord

    @inline(__always)
    func checkValid(_ generation: UInt64) {
        precondition(
            generation == generationCell.pointee,
            "CSVRecord used after CSVReader.next() was called again; copy the fields you need before that")
    }
}

/// A reader belongs to one thread at a time; it is deliberately not `Sendable`.
@available(*, unavailable)
extension CSVReader: Sendable {}
