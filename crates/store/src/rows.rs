//! Typed rows of dashboard queries: [`dash_row!`](crate::dash_row) declares a struct whose fields are the
//! query's columns, and makes its select list from the field names, so a query and the code
//! that reads its rows cannot disagree about which column is where.

use super::dashboard::Cell;

/// A Rust value read from one [`Cell`] of a dashboard row.
pub trait FromCell {
    /// The value (NULL and mismatched kinds read as the type's empty value, as `Cell` does).
    fn from_cell(cell: &Cell) -> Self;
}

impl FromCell for String {
    fn from_cell(cell: &Cell) -> Self {
        cell.text().to_string()
    }
}

impl FromCell for Option<String> {
    fn from_cell(cell: &Cell) -> Self {
        cell.opt_text()
    }
}

impl FromCell for i64 {
    fn from_cell(cell: &Cell) -> Self {
        cell.int()
    }
}

impl FromCell for f64 {
    fn from_cell(cell: &Cell) -> Self {
        cell.real()
    }
}

/// Stored as an integer, 1 for true.
impl FromCell for bool {
    fn from_cell(cell: &Cell) -> Self {
        cell.int() == 1
    }
}

/// Declares a row type of a dashboard query.
///
/// Each field is a column of the same name, or `= "SQL expression"` (selected `AS` the field's
/// name), or `= skip` (not selected; the type's default, for the caller to fill in). The type
/// gets `columns()`, the select list in field order, and `from_cells(&[Cell])`, which reads a
/// row selected with it. A field's type is read through [`FromCell`].
#[macro_export]
macro_rules! dash_row {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                $field_vis:vis $field:ident : $ty:ty $(= $how:tt)?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $(
                $(#[$field_meta])*
                $field_vis $field: $ty,
            )*
        }

        impl $name {
            /// The select list of this row: its columns in field order.
            pub fn columns() -> String {
                let columns: &[Option<&str>] = &[$($crate::dash_row!(@column $field $(= $how)?)),*];
                columns.iter().flatten().copied().collect::<Vec<_>>().join(", ")
            }

            /// Reads a row selected with [`Self::columns`].
            pub fn from_cells(cells: &[$crate::dashboard::Cell]) -> Self {
                let mut _at = 0;
                $name {
                    $($field: $crate::dash_row!(@read cells _at $ty $(= $how)?),)*
                }
            }
        }
    };
    (@column $field:ident) => { Some(stringify!($field)) };
    (@column $field:ident = skip) => { None };
    (@column $field:ident = $sql:literal) => { Some(concat!($sql, " AS ", stringify!($field))) };
    (@read $cells:ident $at:ident $ty:ty = skip) => { <$ty>::default() };
    (@read $cells:ident $at:ident $ty:ty $(= $sql:literal)?) => {{
        let value = <$ty as $crate::rows::FromCell>::from_cell(&$cells[$at]);
        $at += 1;
        value
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    dash_row! {
        /// A row with every kind of field.
        #[derive(Debug, PartialEq)]
        struct Sample {
            name: String,
            note: Option<String>,
            total: i64 = "CAST(SUM(n) AS BIGINT)",
            later: bool = skip,
            weight: f64,
            open: bool,
        }
    }

    #[test]
    fn columns_follow_the_fields_and_cells_are_read_in_that_order() {
        assert_eq!(
            Sample::columns(),
            "name, note, CAST(SUM(n) AS BIGINT) AS total, weight, open"
        );
        let cells = [
            Cell::Text("井盖".into()),
            Cell::Null,
            Cell::Int(7),
            Cell::Real(2.5),
            Cell::Int(1),
        ];
        assert_eq!(
            Sample::from_cells(&cells),
            Sample {
                name: "井盖".into(),
                note: None,
                total: 7,
                later: false,
                weight: 2.5,
                open: true,
            }
        );
    }
}
