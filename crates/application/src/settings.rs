//! The knobs of the use cases, read by each function's `main.rs` from its
//! environment (template parameters in AWS, overrides locally).

use foodstream_config::ConfigError;
use foodstream_domain::delivery::{DeliverySettings, MAX_DELIVERY_DURATION_MS};
use foodstream_domain::log::LogRetention;
use foodstream_domain::notification::Locale;
use foodstream_domain::refund::RefundPolicy;

/// The use cases' settings; the default is what an unset environment gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `REFUND_WINDOW_SECONDS`, default 600.
    pub refund: RefundPolicy,
    /// `DELIVERY_DURATION_MS`, default 1000.
    pub delivery: DeliverySettings,
    /// `NOTIFICATION_LOCALE` (`ko` or `en`), default `ko`.
    pub locale: Locale,
    /// `LOG_RETENTION_DAYS`, default 30.
    pub log_retention: LogRetention,
    /// How many times an order change is tried, a lost race on the order
    /// version reading again, before it gives up: a 409 for an API call, a
    /// retry of the record for a consumer. Default 5; no variable sets it.
    pub version_conflict_attempts: u32,
}

/// The variables of the settings, for [`Settings::from_env`]. This one:
/// the refund window, in seconds.
pub const REFUND_WINDOW: &str = "REFUND_WINDOW_SECONDS";
/// The variable of a delivery's duration, in milliseconds.
pub const DELIVERY_DURATION: &str = "DELIVERY_DURATION_MS";
/// The variable of the notifications' locale.
pub const LOCALE: &str = "NOTIFICATION_LOCALE";
/// The variable of how long log records are kept, in days.
pub const LOG_RETENTION: &str = "LOG_RETENTION_DAYS";

/// The ranges settings must fall in. Wide enough for any real use, narrow
/// enough that no time computation can overflow. This one: the refund
/// window's, up to a week.
pub const REFUND_WINDOW_SECONDS: (i64, i64) = (1, 7 * 24 * 3600);
/// The range of the log retention, in days: up to ten years.
pub const LOG_RETENTION_DAYS: (i64, i64) = (1, 3650);
/// The range of a delivery's duration, in milliseconds: up to the
/// domain's `MAX_DELIVERY_DURATION_MS`.
pub const DELIVERY_DURATION_MS: (i64, i64) = (1, MAX_DELIVERY_DURATION_MS);

impl Default for Settings {
    fn default() -> Self {
        Settings {
            refund: RefundPolicy::default(),
            delivery: DeliverySettings::default(),
            locale: Locale::default(),
            log_retention: LogRetention::default(),
            version_conflict_attempts: 5,
        }
    }
}

impl Settings {
    /// Reads the settings through `lookup` (the process environment in
    /// production, a map in tests). Unset means default.
    pub fn from_lookup(lookup: impl Fn(&'static str) -> Option<String>) -> Result<Settings, ConfigError> {
        let mut settings = Settings::default();
        if let Some(v) = lookup(REFUND_WINDOW) {
            settings.refund = RefundPolicy::from_seconds(in_range(REFUND_WINDOW, &v, REFUND_WINDOW_SECONDS)?);
        }
        if let Some(v) = lookup(DELIVERY_DURATION) {
            settings.delivery =
                DeliverySettings::from_millis(in_range(DELIVERY_DURATION, &v, DELIVERY_DURATION_MS)?);
        }
        if let Some(v) = lookup(LOCALE) {
            settings.locale = Locale::parse(&v).ok_or(ConfigError::Invalid {
                name: LOCALE,
                value: v.clone(),
                reason: "must be ko or en".into(),
            })?;
        }
        if let Some(v) = lookup(LOG_RETENTION) {
            settings.log_retention =
                LogRetention::from_days(in_range(LOG_RETENTION, &v, LOG_RETENTION_DAYS)?);
        }
        Ok(settings)
    }

    /// Reads from the environment only the settings named in `reading`
    /// (the ones the function's use cases use); the others keep their
    /// defaults, and the function is not given them.
    pub fn from_env(reading: &[&'static str]) -> Result<Settings, ConfigError> {
        Settings::from_lookup(
            |name| if reading.contains(&name) { foodstream_config::var(name) } else { None },
        )
    }
}

pub(crate) fn in_range(name: &'static str, value: &str, (min, max): (i64, i64)) -> Result<i64, ConfigError> {
    match value.trim().parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ConfigError::Invalid {
            name,
            value: value.to_owned(),
            reason: format!("must be an integer from {min} to {max}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn unset_means_default_and_bad_values_are_named() {
        assert_eq!(Settings::from_lookup(|_| None).unwrap(), Settings::default());
        let env: HashMap<&str, &str> =
            [("REFUND_WINDOW_SECONDS", "5"), ("DELIVERY_DURATION_MS", "250")].into();
        let s = Settings::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(s.refund.window.num_seconds(), 5);
        assert_eq!(s.delivery.duration.num_milliseconds(), 250);
        let err =
            Settings::from_lookup(|k| (k == "DELIVERY_DURATION_MS").then(|| "soon".into())).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { name: "DELIVERY_DURATION_MS", .. }), "{err}");
        let err = Settings::from_lookup(|k| (k == "NOTIFICATION_LOCALE").then(|| "fr".into())).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { reason, .. } if reason == "must be ko or en"));
    }
}
