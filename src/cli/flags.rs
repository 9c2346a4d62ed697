//! Value parsers for the training flags: each value is checked against
//! [`crate::train::limits`] as clap reads it (from the command line or its `TACT_*` variable),
//! so garbage is refused, with the flag named, before any model or data is loaded.

use crate::train::limits;
use std::str::FromStr;

fn number<T: FromStr>(s: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    s.trim().parse().map_err(|e| format!("{e}"))
}

pub fn learning_rate(s: &str) -> Result<f64, String> {
    limits::learning_rate(number(s)?)
}

pub fn at_least_one(s: &str) -> Result<usize, String> {
    limits::at_least_one(number(s)?)
}

pub fn non_negative(s: &str) -> Result<f64, String> {
    limits::non_negative(number(s)?)
}

pub fn non_negative_f32(s: &str) -> Result<f32, String> {
    let v: f32 = number(s)?;
    limits::non_negative(v as f64).map(|_| v)
}

pub fn positive(s: &str) -> Result<f64, String> {
    limits::positive(number(s)?)
}

pub fn positive_f32(s: &str) -> Result<f32, String> {
    let v: f32 = number(s)?;
    limits::positive(v as f64).map(|_| v)
}

pub fn fraction(s: &str) -> Result<f64, String> {
    limits::fraction(number(s)?)
}

pub fn fraction_f32(s: &str) -> Result<f32, String> {
    let v: f32 = number(s)?;
    limits::fraction(v as f64).map(|_| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_refused_and_sane_values_kept() {
        assert!(learning_rate("NaN").is_err());
        assert!(learning_rate("1e6").is_err());
        assert!(learning_rate("fast").is_err());
        assert_eq!(learning_rate("1e-3"), Ok(1e-3));
        assert!(at_least_one("0").is_err());
        assert!(at_least_one("-1").is_err());
        assert_eq!(at_least_one("3"), Ok(3));
        // 1e39 is finite as an f64 but not as the f32 the flag is.
        assert!(non_negative_f32("1e39").is_err());
        assert_eq!(non_negative_f32("0.5"), Ok(0.5));
        assert!(positive_f32("0").is_err());
        assert!(fraction_f32("1").is_err());
        assert!(non_negative("inf").is_err());
        assert!(positive("-2").is_err());
        assert_eq!(fraction("0.06"), Ok(0.06));
    }
}
