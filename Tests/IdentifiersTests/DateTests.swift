import Foundation
import Identifiers
import Testing

/// Independent leap-year and month-length rule for cross-checking.
func independentDaysInMonth(_ y: Int, _ m: Int) -> Int {
    let leap = y % 400 == 0 || (y % 4 == 0 && y % 100 != 0)
    return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
}

@Suite struct CalendarDateTests {
    @Test func validation() {
        #expect(CalendarDate(year: 2020, month: 2, day: 29) != nil)
        #expect(CalendarDate(year: 2019, month: 2, day: 29) == nil)
        #expect(CalendarDate(year: 1900, month: 2, day: 29) == nil)
        #expect(CalendarDate(year: 2000, month: 2, day: 29) != nil)
        #expect(CalendarDate(year: 2021, month: 4, day: 31) == nil)
        #expect(CalendarDate(year: 2021, month: 13, day: 1) == nil)
        #expect(CalendarDate(year: 2021, month: 0, day: 1) == nil)
        #expect(CalendarDate(year: 2021, month: 1, day: 0) == nil)
    }

    @Test func dayNumbersWalkTheCalendarOneDayAtATime() {
        // Walk from 1899-12-31 to 2100-01-01 with an independent successor function.
        var (y, m, d) = (1970, 1, 1)
        #expect(CalendarDate(year: y, month: m, day: d)!.dayNumber == 0)
        (y, m, d) = (1899, 12, 31)
        var expected = CalendarDate(year: 1899, month: 12, day: 31)!.dayNumber
        var count = 0
        while y < 2100 {
            let date = CalendarDate(year: y, month: m, day: d)!
            #expect(date.dayNumber == expected)
            if count % 97 == 0 {
                #expect(CalendarDate(dayNumber: expected) == date)
            }
            d += 1
            if d > independentDaysInMonth(y, m) { d = 1; m += 1 }
            if m > 12 { m = 1; y += 1 }
            expected += 1
            count += 1
        }
        #expect(count == 73050)  // 200 × 365 + 49 leap days in 1900–2099, plus 1899-12-31
    }

    @Test func isoAndWeekday() {
        let d = CalendarDate(year: 2019, month: 3, day: 7)!
        #expect(d.iso8601 == "2019-03-07")
        #expect(CalendarDate(iso8601: "2019-03-07") == d)
        #expect(CalendarDate(iso8601: "2019-3-7") == nil)
        #expect(CalendarDate(year: 2026, month: 9, day: 1)!.weekday == 2)  // a Tuesday
        #expect(CalendarDate(year: 1970, month: 1, day: 1)!.weekday == 4)  // a Thursday
        #expect(d < CalendarDate(year: 2019, month: 3, day: 8)!)
        #expect(CalendarDate(year: 2018, month: 12, day: 31)! < d)
    }

    @Test func arithmetic() {
        let d = CalendarDate(year: 2020, month: 1, day: 31)!
        #expect(d.adding(days: 30).iso8601 == "2020-03-01")
        #expect(d.adding(days: -31).iso8601 == "2019-12-31")
        #expect(d.adding(months: 1).iso8601 == "2020-02-29")
        #expect(d.adding(months: 13).iso8601 == "2021-02-28")
        #expect(d.adding(months: -2).iso8601 == "2019-11-30")
        #expect(d.days(until: CalendarDate(year: 2021, month: 1, day: 31)!) == 366)
    }

