//! Dates for RFC 5260 `date` / `currentdate`: zone strings, date parts, and reading a date
//! out of a header field (RFC 5322 syntax, leniently, via mail-parser; for `Received` the
//! part after the last `;`).

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike};

use crate::ir::DatePart;

pub fn part_from_name(s: &str) -> Option<DatePart> {
    Some(match s.to_ascii_lowercase().as_str() {
        "year" => DatePart::Year,
        "month" => DatePart::Month,
        "day" => DatePart::Day,
        "date" => DatePart::Date,
        "julian" => DatePart::Julian,
        "hour" => DatePart::Hour,
        "minute" => DatePart::Minute,
        "second" => DatePart::Second,
        "time" => DatePart::Time,
        "iso8601" => DatePart::Iso8601,
        "std11" => DatePart::Std11,
        "zone" => DatePart::Zone,
        "weekday" => DatePart::Weekday,
        _ => return None,
    })
}

/// `+hhmm` / `-hhmm` → the offset.
pub fn parse_zone(s: &str) -> Option<FixedOffset> {
    let b = s.as_bytes();
    if b.len() != 5 || !b[1..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let hours: i32 = s[1..3].parse().ok()?;
    let minutes: i32 = s[3..5].parse().ok()?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    let secs = (hours * 60 + minutes) * 60;
    match b[0] {
        b'+' => FixedOffset::east_opt(secs),
        b'-' => FixedOffset::west_opt(secs),
        _ => None,
    }
}

/// The date in a header value; `None` when it holds no valid date.
pub fn parse_header_date(name: &str, raw_value: &str) -> Option<DateTime<FixedOffset>> {
    let text = if name.eq_ignore_ascii_case("received") {
        raw_value.rsplit(';').next().unwrap_or(raw_value)
    } else {
        raw_value
    };
    let mut bytes = text.trim().as_bytes().to_vec();
    bytes.extend_from_slice(b"\r\n");
    let value = mail_parser::parsers::MessageStream::new(&bytes).parse_date();
    let mail_parser::HeaderValue::DateTime(dt) = value else {
        return None;
    };
    let offset_secs = (i32::from(dt.tz_hour) * 60 + i32::from(dt.tz_minute)) * 60;
    let offset = if dt.tz_before_gmt {
        FixedOffset::west_opt(offset_secs)?
    } else {
        FixedOffset::east_opt(offset_secs)?
    };
    let naive = NaiveDate::from_ymd_opt(i32::from(dt.year), dt.month.into(), dt.day.into())?
        .and_hms_opt(dt.hour.into(), dt.minute.into(), dt.second.into())?;
    naive.and_local_timezone(offset).single()
}

fn zone_string(offset: &FixedOffset) -> String {
    let secs = offset.local_minus_utc();
    let sign = if secs < 0 { '-' } else { '+' };
    let m = secs.abs() / 60;
    format!("{sign}{:02}{:02}", m / 60, m % 60)
}

/// The RFC 5260 §4.2 text of `part` for `dt`.
pub fn part(dt: &DateTime<FixedOffset>, part: DatePart) -> String {
    match part {
        DatePart::Year => format!("{:04}", dt.year()),
        DatePart::Month => format!("{:02}", dt.month()),
        DatePart::Day => format!("{:02}", dt.day()),
        DatePart::Date => format!("{:04}-{:02}-{:02}", dt.year(), dt.month(), dt.day()),
        DatePart::Julian => {
            let epoch = NaiveDate::from_ymd_opt(1858, 11, 17).expect("valid date");
            (dt.date_naive() - epoch).num_days().to_string()
        }
        DatePart::Hour => format!("{:02}", dt.hour()),
        DatePart::Minute => format!("{:02}", dt.minute()),
        DatePart::Second => format!("{:02}", dt.second()),
        DatePart::Time => format!("{:02}:{:02}:{:02}", dt.hour(), dt.minute(), dt.second()),
        DatePart::Iso8601 => dt.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        DatePart::Std11 => {
            dt.format("%a, %d %b %Y %H:%M:%S ").to_string() + &zone_string(dt.offset())
        }
        DatePart::Zone => zone_string(dt.offset()),
        DatePart::Weekday => dt.weekday().num_days_from_sunday().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_dates_and_parts() {
        let dt = parse_header_date("Date", " Tue, 1 Apr 1997 09:06:31 -0800 (PST)").unwrap();
        assert_eq!(part(&dt, DatePart::Date), "1997-04-01");
        assert_eq!(part(&dt, DatePart::Time), "09:06:31");
        assert_eq!(part(&dt, DatePart::Zone), "-0800");
        assert_eq!(part(&dt, DatePart::Weekday), "2");
        assert_eq!(part(&dt, DatePart::Iso8601), "1997-04-01T09:06:31-08:00");
        assert_eq!(
            part(&dt, DatePart::Std11),
            "Tue, 01 Apr 1997 09:06:31 -0800"
        );
        assert_eq!(part(&dt, DatePart::Julian), "50539");
        let r =
            parse_header_date("Received", "from a by b; Sat, 10 Nov 2007 12:38:00 +0100").unwrap();
        assert_eq!(part(&r, DatePart::Hour), "12");
        assert!(parse_header_date("Date", "not a date").is_none());
    }

    #[test]
    fn zones() {
        assert_eq!(parse_zone("+0100").unwrap().local_minus_utc(), 3600);
        assert_eq!(parse_zone("-0530").unwrap().local_minus_utc(), -19800);
        assert!(parse_zone("0100").is_none());
        assert!(parse_zone("+2500").is_none());
    }
}
