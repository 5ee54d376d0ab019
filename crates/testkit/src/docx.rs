//! Word documents (.docx) read back: what the bulletin (通报) download says, as text, for the
//! server's tests and the dashboard's end-to-end test alike.

use docx_rs::{DocumentChild, TableCellContent, TableChild, TableRowChild};

/// Every paragraph's text of a .docx in order, each table row as its cells' text joined by `|`.
/// Panics when `bytes` is not a .docx a reader opens.
pub fn docx_text(bytes: &[u8]) -> Vec<String> {
    let doc = docx_rs::read_docx(bytes).expect("a .docx a reader opens");
    let mut out = Vec::new();
    for child in &doc.document.children {
        match child {
            DocumentChild::Paragraph(p) => out.push(p.raw_text()),
            DocumentChild::Table(t) => {
                for TableChild::TableRow(r) in &t.rows {
                    let cells: Vec<String> = r
                        .cells
                        .iter()
                        .map(|TableRowChild::TableCell(c)| {
                            c.children
                                .iter()
                                .filter_map(|x| match x {
                                    TableCellContent::Paragraph(p) => Some(p.raw_text()),
                                    _ => None,
                                })
                                .collect::<String>()
                        })
                        .collect();
                    out.push(cells.join("|"));
                }
            }
            _ => {}
        }
    }
    out
}
