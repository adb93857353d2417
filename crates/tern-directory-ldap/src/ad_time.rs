//! Active Directory's account state: `userAccountControl` bits, `lockoutTime` with the
//! domain's lockout duration, `accountExpires`, all as Windows FILETIMEs (100 ns ticks since
//! 1601-01-01 UTC).
use std::time::{SystemTime, UNIX_EPOCH};

/// `userAccountControl` ACCOUNTDISABLE.
pub const UF_ACCOUNTDISABLE: u64 = 0x2;
/// `msDS-User-Account-Control-Computed` LOCKOUT (AD keeps it current, including the lockout
/// duration running out; the stored `userAccountControl` never has it).
pub const UF_LOCKOUT: u64 = 0x10;
/// `msDS-User-Account-Control-Computed` PASSWORD_EXPIRED.
pub const UF_PASSWORD_EXPIRED: u64 = 0x80_0000;

/// FILETIME ticks between 1601-01-01 and 1970-01-01.
const EPOCH_DIFF_TICKS: i128 = 116_444_736_000_000_000;

/// Now, as a FILETIME.
pub fn now_filetime() -> i128 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    d.as_nanos() as i128 / 100 + EPOCH_DIFF_TICKS
}

/// A FILETIME as `YYYY-MM-DD HH:MM:SS UTC` for logs (civil-from-days, Howard Hinnant).
pub fn format_filetime(ft: i128) -> String {
    let secs = (ft - EPOCH_DIFF_TICKS).div_euclid(10_000_000) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Why an AD account may not log in, or `None` if it may.
///
/// - `uac`: `userAccountControl`; `computed`: `msDS-User-Account-Control-Computed` when the
///   server returned it.
/// - `lockout_time`: `lockoutTime` (0 or absent: not locked).
/// - `lockout_duration`: the domain's `lockoutDuration` (negative ticks; `i64::MIN` means
///   "until an administrator unlocks"; `None`: unknown, so any lockoutTime counts).
/// - `account_expires`: `accountExpires` (0 and 0x7FFFFFFFFFFFFFFF mean never).
pub fn refusal(
    uac: u64,
    computed: Option<u64>,
    lockout_time: i128,
    lockout_duration: Option<i64>,
    account_expires: i128,
    now: i128,
) -> Option<String> {
    if uac & UF_ACCOUNTDISABLE != 0 {
        return Some("account disabled (userAccountControl ACCOUNTDISABLE)".into());
    }
    let locked = match computed {
        Some(c) => c & UF_LOCKOUT != 0,
        None => is_locked(lockout_time, lockout_duration, now),
    };
    if locked {
        return Some(format!(
            "account locked out since {}",
            format_filetime(lockout_time)
        ));
    }
    if account_expires != 0 && account_expires != i64::MAX as i128 && account_expires <= now {
        return Some(format!(
            "account expired on {}",
            format_filetime(account_expires)
        ));
    }
    if computed.is_some_and(|c| c & UF_PASSWORD_EXPIRED != 0) {
        return Some("password expired".into());
    }
    None
}

/// AD's lockout rule: locked while `lockoutTime + |lockoutDuration| > now`; a duration of
/// "forever" (`i64::MIN`) or an unknown one keeps any lockoutTime > 0 locked.
pub fn is_locked(lockout_time: i128, lockout_duration: Option<i64>, now: i128) -> bool {
    if lockout_time <= 0 {
        return false;
    }
    match lockout_duration {
        None | Some(i64::MIN) => true,
        Some(d) => lockout_time + (d as i128).abs() > now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i128 = 864_000_000_000;

    #[test]
    fn formats_filetimes() {
        assert_eq!(format_filetime(EPOCH_DIFF_TICKS), "1970-01-01 00:00:00 UTC");
        // 2024-02-29 12:00:00 UTC = 1709208000 s.
        let ft = 1_709_208_000i128 * 10_000_000 + EPOCH_DIFF_TICKS;
        assert_eq!(format_filetime(ft), "2024-02-29 12:00:00 UTC");
    }

    #[test]
    fn disabled_locked_expired() {
        let now = now_filetime();
        assert_eq!(refusal(0x200, None, 0, None, 0, now), None);
        assert!(
            refusal(0x202, None, 0, None, 0, now)
                .unwrap()
                .contains("disabled")
        );
        // Never-expires spellings.
        assert_eq!(refusal(0x200, None, 0, None, i64::MAX as i128, now), None);
        assert!(
            refusal(0x200, None, 0, None, now - DAY, now)
                .unwrap()
                .contains("expired")
        );
        assert_eq!(refusal(0x200, None, 0, None, now + DAY, now), None);
        // Lockout: 30 minutes duration, locked 10 minutes ago -> locked; 2 hours ago -> not.
        let thirty_min = -(DAY / 48) as i64;
        assert!(refusal(0x200, None, now - DAY / 144, Some(thirty_min), 0, now).is_some());
        assert_eq!(
            refusal(0x200, None, now - DAY / 12, Some(thirty_min), 0, now),
            None
        );
        assert!(refusal(0x200, None, now - DAY, Some(i64::MIN), 0, now).is_some());
        // The computed attribute wins when present.
        assert_eq!(refusal(0x200, Some(0), now - DAY / 144, None, 0, now), None);
        assert!(refusal(0x200, Some(0x10), 0, None, 0, now).is_some());
        assert!(
            refusal(0x200, Some(0x80_0000), 0, None, 0, now)
                .unwrap()
                .contains("password expired")
        );
    }
}