    @Test func ages() {
        let born = CalendarDate(year: 2010, month: 6, day: 15)!
        #expect(born.age(on: CalendarDate(year: 2020, month: 6, day: 14)!) == 9)
        #expect(born.age(on: CalendarDate(year: 2020, month: 6, day: 15)!) == 10)
        #expect(born.age(on: born) == 0)
        let leapling = CalendarDate(year: 2012, month: 2, day: 29)!
        #expect(leapling.age(on: CalendarDate(year: 2021, month: 2, day: 28)!) == 8)
        #expect(leapling.age(on: CalendarDate(year: 2021, month: 3, day: 1)!) == 9)
        #expect(leapling.age(on: CalendarDate(year: 2024, month: 2, day: 29)!) == 12)
        #expect(born.months(until: CalendarDate(year: 2012, month: 12, day: 14)!) == 29)
        #expect(born.months(until: CalendarDate(year: 2012, month: 12, day: 15)!) == 30)
        #expect(CalendarDate(year: 2012, month: 12, day: 15)!.months(until: born) == -30)
    }

    @Test func todayInLondon() {
        // 2026-03-29 00:30 UTC is 00:30 GMT; 2026-06-30 23:30 UTC is already 1 July in London (BST).
        let summer = Date(timeIntervalSince1970: 1_782_862_200)  // 2026-06-30T23:30:00Z
        #expect(CalendarDate.today(now: summer).iso8601 == "2026-07-01")
        #expect(CalendarDate.today(in: TimeZone(identifier: "UTC")!, now: summer).iso8601 == "2026-06-30")
    }

    @Test func codableAsISOString() throws {
        let d = CalendarDate(year: 2024, month: 2, day: 29)!
        let data = try JSONEncoder().encode([d])
        #expect(String(decoding: data, as: UTF8.self) == "[\"2024-02-29\"]")
        #expect(try JSONDecoder().decode([CalendarDate].self, from: data) == [d])
    }
}

@Suite struct DateFormatTests {
    /// The buffer overloads (the loader's lane) read exactly what the string ones read, dates and
    /// times, accepted or refused.
    @Test func bufferOverloadsMatchStrings() throws {
        let samples = [
            "2019-03-07", " 2019-03-07 ", "2019-02-29", "2020-02-29", "07/03/2019", "7/3/2019", "20190307 14:05",
            "20190307", "2019-3-7", "", "x", "2019-03-07T10:00",
        ]
        var accepted = 0
        for pattern in ["YYYY-MM-DD", "DD/MM/YYYY", "D/M/YYYY", "YYYYMMDD hh:mm"] {
            let format = try DateFormat(pattern: pattern)
            for text in samples {
                let (date, stamp) = Array(text.utf8).withUnsafeBufferPointer {
                    (format.parse($0), format.parseDateTime($0))
                }
                #expect(date == format.parse(text), "\(pattern)")
                #expect(stamp == format.parseDateTime(text), "\(pattern)")
                if date != nil { accepted += 1 }
            }
        }
        #expect(accepted >= 6, "some samples are dates")
    }

    @Test func dayMonthYear() throws {
        let f = try DateFormat(pattern: "DD/MM/YYYY")
        #expect(f.parse("07/03/2019") == CalendarDate(year: 2019, month: 3, day: 7))
        #expect(f.parse(" 07/03/2019 ") == CalendarDate(year: 2019, month: 3, day: 7))
        #expect(f.parse("31/02/2020") == nil)
        #expect(f.parse("29/02/2020") == CalendarDate(year: 2020, month: 2, day: 29))
        #expect(f.parse("29/02/2019") == nil)
        #expect(f.parse("29/02/1900") == nil)
        #expect(f.parse("7/3/2019") == nil)
        #expect(f.parse("07/03/19") == nil)
        #expect(f.parse("07/03/2019x") == nil)
        #expect(f.parse("07-03-2019") == nil)
        #expect(f.parse("") == nil)
        #expect(f.parse("13/13/2019") == nil)
        #expect(!f.hasTime)
    }

    @Test func variableWidth() throws {
        let f = try DateFormat(pattern: "D/M/YYYY")
        #expect(f.parse("7/3/2019") == CalendarDate(year: 2019, month: 3, day: 7))
        #expect(f.parse("07/03/2019") == CalendarDate(year: 2019, month: 3, day: 7))
        #expect(f.parse("17/11/2019") == CalendarDate(year: 2019, month: 11, day: 17))
        #expect(f.parse("117/1/2019") == nil)
        #expect(f.format(CalendarDate(year: 2019, month: 3, day: 7)!) == "7/3/2019")
        #expect(f.format(CalendarDate(year: 2019, month: 11, day: 17)!) == "17/11/2019")
    }

