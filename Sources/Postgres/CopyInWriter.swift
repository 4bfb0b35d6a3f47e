import CLibPQ

/// Rows in PostgreSQL's COPY text format, built in memory. `CopyInWriter` fills one and sends it;
/// a thread that does not own the connection can fill one too and hand it over (the buffer is
/// `Sendable`, the connection is not), to be sent whole with `CopyInWriter.write(_:)`.
public struct CopyTextBuffer: Sendable {
    /// The encoded rows (each ended by a line feed), possibly followed by an unfinished row.
    public private(set) var bytes: [UInt8] = []
    /// Rows ended so far.
    public private(set) var rows = 0
    private var fieldsInRow = 0

    public init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    /// Whether the buffer ends at a row boundary.
    public var isAtRowBoundary: Bool { fieldsInRow == 0 }

    /// Appends one field to the current row; nil is SQL NULL.
    public mutating func appendField(_ value: String?) throws(PostgresError) {
        guard var value else {
            appendNull()
            return
        }
        // withUTF8 rethrows untyped errors: carry the typed one out by hand.
        let failure: PostgresError? = value.withUTF8 { bytes in
            do throws(PostgresError) { try appendField(utf8: bytes) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    /// Appends one field from UTF-8 bytes, escaping what the format needs escaped.
    public mutating func appendField(utf8 bytes: UnsafeBufferPointer<UInt8>) throws(PostgresError) {
        startField()
        // Fast path: most fields need no escaping and are copied whole.
        for byte in bytes where byte == 0x5C || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x00 {
            try appendEscaped(bytes)
            return
        }
        self.bytes.append(contentsOf: bytes)
    }

    /// Appends one field from UTF-8 bytes.
    public mutating func appendField(utf8 bytes: [UInt8]) throws(PostgresError) {
        try bytes.withUnsafeBufferPointer { (buffer) throws(PostgresError) in try appendField(utf8: buffer) }
    }

    /// Appends an integer field.
    public mutating func appendField(_ value: Int) {
        startField()
        if value < 0 { bytes.append(0x2D) }
        var width = 1
        var rest = value.magnitude
        while rest >= 10 {
            rest /= 10
            width += 1
        }
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0x30, count: width))
        var magnitude = value.magnitude
        var index = start + width
        repeat {
            index -= 1
            bytes[index] = UInt8(truncatingIfNeeded: 0x30 + magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
    }

    /// Appends a boolean field (`t` or `f`).
    public mutating func appendField(_ value: Bool) {
        startField()
        bytes.append(value ? 0x74 : 0x66)
    }

    /// Appends SQL NULL.
    public mutating func appendNull() {
        startField()
        bytes.append(0x5C)
        bytes.append(0x4E)  // \N
    }

    /// Appends one whole row already in COPY text format: fields escaped as `appendField` escapes
    /// them, separated by tabs, ended by a line feed (for loaders that encode rows themselves).
    public mutating func appendEncodedRow(_ row: UnsafeBufferPointer<UInt8>) {
        precondition(fieldsInRow == 0 && row.last == 0x0A, "an encoded COPY row is whole and ends with a line feed")
        bytes.append(contentsOf: row)
        rows += 1
    }

    /// Ends the current row.
    public mutating func endRow() {
        bytes.append(0x0A)
        fieldsInRow = 0
        rows += 1
    }

    /// Empties the buffer, keeping its memory for the next rows.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        rows = 0
        fieldsInRow = 0
    }

    private mutating func startField() {
        if fieldsInRow > 0 { bytes.append(0x09) }
        fieldsInRow += 1
    }

    private mutating func appendEscaped(_ field: UnsafeBufferPointer<UInt8>) throws(PostgresError) {
        for byte in field {
            switch byte {
            case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
            case 0x09: bytes.append(0x5C); bytes.append(0x74)
            case 0x0A: bytes.append(0x5C); bytes.append(0x6E)
            case 0x0D: bytes.append(0x5C); bytes.append(0x72)
            case 0x00:
                throw PostgresError(.invalidParameter, message: "a COPY field contains a NUL byte")
            default: bytes.append(byte)
            }
        }
    }
}

/// Rows in PostgreSQL's binary COPY format (`COPY … FROM STDIN (FORMAT binary)`), for rows of
/// numbers and short texts: a `bigint` goes as its 8 bytes, where the text format spent about 560
/// instructions here and the server's parser more on each 19-digit key. Built in chunks: the
/// first holds the format's header (`header: true`), the last its trailer (`appendTrailer`).
public struct CopyBinaryBuffer: Sendable {
    /// Written up to `count`; beyond it, room for more. Values are stored in place rather than
    /// appended: an `append(contentsOf:)` per field cost about 110 instructions, a row of two
    /// numbers 570.
    private var storage: [UInt8]
    /// Bytes written so far.
    public private(set) var count = 0
    public private(set) var rows = 0

    /// The signature, flags and header-extension length that open a binary COPY stream.
    private static let header: [UInt8] =
        Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00] + [UInt8](repeating: 0, count: 8)

    public init(capacity: Int = 0, header: Bool) {
        storage = [UInt8](repeating: 0, count: max(capacity, 64))
        if header { append(bytes: Self.header) }
    }

    /// The bytes written so far.
    public var bytes: ArraySlice<UInt8> { storage[..<count] }

    /// Appends a row of two `bigint` fields.
    public mutating func appendRow(_ first: Int64, _ second: Int64) {
        startRow(fields: 2)
        appendField(first)
        appendField(second)
    }

    /// Starts a row of `fields` fields; the next `fields` appended fields are its.
    public mutating func startRow(fields: Int) {
        put(Int16(fields))
        rows += 1
    }

    /// Appends a `bigint` field.
    public mutating func appendField(_ value: Int64) {
        put(Int32(8))
        put(value)
    }

    /// Appends a `float8` field: its exact bits, where text would round-trip through digits.
    public mutating func appendField(_ value: Double) {
        put(Int32(8))
        put(value.bitPattern)
    }

    /// Appends a `text` field (the server checks the encoding as it does for text COPY).
    public mutating func appendField(utf8 text: String.UTF8View) {
        put(Int32(text.count))
        append(bytes: text)
    }

    /// Appends a `boolean` field.
    public mutating func appendField(_ value: Bool) {
        put(Int32(1))
        put(UInt8(value ? 1 : 0))
    }

    /// Appends SQL NULL.
    public mutating func appendNull() { put(Int32(-1)) }

    /// Appends the marker that ends the stream (after the last row of the last chunk).
    public mutating func appendTrailer() { put(Int16(-1)) }

    /// Empties the buffer, keeping its memory for the next rows.
    public mutating func removeAll() {
        count = 0
        rows = 0
    }

    private mutating func makeRoom(_ extra: Int) {
        if count + extra > storage.count {
            storage += repeatElement(0, count: max(storage.count, extra))
        }
    }

    private mutating func put<Value: FixedWidthInteger>(_ value: Value) {
        makeRoom(MemoryLayout<Value>.size)
        let offset = count
        storage.withUnsafeMutableBytes { $0.storeBytes(of: value.bigEndian, toByteOffset: offset, as: Value.self) }
        count += MemoryLayout<Value>.size
    }

    private mutating func append(bytes: some Collection<UInt8>) {
        makeRoom(bytes.count)
        let offset = count
        storage.withUnsafeMutableBufferPointer { buffer in
            _ = UnsafeMutableBufferPointer(rebasing: buffer[offset...]).initialize(fromContentsOf: bytes)
        }
        count += bytes.count
    }
}

/// Writes rows into a running `COPY … FROM STDIN` in PostgreSQL's text format, buffering them
/// into large chunks. Only `PostgresConnection.copyIn` makes one.
public struct CopyInWriter: ~Copyable {
    private let handle: OpaquePointer
    private var buffer = CopyTextBuffer(capacity: Self.chunkSize + 4096)
    public private(set) var rowsWritten = 0
    private static let chunkSize = 1 << 18

