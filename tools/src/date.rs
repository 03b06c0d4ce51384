//! `date [-u] [-d @SECONDS] [+FORMAT]`: the date and time, always in UTC (eurali has no time
//! zones), as GNU `date -u` prints them: `Sun Dec  6 21:39:58 UTC 2026` by default.
//!
//! The time is the wall clock's (`std::time::SystemTime::wall_clock`, the clock at `/dev/rtc`);
//! without one, date says so and exits 1. `-d @SECONDS` prints that moment instead (no clock
//! needed). FORMAT's conversions are POSIX's and GNU's common ones: `%Y %C %y %m %d %e %j %H %I %k
//! %l %M %S %p %a %A %b %B %h %u %w %s %T %R %D %F %c %x %X %Z %z %n %t %%`, with GNU's flags `-`
//! (no padding), `_` (spaces) and `0` (zeros) for the numeric ones. Anything else is printed as
//! it stands, as GNU date does.

use libeurali::proto::rtc::DateTime;

use crate::Io;

const USAGE: &str = "usage: date [-u] [-d @SECONDS] [+FORMAT]";
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

#[inline(never)]
pub fn date(args: &[String], io: &mut Io) -> i32 {
    let mut format = None;
    let mut at = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let value = match a.as_str() {
            "-u" | "--utc" | "--universal" => continue,
            "-d" | "--date" => match it.next() {
                Some(v) => v.as_str(),
                None => {
                    let _ = writeln!(
                        io.stderr,
                        "date: option requires an argument -- 'd'\n{USAGE}"
                    );
                    return 1;
                }
            },
            s if s.starts_with("--date=") => &s["--date=".len()..],
            s if s.starts_with("-d") => &s[2..],
            s if s.starts_with('+') && format.is_none() => {
                format = Some(&s[1..]);
                continue;
            }
            s => {
                let _ = writeln!(io.stderr, "date: extra operand '{s}'\n{USAGE}");
                return 1;
            }
        };
        match value
            .strip_prefix('@')
            .and_then(|n| n.trim().parse::<u64>().ok())
        {
            Some(n) => at = Some(n),
            None => {
                let _ = writeln!(
                    io.stderr,
                    "date: invalid date '{value}' (only @SECONDS is understood)"
                );
                return 1;
            }
        }
    }
    let secs = match at {
        Some(s) => s,
        None => match std::time::SystemTime::wall_clock() {
            Ok(t) => t
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            Err(e) => {
                let why = match e.kind() {
                    std::io::ErrorKind::NotFound => {
                        "there is no clock device here (/dev/rtc)".to_string()
                    }
                    _ => format!("the clock device holds no valid time ({e})"),
                };
                let _ = writeln!(io.stderr, "date: the wall clock is unavailable: {why}");
                return 1;
            }
        },
    };
    let text = format_time(secs, format.unwrap_or("%a %b %e %H:%M:%S %Z %Y"));
    match writeln!(io.stdout, "{text}") {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// `secs` after the Unix epoch, in UTC, as `format` says (`strftime`'s conversions).
#[inline(never)]
pub fn format_time(secs: u64, format: &str) -> String {
    let t = DateTime::from_unix(secs);
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let flag = match chars.peek() {
            Some(&f @ ('-' | '_' | '0')) => {
                chars.next();
                Some(f)
            }
            _ => None,
        };
        let Some(conv) = chars.next() else {
            // A lone % at the end stands for itself.
            out.push('%');
            if let Some(f) = flag {
                out.push(f);
            }
            break;
        };
        // A number of `width` digits, padded with `pad` unless the flag says otherwise.
        let num = |v: u64, width: usize, pad: char| -> String {
            match flag.unwrap_or(pad) {
                '-' => v.to_string(),
                '_' => format!("{v:>width$}"),
                _ => format!("{v:0width$}"),
            }
        };
        let hour12 = match t.hour % 12 {
            0 => 12,
            h => h,
        } as u64;
        let text = match conv {
            'Y' => num(t.year as u64, 1, '0'),
            'C' => num(t.year as u64 / 100, 2, '0'),
            'y' => num(t.year as u64 % 100, 2, '0'),
            'm' => num(t.month as u64, 2, '0'),
            'd' => num(t.day as u64, 2, '0'),
            'e' => num(t.day as u64, 2, '_'),
            'j' => num(t.day_of_year() as u64, 3, '0'),
            'H' => num(t.hour as u64, 2, '0'),
            'k' => num(t.hour as u64, 2, '_'),
            'I' => num(hour12, 2, '0'),
            'l' => num(hour12, 2, '_'),
            'M' => num(t.minute as u64, 2, '0'),
            'S' => num(t.second as u64, 2, '0'),
            'u' => num(((t.weekday() + 6) % 7 + 1) as u64, 1, '0'),
            'w' => num(t.weekday() as u64, 1, '0'),
            's' => num(secs, 1, '0'),
            'p' => (if t.hour < 12 { "AM" } else { "PM" }).to_string(),
            'a' => DAYS[t.weekday() as usize][..3].to_string(),
            'A' => DAYS[t.weekday() as usize].to_string(),
            'b' | 'h' => MONTHS[t.month as usize - 1][..3].to_string(),
            'B' => MONTHS[t.month as usize - 1].to_string(),
            'T' | 'X' => format_time(secs, "%H:%M:%S"),
            'R' => format_time(secs, "%H:%M"),
            'D' | 'x' => format_time(secs, "%m/%d/%y"),
            'F' => format_time(secs, "%Y-%m-%d"),
            'c' => format_time(secs, "%a %b %e %H:%M:%S %Y"),
            'Z' => "UTC".to_string(),
            'z' => "+0000".to_string(),
            'n' => "\n".to_string(),
            't' => "\t".to_string(),
            '%' => "%".to_string(),
            other => {
                let mut s = String::from('%');
                if let Some(f) = flag {
                    s.push(f);
                }
                s.push(other);
                s
            }
        };
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `LC_ALL=C date -u -d @SECONDS +FORMAT` (GNU coreutils 9.1) printed.
    #[test]
    fn formats_as_gnu_date() {
        let all = "%Y|%C|%y|%m|%d|%e|%j|%H|%I|%k|%l|%M|%S|%p|%a|%A|%b|%B|%h|%u|%w|%s|%T|%R|%D|%F|%c|%x|%X|%Z|%z|%%";
        for (secs, gnu) in [
            (
                0,
                "1970|19|70|01|01| 1|001|00|12| 0|12|00|00|AM|Thu|Thursday|Jan|January|Jan|4|4|0|00:00:00|00:00|01/01/70|1970-01-01|Thu Jan  1 00:00:00 1970|01/01/70|00:00:00|UTC|+0000|%",
            ),
            (
                1_796_593_198,
                "2026|20|26|12|06| 6|340|21|09|21| 9|39|58|PM|Sun|Sunday|Dec|December|Dec|7|0|1796593198|21:39:58|21:39|12/06/26|2026-12-06|Sun Dec  6 21:39:58 2026|12/06/26|21:39:58|UTC|+0000|%",
            ),
            (
                951_825_599,
                "2000|20|00|02|29|29|060|11|11|11|11|59|59|AM|Tue|Tuesday|Feb|February|Feb|2|2|951825599|11:59:59|11:59|02/29/00|2000-02-29|Tue Feb 29 11:59:59 2000|02/29/00|11:59:59|UTC|+0000|%",
            ),
            (
                4_102_444_800,
                "2100|21|00|01|01| 1|001|00|12| 0|12|00|00|AM|Fri|Friday|Jan|January|Jan|5|5|4102444800|00:00:00|00:00|01/01/00|2100-01-01|Fri Jan  1 00:00:00 2100|01/01/00|00:00:00|UTC|+0000|%",
            ),
        ] {
            assert_eq!(format_time(secs, all), gnu, "@{secs}");
        }
        // The default format, flags, unknown conversions and a lone % (GNU's output).
        assert_eq!(
            format_time(1_796_593_198, "%a %b %e %H:%M:%S %Z %Y"),
            "Sun Dec  6 21:39:58 UTC 2026"
        );
        assert_eq!(
            format_time(1_796_593_198, "%-d|%_m|%0e|%-j|%-H|%J|%-J|x%"),
            "6|12|06|340|21|%J|%-J|x%"
        );
        assert_eq!(format_time(0, "a%nb%tc"), "a\nb\tc");
    }
}