    @Test func compactWithOptionalTime() throws {
        let f = try DateFormat(pattern: "YYYYMMDD hh:mm")
        #expect(f.hasTime)
        let dt = try #require(f.parseDateTime("20260314 23:05"))
        #expect(dt.date == CalendarDate(year: 2026, month: 3, day: 14))
        #expect(dt.minuteOfDay == 23 * 60 + 5)
        #expect(f.parse("20260314 23:05") == CalendarDate(year: 2026, month: 3, day: 14))
        let dateOnly = try #require(f.parseDateTime("20260314"))
        #expect(dateOnly.minuteOfDay == nil)
        #expect(f.parseDateTime("20260314 24:00") == nil)
        #expect(f.parseDateTime("20260314 23:60") == nil)
        #expect(f.parseDateTime("20260314 23") == nil)
        #expect(f.parseDateTime("20260230 10:00") == nil)
        #expect(f.format(CalendarDate(year: 2026, month: 3, day: 4)!, minuteOfDay: 65) == "20260304 01:05")
    }

    @Test func isoDateTime() throws {
        let f = try DateFormat(pattern: "YYYY-MM-DDThh:mm:ss")
        let dt = try #require(f.parseDateTime("2024-02-29T08:15:42"))
        #expect(dt.date.iso8601 == "2024-02-29")
        #expect(dt.minuteOfDay == 495)
        #expect(dt.second == 42)
        #expect(f.parseDateTime("2023-02-29T08:15:42") == nil)
        #expect(f.parseDateTime("2024-02-29 08:15:42") == nil)
        let g = try DateFormat(pattern: "YYYY-MM-DD hh:mm")
        #expect(g.parse("2024-02-29 08:15") != nil)
    }

    @Test(arguments: [
        "YY-MM-DD", "DD/MM", "dd/mm/yyyy", "DD/MMM/YYYY", "DMYYYY", "D M YYYY x", "YYYY-MM-DD-DD",
        "hh:mm DD/MM/YYYY", "YYYYMMDD hh", "YYYYMMDD mm", "YYYYY-MM-DD", "", "DD/MM/YYYY ss",
    ])
    func badPatternsAreRejected(pattern: String) {
        #expect(throws: IdentifierError.self) { try DateFormat(pattern: pattern) }
        do {
            _ = try DateFormat(pattern: pattern)
        } catch {
            #expect(error.code == .badPattern)
        }
    }

    @Test(arguments: ["DD/MM/YYYY", "D/M/YYYY", "YYYY-MM-DD", "YYYYMMDD", "DD-MM-YYYY", "DD.MM.YYYY", "MM/DD/YYYY"])
    func roundTripsRandomDates(pattern: String) throws {
        let f = try DateFormat(pattern: pattern)
        var rng = TestLCG(state: UInt64(pattern.utf8.count))
        for _ in 0..<3000 {
            let y = 1900 + rng.below(200)
            let m = 1 + rng.below(12)
            let d = 1 + rng.below(independentDaysInMonth(y, m))
            let date = CalendarDate(year: y, month: m, day: d)!
            let text = f.format(date)
            #expect(f.parse(text) == date)
            #expect(f.parse(Array(text.utf8)) == date)
        }
    }

    @Test func invalidDateResultDoesNotEchoInput() throws {
        let f = try DateFormat(pattern: "DD/MM/YYYY")
        guard case .failure(let e) = f.parseResult("31/02/2020") else {
            Issue.record("expected failure")
            return
        }
        #expect(e.code == .invalidDate)
        #expect(!e.description.contains("31/02/2020"))
    }
}
