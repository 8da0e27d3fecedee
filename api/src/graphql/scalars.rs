//! The `Date` and `DateTime` scalars of the contract.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime as ChronoDateTime, NaiveDate, SecondsFormat, Utc};

use crate::validate::{YEARS, sane_year};

fn out_of_range<T: async_graphql::InputType>() -> InputValueResult<T> {
    Err(InputValueError::custom(format!(
        "the year must be from {} to {}",
        YEARS.start(),
        YEARS.end()
    )))
}

/// A calendar date, `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub NaiveDate);

#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(text) if NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok_and(sane_year))
    }

    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Ok(date) if sane_year(date) => Ok(Date(date)),
                Ok(_) => out_of_range(),
                Err(_) => Err(InputValueError::custom("expected a date as YYYY-MM-DD")),
            },
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// An instant, RFC 3339, always written in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime(pub ChronoDateTime<Utc>);

#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(text) if ChronoDateTime::parse_from_rfc3339(text).is_ok_and(|at| sane_year(at.with_timezone(&Utc))))
    }

    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => match ChronoDateTime::parse_from_rfc3339(text) {
                Ok(instant) if sane_year(instant.with_timezone(&Utc)) => {
                    Ok(DateTime(instant.with_timezone(&Utc)))
                }
                Ok(_) => out_of_range(),
                Err(_) => Err(InputValueError::custom(
                    "expected an RFC 3339 date-time such as 2026-01-31T09:30:00Z",
                )),
            },
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::Secs, true))
    }
}