    init(handle: OpaquePointer) {
        self.handle = handle
    }

    /// Appends one field to the current row; nil is SQL NULL.
    public mutating func appendField(_ value: String?) throws(PostgresError) {
        try buffer.appendField(value)
    }

    /// Appends one field from raw UTF-8 bytes (the fast path for loaders that already hold bytes).
    public mutating func appendField(utf8 bytes: UnsafeBufferPointer<UInt8>) throws(PostgresError) {
        try buffer.appendField(utf8: bytes)
    }

    /// Appends a whole row of fields and ends it.
    public mutating func writeRow(_ fields: [String?]) throws(PostgresError) {
        for field in fields { try appendField(field) }
        try endRow()
    }

    /// Ends the current row; sends the buffer to the server when it is large enough.
    public mutating func endRow() throws(PostgresError) {
        buffer.endRow()
        rowsWritten += 1
        if buffer.bytes.count >= Self.chunkSize { try flush() }
    }

    /// Sends rows encoded elsewhere (whole rows only), after any rows appended here.
    public mutating func write(_ rows: CopyTextBuffer) throws(PostgresError) {
        precondition(rows.isAtRowBoundary && buffer.isAtRowBoundary, "COPY rows must be sent whole")
        try flush()
        try send(rows.bytes)
        rowsWritten += rows.rows
    }

    /// Sends rows in the binary format (`CopyBinaryBuffer`), in a COPY started `(FORMAT binary)`
    /// with no rows appended here.
    public mutating func write(_ rows: CopyBinaryBuffer) throws(PostgresError) {
        precondition(buffer.bytes.isEmpty, "a binary COPY takes binary chunks only")
        try send(rows.bytes)
        rowsWritten += rows.rows
    }

    mutating func flush() throws(PostgresError) {
        try send(buffer.bytes)
        buffer.removeAll()
    }

    private func send(_ bytes: [UInt8]) throws(PostgresError) { try send(bytes[...]) }

    private func send(_ bytes: ArraySlice<UInt8>) throws(PostgresError) {
        guard !bytes.isEmpty else { return }
        let sent = bytes.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { PQputCopyData(handle, $0.baseAddress, Int32($0.count)) }
        }
        guard sent == 1 else {
            throw PostgresError(.copy, message: PostgresConnection.libpqMessage(handle))
        }
    }
}
