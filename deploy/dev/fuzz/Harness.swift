import Feeds
import Identifiers

/// libFuzzer entry point (built by deploy/dev/fuzz/run; not part of the product): the first byte picks a dialect and limits; the rest is a CSV file, then
/// (as text) a feed definition and an identifier.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let control = bytes.first else { return 0 }
    var dialect = CSVDialect()
    dialect.delimiter = [UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "|"), 0x09][Int(control & 3)]
    dialect.encoding = TextEncodingPolicy.allCases[Int((control >> 2) & 3) % 3]
    dialect.maxFieldBytes = 1 + Int((control >> 4) & 7) * 9
    dialect.maxRecordBytes = 1 + Int(control >> 7) * 40 + Int((control >> 4) & 7) * 11
    let body = Array(bytes.dropFirst())
    let reader = CSVReader(bytes: body, dialect: dialect)
    var steps = 0
    while let result = try? reader.next() {
        steps += 1
        if steps > body.count + 1 { fatalError("reader does not advance") }
        switch result {
        case .record(let record):
            for index in 0..<record.fieldCount { _ = record.field(index).utf8.count }
            _ = record.rawText
        case .malformed(let bad):
            if bad.error.description.isEmpty { fatalError("malformed without a reason") }
            _ = bad.rawText
        }
    }
    let text = String(decoding: body, as: UTF8.self)
    do {
        let definition = try FeedDefinition.parse(text: text, path: "fuzz.feed", checksum: "0")
        if case .dropFolder(let folder, _) = definition.source, folder.hasPrefix("/") || folder.split(separator: "/").contains("..") {
            fatalError("a definition escaped its drop root")
        }
    } catch {
        if error.message.isEmpty { fatalError("definition refused without a reason") }
    }
    for check in [NHSNumber.parse(text).map { _ in () }, UniquePupilNumber.parse(text).map { _ in () },
                  NationalInsuranceNumber.parse(text).map { _ in () }, UKPostcode.parse(text).map { _ in () }] {
        if case .failure(let error) = check, error.reason.isEmpty { fatalError("identifier refused without a reason") }
    }
    if let format = try? DateFormat(pattern: String(text.prefix(24))) { _ = format.parse(text) }
    _ = CalendarDate(iso8601: text)
    return 0
}

// SwiftPM links an executable's entry point as FuzzHostile_main (renamed to main); hand control to
// libFuzzer's driver from it.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@_cdecl("FuzzHostile_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzzOne)
}
